// The "Usage" card of a credential's detail: a range selector, the chart of calls by status class
// (usage_chart.js), the totals, the top operations and the last errors, from Credential.usage
// (CredentialUsage). It loads after the detail itself, and again for each range chosen or on
// "Refresh"; the chosen range is kept in `app.usageRange` while the page is open. Counts reach
// the server within one flush interval of the call (a few seconds).

import { banner, h, uid } from "./dom.js";
import { formatDate, formatDateTime, formatNumber, formatTime } from "./format.js";
import { showLoadFailure } from "./mutations.js";
import { usageChart } from "./usage_chart.js";

export const RANGES = [
  { value: "LAST_HOUR", button: "Last hour", words: "the last hour", bucket: "minute" },
  { value: "LAST_DAY", button: "24 hours", words: "the last 24 hours", bucket: "hour" },
  { value: "LAST_7_DAYS", button: "7 days", words: "the last 7 days", bucket: "day" },
  { value: "LAST_30_DAYS", button: "30 days", words: "the last 30 days", bucket: "day" },
];
export const DEFAULT_RANGE = "LAST_DAY";

function rangeOf(value) {
  return RANGES.find((range) => range.value === value) || RANGES[1];
}

function total(key, term, value, note = null) {
  return h(
    "div",
    { class: "usage-total", "data-total": key },
    h("dt", { text: term }),
    h("dd", {}, h("span", { class: "usage-total-value", text: formatNumber(value) }), note ? h("span", { class: "cell-sub", text: note }) : null),
  );
}

function share(part, whole) {
  return whole === 0 ? null : `${((part / whole) * 100).toFixed(part === whole || part === 0 ? 0 : 1)} % of calls`;
}

function totals(usage) {
  const reasons = usage.tokensRefusedByReason.map((item) => `${item.reason}: ${formatNumber(item.count)}`).join(" · ");
  return h(
    "dl",
    { class: "usage-totals" },
    total("calls", "Calls", usage.calls),
    total("errors", "Errors", usage.errors, share(usage.errors, usage.calls)),
    total("rateLimited", "Rate limited", usage.rateLimited, "Refused with 429"),
    usage.wouldHaveBeenLimited > 0
      ? total("wouldHaveBeenLimited", "Would have been limited", usage.wouldHaveBeenLimited, "Over the limit in Monitor mode, answered anyway")
      : null,
    total("tokensIssued", "Tokens issued", usage.tokensIssued),
    total("tokensRefused", "Tokens refused", usage.tokensRefused, reasons || null),
    total("distinctAddresses", "Distinct addresses", usage.distinctAddresses),
  );
}

function table(className, caption, titles, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: `usage-table ${className}` },
      h("caption", { class: "visually-hidden", text: caption }),
      h("thead", {}, h("tr", {}, titles.map((title) => h("th", { scope: "col", text: title })))),
      h("tbody", {}, rows),
    ),
  );
}

function topOperations(usage, range) {
  const rows = usage.topOperations.map((item) => h(
    "tr",
    {},
    h("th", { scope: "row", "data-label": "Operation" }, h("code", { text: item.operation })),
    h("td", { "data-label": "Calls", class: "numeric" }, formatNumber(item.calls)),
    h("td", { "data-label": "Errors", class: item.errors > 0 ? "numeric usage-has-errors" : "numeric" }, formatNumber(item.errors)),
  ));
  return h(
    "div",
    { class: "usage-part" },
    h("h4", { text: "Top operations" }),
    rows.length === 0
      ? h("p", { class: "muted", text: `No Partner API calls in ${range.words}.` })
      : table("usage-operations", `Top operations in ${range.words}`, ["Operation", "Calls", "Errors"], rows),
  );
}

function lastErrors(usage, range) {
  const rows = usage.lastErrors.map((item) => h(
    "tr",
    {},
    h(
      "th",
      { scope: "row", "data-label": "Time" },
      h("time", { datetime: item.at, title: formatDateTime(item.at) }, h("span", { class: "nowrap", text: formatTime(item.at) }), h("span", { class: "cell-sub", text: formatDate(item.at) })),
    ),
    h("td", { "data-label": "Operation" }, h("code", { text: item.operation })),
    h("td", { "data-label": "Status", class: "numeric" }, String(item.status)),
    h("td", { "data-label": "Error code" }, h("code", { class: "nowrap", text: item.errorCode })),
  ));
  return h(
    "div",
    { class: "usage-part" },
    h("h4", { text: "Last errors" }),
    rows.length === 0
      ? h("p", { class: "muted", text: `No failed calls in ${range.words}.` })
      : table("usage-errors", `Last errors in ${range.words}`, ["Time", "Operation", "Status", "Error code"], rows),
  );
}

function usageContent(usage, range) {
  if (usage.calls === 0 && usage.tokensIssued === 0 && usage.tokensRefused === 0) {
    return h(
      "div",
      { class: "usage-empty" },
      h("p", { class: "usage-empty-title", text: `No calls or token requests in ${range.words}.` }),
      h("p", { class: "muted", text: "Calls and token requests with these credentials show here within seconds." }),
    );
  }
  return h(
    "div",
    { class: "usage-content" },
    h(
      "div",
      { class: "usage-overview" },
      usageChart(usage, { rangeWords: range.words, bucketWords: range.bucket }),
      totals(usage),
    ),
    h("div", { class: "usage-parts" }, topOperations(usage, range), lastErrors(usage, range)),
  );
}

/** The card for `credential`; it fills itself in when its usage has loaded. */
export function usagePanel(app, credential) {
  const titleId = uid("usage-title");
  const body = h("div", { class: "usage-body" }, h("p", { class: "muted", role: "status", text: "Loading usage…" }));
  const alerts = h("div", { class: "policy-alerts" });
  const note = h("p", { class: "muted usage-note" });
  let ticket = 0;
  const buttons = RANGES.map((range) => h("button", {
    type: "button", class: "button button-small range-button", text: range.button, "data-range": range.value,
    "data-focus": `usage-range-${range.value}`,
    onclick: () => {
      app.usageRange = range.value;
      load();
    },
  }));
  const refresh = h("button", {
    type: "button", class: "button button-small button-quiet", text: "Refresh", "aria-label": "Refresh usage",
    "data-focus": "usage-refresh", onclick: () => load(),
  });

  async function load() {
    const mine = ++ticket;
    const range = rangeOf(app.usageRange || DEFAULT_RANGE);
    for (const button of buttons) {
      button.setAttribute("aria-pressed", button.dataset.range === range.value ? "true" : "false");
    }
    note.textContent = `Partner API calls and token requests with these credentials in ${range.words}.`;
    body.setAttribute("aria-busy", "true");
    alerts.replaceChildren();
    let data;
    try {
      data = await app.run("CredentialUsage", { id: credential.id, range: range.value });
    } catch (error) {
      if (mine !== ticket) {
        return;
      }
      body.removeAttribute("aria-busy");
      showLoadFailure(app, alerts, error, load);
      return;
    }
    if (mine !== ticket) {
      return;
    }
    body.removeAttribute("aria-busy");
    body.replaceChildren(data.credential === null
      ? banner("neutral", "These credentials no longer exist.")
      : usageContent(data.credential.usage, range));
  }

  load();
  return h(
    "section",
    { class: "card usage", "aria-labelledby": titleId, "data-usage-for": credential.id },
    h(
      "div",
      { class: "usage-header" },
      h("h3", { id: titleId, text: "Usage" }),
      h(
        "div",
        { class: "usage-controls" },
        h("div", { class: "range-group", role: "group", "aria-label": "Range" }, buttons),
        refresh,
      ),
    ),
    note,
    alerts,
    body,
  );
}
