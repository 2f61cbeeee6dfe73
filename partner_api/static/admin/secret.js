// The show-once result of createCredential and regenerateCredentialSecret. The secret exists in
// this panel's DOM and in the copy button's closure only; closing the dialog removes both. It is
// never written to storage, the URL or history.

import { copyable } from "./clipboard.js";
import { h } from "./dom.js";

/**
 * Replace the dialog's content with the client ID and the new secret. `notes` are extra lines
 * (e.g. what happens to the previous secret). Resolves nothing; `onDone` closes the dialog.
 */
export function showSecretOnce(dialog, { title, credential, clientSecret, tokenEndpoint, notes = [], onDone }) {
  dialog.setTitle(title);
  const done = h("button", { type: "button", class: "button button-primary", text: "Done", onclick: onDone });
  dialog.body.replaceChildren(
    h(
      "div",
      { class: "secret-result" },
      h(
        "div",
        { class: "banner banner-warning", role: "note" },
        h("p", { class: "strong", text: "Copy the secret now: this secret will not be shown again." }),
        h("p", { text: "Store it in a password manager or your integration's secret store. If it is lost, regenerate it." }),
      ),
      h(
        "dl",
        { class: "facts facts-stacked" },
        h("dt", { text: "Client ID" }),
        h("dd", {}, copyable(credential.clientId, "Client ID")),
        h("dt", { text: "Client secret" }),
        h("dd", { class: "secret-value" }, copyable(clientSecret, "Client secret", { secret: true })),
        tokenEndpoint ? h("dt", { text: "Token endpoint" }) : null,
        tokenEndpoint ? h("dd", {}, copyable(tokenEndpoint, "Token endpoint")) : null,
      ),
      notes.map((note) => h("p", { class: "muted", text: note })),
      h("div", { class: "dialog-actions" }, done),
    ),
  );
  // Focus the secret's copy button, not "Done": an early Enter must not throw the secret away.
  dialog.body.querySelector(".secret-value button").focus();
}
