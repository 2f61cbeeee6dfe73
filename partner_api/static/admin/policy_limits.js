// The credential policy's default limits: the rate limit and token quota of every credential
// without limits of its own; empty means the service setting. Everyone sees them; owners and
// admins change them here (updateCredentialPolicy, UpdateDefaultLimits). The lifetime is sent
// with its current value, since leaving it out would mean "no limit".

import { announce, banner, h, uid } from "./dom.js";
import { formatNumber } from "./format.js";
import { SessionError, run } from "./graphql.js";
import { errorBanner, failureMessage } from "./mutations.js";

const LIMITS = [
  { key: "defaultRateLimitPerMinute", service: "serviceRateLimitPerMinute", max: "maxRateLimitPerMinute", term: "Rate limit", unit: "calls" },
  { key: "defaultTokenQuotaPerMinute", service: "serviceTokenQuotaPerMinute", max: "maxTokenQuotaPerMinute", term: "Token quota", unit: "access tokens" },
];

function summaryLines(policy) {
  return LIMITS.map((limit) => {
    const own = policy[limit.key];
    const value = own === null ? policy[limit.service] : own;
    return h(
      "li",
      { "data-default": limit.key },
      `${limit.term}: ${formatNumber(value)} ${limit.unit} per minute`,
      h("span", { class: "muted", text: own === null ? " (the service setting)" : " (your organisation's default)" }),
    );
  });
}

function limitField(policy, limit) {
  const id = uid(`policy-${limit.key}`);
  const own = policy[limit.key];
  const input = h("input", {
    id, name: limit.key, type: "number", min: 1, max: policy[limit.max], step: 1, inputmode: "numeric", class: "input-short",
    value: own === null ? "" : String(own), placeholder: String(policy[limit.service]),
    "aria-describedby": `${id}-hint ${id}-error`, "data-focus": `policy-${limit.key}`,
  });
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const showError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  };
  input.addEventListener("input", () => showError(null));
  const element = h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "field-label", text: `Default ${limit.term.toLowerCase()} (${limit.unit} per minute)` }),
    h("p", {
      id: `${id}-hint`, class: "field-hint",
      text: `1 to ${formatNumber(policy[limit.max])}. Leave empty for the service setting (${formatNumber(policy[limit.service])}).`,
    }),
    input,
    error,
  );
  return {
    element, input, showError,
    /** { value } (null: the service setting), or { error }. */
    read() {
      const text = input.value.trim();
      const value = Number(text);
      if (text === "") {
        return { value: null };
      }
      if (!Number.isInteger(value) || value < 1 || value > policy[limit.max]) {
        return { error: `Enter a whole number from 1 to ${formatNumber(policy[limit.max])}, or leave it empty.` };
      }
      return { value };
    },
  };
}

function limitsForm(app, summary) {
  const policy = app.policy();
  const fields = Object.fromEntries(LIMITS.map((limit) => [limit.key, limitField(policy, limit)]));
  const alerts = h("div", { class: "policy-alerts" });
  const save = h("button", { type: "submit", class: "button", text: "Save default limits" });
  const form = h(
    "form",
    { class: "form policy-form policy-limits-form", novalidate: "" },
    h("div", { class: "policy-limit-fields" }, Object.values(fields).map((field) => field.element)),
    h("div", { class: "inline-controls" }, save),
    alerts,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (save.hasAttribute("aria-busy")) {
      return;
    }
    alerts.replaceChildren();
    const input = { maxCredentialLifetimeDays: app.policyDays() };
    for (const [key, field] of Object.entries(fields)) {
      const read = field.read();
      if (read.error) {
        field.showError(read.error);
        field.input.focus();
        return;
      }
      input[key] = read.value;
    }
    save.setAttribute("aria-busy", "true");
    save.disabled = true;
    let result;
    try {
      result = (await run("UpdateDefaultLimits", { input })).updateCredentialPolicy;
    } catch (error) {
      if (error instanceof SessionError) {
        app.sessionEnded();
        return;
      }
      alerts.replaceChildren(errorBanner(error));
      return;
    } finally {
      save.removeAttribute("aria-busy");
      save.disabled = false;
    }
    if (result.__typename === "CredentialPolicyUpdated") {
      app.setPolicy(result.policy);
      summary.replaceChildren(...summaryLines(result.policy));
      alerts.replaceChildren(banner("success", "Default limits saved."));
      announce("Default limits saved.");
    } else if (result.__typename === "ValidationError" && fields[result.field]) {
      fields[result.field].showError(result.message);
      fields[result.field].input.focus();
    } else {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });
  return form;
}

/** The "Default limits" part of the policy card: the values in words, and the form for managers. */
export function defaultLimitsPart(app) {
  const summary = h("ul", { class: "plain-list policy-limits" }, summaryLines(app.policy()));
  return h(
    "div",
    { class: "policy-part", role: "group", "aria-labelledby": "default-limits-title" },
    h("h3", { id: "default-limits-title", text: "Default limits" }),
    h("p", { class: "muted", text: "For credentials without limits of their own, per credential and minute. Changes apply on every server within a second." }),
    summary,
    app.canManage() ? limitsForm(app, summary) : null,
  );
}
