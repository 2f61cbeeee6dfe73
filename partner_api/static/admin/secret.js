// The show-once results: a credential's client secret (createCredential,
// regenerateCredentialSecret), a webhook endpoint's signing secret (createWebhookEndpoint,
// rotateWebhookSecret) and an admin API token (createApiToken). The secret exists in this panel's DOM and in the copy button's closure
// only; closing the dialog removes both. It is never written to storage, the URL or history.

import { copyable } from "./clipboard.js";
import { h } from "./dom.js";

/** Replace the dialog's content with `facts` ([term, node] pairs), the secret and `notes` (each
 * a string or an array of nodes and strings). `noun` names the secret in the warning. */
function showOnce(dialog, { title, warning, facts, secretLabel, secret, after = [], notes, onDone, noun = "secret" }) {
  dialog.setTitle(title);
  const done = h("button", { type: "button", class: "button button-primary", text: "Done", onclick: onDone });
  dialog.body.replaceChildren(
    h(
      "div",
      { class: "secret-result" },
      h(
        "div",
        { class: "banner banner-warning", role: "note" },
        h("p", { class: "strong", text: `Copy the ${noun} now: this ${noun} will not be shown again.` }),
        h("p", { text: warning }),
      ),
      h(
        "dl",
        { class: "facts facts-stacked" },
        facts.map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
        h("dt", { text: secretLabel }),
        h("dd", { class: "secret-value" }, copyable(secret, secretLabel, { secret: true })),
        after.map(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]),
      ),
      notes.map((note) => h("p", { class: "muted" }, note)),
      h("div", { class: "dialog-actions" }, done),
    ),
  );
  // Focus the secret's copy button, not "Done": an early Enter must not throw the secret away.
  dialog.body.querySelector(".secret-value button").focus();
}

/**
 * Replace the dialog's content with the client ID and the new secret. `notes` are extra lines
 * (e.g. what happens to the previous secret). Resolves nothing; `onDone` closes the dialog.
 */
export function showSecretOnce(dialog, { title, credential, clientSecret, tokenEndpoint, notes = [], onDone }) {
  showOnce(dialog, {
    title,
    warning: "Store it in a password manager or your integration's secret store. If it is lost, regenerate it.",
    facts: [["Client ID", copyable(credential.clientId, "Client ID")]],
    secretLabel: "Client secret",
    secret: clientSecret,
    after: tokenEndpoint ? [["Token endpoint", copyable(tokenEndpoint, "Token endpoint")]] : [],
    notes,
    onDone,
  });
}

/** The same for a webhook endpoint's `whsec_…` signing secret. */
export function showSigningSecretOnce(dialog, { title, endpoint, signingSecret, notes = [], onDone }) {
  showOnce(dialog, {
    title,
    warning: "Your receiver verifies each webhook's signature with it (Standard Webhooks). Store it in its secret store. If it is lost, rotate it.",
    facts: [["Endpoint", h("code", { class: "value", text: endpoint.url })]],
    secretLabel: "Signing secret",
    secret: signingSecret,
    notes,
    onDone,
  });
}

/** The same for an admin API token (`pat_…`), with the role it acts as and its expiry. */
export function showApiTokenOnce(dialog, { title, role, expires, token, onDone }) {
  showOnce(dialog, {
    title,
    noun: "token",
    warning: "Store it in your pipeline's or tool's secret store. Anyone who has it acts with its role in this organisation until it expires or is revoked. If it is lost, revoke it and create another.",
    facts: [["Role", role], ["Expires", expires]],
    secretLabel: "API token",
    secret: token,
    notes: [["Send it as ", h("code", { text: "Authorization: Bearer pat_…" }), " on POST /graphql."]],
    onDone,
  });
}
