// Where a private_key_jwt credential's public keys come from (RFC 7523 §2.2): a pasted JWK Set
// (RFC 7517 §5) or the URL the token endpoint fetches one from. The page checks only that the
// pasted text is JSON shaped like a set; which keys are acceptable (public members only, the
// algorithms, RSA sizes) is the server's one rule, whose ValidationError lands at its field here.
// Used by the Create dialog (with the Authentication choice, auth_method_field.js) and by
// "Edit keys" (key_detail.js).

import { h, uid } from "./dom.js";

export const DOCS_ANCHOR = "private-key-jwt";

/** The link to the documentation's key-pair section, opening in a new tab. */
export function docsLink(app, text = "How key-pair credentials work") {
  const link = h("a", {
    href: `${app.partnerApi.documentationUrl}#${DOCS_ANCHOR}`, target: "_blank", rel: "noopener noreferrer", text,
  });
  link.append(h("span", { class: "visually-hidden", text: " (opens in a new tab)" }));
  return link;
}

/** What the admin needs to know before pasting anything. */
export function keysExplanation(app) {
  return h(
    "div",
    { class: "key-explanation" },
    h("p", {
      text: "The partner's system keeps its private key and signs a short-lived assertion with it for every token request; " +
        "we keep only the public keys, so nothing stored here can be used to get a token.",
    }),
    h("p", {
      text: "Algorithms: ES256 (recommended), EdDSA, or RS256 / PS256 with RSA keys of at least 2048 bits. Each key needs a “kid”. " +
        "Paste public keys only: a set containing a private key (“d”, “p”, “q”…) is refused.",
    }),
    h("p", {}, docsLink(app), "."),
  );
}

function slot(id) {
  return h("p", { id, class: "field-error", hidden: true });
}

/** The text's problem as a JWK Set, or null. The parser's own message is not shown: it quotes
 * the pasted text, which may hold a private key. */
function jsonProblem(text) {
  if (text.trim() === "") {
    return "Paste the public JWK Set.";
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "This is not valid JSON. Paste the JWK Set as it is, like {\"keys\": [{\"kty\": \"EC\", \"kid\": \"…\", …}]}.";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || !Array.isArray(parsed.keys)) {
    return "A JWK Set is a JSON object with a “keys” list.";
  }
  return null;
}

function urlProblem(text) {
  const value = text.trim();
  if (value === "") {
    return "Enter the JWKS URL.";
  }
  try {
    const url = new URL(value);
    if (url.protocol === "https:" || url.protocol === "http:") {
      return null;
    }
  } catch {
    // Not a URL at all: the same message.
  }
  return "Enter a full URL, starting with “https:”.";
}

/**
 * The key source fields. `initialUri` selects the URL mode with that value; `onInput` runs on
 * every change. Returns { element, problem, value, showError, focus }.
 */
export function keySourceField({ initialUri = null, onInput = () => {} }) {
  const base = uid("key-source");
  const ids = { paste: `${base}-paste`, url: `${base}-url`, jwks: `${base}-jwks`, jwksUri: `${base}-jwks-uri` };
  const errors = { jwks: slot(`${ids.jwks}-error`), jwksUri: slot(`${ids.jwksUri}-error`) };
  const touched = new Set();
  // The server's refusal stays at its field until that field changes (leaving it keeps it).
  const refused = {};
  const paste = h("input", { id: ids.paste, type: "radio", name: base, value: "paste", checked: initialUri === null });
  const byUrl = h("input", { id: ids.url, type: "radio", name: base, value: "url", checked: initialUri !== null });
  const jwks = h("textarea", {
    id: ids.jwks, name: "jwks", rows: 7, spellcheck: "false", autocomplete: "off",
    placeholder: "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"kid\": \"2025-01\", \"x\": \"…\", \"y\": \"…\"}]}",
    "aria-describedby": `${ids.jwks}-hint ${errors.jwks.id}`,
  });
  const jwksUri = h("input", {
    id: ids.jwksUri, name: "jwksUri", type: "url", autocomplete: "off", spellcheck: "false",
    value: initialUri || "",
    "aria-describedby": `${ids.jwksUri}-hint ${errors.jwksUri.id}`,
  });
  const pasteField = h(
    "div",
    { class: "field" },
    h("label", { for: ids.jwks, class: "field-label", text: "Public JWK Set" }),
    h("p", { id: `${ids.jwks}-hint`, class: "field-hint", text: "The JSON document with the partner's public keys, 1 to 10." }),
    jwks,
    errors.jwks,
  );
  const urlField = h(
    "div",
    { class: "field" },
    h("label", { for: ids.jwksUri, class: "field-label", text: "JWKS URL" }),
    h("p", { id: `${ids.jwksUri}-hint`, class: "field-hint", text: "Where the partner publishes its public keys (https); fetched when a token is requested." }),
    jwksUri,
    errors.jwksUri,
  );
  const choice = (input, title, text) => h(
    "div",
    { class: "choice" },
    input,
    h("label", { for: input.id }, h("span", { class: "choice-title", text: title }), h("span", { class: "choice-text", text })),
  );
  const element = h(
    "fieldset",
    { class: "fieldset key-source", "data-part": "key-source" },
    h("legend", { class: "field-label", text: "Public keys" }),
    choice(paste, "Paste a JWK Set", "Rotate by editing the keys here."),
    choice(byUrl, "JWKS URL", "The partner rotates keys by publishing them."),
    pasteField,
    urlField,
  );

  const mode = () => (byUrl.checked ? "jwksUri" : "jwks");
  const problems = () => (mode() === "jwks" ? { jwks: jsonProblem(jwks.value) } : { jwksUri: urlProblem(jwksUri.value) });

  function setError(key, message) {
    const control = key === "jwks" ? jwks : jwksUri;
    errors[key].textContent = message || "";
    errors[key].hidden = !message;
    control.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function render() {
    pasteField.hidden = mode() !== "jwks";
    urlField.hidden = mode() !== "jwksUri";
    const found = problems();
    for (const key of ["jwks", "jwksUri"]) {
      setError(key, (touched.has(key) && found[key]) || refused[key] || null);
    }
  }

  function refresh() {
    render();
    onInput();
  }

  const touch = (key) => () => {
    touched.add(key);
    refresh();
  };
  const edited = (key) => () => {
    delete refused[key];
    refresh();
  };
  jwks.addEventListener("input", edited("jwks"));
  jwks.addEventListener("blur", touch("jwks"));
  jwksUri.addEventListener("input", edited("jwksUri"));
  jwksUri.addEventListener("blur", touch("jwksUri"));
  element.addEventListener("change", refresh);
  render();

  return {
    element,
    /** The first problem of the chosen source, or null. */
    problem: () => Object.values(problems()).find(Boolean) || null,
    /** { jwks } (the parsed set) or { jwksUri }, for createCredential or updateCredential. */
    value: () => (mode() === "jwks" ? { jwks: JSON.parse(jwks.value) } : { jwksUri: jwksUri.value.trim() }),
    /** A server ValidationError for `jwks` or `jwksUri`: at its field, focused. False otherwise. */
    showError(key, message) {
      if (!(key in errors)) {
        return false;
      }
      (key === "jwks" ? paste : byUrl).checked = true;
      refused[key] = message;
      refresh();
      (key === "jwks" ? jwks : jwksUri).focus();
      return true;
    },
    focus() {
      (mode() === "jwks" ? paste : byUrl).focus();
    },
  };
}
