// The webhook endpoint dialogs: Add endpoint (URL, description, event types, then the signing
// secret shown once), Rotate secret (a confirmation, then the new secret shown once) and Delete
// (a confirmation naming the URL). Each calls `onChanged()` after its dialog has closed, when
// something changed, so the card reloads the endpoints.

import { openDialog } from "./dialog.js";
import { banner, h, uid } from "./dom.js";
import { EVENT_TYPE_LABELS } from "./format.js";
import { failureMessage, mutate, NOTIFICATIONS_PERMISSION_HELP } from "./mutations.js";
import { showSigningSecretOnce } from "./secret.js";

const DESCRIPTION_MAX = 500;

function dialogFor(title, onChanged, options = {}) {
  const state = { changed: false };
  const dialog = openDialog({
    title,
    ...options,
    onClose: () => {
      if (state.changed) {
        onChanged();
      }
    },
  });
  return { dialog, state };
}

function refusal(result) {
  return banner("error", failureMessage(result, NOTIFICATIONS_PERMISSION_HELP));
}

function errorSlot(id) {
  return h("p", { id: `${id}-error`, class: "field-error", hidden: true });
}

/** The URL, description and event-type fields; `showError(field, message)` places an error. */
function endpointFields(eventTypes) {
  const base = uid("endpoint");
  const ids = { url: `${base}-url`, description: `${base}-description`, eventTypes: `${base}-types` };
  const errors = { url: errorSlot(ids.url), description: errorSlot(ids.description), eventTypes: errorSlot(ids.eventTypes) };
  const url = h("input", {
    id: ids.url, name: "url", type: "url", inputmode: "url", autocomplete: "off", spellcheck: "false", required: true,
    "aria-describedby": `${ids.url}-hint ${errors.url.id}`,
  });
  const description = h("input", {
    id: ids.description, name: "description", type: "text", maxlength: DESCRIPTION_MAX, autocomplete: "off",
    "aria-describedby": errors.description.id,
  });
  const boxes = eventTypes.map((type) => {
    const id = `${ids.eventTypes}-${type.replace(/[^a-z0-9]+/gi, "-")}`;
    return h(
      "div",
      { class: "choice" },
      h("input", { id, type: "checkbox", name: "eventTypes", value: type, checked: true }),
      h(
        "label",
        { for: id },
        h("span", { class: "choice-title", text: EVENT_TYPE_LABELS[type] || type }),
        h("code", { class: "choice-text", text: type }),
      ),
    );
  });
  const types = h(
    "fieldset",
    { class: "fieldset scopes", id: ids.eventTypes, "aria-describedby": errors.eventTypes.id },
    h("legend", { class: "field-label", text: "Event types" }),
    h("p", { class: "field-hint", text: "The events sent to this endpoint. A test message is sent whatever you choose." }),
    boxes,
    errors.eventTypes,
  );
  const controls = { url, description, eventTypes: types };
  const showError = (field, message) => {
    if (!(field in errors)) {
      return false;
    }
    errors[field].textContent = message || "";
    errors[field].hidden = !message;
    controls[field].setAttribute("aria-invalid", message ? "true" : "false");
    if (message) {
      (field === "eventTypes" ? types.querySelector("input") : controls[field]).focus();
    }
    return true;
  };
  url.addEventListener("input", () => showError("url", null));
  description.addEventListener("input", () => showError("description", null));
  types.addEventListener("change", () => showError("eventTypes", null));
  const element = h(
    "div",
    { class: "credential-fields" },
    h(
      "div",
      { class: "field" },
      h("label", { for: ids.url, class: "field-label", text: "Endpoint URL" }),
      h("p", { id: `${ids.url}-hint`, class: "field-hint", text: "Where events are POSTed, signed per Standard Webhooks: an HTTPS URL on the public internet." }),
      url,
      errors.url,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: ids.description, class: "field-label", text: "Description (optional)" }),
      description,
      errors.description,
    ),
    types,
  );
  const values = () => ({
    url: url.value.trim(),
    description: description.value.trim() || null,
    eventTypes: [...types.querySelectorAll("input:checked")].map((box) => box.value),
  });
  /** The first problem the server would certainly refuse, placed at its field. */
  const check = () => {
    const { url: address, eventTypes: chosen } = values();
    if (address === "") {
      return showError("url", "Enter the URL to send events to.");
    }
    if (chosen.length === 0) {
      return showError("eventTypes", "Choose at least one event type.");
    }
    return false;
  };
  return { element, values, check, showError, focus: () => url.focus() };
}

export function openAddEndpointDialog(app, { eventTypes, onChanged }) {
  const { dialog, state } = dialogFor("Add webhook endpoint", onChanged, { className: "dialog-wide" });
  const fields = endpointFields(eventTypes);
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Add endpoint" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const form = h("form", { class: "form", novalidate: "" }, fields.element, alerts, h("div", { class: "dialog-actions" }, cancel, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy") || fields.check()) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Adding…",
      operation: "CreateWebhookEndpoint", field: "createWebhookEndpoint", variables: { input: fields.values() },
    });
    if (result === null) {
      return;
    }
    if (result.__typename === "WebhookEndpointCreated") {
      state.changed = true;
      showSigningSecretOnce(dialog, {
        title: "Webhook endpoint added",
        endpoint: result.endpoint,
        signingSecret: result.signingSecret,
        notes: ["Use “Send test” to check that your endpoint receives and verifies a message."],
        onDone: () => dialog.close(),
      });
    } else if (!(result.__typename === "ValidationError" && fields.showError(result.field, result.message))) {
      alerts.replaceChildren(refusal(result));
    }
  });
  dialog.body.append(form);
  fields.focus();
}

/** A confirmation whose submit runs `operation`; `onResult(result)` handles the success type. */
function confirmDialog(app, { title, onChanged, danger, body, label, busyLabel, operation, field, id, success, onResult }) {
  const { dialog, state } = dialogFor(title, onChanged, danger ? { className: "dialog-danger" } : {});
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: `button ${danger ? "button-danger" : "button-primary"}`, text: label });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const form = h("form", { class: "form", novalidate: "" }, body, alerts, h("div", { class: "dialog-actions" }, cancel, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, { dialog, alerts, button: submit, busyLabel, operation, field, variables: { input: { id } } });
    if (result === null) {
      return;
    }
    if (result.__typename !== success) {
      alerts.replaceChildren(refusal(result));
      // Gone meanwhile (deleted in another tab): the list is stale either way.
      state.changed = state.changed || result.__typename === "NotFound";
      return;
    }
    state.changed = true;
    onResult(dialog, result);
  });
  dialog.body.append(form);
  // The safe choice has focus: Enter alone does not rotate or delete.
  dialog.focus(cancel);
}

export function openRotateDialog(app, endpoint, { onChanged }) {
  confirmDialog(app, {
    title: "Rotate the signing secret?", onChanged, danger: false,
    body: h(
      "div",
      {},
      h("p", {}, "Endpoint: ", h("code", { class: "value", text: endpoint.url })),
      banner(
        "warning",
        `A new signing secret is created and shown once. The current one (ending in …${endpoint.secretHint}) stops signing at once: ` +
          "every delivery from now on, retries included, is signed with the new secret, so let your receiver accept both while you switch.",
      ),
    ),
    label: "Rotate secret", busyLabel: "Rotating…",
    operation: "RotateWebhookSecret", field: "rotateWebhookSecret", id: endpoint.id, success: "WebhookSecretRotated",
    onResult: (dialog, result) => showSigningSecretOnce(dialog, {
      title: "New signing secret",
      endpoint: result.endpoint,
      signingSecret: result.signingSecret,
      notes: ["The previous signing secret no longer signs anything."],
      onDone: () => dialog.close(),
    }),
  });
}

export function openDeleteDialog(app, endpoint, { onChanged }) {
  confirmDialog(app, {
    title: "Delete this webhook endpoint?", onChanged, danger: true,
    body: h(
      "div",
      {},
      h("p", {}, "Endpoint: ", h("code", { class: "value", text: endpoint.url })),
      banner("warning", "Nothing more is sent to it, and its deliveries, sent or not, are deleted with it. This cannot be undone."),
    ),
    label: "Delete endpoint", busyLabel: "Deleting…",
    operation: "DeleteWebhookEndpoint", field: "deleteWebhookEndpoint", id: endpoint.id, success: "WebhookEndpointDeleted",
    onResult: (dialog) => dialog.close(),
  });
}
