// The "API tokens" card under the Notifications card, for owners and admins only: the
// organisation's admin API tokens (name and hint, role and what it acts as now, status, who
// created it and when, expiry, last use with its address), a status filter and paging, "Create
// API token" and "Revoke" (api_token_dialogs.js). app.js builds the card for managers only, so
// the page never asks for apiTokens as a developer or viewer (the server would refuse it with
// FORBIDDEN anyway). It loads once per login and keeps its DOM while the credentials list is
// paged or filtered; coming back from a credential's detail looks again.

import { openCreateApiTokenDialog, openRevokeApiTokenDialog } from "./api_token_dialogs.js";
import { announce, focusHeading, h, uid } from "./dom.js";
import { ROLE_LABELS, STATUS_LABELS, formatDate, formatTime, lastUsed } from "./format.js";
import { statusBadge } from "./list.js";
import { showLoadFailure } from "./mutations.js";

const PAGE_SIZE = 10;
const COLUMNS = ["Name", "Role", "Status", "Created", "Expires", "Last used", "Actions"];

const roleLabel = (role) => ROLE_LABELS[role] || role;

/** The role it was given, and what it acts as now when that differs (its creator's role caps it). */
function roleCell(token) {
  let note = null;
  if (token.status === "ACTIVE" && token.effectiveRole === null) {
    note = "Acts as nobody: its creator is no longer a member";
  } else if (token.effectiveRole !== null && token.effectiveRole !== token.role) {
    note = `Acts as ${roleLabel(token.effectiveRole)}: its creator's role now`;
  }
  return [h("span", { class: "nowrap", text: roleLabel(token.role) }), note ? h("span", { class: "cell-sub api-token-acts", text: note }) : null];
}

function dateCell(iso, sub) {
  return [h("time", { class: "nowrap", datetime: iso, text: formatDate(iso) }), sub ? h("span", { class: "cell-sub", text: sub }) : null];
}

function lastUsedCell(token) {
  if (!token.lastUsedAt) {
    return h("span", { class: "muted nowrap", text: lastUsed(null) });
  }
  return [
    h("time", { datetime: token.lastUsedAt, title: lastUsed(token.lastUsedAt) }, h("span", { class: "nowrap", text: `${formatDate(token.lastUsedAt)}, ${formatTime(token.lastUsedAt)}` })),
    token.lastUsedIp ? h("span", { class: "cell-sub", text: `from ${token.lastUsedIp}` }) : null,
  ];
}

function row(app, token, revoked) {
  const nameId = `api-token-name-${token.id}`;
  const revoke = token.status === "ACTIVE"
    ? h("button", {
      type: "button", class: "button button-small button-danger", text: "Revoke", "data-focus": `revoke-token-${token.id}`,
      "aria-describedby": nameId, onclick: () => openRevokeApiTokenDialog(app, token, { onChanged: revoked }),
    })
    : null;
  return h(
    "tr",
    { "data-api-token-id": token.id },
    h(
      "th",
      { scope: "row", "data-label": "Name" },
      h("span", { id: nameId, class: "api-token-name", text: token.name }),
      h("span", { class: "cell-sub" }, h("code", { class: "api-token-hint", text: `pat_…${token.hint}` })),
    ),
    h("td", { "data-label": "Role" }, roleCell(token)),
    h("td", { "data-label": "Status", class: "nowrap" }, statusBadge(token.status)),
    h("td", { "data-label": "Created" }, dateCell(token.createdAt, `by ${token.createdBy.email}`)),
    h("td", { "data-label": "Expires" }, dateCell(token.expiresAt, token.revokedAt ? `Revoked ${formatDate(token.revokedAt)}` : null)),
    h("td", { "data-label": "Last used" }, lastUsedCell(token)),
    h("td", { "data-label": "Actions" }, revoke),
  );
}

/** Replace `slot`'s content, keeping focus on "the same" control (data-focus) if it was inside. */
function replaceKeepingFocus(slot, node, fallback) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && slot.contains(active);
  const key = inside ? active.dataset.focus : undefined;
  slot.replaceChildren(node);
  if (!inside) {
    return;
  }
  const same = key ? slot.querySelector(`[data-focus="${CSS.escape(key)}"]:not([disabled])`) : null;
  if (same !== null) {
    same.focus();
  } else {
    focusHeading(fallback);
  }
}

/** The card for the signed-in manager; `mount()` returns its element, to be placed in a view. */
export function apiTokensCard(app) {
  const view = { status: "", cursors: [null], index: 0 };
  const body = h("div", { class: "api-tokens-body" }, h("p", { class: "muted", role: "status", text: "Loading the API tokens…" }));
  const alerts = h("div", { class: "policy-alerts" });
  const heading = h("h2", { id: "api-tokens-title", class: "card-title", text: "API tokens" });
  const create = h("button", {
    type: "button", class: "button", text: "Create API token", "data-focus": "create-api-token",
    onclick: () => openCreateApiTokenDialog(app, { onChanged: created }),
  });
  const element = h(
    "section",
    { class: "card api-tokens", "aria-labelledby": heading.id },
    h("div", { class: "card-header" }, heading, create),
    h("p", { class: "muted" }, "For automation on the admin API: ", h("code", { text: "Authorization: Bearer pat_…" }), " on POST /graphql acts with the token's role in this organisation, for the admin who created it, until it expires or is revoked."),
    alerts,
    body,
  );
  let loads = 0;
  let loaded = false;

  async function load({ highlight = null } = {}) {
    const mine = ++loads;
    alerts.replaceChildren();
    body.setAttribute("aria-busy", "true");
    let data;
    try {
      data = await app.run("ApiTokens", { first: PAGE_SIZE, after: view.cursors[view.index], status: view.status || null });
    } catch (error) {
      if (mine !== loads) {
        return;
      }
      body.removeAttribute("aria-busy");
      showLoadFailure(app, alerts, error, load);
      return;
    }
    if (mine !== loads) {
      return;
    }
    loaded = true;
    body.removeAttribute("aria-busy");
    const connection = data.apiTokens;
    view.cursors[view.index + 1] = connection.pageInfo.endCursor;
    replaceKeepingFocus(body, content(connection), heading);
    if (highlight !== null) {
      const created = body.querySelector(`tr[data-api-token-id="${CSS.escape(highlight)}"]`);
      if (created !== null) {
        created.classList.add("is-new");
      }
    }
  }

  /** A new token: the first page of every status, where it comes first (newest first). */
  async function created(token) {
    Object.assign(view, { status: "", cursors: [null], index: 0 });
    await load({ highlight: token.id });
    announce(`API token “${token.name}” created.`);
  }

  /** After the revoke dialog: the token as revoked, or as it was when it had gone meanwhile. */
  async function revoked(token) {
    await load();
    if (token.status === "REVOKED") {
      announce(`API token “${token.name}” revoked.`);
    }
  }

  function filter() {
    const id = uid("api-token-status");
    const select = h(
      "select",
      { id, name: "status", "data-focus": "api-token-status" },
      h("option", { value: "", text: "All statuses" }),
      Object.entries(STATUS_LABELS).map(([value, label]) => h("option", { value, text: label })),
    );
    select.value = view.status;
    select.addEventListener("change", () => {
      Object.assign(view, { status: select.value, cursors: [null], index: 0 });
      load();
    });
    // "Status" beside the card's table; in full for a screen reader's list of the page's fields,
    // where the credentials' status filter is another "Status".
    const label = h("label", { for: id }, "Status", h("span", { class: "visually-hidden", text: " of API tokens" }));
    return h("div", { class: "filter" }, label, select);
  }

  function pager(connection) {
    if (view.index === 0 && !connection.pageInfo.hasNextPage) {
      return null;
    }
    const step = (by) => () => {
      view.index = Math.max(0, view.index + by);
      view.cursors.length = view.index + 1;
      load();
    };
    return h(
      "nav",
      { class: "pager", "aria-label": "Pages of API tokens" },
      h("p", { class: "pager-summary", "aria-live": "polite", text: `Page ${view.index + 1} of ${Math.max(1, Math.ceil(connection.totalCount / PAGE_SIZE))}` }),
      h(
        "div",
        { class: "pager-buttons" },
        h("button", { type: "button", class: "button button-small", text: "Previous", disabled: view.index === 0, "data-focus": "api-tokens-previous", onclick: step(-1) }),
        h("button", { type: "button", class: "button button-small", text: "Next", disabled: !connection.pageInfo.hasNextPage, "data-focus": "api-tokens-next", onclick: step(1) }),
      ),
    );
  }

  function content(connection) {
    if (connection.totalCount === 0 && view.status === "" && view.index === 0) {
      return h("p", { class: "no-api-tokens", text: "No API tokens yet. Create one for a CI job or script that calls the admin API: it needs no one's password, and you choose its role and expiry." });
    }
    const label = view.status ? `${STATUS_LABELS[view.status].toLowerCase()} ` : "";
    const table = connection.edges.length === 0
      ? h("p", { class: "no-results", text: `No ${label}API tokens.` })
      : h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "api-tokens-table" },
          h("caption", { class: "visually-hidden", text: "API tokens" }),
          h("thead", {}, h("tr", {}, COLUMNS.map((title) => h("th", { scope: "col", text: title })))),
          h("tbody", {}, connection.edges.map((edge) => row(app, edge.node, revoked))),
        ),
      );
    return h("div", {}, h("div", { class: "api-tokens-toolbar" }, filter()), table, pager(connection));
  }

  return {
    mount() {
      if (!loaded || !element.isConnected) {
        load();
      }
      return element;
    },
  };
}
