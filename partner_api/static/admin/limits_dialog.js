// "Edit limits" on a credential's detail (owners and admins): the rate limit and the token quota,
// each the organisation default or a value of its own, and the limit mode. Only what changed is
// sent to updateCredential; "organisation default" is `useOrganisation…: true`. The page checks
// the range first, and the server's ValidationError lands at its field too.

import { openDialog } from "./dialog.js";
import { banner, h, uid } from "./dom.js";
import { LIMIT_MODE_LABELS, formatNumber } from "./format.js";
import { MODE_TEXTS } from "./limits.js";
import { failureMessage, mutate } from "./mutations.js";

// The server's field names (ValidationError.field) for each part of the form.
const FIELD_PARTS = {
  rateLimitPerMinute: "rate",
  useOrganisationRateLimit: "rate",
  tokenQuotaPerMinute: "tokens",
  useOrganisationTokenQuota: "tokens",
  limitMode: "mode",
};

function choice(id, name, value, checked, title, text) {
  const input = h("input", { id, type: "radio", name, value, checked });
  return {
    input,
    element: h(
      "div",
      { class: "choice" },
      input,
      h("label", { for: id }, h("span", { class: "choice-title", text: title }), text ? h("span", { class: "choice-text", text }) : null),
    ),
  };
}

/** One limit: "Organisation default (…)" or "Own limit" with its number. */
function limitPart({ key, legend, unit, own, organisationDefault, serviceValue, maximum }) {
  const base = uid(`limits-${key}`);
  const error = h("p", { id: `${base}-error`, class: "field-error", hidden: true });
  const inherited = organisationDefault === null || organisationDefault === undefined ? serviceValue : organisationDefault;
  const from = organisationDefault === null || organisationDefault === undefined
    ? " (the service setting: your organisation has set no default)"
    : "";
  const inherit = choice(`${base}-default`, base, "default", own === null, "Organisation default", `${formatNumber(inherited)} ${unit} per minute${from}.`);
  const custom = choice(`${base}-own`, base, "own", own !== null, "Own limit for these credentials", null);
  const input = h("input", {
    id: `${base}-value`, type: "number", min: 1, max: maximum, step: 1, inputmode: "numeric", class: "input-short",
    value: own === null ? "" : String(own), placeholder: String(inherited),
    "aria-describedby": `${base}-hint ${error.id}`,
  });
  const label = `${unit[0].toUpperCase()}${unit.slice(1)} per minute`;
  const element = h(
    "fieldset",
    { class: "fieldset limit-part", "aria-describedby": error.id, "data-part": key },
    h("legend", { class: "field-label", text: legend }),
    inherit.element,
    custom.element,
    h(
      "div",
      { class: "field limit-own" },
      h("label", { for: input.id, class: "field-label", text: label }),
      h("p", { id: `${base}-hint`, class: "field-hint", text: `1 to ${formatNumber(maximum)}.` }),
      input,
    ),
    error,
  );
  input.addEventListener("input", () => {
    custom.input.checked = true;
  });
  const showError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  };
  element.addEventListener("input", () => showError(null));
  return {
    element,
    input,
    showError,
    /** { changes } to send, or { error } when the own value is not a whole number in range. */
    read() {
      if (inherit.input.checked) {
        return { inherit: own !== null };
      }
      const value = Number(input.value.trim());
      if (input.value.trim() === "" || !Number.isInteger(value) || value < 1 || value > maximum) {
        return { error: `Enter a whole number from 1 to ${formatNumber(maximum)}, or choose the organisation default.` };
      }
      return { value: value === own ? undefined : value };
    },
  };
}

function modePart(current) {
  const base = uid("limits-mode");
  const error = h("p", { id: `${base}-error`, class: "field-error", hidden: true });
  const options = ["ENFORCE", "MONITOR"].map((mode) => choice(`${base}-${mode.toLowerCase()}`, base, mode, mode === current, LIMIT_MODE_LABELS[mode], MODE_TEXTS[mode]));
  return {
    element: h(
      "fieldset",
      { class: "fieldset", "aria-describedby": error.id, "data-part": "mode" },
      h("legend", { class: "field-label", text: "Mode" }),
      options.map((option) => option.element),
      error,
    ),
    input: options.find((option) => option.input.checked)?.input || options[0].input,
    value: () => options.find((option) => option.input.checked).input.value,
    showError(message) {
      error.textContent = message || "";
      error.hidden = !message;
    },
  };
}

export function openLimitsDialog(app, credential, { onChanged }) {
  const policy = app.policy();
  let changed = null;
  const dialog = openDialog({
    title: `Limits of “${credential.name}”`,
    className: "dialog-wide",
    onClose: () => {
      if (changed !== null) {
        onChanged(changed);
      }
    },
  });
  const parts = {
    rate: limitPart({
      key: "rate", legend: "Rate limit", unit: "calls", own: credential.rateLimitPerMinute,
      organisationDefault: policy.defaultRateLimitPerMinute, serviceValue: policy.serviceRateLimitPerMinute,
      maximum: policy.maxRateLimitPerMinute,
    }),
    tokens: limitPart({
      key: "tokens", legend: "Token quota", unit: "access tokens", own: credential.tokenQuotaPerMinute,
      organisationDefault: policy.defaultTokenQuotaPerMinute, serviceValue: policy.serviceTokenQuotaPerMinute,
      maximum: policy.maxTokenQuotaPerMinute,
    }),
    mode: modePart(credential.limitMode),
  };
  const alerts = h("div", { class: "dialog-alerts" });
  const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => dialog.close() });
  const submit = h("button", { type: "submit", class: "button button-primary", text: "Save limits" });
  const form = h(
    "form",
    { class: "form", novalidate: "" },
    h(
      "div",
      { class: "credential-fields" },
      h("p", { class: "muted", text: "Per minute, for these credentials alone. A change applies on every server within a second." }),
      parts.rate.element,
      parts.tokens.element,
      parts.mode.element,
    ),
    alerts,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );

  function changes() {
    const input = { id: credential.id };
    let invalid = null;
    for (const [key, own, inherit] of [["rate", "rateLimitPerMinute", "useOrganisationRateLimit"], ["tokens", "tokenQuotaPerMinute", "useOrganisationTokenQuota"]]) {
      const read = parts[key].read();
      if (read.error) {
        parts[key].showError(read.error);
        invalid = invalid || parts[key].input;
      } else if (read.inherit) {
        input[inherit] = true;
      } else if (read.value !== undefined) {
        input[own] = read.value;
      }
    }
    if (parts.mode.value() !== credential.limitMode) {
      input.limitMode = parts.mode.value();
    }
    return { input, invalid };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.hasAttribute("aria-busy")) {
      return;
    }
    const { input, invalid } = changes();
    if (invalid !== null) {
      invalid.focus();
      return;
    }
    if (Object.keys(input).length === 1) {
      dialog.close(); // nothing changed
      return;
    }
    const result = await mutate(app, {
      dialog, alerts, button: submit, busyLabel: "Saving…",
      operation: "UpdateCredential", field: "updateCredential", variables: { input },
    });
    if (result === null) {
      return;
    }
    if (result.__typename === "CredentialUpdated") {
      changed = result.credential;
      dialog.close();
      return;
    }
    const part = result.__typename === "ValidationError" ? parts[FIELD_PARTS[result.field]] : undefined;
    if (part) {
      part.showError(result.message);
      part.input.focus();
    } else {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });
  dialog.body.append(form);
  dialog.focus(parts.rate.element.querySelector("input:checked"));
}
