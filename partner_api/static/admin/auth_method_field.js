// The Create dialog's "Authentication" choice: a client secret (the default, shown once) or a key
// pair (private_key_jwt, RFC 7523 §2.2), which asks for the public keys (key_source.js) and
// makes no secret at all.

import { h, uid } from "./dom.js";
import { AUTH_METHOD_LABELS } from "./format.js";
import { keySourceField, keysExplanation } from "./key_source.js";

const TEXTS = {
  CLIENT_SECRET: "A secret shown once; the partner's system sends it with each token request.",
  PRIVATE_KEY_JWT: "No shared secret: the partner's system signs each token request with its own private key.",
};

/** Returns { element, problem, values, showError } for createCredential's input. */
export function authMethodField(app, { onInput }) {
  const base = uid("auth-method");
  const inputs = Object.keys(TEXTS).map((method) => h("input", {
    id: `${base}-${method.toLowerCase()}`, type: "radio", name: base, value: method, checked: method === "CLIENT_SECRET",
  }));
  const keys = keySourceField({ onInput });
  const keyPart = h("div", { class: "key-part" }, keysExplanation(app), keys.element);
  const element = h(
    "div",
    { class: "auth-method" },
    h(
      "fieldset",
      { class: "fieldset", "data-part": "auth-method" },
      h("legend", { class: "field-label", text: "Authentication" }),
      inputs.map((input) => h(
        "div",
        { class: "choice" },
        input,
        h(
          "label",
          { for: input.id },
          h("span", { class: "choice-title", text: AUTH_METHOD_LABELS[input.value] }),
          h("span", { class: "choice-text", text: TEXTS[input.value] }),
        ),
      )),
    ),
    keyPart,
  );
  const method = () => inputs.find((input) => input.checked).value;
  const refresh = () => {
    keyPart.hidden = method() !== "PRIVATE_KEY_JWT";
    onInput();
  };
  element.addEventListener("change", refresh);
  keyPart.hidden = true;

  return {
    element,
    method,
    problem: () => (method() === "PRIVATE_KEY_JWT" ? keys.problem() : null),
    /** Nothing for a client secret (the server's default); the method and key source otherwise. */
    values: () => (method() === "PRIVATE_KEY_JWT" ? { authMethod: "PRIVATE_KEY_JWT", ...keys.value() } : {}),
    showError(key, message) {
      if (key === "authMethod") {
        inputs[0].focus();
        return false;
      }
      return method() === "PRIVATE_KEY_JWT" && keys.showError(key, message);
    },
  };
}
