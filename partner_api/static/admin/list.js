// The overview: the empty state, or the credentials table (with each one's calls and errors of
// the last 24 hours) with a status filter and paging.

import { copyable } from "./clipboard.js";
import { h, uid } from "./dom.js";
import { STATUS_LABELS, accessSummary, counted, days, formatDate, formatNumber, formatTime, lastUsed } from "./format.js";
import { policySection } from "./policy.js";

export const PAGE_SIZE = 10;

export function statusBadge(status) {
  return h("span", { class: `badge badge-${status.toLowerCase()}`, text: STATUS_LABELS[status] || status });
}

/** "Expires soon", "Stale" and "Events ended" badges (the server decides: Credential.expiresSoon,
 * .stale, .restrictionLapsed). */
export function lifecycleBadges(app, credential) {
  const { expiresSoonDays, staleAfterDays } = app.partnerApi;
  return [
    credential.expiresSoon
      ? h("span", { class: "badge badge-soon", title: `Expires within ${days(expiresSoonDays)}`, text: "Expires soon" })
      : null,
    credential.stale
      ? h("span", { class: "badge badge-stale", title: `Not used for ${days(staleAfterDays)} or more`, text: `Stale (unused ${staleAfterDays}+ days)` })
      : null,
    credential.restrictionLapsed
      ? h("span", { class: "badge badge-lapsed", title: "Every chosen event has ended or was deleted: nothing upcoming is reachable", text: "Events ended" })
      : null,
  ];
}

function emptyState(app) {
  const manage = app.canManage();
  return h(
    "div",
    {},
    emptyCard(app, manage),
    policySection(app),
  );
}

function emptyCard(app, manage) {
  return h(
    "section",
    { class: "empty-state", "aria-labelledby": "empty-title" },
    h("div", { class: "empty-icon", "aria-hidden": "true" }),
    h("h2", { id: "empty-title", text: "No API credentials yet" }),
    h("p", { text: "No API keys have been created yet, and no external system is connected through the Partner API." }),
    manage
      ? h("p", { text: "Create credentials to give a box office, CRM or other integration secure access to your organisation's data." })
      : h("p", { class: "muted", text: "Ask an organisation owner or admin to create credentials." }),
    manage
      ? h("button", {
        type: "button", class: "button button-primary button-large", text: "Create credentials",
        onclick: (event) => app.openCreate(event.currentTarget),
      })
      : null,
  );
}

/** The events line of the Access column: short enough to keep the table within a laptop's
 * width; several events' names are in a tooltip and, for screen readers, in hidden text. */
function eventsLine(credential) {
  const events = credential.events;
  const props = { class: "cell-sub access-events" };
  if (events === null) {
    return h("span", { ...props, text: "All events" });
  }
  if (events.length <= 1) {
    return h("span", { ...props, text: events.length === 0 ? "No events left" : `Only ${events[0].name}` });
  }
  const names = events.map((event) => event.name).join(", ");
  return h(
    "span",
    { ...props, title: names },
    `Only ${events.length} events`,
    h("span", { class: "visually-hidden", text: `: ${names}` }),
  );
}

function accessCell(credential) {
  const [level, scopes] = accessSummary(credential);
  return h(
    "span",
    {},
    h(
      "span",
      { class: "nowrap" },
      level,
      credential.authMethod === "PRIVATE_KEY_JWT"
        ? h("span", { class: "badge badge-keys", title: "Authenticates with a key pair (private_key_jwt): no secret", text: "Key pair" })
        : null,
    ),
    h("span", { class: "cell-sub", text: scopes }),
    eventsLine(credential),
  );
}

function lastUsedCell(iso) {
  if (!iso) {
    return h("span", { class: "muted nowrap", text: lastUsed(iso) });
  }
  return h(
    "time",
    { datetime: iso, title: lastUsed(iso) },
    h("span", { class: "nowrap", text: formatDate(iso) }),
    h("span", { class: "cell-sub", text: formatTime(iso) }),
  );
}

/** Calls in the last 24 hours, and an "errors" badge when some failed (Credential.usage). */
function callsCell(credential) {
  const usage = credential.usage;
  if (!usage) {
    return h("span", { class: "muted", text: "—" });
  }
  return h(
    "span",
    { class: "calls-cell" },
    h("span", { class: usage.calls === 0 ? "calls-count muted" : "calls-count", text: formatNumber(usage.calls) }),
    usage.errors > 0
      ? h("span", { class: "badge badge-errors", title: "Failed calls (4xx and 5xx) in the last 24 hours", text: counted(usage.errors, "error") })
      : null,
  );
}

function row(app, credential) {
  const link = h("a", { href: `?credential=${encodeURIComponent(credential.id)}`, class: "credential-link", text: credential.name });
  link.addEventListener("click", (event) => {
    if (event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      app.openDetail(credential.id);
    }
  });
  return h(
    "tr",
    { "data-credential-id": credential.id },
    h(
      "th",
      { scope: "row", "data-label": "Name" },
      link,
      h("span", { class: "cell-sub", text: credential.contactEmail }),
      // Under the name rather than in the status column, which stays narrow enough for the table.
      credential.expiresSoon || credential.stale || credential.restrictionLapsed
        ? h("span", { class: "badges cell-badges" }, lifecycleBadges(app, credential))
        : null,
    ),
    h("td", { "data-label": "Client ID" }, copyable(credential.clientId, `client ID of ${credential.name}`)),
    h("td", { "data-label": "Access" }, accessCell(credential)),
    h("td", { "data-label": "Created", class: "nowrap" }, h("time", { datetime: credential.createdAt, text: formatDate(credential.createdAt) })),
    h("td", { "data-label": "Status", class: "nowrap" }, statusBadge(credential.status)),
    h("td", { "data-label": "Last used" }, lastUsedCell(credential.lastUsedAt)),
    h("td", { "data-label": "Calls (24 h)", class: "calls" }, callsCell(credential)),
  );
}

function filter(app) {
  const id = uid("status-filter");
  const select = h(
    "select",
    { id, name: "status", "data-focus": "status-filter" },
    h("option", { value: "", text: "All statuses" }),
    Object.entries(STATUS_LABELS).map(([value, label]) => h("option", { value, text: label })),
  );
  select.value = app.list.status;
  select.addEventListener("change", () => app.setStatusFilter(select.value));
  return h("div", { class: "filter" }, h("label", { for: id, text: "Status" }), select);
}

function pager(app, connection) {
  const { index } = app.list;
  const shown = connection.edges.length;
  const first = index * PAGE_SIZE + 1;
  const range = shown === 0 ? "" : `${first}–${first + shown - 1} of ${connection.totalCount}`;
  const previous = h("button", {
    type: "button", class: "button button-small", text: "Previous", disabled: index === 0, "data-focus": "previous",
    onclick: () => app.changePage(-1),
  });
  const next = h("button", {
    type: "button", class: "button button-small", text: "Next", disabled: !connection.pageInfo.hasNextPage, "data-focus": "next",
    onclick: () => app.changePage(1),
  });
  if (index === 0 && !connection.pageInfo.hasNextPage) {
    return h("p", { class: "pager-summary muted", text: range });
  }
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages of credentials" },
    h("p", { class: "pager-summary", "aria-live": "polite", text: `Page ${index + 1} · ${range}` }),
    h("div", { class: "pager-buttons" }, previous, next),
  );
}

/** True when the organisation has no credentials at all (the empty state, not a filter's). */
export function isEmptyList(app, connection) {
  return connection.totalCount === 0 && app.list.status === "" && app.list.index === 0;
}

/** The list view for `connection` (a CredentialConnection of the current page and filter). */
export function listView(app, connection) {
  if (isEmptyList(app, connection)) {
    return emptyState(app);
  }
  const label = app.list.status ? `${STATUS_LABELS[app.list.status].toLowerCase()} ` : "";
  const body = connection.edges.length === 0
    ? h("p", { class: "no-results", text: `No ${label}credentials.` })
    : h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "credentials" },
        h("caption", { class: "visually-hidden", text: "API credentials" }),
        h(
          "thead",
          {},
          h("tr", {}, ["Name", "Client ID", "Access", "Created", "Status", "Last used", "Calls (24 h)"].map((title) => h("th", { scope: "col", text: title }))),
        ),
        h("tbody", {}, connection.edges.map((edge) => row(app, edge.node))),
      ),
    );
  return h(
    "section",
    { class: "list", "aria-labelledby": "list-title" },
    h(
      "div",
      { class: "list-toolbar" },
      h("h2", { id: "list-title", text: "Credentials" }),
      filter(app),
    ),
    body,
    pager(app, connection),
    policySection(app),
  );
}
