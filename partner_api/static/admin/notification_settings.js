// The organisation's notification settings in the Notifications card: its security contacts (who
// hears of reminders and security notices besides each credential's contact) and what a
// confirmed leak report does to the leaked secret. Everyone reads them; owners and admins change
// each with its own form, which sends only that field (updateNotificationSettings leaves out
// what is not given).

import { announce, banner, h, uid } from "./dom.js";
import { failureMessage, mutateInPlace, NOTIFICATIONS_PERMISSION_HELP } from "./mutations.js";

const MAX_CONTACTS = 10;
export const LEAK_ACTIONS = {
  END_SECRET: [
    "End the leaked secret at once (recommended)",
    "The secret and the access tokens obtained with it stop working within a second; the credentials' other secrets keep working. The contacts are told.",
  ],
  NOTIFY_ONLY: [
    "Only notify",
    "Nothing changes: the leaked secret keeps working, for anyone who found it, until you regenerate it. The contacts are told.",
  ],
};

function contactsText(contacts) {
  return contacts.length === 0
    ? "No security contacts: reminders and security notices go to each credential's contact e-mail only."
    : `Reminders and security notices also go to: ${contacts.join(", ")}.`;
}

function leakText(action) {
  return action === "NOTIFY_ONLY"
    ? "When GitHub reports one of your secrets as published, the contacts are told and the secret keeps working."
    : "When GitHub reports one of your secrets as published, that secret stops working at once and the contacts are told.";
}

/** One address per line (commas and spaces also separate them). */
function parseContacts(text) {
  return text.split(/[\s,;]+/).map((entry) => entry.trim()).filter(Boolean);
}

/** Save `input` with updateNotificationSettings; `onSaved(settings)` or the failure shown. */
async function save(app, { alerts, button, input, showError, onSaved }) {
  const result = await mutateInPlace(app, {
    alerts, button, busyLabel: "Saving…",
    operation: "UpdateNotificationSettings", field: "updateNotificationSettings", variables: { input },
  });
  if (result === null) {
    return;
  }
  if (result.__typename === "NotificationSettingsUpdated") {
    onSaved(result.settings);
  } else if (!(result.__typename === "ValidationError" && showError(result.field, result.message))) {
    alerts.replaceChildren(banner("error", failureMessage(result, NOTIFICATIONS_PERMISSION_HELP)));
  }
}

function contactsForm(app, settings, summary) {
  const id = uid("security-contacts");
  // Named by the part's heading, "Security contacts": a label repeating it would only add noise.
  const textarea = h("textarea", {
    id, name: "securityContacts", rows: 3, autocomplete: "off", spellcheck: "false",
    value: settings.securityContacts.join("\n"), "aria-labelledby": "contacts-title",
    "aria-describedby": `${id}-hint ${id}-error`, "data-focus": "security-contacts",
  });
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const alerts = h("div", { class: "policy-alerts" });
  const button = h("button", { type: "submit", class: "button", text: "Save contacts" });
  const showError = (field, message) => {
    if (field !== "securityContacts") {
      return false;
    }
    error.textContent = message || "";
    error.hidden = !message;
    textarea.setAttribute("aria-invalid", message ? "true" : "false");
    if (message) {
      textarea.focus();
    }
    return true;
  };
  textarea.addEventListener("input", () => showError("securityContacts", null));
  const form = h(
    "form",
    { class: "form settings-form", novalidate: "" },
    h(
      "div",
      { class: "field" },
      h("p", { id: `${id}-hint`, class: "field-hint", text: `One e-mail address per line, at most ${MAX_CONTACTS}. Leave empty for none.` }),
      textarea,
      error,
    ),
    h("div", { class: "form-actions" }, button),
    alerts,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.hasAttribute("aria-busy")) {
      return;
    }
    const contacts = parseContacts(textarea.value);
    if (contacts.length > MAX_CONTACTS) {
      showError("securityContacts", `At most ${MAX_CONTACTS} security contacts are allowed; you entered ${contacts.length}.`);
      return;
    }
    await save(app, {
      alerts, button, showError, input: { securityContacts: contacts },
      onSaved: (saved) => {
        settings.securityContacts = saved.securityContacts;
        textarea.value = saved.securityContacts.join("\n");
        summary.textContent = contactsText(saved.securityContacts);
        alerts.replaceChildren(banner("success", "Security contacts saved."));
        announce("Security contacts saved.");
      },
    });
  });
  return form;
}

function leakForm(app, settings, summary) {
  const name = uid("leak-action");
  const alerts = h("div", { class: "policy-alerts" });
  const error = h("p", { id: `${name}-error`, class: "field-error", hidden: true });
  const button = h("button", { type: "submit", class: "button", text: "Save" });
  const choices = Object.entries(LEAK_ACTIONS).map(([value, [title, text]]) => {
    const id = `${name}-${value.toLowerCase()}`;
    return h(
      "div",
      { class: "choice" },
      h("input", { id, type: "radio", name, value, checked: value === settings.leakedSecretAction, "data-focus": id }),
      h("label", { for: id }, h("span", { class: "choice-title", text: title }), h("span", { class: "choice-text", text })),
    );
  });
  const showError = (field, message) => {
    if (field !== "leakedSecretAction") {
      return false;
    }
    error.textContent = message;
    error.hidden = false;
    return true;
  };
  const form = h(
    "form",
    { class: "form settings-form", novalidate: "" },
    h(
      "fieldset",
      { class: "fieldset", "aria-describedby": error.id },
      h("legend", { class: "field-label", text: "When a secret is reported leaked" }),
      choices,
      error,
    ),
    h("div", { class: "form-actions" }, button),
    alerts,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.hasAttribute("aria-busy")) {
      return;
    }
    error.hidden = true;
    const action = form.querySelector(`input[name="${name}"]:checked`).value;
    await save(app, {
      alerts, button, showError, input: { leakedSecretAction: action },
      onSaved: (saved) => {
        settings.leakedSecretAction = saved.leakedSecretAction;
        summary.textContent = leakText(saved.leakedSecretAction);
        alerts.replaceChildren(banner("success", "Leaked-secret policy saved."));
        announce("Leaked-secret policy saved.");
      },
    });
  });
  return form;
}

/** The "Security contacts" and "Leaked secrets" parts for `settings` (notificationSettings). */
export function settingsParts(app, settings) {
  const contacts = h("p", { class: "settings-summary", text: contactsText(settings.securityContacts) });
  const leak = h("p", { class: "settings-summary", text: leakText(settings.leakedSecretAction) });
  const manage = app.canManage();
  return [
    h(
      "section",
      { class: "notifications-part", "aria-labelledby": "contacts-title" },
      h("h3", { id: "contacts-title", text: "Security contacts" }),
      contacts,
      manage ? contactsForm(app, settings, contacts) : null,
    ),
    h(
      "section",
      { class: "notifications-part", "aria-labelledby": "leaks-title" },
      h("h3", { id: "leaks-title", text: "Leaked secrets" }),
      h("p", { class: "muted", text: "GitHub secret scanning reports our client secrets found in public code; the report shows in the credentials' audit trail." }),
      leak,
      manage ? leakForm(app, settings, leak) : null,
    ),
  ];
}
