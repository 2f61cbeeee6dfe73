// The header of the Partner API page: the way back to Settings, the title and lead, and the
// page's actions (the documentation, "Explore the API" in GraphiQL for developers and up where
// the service serves GraphiQL, and "Create credentials" for owners and admins).

import { h } from "./dom.js";

// Roles that may run queries of their own in GraphiQL: everyone but viewers.
const EXPLORING_ROLES = new Set(["OWNER", "ADMIN", "DEVELOPER"]);

function newTabLink(href, text) {
  const link = h("a", { class: "button", href, target: "_blank", rel: "noopener noreferrer", text });
  link.append(h("span", { class: "visually-hidden", text: " (opens in a new tab)" }));
  return link;
}

/** GraphiQL's address, which the server writes into the page only where GraphiQL is enabled. */
function graphiqlUrl() {
  const app = document.getElementById("app");
  return app === null ? undefined : app.dataset.graphiqlUrl;
}

/** The breadcrumb, the title and the page's actions (Documentation; Explore for developers and
 * up; Create for managers). */
export function pageHeader(app) {
  const documentation = newTabLink(app.partnerApi.documentationUrl, "Documentation");
  const graphiql = graphiqlUrl();
  const explore = graphiql && EXPLORING_ROLES.has(app.viewer.role) ? newTabLink(graphiql, "Explore the API") : null;
  const create = app.canManage()
    ? h("button", {
      type: "button", class: "button button-primary", text: "Create credentials", "data-focus": "create",
      onclick: (event) => app.openCreate(event.currentTarget),
    })
    : null;
  return [
    h("nav", { class: "back", "aria-label": "Breadcrumb" }, h("a", { href: "../organisation", class: "back-link", text: "Back to Settings" })),
    h(
      "div",
      { class: "page-header" },
      h(
        "div",
        { class: "page-title" },
        h("p", { class: "eyebrow", text: "Settings · Organisation" }),
        h("h1", { id: "page-title", text: "Partner API" }),
        h("p", { class: "lead", text: "Create and manage the API credentials that connect external systems — box offices, CRMs, resellers — to the platform." }),
      ),
      h("div", { class: "page-actions" }, documentation, explore, create),
    ),
  ];
}
