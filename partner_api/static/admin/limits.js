// The "Limits" card of a credential's detail: the rate limit and token quota in force and where
// each comes from (these credentials' own setting, the organisation default, or the service
// setting), and the limit mode with what it does. Owners and admins get an "Edit limits" button
// (the dialog is limits_dialog.js); everyone else sees the values only.

import { h } from "./dom.js";
import { LIMIT_MODE_LABELS, formatNumber } from "./format.js";

export const MODE_TEXTS = {
  ENFORCE: "Calls over the rate limit are refused with 429 Too Many Requests, and token requests over the quota are refused, until the minute is over.",
  MONITOR: "Nothing is refused for being over a limit: such calls are answered, counted as “would have been limited” in the usage, and the partner sees the limit in the RateLimit headers. Use it to learn what a limit would do before enforcing it.",
};

/** Where a limit comes from: the credential's own value, else the organisation default, else the
 * service setting (the server resolves the value the same way: Credential.effective…). */
export function limitSource(own, organisationDefault) {
  if (own !== null && own !== undefined) {
    return "Set for these credentials";
  }
  if (organisationDefault !== null && organisationDefault !== undefined) {
    return "Organisation default";
  }
  return "Service setting";
}

function fact(term, key, value, source) {
  return [
    h("dt", { text: term }),
    h(
      "dd",
      { "data-limit": key },
      h("span", { class: "limit-value", text: value }),
      h("span", { class: "cell-sub limit-source", text: source }),
    ),
  ];
}

/** The card for a credential of the CredentialDetail query; `onEdit` opens the editor. */
export function limitsSection(app, credential, { onEdit }) {
  const policy = app.policy();
  const mode = credential.limitMode;
  const edit = app.canManage() && credential.status !== "REVOKED"
    ? h("button", {
      type: "button", class: "button button-small", text: "Edit limits", "data-focus": "edit-limits",
      onclick: onEdit,
    })
    : null;
  return h(
    "section",
    { class: "card limits", "aria-labelledby": "limits-title" },
    h("div", { class: "card-header" }, h("h3", { id: "limits-title", text: "Limits" }), edit),
    h(
      "dl",
      // Not `.facts`: that is the Details card's list, which the page's tests address by class.
      { class: "limit-facts" },
      fact(
        "Rate limit", "rate",
        `${formatNumber(credential.effectiveRateLimitPerMinute)} calls per minute`,
        limitSource(credential.rateLimitPerMinute, policy.defaultRateLimitPerMinute),
      ),
      fact(
        "Token quota", "tokens",
        `${formatNumber(credential.effectiveTokenQuotaPerMinute)} access tokens per minute`,
        limitSource(credential.tokenQuotaPerMinute, policy.defaultTokenQuotaPerMinute),
      ),
      h("dt", { text: "Mode" }),
      h(
        "dd",
        { "data-limit": "mode" },
        h("span", { class: `badge badge-mode-${mode.toLowerCase()}`, text: LIMIT_MODE_LABELS[mode] || mode }),
        h("span", { class: "cell-sub limit-mode-text", text: MODE_TEXTS[mode] || "" }),
      ),
    ),
  );
}
