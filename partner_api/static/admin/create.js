// The "Create credentials" dialog: the form with the security warning and the authentication
// method, then the show-once result (or, for a key pair, the client ID: there is no secret).

import { authMethodField } from "./auth_method_field.js";
import { credentialForm } from "./credential_form.js";
import { openDialog } from "./dialog.js";
import { banner, h, uid } from "./dom.js";
import { showKeyCredentialCreated } from "./key_detail.js";
import { failureMessage, mutate } from "./mutations.js";
import { showSecretOnce } from "./secret.js";

export const SECURITY_WARNING =
  "These credentials give an external system access to your organisation's data through the " +
  "Partner API. Share them only with the system that needs them, grant the fewest scopes it " +
  "needs, keep the secret in a secrets manager (never in code, e-mail or chat) and rotate it " +
  "regularly.";

/** Open the dialog; `onCreated(credential)` runs after the result has been closed. */
export function openCreateDialog(app, { onCreated, returnFocus }) {
  let created = null;
  const dialog = openDialog({
    title: "Create credentials",
    className: "dialog-wide",
    returnFocus,
    onClose: () => {
      if (created !== null) {
        onCreated(created);
      }
    },
  });
  const form = credentialForm({ app, scopes: app.partnerApi.scopes, maxDays: app.policyDays() });
  const auth = authMethodField(app, { onInput: () => refresh() });
  const valid = () => form.isValid() && auth.problem() === null;
  const alerts = h("div", { class: "dialog-alerts" });
  const hintId = uid("create-hint");
  const submit = h("button", {
    type: "submit", class: "button button-primary", text: "Create credentials", disabled: true,
    "aria-describedby": hintId,
  });
  const hint = h("p", {
    id: hintId, class: "field-hint submit-hint",
    text: "Enter a name and a contact e-mail; for fine-grained access choose at least one scope, for “Only these events” at least one event, and for a key pair its public keys.",
  });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const element = h(
    "form",
    { class: "form", novalidate: "" },
    h(
      "div",
      { class: "banner banner-warning", role: "note" },
      h("p", { class: "strong", text: "Keep these credentials safe" }),
      h("p", { text: SECURITY_WARNING }),
    ),
    form.element,
    auth.element,
    alerts,
    hint,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  const refresh = () => {
    submit.disabled = !valid();
    hint.hidden = valid();
  };
  form.onInput(refresh);

  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!valid() || submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Creating…",
      operation: "CreateCredential", field: "createCredential", variables: { input: { ...form.values(), ...auth.values() } },
    });
    refresh();
    if (result === null) {
      return;
    }
    if (result.__typename === "CredentialCreated") {
      created = result.credential;
      showSecretOnce(dialog, {
        title: `Credentials created for “${result.credential.name}”`,
        credential: result.credential,
        clientSecret: result.clientSecret,
        tokenEndpoint: app.partnerApi.tokenEndpoint,
        onDone: () => dialog.close(),
      });
    } else if (result.__typename === "KeyCredentialCreated") {
      created = result.credential;
      showKeyCredentialCreated(dialog, { app, credential: result.credential, onDone: () => dialog.close() });
    } else if (!(result.__typename === "ValidationError" && (form.showError(result.field, result.message) || auth.showError(result.field, result.message)))) {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });

  dialog.body.append(element);
  form.focusFirst();
}
