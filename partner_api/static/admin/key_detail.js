// Key-pair (private_key_jwt) credentials outside the Create form: the result after creating one
// (the client ID, no secret), the detail's "Keys" card (each key's kid, algorithm and last use,
// and the JWKS URL) and, for owners and admins, "Edit keys", which replaces the JWK Set or URL
// through updateCredential (rotation: add the new key, later remove the old one).

import { copyable } from "./clipboard.js";
import { openDialog } from "./dialog.js";
import { banner, h } from "./dom.js";
import { lastUsed } from "./format.js";
import { docsLink, keySourceField } from "./key_source.js";
import { failureMessage, mutate } from "./mutations.js";

/** Replace the Create dialog's content with the new key credential's client ID. */
export function showKeyCredentialCreated(dialog, { app, credential, onDone }) {
  dialog.setTitle(`Credentials created for “${credential.name}”`);
  const done = h("button", { type: "button", class: "button button-primary", text: "Done", onclick: onDone });
  const tokenEndpoint = app.partnerApi.tokenEndpoint;
  dialog.body.replaceChildren(
    h(
      "div",
      { class: "key-result" },
      banner(
        "success",
        "There is no client secret: the partner's system signs its token requests (client assertions) with its private key, " +
          "which never leaves it. Give it the client ID below.",
      ),
      h(
        "dl",
        { class: "facts facts-stacked" },
        h("dt", { text: "Client ID" }),
        h("dd", {}, copyable(credential.clientId, "Client ID")),
        tokenEndpoint ? [h("dt", { text: "Token endpoint" }), h("dd", {}, copyable(tokenEndpoint, "Token endpoint"))] : null,
        h("dt", { text: "Public keys" }),
        h("dd", {}, keysSummary(credential)),
      ),
      h("p", { class: "muted" }, "The assertion's “iss” and “sub” are the client ID, its “aud” the token endpoint. ", docsLink(app, "See the documentation"), "."),
      h("div", { class: "dialog-actions" }, done),
    ),
  );
  dialog.body.querySelector(".copyable button").focus();
}

function keysSummary(credential) {
  if (credential.jwksUri) {
    return h("code", { class: "value", text: credential.jwksUri });
  }
  return credential.keys.map((key) => `${key.kid} (${key.alg})`).join(", ");
}

function keysTable(credential) {
  if (credential.keys.length === 0) {
    return h("p", { class: "muted", text: "No key used yet: the keys served by the JWKS URL are listed once a token request is signed with them." });
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "secrets key-table" },
      h("caption", { class: "visually-hidden", text: "Public keys" }),
      h("thead", {}, h("tr", {}, ["Key ID (kid)", "Algorithm", "Last used"].map((title) => h("th", { scope: "col", text: title })))),
      h(
        "tbody",
        {},
        credential.keys.map((key) => h(
          "tr",
          { "data-kid": key.kid },
          h("th", { scope: "row", "data-label": "Key ID (kid)" }, h("code", { text: key.kid })),
          h("td", { "data-label": "Algorithm" }, key.alg),
          h("td", { "data-label": "Last used", class: key.lastUsedAt ? "" : "muted" }, lastUsed(key.lastUsedAt)),
        )),
      ),
    ),
  );
}

/** The detail's "Keys" card of a PRIVATE_KEY_JWT credential; `onEdit` opens "Edit keys". */
export function keysSection(app, credential, { onEdit }) {
  const edit = app.canManage() && credential.status !== "REVOKED"
    ? h("button", { type: "button", class: "button button-small", text: "Edit keys", "data-focus": "edit-keys", onclick: onEdit })
    : null;
  return h(
    "section",
    { class: "card keys", "aria-labelledby": "keys-title" },
    h("div", { class: "card-header" }, h("h3", { id: "keys-title", text: "Keys" }), edit),
    h("p", { class: "muted", text: "Only public keys are kept. The partner's system signs its token requests with the matching private key." }),
    credential.jwksUri
      ? h("dl", { class: "limit-facts" }, h("dt", { text: "JWKS URL" }), h("dd", {}, copyable(credential.jwksUri, "JWKS URL")))
      : null,
    keysTable(credential),
  );
}

/** "Edit keys": a new JWK Set or URL replaces the current one. */
export function openEditKeysDialog(app, credential, { onChanged }) {
  let changed = null;
  const dialog = openDialog({
    title: `Keys of “${credential.name}”`,
    className: "dialog-wide",
    onClose: () => {
      if (changed !== null) {
        onChanged(changed);
      }
    },
  });
  const alerts = h("div", { class: "dialog-alerts" });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Save keys", disabled: true });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const source = keySourceField({
    initialUri: credential.jwksUri,
    onInput: () => {
      submit.disabled = source.problem() !== null;
    },
  });
  const current = credential.keys.map((key) => key.kid).join(", ");
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h(
      "div",
      { class: "credential-fields" },
      h("p", {
        text: "What you save replaces the current keys" + (current ? ` (${current})` : "") + ". To rotate without an interruption, " +
          "paste a set with both the current key and the new one, and remove the old key once the partner signs with the new one.",
      }),
      h("p", { class: "muted" }, "Public keys only; a change applies on every server within a second. ", docsLink(app), "."),
      source.element,
    ),
    alerts,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  submit.disabled = source.problem() !== null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (source.problem() !== null || submit.hasAttribute("aria-busy")) {
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Saving…",
      operation: "UpdateCredential", field: "updateCredential",
      variables: { input: { id: credential.id, ...source.value() } },
    });
    submit.disabled = source.problem() !== null;
    if (result === null) {
      return;
    }
    if (result.__typename === "CredentialUpdated") {
      changed = result.credential;
      dialog.close();
    } else if (!(result.__typename === "ValidationError" && source.showError(result.field, result.message))) {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });
  dialog.body.append(form);
  source.focus();
}
