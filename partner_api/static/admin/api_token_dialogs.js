// The API token dialogs: Create API token (name, role, expiry, then the `pat_…` token shown
// once) and Revoke (a confirmation naming the token). Each calls `onChanged(apiToken)` after its
// dialog has closed, when a token changed, so the card reloads the tokens. The token exists in the
// result's DOM and the copy button's closure only; closing the dialog removes both.

import { openDialog } from "./dialog.js";
import { banner, h, uid } from "./dom.js";
import { ROLE_LABELS, formatDateTime } from "./format.js";
import { failureMessage, mutate } from "./mutations.js";
import { showApiTokenOnce } from "./secret.js";

export const API_TOKENS_PERMISSION_HELP = "Only organisation owners and admins can create or revoke API tokens.";
const NAME_MAX = 100;
// Most powerful first. A token's role is at most ADMIN (owners act in person) and at most the
// creator's own; the server enforces both, the select only offers what it would accept.
const ROLE_ORDER = ["OWNER", "ADMIN", "DEVELOPER", "VIEWER"];
const TOKEN_ROLES = ["ADMIN", "DEVELOPER", "VIEWER"];
// The least a script needs to read; choosing more is a deliberate step.
const DEFAULT_ROLE = "VIEWER";
const EXPIRY_DAYS = [7, 30, 90, 365];
const DEFAULT_EXPIRY_DAYS = 90;
const DAY_MS = 86400000;

/** The roles `viewerRole` may give a token. */
export function grantableRoles(viewerRole) {
  const own = ROLE_ORDER.indexOf(viewerRole);
  return own < 0 ? [] : TOKEN_ROLES.filter((role) => ROLE_ORDER.indexOf(role) >= own);
}

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

function field({ id, label, hint, control, error }) {
  control.setAttribute("aria-describedby", `${id}-hint ${error.id}`);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "field-label", text: label }),
    h("p", { id: `${id}-hint`, class: "field-hint" }, hint),
    control,
    error,
  );
}

/** The name, role and expiry fields; `showError(field, message)` places an error at its field. */
function tokenFields(app) {
  const base = uid("api-token");
  const ids = { name: `${base}-name`, role: `${base}-role`, expiresAt: `${base}-expiry` };
  const errors = Object.fromEntries(
    Object.entries(ids).map(([key, id]) => [key, h("p", { id: `${id}-error`, class: "field-error", hidden: true })]),
  );
  const name = h("input", { id: ids.name, name: "name", type: "text", required: true, maxlength: NAME_MAX, autocomplete: "off" });
  const roles = grantableRoles(app.viewer.role);
  const role = h(
    "select",
    { id: ids.role, name: "role" },
    roles.map((value) => h("option", { value, text: ROLE_LABELS[value] || value })),
  );
  role.value = roles.includes(DEFAULT_ROLE) ? DEFAULT_ROLE : roles[roles.length - 1];
  const expiry = h(
    "select",
    { id: ids.expiresAt, name: "expiresAt" },
    EXPIRY_DAYS.map((count) => h("option", { value: String(count), text: `${count} days` })),
  );
  expiry.value = String(DEFAULT_EXPIRY_DAYS);
  const expiryDate = h("span", {});
  const showExpiry = () => {
    expiryDate.textContent = formatDateTime(new Date(Date.now() + Number(expiry.value) * DAY_MS).toISOString());
  };
  showExpiry();
  const controls = { name, role, expiresAt: expiry };
  const showError = (key, message) => {
    if (!(key in errors)) {
      return false;
    }
    errors[key].textContent = message || "";
    errors[key].hidden = !message;
    controls[key].setAttribute("aria-invalid", message ? "true" : "false");
    if (message) {
      controls[key].focus();
    }
    return true;
  };
  name.addEventListener("input", () => showError("name", null));
  role.addEventListener("change", () => showError("role", null));
  expiry.addEventListener("change", () => {
    showError("expiresAt", null);
    showExpiry();
  });
  const element = h(
    "div",
    { class: "credential-fields" },
    field({ id: ids.name, label: "Name", hint: "What it is for, e.g. “Rotate partner secrets (CI)”.", control: name, error: errors.name }),
    field({
      id: ids.role, label: "Role", control: role, error: errors.role,
      hint: "What the token may do, at most your own role: Admin manages credentials, webhooks and settings; Developer and Viewer read.",
    }),
    field({ id: ids.expiresAt, label: "Expires after", control: expiry, error: errors.expiresAt, hint: ["It stops working on ", expiryDate, "."] }),
  );
  const values = () => ({
    name: name.value,
    role: role.value,
    // From the moment it is sent, so "90 days" is 90 days from now, not from opening the dialog.
    expiresAt: new Date(Date.now() + Number(expiry.value) * DAY_MS).toISOString(),
  });
  /** The problem the server would certainly refuse, placed at its field (true when there is one). */
  const check = () => (name.value.trim() === "" ? showError("name", "Enter a name: what the token is for.") : false);
  return { element, values, check, showError, focus: () => name.focus() };
}

/** The show-once result (secret.js), with the role and expiry it was made with. */
function showTokenOnce(dialog, { apiToken, token, onDone }) {
  showApiTokenOnce(dialog, {
    title: `API token “${apiToken.name}” created`,
    role: ROLE_LABELS[apiToken.role] || apiToken.role,
    expires: h("time", { datetime: apiToken.expiresAt, text: formatDateTime(apiToken.expiresAt) }),
    token,
    onDone,
  });
}

export function openCreateApiTokenDialog(app, { onChanged }) {
  const { dialog, state } = dialogFor("Create API token", onChanged);
  const fields = tokenFields(app);
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Create token" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h("p", { class: "muted", text: "For automation on the admin API (a CI job, Terraform, a script) without anyone's password. It acts for you: if your role is lowered, so is the token's, and it ends if you leave the organisation." }),
    fields.element,
    alerts,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy") || fields.check()) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Creating…",
      operation: "CreateApiToken", field: "createApiToken", variables: { input: fields.values() },
    });
    if (result === null) {
      return;
    }
    if (result.__typename === "ApiTokenCreated") {
      state.changed = result.apiToken;
      showTokenOnce(dialog, { apiToken: result.apiToken, token: result.token, onDone: () => dialog.close() });
    } else if (!(result.__typename === "ValidationError" && fields.showError(result.field, result.message))) {
      alerts.replaceChildren(banner("error", failureMessage(result, API_TOKENS_PERMISSION_HELP)));
    }
  });
  dialog.body.append(form);
  fields.focus();
}

export function openRevokeApiTokenDialog(app, apiToken, { onChanged }) {
  const { dialog, state } = dialogFor(`Revoke “${apiToken.name}”?`, onChanged, { className: "dialog-danger" });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-danger", text: "Revoke token" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h("p", {}, "API token ", h("code", { class: "value", text: `pat_…${apiToken.hint}` }), ` (${ROLE_LABELS[apiToken.role] || apiToken.role}), created by ${apiToken.createdBy.email}.`),
    banner("warning", "It stops working at once: every request with it is refused from now on. Revoking cannot be undone; to reconnect the pipeline or script, create a new token."),
    alerts,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Revoking…",
      operation: "RevokeApiToken", field: "revokeApiToken", variables: { input: { id: apiToken.id } },
    });
    if (result === null) {
      return;
    }
    if (result.__typename !== "ApiTokenRevoked") {
      alerts.replaceChildren(banner("error", failureMessage(result, API_TOKENS_PERMISSION_HELP)));
      // Gone meanwhile (another tab, another admin): the list is stale either way.
      if (result.__typename === "NotFound") {
        state.changed = apiToken;
      }
      return;
    }
    state.changed = result.apiToken;
    dialog.close();
  });
  dialog.body.append(form);
  // The safe choice has focus: Enter alone does not revoke.
  dialog.focus(cancel);
}
