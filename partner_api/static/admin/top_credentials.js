// The "Top credentials (24 h)" card under the credentials list: the organisation's calls and errors
// of the last 24 hours, and the credentials with the most calls and with the most errors, each a
// link to its detail (Organisation.usage, OrganisationUsage). During an on-sale this is where an
// organiser sees at once who is hammering the API or failing. The card loads once per login and
// keeps its DOM while the list is paged or filtered; coming back from a detail, or "Refresh",
// looks again.

import { h } from "./dom.js";
import { counted, formatNumber } from "./format.js";
import { showLoadFailure } from "./mutations.js";

const RANGE = "LAST_DAY";

function credentialLink(app, credential) {
  const link = h("a", { href: `?credential=${encodeURIComponent(credential.id)}`, class: "credential-link", text: credential.name });
  link.addEventListener("click", (event) => {
    if (event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      app.openDetail(credential.id);
    }
  });
  return link;
}

function ranking(app, { key, title, ranks, main, sub, none }) {
  return h(
    "div",
    { class: "top-part", "data-ranking": key },
    h("h3", { text: title }),
    ranks.length === 0
      ? h("p", { class: "muted", text: none })
      : h(
        "ol",
        { class: "top-list" },
        ranks.map((rank) => h(
          "li",
          { "data-credential-id": rank.credential.id },
          credentialLink(app, rank.credential),
          h("span", { class: "top-value", text: main(rank) }),
          h("span", { class: "cell-sub", text: sub(rank) }),
        )),
      ),
  );
}

function content(app, usage) {
  if (usage.calls === 0) {
    return [h("p", { class: "muted top-summary", text: "No Partner API calls in the last 24 hours." })];
  }
  return [
    h("p", { class: "top-summary", text: `${counted(usage.calls, "call")} and ${counted(usage.errors, "error")} in the last 24 hours, all credentials together.` }),
    h(
      "div",
      { class: "top-parts" },
      ranking(app, {
        key: "calls", title: "Most calls", ranks: usage.topCredentialsByCalls,
        main: (rank) => counted(rank.calls, "call"),
        sub: (rank) => (rank.errors > 0 ? counted(rank.errors, "error") : "No errors"),
        none: "No calls.",
      }),
      ranking(app, {
        key: "errors", title: "Most errors", ranks: usage.topCredentialsByErrors,
        main: (rank) => counted(rank.errors, "error"),
        sub: (rank) => `of ${formatNumber(rank.calls)} calls`,
        none: "No failed calls.",
      }),
    ),
  ];
}

/** The card for the signed-in `app`; `mount()` returns its element, to be placed in the list view. */
export function topCredentialsCard(app) {
  const body = h("div", { class: "top-body" }, h("p", { class: "muted", role: "status", text: "Loading…" }));
  const alerts = h("div", { class: "policy-alerts" });
  const refresh = h("button", {
    type: "button", class: "button button-small button-quiet", text: "Refresh", "aria-label": "Refresh top credentials",
    "data-focus": "top-refresh", onclick: () => load(),
  });
  const element = h(
    "section",
    { class: "card top-credentials", "aria-labelledby": "top-credentials-title" },
    h("div", { class: "card-header" }, h("h2", { id: "top-credentials-title", class: "card-title", text: "Top credentials (24 h)" }), refresh),
    alerts,
    body,
  );
  let loads = 0;
  let loaded = false;

  async function load() {
    const mine = ++loads;
    alerts.replaceChildren();
    body.setAttribute("aria-busy", "true");
    let data;
    try {
      data = await app.run("OrganisationUsage", { range: RANGE });
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
    body.replaceChildren(...content(app, data.viewer.organisation.usage));
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
