// The detail view's actions: Regenerate (grace period, confirmation, show-once result), Revoke
// (a confirmation naming the credential), End a previous secret now (a confirmation that says
// whether it is safe to end) and Edit access. Each calls `onChanged(credential)` after its dialog
// has closed, when the credential changed.

import { credentialForm } from "./credential_form.js";
import { openDialog } from "./dialog.js";
import { banner, h, uid } from "./dom.js";
import { formatDateTime } from "./format.js";
import { failureMessage, mutate } from "./mutations.js";
import { showSecretOnce } from "./secret.js";

const GRACE_OPTIONS = [
  [0, "Immediately", "The current secret stops working now. Choose this if it may have leaked."],
  [60, "After 1 hour", "Enough for a system you can update right away."],
  [1440, "After 24 hours", "Time to deploy the new secret everywhere (recommended)."],
  [10080, "After 7 days", "For systems that are slow to change."],
];
const DEFAULT_GRACE = 1440;

function dialogFor(title, onChanged, options = {}) {
  const state = { changed: null };
  const dialog = openDialog({
    title,
    ...options,
    onClose: () => {
      if (state.changed !== null) {
        onChanged(state.changed);
      }
    },
  });
  return { dialog, state };
}

function actionsRow(dialog, submit) {
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  return { cancel, row: h("div", { class: "dialog-actions" }, cancel, submit) };
}

export function openRegenerateDialog(app, credential, { onChanged }) {
  const { dialog, state } = dialogFor(`Regenerate the secret of “${credential.name}”?`, onChanged);
  const [current, previous] = credential.secrets;
  const groupName = uid("grace");
  const choices = GRACE_OPTIONS.map(([minutes, label, text]) => {
    const id = `${groupName}-${minutes}`;
    return h(
      "div",
      { class: "choice" },
      h("input", { id, type: "radio", name: groupName, value: String(minutes), checked: minutes === DEFAULT_GRACE }),
      h("label", { for: id }, h("span", { class: "choice-title", text: label }), h("span", { class: "choice-text", text })),
    );
  });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Regenerate secret" });
  const { row } = actionsRow(dialog, submit);
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h("p", {
      text: "A new client secret is created and shown once. Systems using the current secret" +
        (current ? ` (ending in …${current.hint})` : "") + " must switch to the new one.",
    }),
    previous
      ? banner("warning", `The previous secret (ending in …${previous.hint}) is still in its grace period: it stops working at once.`)
      : null,
    h(
      "fieldset",
      { class: "fieldset" },
      h("legend", { class: "field-label", text: "When should the current secret stop working?" }),
      choices,
    ),
    alerts,
    row,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const grace = Number(form.querySelector(`input[name="${groupName}"]:checked`).value);
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Regenerating…",
      operation: "RegenerateCredentialSecret", field: "regenerateCredentialSecret",
      variables: { input: { id: credential.id, gracePeriodMinutes: grace } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename !== "CredentialSecretRegenerated") {
      alerts.replaceChildren(banner("error", failureMessage(result)));
      return;
    }
    state.changed = result.credential;
    const kept = result.credential.secrets.slice(1).find((secret) => secret.expiresAt);
    showSecretOnce(dialog, {
      title: `New secret for “${result.credential.name}”`,
      credential: result.credential,
      clientSecret: result.clientSecret,
      tokenEndpoint: app.partnerApi.tokenEndpoint,
      notes: [kept
        ? `The previous secret (ending in …${kept.hint}) keeps working until ${formatDateTime(kept.expiresAt)}.`
        : "The previous secret no longer works."],
      onDone: () => dialog.close(),
    });
  });
  dialog.body.append(form);
  dialog.focus(form.querySelector("input:checked"));
}

export function openRevokeDialog(app, credential, { onChanged }) {
  const { dialog, state } = dialogFor(`Revoke “${credential.name}”?`, onChanged, { className: "dialog-danger" });
  const reasonId = uid("reason");
  const reason = h("textarea", { id: reasonId, rows: 2, maxlength: 500, "aria-describedby": `${reasonId}-hint` });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-danger", text: `Revoke “${credential.name}”` });
  const { cancel, row } = actionsRow(dialog, submit);
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    banner(
      "warning",
      `“${credential.name}” (client ID ${credential.clientId}) stops working immediately: its ` +
        `${credential.authMethod === "PRIVATE_KEY_JWT" ? "keys" : "secrets"} and access tokens are refused from now on. Revocation cannot be undone; to ` +
        "reconnect the system, create new credentials.",
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: reasonId, class: "field-label", text: "Reason (optional)" }),
      h("p", { id: `${reasonId}-hint`, class: "field-hint", text: "Kept in the audit trail." }),
      reason,
    ),
    alerts,
    row,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Revoking…",
      operation: "RevokeCredential", field: "revokeCredential",
      variables: { input: { id: credential.id, reason: reason.value.trim() || null } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename !== "CredentialRevoked") {
      alerts.replaceChildren(banner("error", failureMessage(result)));
      return;
    }
    state.changed = result.credential;
    dialog.close();
  });
  dialog.body.append(form);
  // The safe choice has focus: Enter alone does not revoke.
  dialog.focus(cancel);
}

export function openEndSecretDialog(app, credential, secret, { onChanged }) {
  const { dialog, state } = dialogFor(`End the previous secret of “${credential.name}” now?`, onChanged, { className: "dialog-danger" });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-danger", text: `End secret …${secret.hint} now` });
  const { cancel, row } = actionsRow(dialog, submit);
  const ending = `The previous secret (ending in …${secret.hint}) stops working at once instead of at ` +
    `${formatDateTime(secret.expiresAt)}, and so do the access tokens obtained with it.`;
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h("p", { text: ending }),
    secret.safeToEnd
      ? banner("success", "Safe to end: it has not been used since the rotation (as of the last usage update, at most a minute old).")
      : banner("warning", secret.lastUsedAt
        ? `It was last used ${formatDateTime(secret.lastUsedAt)}. A system still using it will be refused until it switches to the current secret.`
        : "It was rotated only recently: a system still using it may not have needed a new access token yet, and will be refused once it does."),
    alerts,
    row,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Ending…",
      operation: "EndPreviousSecret", field: "endPreviousSecret",
      variables: { input: { id: credential.id, secretId: secret.id } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename !== "PreviousSecretEnded") {
      alerts.replaceChildren(banner("error", failureMessage(result)));
      return;
    }
    state.changed = result.credential;
    dialog.close();
  });
  dialog.body.append(form);
  // The safe choice has focus: Enter alone does not end the secret.
  dialog.focus(cancel);
}

export function openEditDialog(app, credential, { onChanged }) {
  const { dialog, state } = dialogFor(`Edit access of “${credential.name}”`, onChanged, { className: "dialog-wide" });
  const fields = credentialForm({ app, scopes: app.partnerApi.scopes, initial: credential, maxDays: app.policyDays() });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Save changes", disabled: true });
  const { row } = actionsRow(dialog, submit);
  const form = h("form", { class: "form", novalidate: "" }, fields.element, alerts, row);
  const refresh = () => {
    submit.disabled = !fields.isValid() || Object.keys(fields.changes()).length === 0;
  };
  fields.onInput(refresh);
  form.addEventListener("input", refresh);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = fields.changes();
    if (!fields.isValid() || Object.keys(changes).length === 0 || submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Saving…",
      operation: "UpdateCredential", field: "updateCredential",
      variables: { input: { id: credential.id, ...changes } },
    });
    refresh();
    if (result === null) {
      return;
    }
    if (result.__typename === "CredentialUpdated") {
      state.changed = result.credential;
      dialog.close();
    } else if (!(result.__typename === "ValidationError" && fields.showError(result.field, result.message))) {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });
  dialog.body.append(form);
  fields.focusFirst();
}
