// GraphiQL on the admin API: the page's only script of our own (the page allows no inline
// script). It runs after React, ReactDOM, GraphiQL and the explorer plugin, which the page loads
// first as deferred scripts from this origin.
//
// Requests go to the endpoint that served this page, as a same-origin JSON POST: the admin page's
// HttpOnly session cookie goes with them, so nobody copies a token into a header. Signed out, run
// the `login` mutation here: its answer sets the same cookie.
//
// What GraphiQL keeps, and where: this tab's sessionStorage (gone when the tab closes; nothing in
// localStorage), under `graphiql:` keys — the editors' query, variables and operation name per
// tab, the run history and favourites (query and variables), the layout, the theme. Never request
// headers: GraphiQL's history records them whatever `shouldPersistHeaders` says, so every write
// goes through `storage` below, which drops them.

"use strict";

(() => {
  // GraphiQL's dialogs (react-remove-scroll) add a <style> element and give it the nonce found in
  // this global; the page's policy admits styles with that nonce only (never inline script).
  const nonce = document.querySelector('meta[property="csp-nonce"]');
  window.__webpack_nonce__ = nonce === null ? undefined : nonce.nonce;

  const ENDPOINT = window.location.pathname;
  const STRUCTURED = new Set(["graphiql:tabState", "graphiql:queries", "graphiql:favorites"]);
  const DEFAULT_QUERY = `# GraphiQL for the Partner API admin API.
#
# Signed in on the admin page? Your session authorises
# these requests. If not, run the \`login\` mutation first.
#
# Run: Ctrl-Enter. Complete: Ctrl-Space.
# The schema: the book icon on the left.

{
  viewer {
    user {
      email
    }
    organisation {
      id
      name
    }
    role
  }
}
`;

  function withoutHeaders(value) {
    try {
      return JSON.stringify(JSON.parse(value), (key, item) => (key === "headers" ? null : item));
    } catch {
      return value;
    }
  }

  const storage = {
    getItem: (key) => sessionStorage.getItem(key),
    setItem(key, value) {
      if (key === "graphiql:headers") {
        return;
      }
      sessionStorage.setItem(key, STRUCTURED.has(key) ? withoutHeaders(value) : value);
    },
    removeItem: (key) => sessionStorage.removeItem(key),
    clear() {
      for (const key of Object.keys(sessionStorage)) {
        if (key.startsWith("graphiql:")) {
          sessionStorage.removeItem(key);
        }
      }
    },
    get length() {
      return Object.keys(sessionStorage).filter((key) => key.startsWith("graphiql:")).length;
    },
  };

  async function fetcher(parameters, options) {
    const response = await fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        ...(options && options.headers ? options.headers : {}),
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify(parameters),
    });
    return response.json();
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      storage,
      defaultQuery: DEFAULT_QUERY,
      shouldPersistHeaders: false,
      showPersistHeadersSettings: false,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    }),
  );
})();
