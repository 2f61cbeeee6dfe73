// The header of the Partner API page: the way back to Settings, the title and lead, and the
// page's actions (the documentation, and "Create credentials" for owners and admins).

import { h } from "./dom.js";

/** The breadcrumb, the title and the page's actions (Documentation; Create for managers). */
export function pageHeader(app) {
  const documentation = h("a", {
    class: "button", href: app.partnerApi.documentationUrl, target: "_blank", rel: "noopener noreferrer",
    text: "Documentation",
  });
  documentation.append(h("span", { class: "visually-hidden", text: " (opens in a new tab)" }));
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
      h("div", { class: "page-actions" }, documentation, create),
    ),
  ];
}
