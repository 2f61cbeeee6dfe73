// The organisation's credential policy: the maximum lifetime of credentials, and the default
// limits (policy_limits.js). Everyone sees it; owners and admins change it here
// (updateCredentialPolicy). The lifetime applies when credentials are created or their expiry
// changes; existing credentials keep their expiry.

import { announce, banner, h, uid } from "./dom.js";
import { days } from "./format.js";
import { SessionError, run } from "./graphql.js";
import { errorBanner, failureMessage } from "./mutations.js";
import { defaultLimitsPart } from "./policy_limits.js";

const MIN_DAYS = 1;
const MAX_DAYS = 3650;

function summaryText(maxDays) {
  return maxDays === null
    ? "Maximum credential lifetime: no limit. Credentials may be created without an expiry date."
    : `Maximum credential lifetime: ${days(maxDays)}. New credentials expire within ${days(maxDays)}; without a chosen date, exactly then.`;
}

function policyForm(app, summary) {
  const id = uid("policy-days");
  const current = app.policyDays();
  const input = h("input", {
    id, name: "maxCredentialLifetimeDays", type: "number", min: MIN_DAYS, max: MAX_DAYS, step: 1,
    inputmode: "numeric", class: "input-short", value: current === null ? "" : String(current),
    "aria-describedby": `${id}-hint ${id}-error`, "data-focus": "policy-days",
  });
  const error = h("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const alerts = h("div", { class: "policy-alerts" });
  const save = h("button", { type: "submit", class: "button", text: "Save policy" });
  const showError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  };
  const form = h(
    "form",
    { class: "form policy-form", novalidate: "" },
    h(
      "div",
      { class: "field" },
      h("label", { for: id, class: "field-label", text: "Maximum lifetime (days)" }),
      h("p", { id: `${id}-hint`, class: "field-hint", text: `${MIN_DAYS} to ${MAX_DAYS} days. Leave empty for no limit.` }),
      h("div", { class: "inline-controls" }, input, save),
      error,
    ),
    alerts,
  );
  input.addEventListener("input", () => showError(null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (save.hasAttribute("aria-busy")) {
      return;
    }
    alerts.replaceChildren();
    const text = input.value.trim();
    const value = text === "" ? null : Number(text);
    if (value !== null && !(Number.isInteger(value) && value >= MIN_DAYS && value <= MAX_DAYS)) {
      showError(`Enter a whole number of days from ${MIN_DAYS} to ${MAX_DAYS}, or leave it empty.`);
      input.focus();
      return;
    }
    save.setAttribute("aria-busy", "true");
    save.disabled = true;
    let result;
    try {
      result = (await run("UpdateCredentialPolicy", { input: { maxCredentialLifetimeDays: value } })).updateCredentialPolicy;
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
      const saved = result.policy.maxCredentialLifetimeDays;
      app.setPolicyDays(saved);
      summary.textContent = summaryText(saved);
      input.value = saved === null ? "" : String(saved);
      alerts.replaceChildren(banner("success", "Policy saved."));
      announce("Credential policy saved.");
    } else if (result.__typename === "ValidationError") {
      showError(result.message);
      input.focus();
    } else {
      alerts.replaceChildren(banner("error", failureMessage(result)));
    }
  });
  return form;
}

/** The policy card under the credentials: the rule in words, and the form for managers. */
export function policySection(app) {
  const summary = h("p", { class: "policy-summary", text: summaryText(app.policyDays()) });
  return h(
    "section",
    { class: "card policy", "aria-labelledby": "policy-title" },
    h("h2", { id: "policy-title", class: "card-title", text: "Credential policy" }),
    summary,
    h("p", { class: "muted", text: "Applies when credentials are created or their expiry date is changed. Existing credentials keep their expiry." }),
    app.canManage() ? policyForm(app, summary) : null,
    defaultLimitsPart(app),
  );
}
