// Settings → Organisation → Partner API: the page's entry module. It owns the shell (top bar,
// header, alerts, content), the view state (list page and filter, or one credential's detail in
// `?credential=<id>`), the session (login screen when there is none) and focus between views.
// The list view opens with the "Top credentials" card and ends with the Notifications card and,
// for owners and admins only, the API tokens card; they live as long as the login.

import { apiTokensCard } from "./api_tokens.js";
import { openCreateDialog } from "./create.js";
import { detailView } from "./detail.js";
import { announce, banner, focusHeading, h } from "./dom.js";
import { ROLE_LABELS, canManage } from "./format.js";
import { SessionError, run } from "./graphql.js";
import { PAGE_SIZE, isEmptyList, listView } from "./list.js";
import { loginView } from "./login.js";
import { errorBanner } from "./mutations.js";
import { notificationsCard } from "./notifications.js";
import { pageHeader } from "./page_header.js";
import { topCredentialsCard } from "./top_credentials.js";
import { DEFAULT_RANGE } from "./usage_panel.js";

const TITLE = "Partner API · Settings";
const root = document.getElementById("app");
const alerts = h("div", { class: "page-alerts" });
const content = h("div", { class: "content" });
let ticket = 0;

const freshList = () => ({ status: "", cursors: [null], index: 0 });

const app = {
  viewer: null,
  partnerApi: null,
  list: freshList(),
  notifications: null,
  topCredentials: null,
  apiTokens: null,
  usageRange: DEFAULT_RANGE,
  run,
  canManage() {
    return app.viewer !== null && canManage(app.viewer);
  },
  /** The organisation's maximum credential lifetime in days, or null for no limit. */
  policyDays() {
    return app.viewer.organisation.credentialPolicy.maxCredentialLifetimeDays;
  },
  setPolicyDays(days) {
    app.setPolicy({ maxCredentialLifetimeDays: days });
  },
  /** The organisation's credential policy: the lifetime, the default limits and the service's. */
  policy() {
    return app.viewer.organisation.credentialPolicy;
  },
  setPolicy(changes) {
    app.viewer.organisation.credentialPolicy = { ...app.viewer.organisation.credentialPolicy, ...changes };
  },

  /** Run a query for the page; errors become a page alert (with a retry), null is returned. */
  async load(task) {
    alerts.replaceChildren();
    try {
      return await task();
    } catch (error) {
      if (error instanceof SessionError) {
        app.sessionEnded();
        return null;
      }
      const retry = h("button", { type: "button", class: "button button-small", text: "Try again", onclick: () => route() });
      const shown = errorBanner(error);
      shown.append(retry);
      alerts.replaceChildren(shown);
      return null;
    }
  },

  openCreate(opener) {
    if (opener instanceof HTMLElement) {
      opener.focus();
    }
    openCreateDialog(app, {
      returnFocus: () => document.getElementById("page-title"),
      onCreated: async (credential) => {
        app.list = freshList();
        if (credentialIdFromUrl() !== null) {
          history.pushState({}, "", location.pathname);
        }
        await showList();
        const row = content.querySelector(`tr[data-credential-id="${CSS.escape(credential.id)}"]`);
        if (row !== null) {
          row.classList.add("is-new");
        }
        announce(`Credentials “${credential.name}” created.`);
      },
    });
  },

  openDetail(id) {
    history.pushState({ credential: id }, "", `?credential=${encodeURIComponent(id)}`);
    showDetail(id, { focus: true });
  },

  openList() {
    history.pushState({}, "", location.pathname);
    showList({ focus: true });
  },

  setStatusFilter(status) {
    app.list = { ...freshList(), status };
    showList();
  },

  changePage(step) {
    const { cursors, index } = app.list;
    app.list.index = Math.max(0, index + step);
    cursors.length = app.list.index + 1;
    showList();
  },

  async credentialChanged(credential) {
    await showDetail(credential.id);
    const messages = { REVOKED: "revoked", EXPIRED: "saved", ACTIVE: "saved" };
    announce(`Credentials “${credential.name}” ${messages[credential.status]}.`);
  },

  sessionEnded() {
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.remove();
    }
    showLogin("Your session has ended. Log in again.");
  },
};

function credentialIdFromUrl() {
  return new URLSearchParams(location.search).get("credential");
}

/** Replace the content, keeping focus on "the same" control (data-focus) or the view's heading. */
function render(node, { focus = false } = {}) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && content.contains(active);
  const key = inside ? active.dataset.focus : undefined;
  content.replaceChildren(node);
  if (!focus && !inside) {
    return;
  }
  const same = !focus && key ? content.querySelector(`[data-focus="${CSS.escape(key)}"]:not([disabled])`) : null;
  if (same !== null) {
    same.focus();
  } else {
    focusHeading(content.querySelector("h2") || document.getElementById("page-title"));
  }
}

async function showList({ connection = null, focus = false } = {}) {
  const mine = ++ticket;
  document.title = TITLE;
  let page = connection;
  if (page === null) {
    const { status, cursors, index } = app.list;
    const data = await app.load(() => run("Credentials", { first: PAGE_SIZE, after: cursors[index], status: status || null }));
    if (data === null || mine !== ticket) {
      return;
    }
    page = data.credentials;
  }
  app.list.cursors[app.list.index + 1] = page.pageInfo.endCursor;
  const card = app.notifications.mount();
  // Below the list: the card grows when its figures arrive, and above the list that would move
  // the rows under a pointer about to click one.
  const top = isEmptyList(app, page) ? null : app.topCredentials.mount();
  const tokens = app.apiTokens === null ? null : app.apiTokens.mount();
  render(h("div", { class: "list-view" }, listView(app, page), top, card, tokens), { focus });
}

async function showDetail(id, { focus = false } = {}) {
  const mine = ++ticket;
  const data = await app.load(() => run("CredentialDetail", { id, auditFirst: 20 }));
  if (data === null || mine !== ticket) {
    return;
  }
  // The limits say where they come from: the organisation's defaults as they are now.
  app.setPolicy(data.viewer.organisation.credentialPolicy);
  document.title = `${data.credential ? data.credential.name : "Not found"} · ${TITLE}`;
  render(detailView(app, data), { focus });
}

function route() {
  const id = credentialIdFromUrl();
  return id === null ? showList() : showDetail(id);
}

function topBar() {
  const viewer = app.viewer;
  const logout = h("button", { type: "button", class: "button button-small button-quiet", text: "Log out" });
  logout.addEventListener("click", async () => {
    try {
      await run("Logout");
    } catch (error) {
      if (!(error instanceof SessionError)) {
        alerts.replaceChildren(errorBanner(error));
        return;
      }
    }
    showLogin("You have logged out.");
  });
  return h(
    "header",
    { class: "topbar" },
    h("span", { class: "topbar-org", text: viewer.organisation.name }),
    h(
      "div",
      { class: "topbar-account" },
      h("span", { class: "topbar-user", text: viewer.user.email }),
      h("span", { class: "role", text: ROLE_LABELS[viewer.role] || viewer.role }),
      logout,
    ),
  );
}

function renderShell() {
  const notice = app.canManage()
    ? null
    : banner("neutral", `You have read-only access as ${ROLE_LABELS[app.viewer.role] || app.viewer.role}: you can view credentials, but not create, change, regenerate or revoke them.`);
  alerts.replaceChildren();
  content.replaceChildren();
  app.notifications = notificationsCard(app);
  app.topCredentials = topCredentialsCard(app);
  // Never built for developers and viewers, so their page does not even ask for apiTokens.
  app.apiTokens = app.canManage() ? apiTokensCard(app) : null;
  root.replaceChildren(
    topBar(),
    h("main", { id: "main", class: "page", tabindex: "-1" }, pageHeader(app), notice, alerts, content),
  );
}

function showLogin(message = null) {
  ticket += 1;
  app.viewer = null;
  app.partnerApi = null;
  app.list = freshList();
  app.notifications = null;
  app.topCredentials = null;
  app.apiTokens = null;
  app.usageRange = DEFAULT_RANGE;
  document.title = `Log in · ${TITLE}`;
  const login = loginView({ message, onLoggedIn: () => boot({ focus: true }) });
  root.replaceChildren(h("main", { id: "main", class: "page page-narrow", tabindex: "-1" }, login.view));
  login.focus();
}

async function boot({ focus = false } = {}) {
  let data;
  try {
    data = await run("PartnerApiPage", { first: PAGE_SIZE, status: null });
  } catch (error) {
    if (error instanceof SessionError) {
      showLogin();
      return;
    }
    const retry = h("button", { type: "button", class: "button", text: "Try again", onclick: () => boot({ focus: true }) });
    const shown = errorBanner(error);
    shown.append(retry);
    root.replaceChildren(h("main", { id: "main", class: "page page-narrow" }, shown));
    return;
  }
  app.viewer = data.viewer;
  app.partnerApi = data.partnerApi;
  app.list = freshList();
  renderShell();
  const id = credentialIdFromUrl();
  if (id === null) {
    await showList({ connection: data.credentials });
  } else {
    await showDetail(id);
  }
  if (focus) {
    focusHeading(document.getElementById("page-title"));
  }
}

window.addEventListener("popstate", () => {
  if (app.viewer !== null) {
    route();
  }
});

boot();
