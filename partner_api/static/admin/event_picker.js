// "Only these events": the organisation's upcoming events (Query.events, soonest first) as a
// searchable, paged multi-select listbox, with the chosen events as removable chips above it.
//
// Keyboard: the search box filters as you type (on the server, debounced); ArrowDown moves into
// the list (event_listbox.js), and Escape there returns to the search box. Escape in a search box
// with text clears it. Both keep the dialog open, so Escape only closes it from elsewhere.

import { announce, h } from "./dom.js";
import { describe, eventListbox } from "./event_listbox.js";
import { hasEnded } from "./format.js";
import { SessionError } from "./graphql.js";
import { errorBanner } from "./mutations.js";

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;
// The server's bound on `search` (resolvers/events.py); longer input could only be refused.
const SEARCH_MAX_LENGTH = 100;

const plural = (count) => `${count} ${count === 1 ? "event" : "events"}`;
const bySoonest = (a, b) => new Date(a.startsAt) - new Date(b.startsAt);

/**
 * The picker for `app` (its `run` and `sessionEnded`). `initial` are the credential's chosen
 * events; `errorId` the field's error slot; `onChange` runs whenever the choice changes.
 * Returns { element, chosenIds, activate, focus, setInvalid }; `activate` loads the first page.
 */
export function eventPicker({ app, id, initial = [], errorId, onChange }) {
  const chosen = new Map(initial.map((event) => [event.id, event]));
  let cursor = null;
  let ticket = 0;
  let timer = null;
  let activated = false;
  let lastSearch = "";
  let loading = false;
  // ArrowDown pressed while a search was still on its way: enter the list once it is there,
  // rather than moving through the previous results.
  let enterWhenLoaded = false;

  const chosenTitle = h("p", { id: `${id}-chosen`, class: "field-label" });
  const chips = h("ul", { class: "chips", "aria-labelledby": chosenTitle.id });
  const none = h("p", { class: "field-hint", text: "No events chosen yet: choose at least one below." });

  const searchHint = h("p", {
    id: `${id}-search-hint`,
    class: "field-hint",
    text: "Upcoming events, soonest first. Type part of a name or venue; press the down arrow to " +
      "move into the list, then Space or Enter to choose an event.",
  });
  const search = h("input", {
    id: `${id}-search`, type: "search", maxlength: SEARCH_MAX_LENGTH, autocomplete: "off",
    spellcheck: "false", "aria-controls": `${id}-list`, "aria-describedby": `${searchHint.id} ${errorId}`,
  });
  const list = eventListbox({
    id,
    errorId,
    isChosen: (event) => chosen.has(event.id),
    onToggle: toggle,
    onEscape: () => search.focus(),
  });
  const status = h("p", { class: "event-status", role: "status" });
  const alerts = h("div", { class: "event-alerts" });
  const more = h("button", { type: "button", class: "button button-small", text: "Show more events", hidden: true });

  const element = h(
    "div",
    { class: "event-picker", id },
    h("div", { class: "event-chosen" }, chosenTitle, chips, none),
    h(
      "div",
      { class: "field" },
      h("label", { for: search.id, class: "field-label", text: "Find events" }),
      searchHint,
      search,
    ),
    list.element,
    status,
    alerts,
    more,
  );

  function renderChips() {
    const events = [...chosen.values()].sort(bySoonest);
    chosenTitle.textContent = `Chosen events (${events.length})`;
    none.hidden = events.length > 0;
    chips.hidden = events.length === 0;
    chips.replaceChildren(...events.map((event, index) => h(
      "li",
      { class: hasEnded(event) ? "chip chip-ended" : "chip", title: describe(event) },
      h("span", { class: "chip-label", text: hasEnded(event) ? `${event.name} (ended)` : event.name }),
      h("button", {
        type: "button", class: "chip-remove", text: "×", "aria-label": `Remove ${event.name}`,
        onclick: () => remove(event, index),
      }),
    )));
  }

  function remove(event, index) {
    chosen.delete(event.id);
    renderChips();
    list.sync();
    announce(`${event.name} removed.`);
    // Keep keyboard users in the chips: the next one, else the previous, else the search box.
    const buttons = chips.querySelectorAll(".chip-remove");
    const next = buttons[Math.min(index, buttons.length - 1)];
    (next || search).focus();
    onChange();
  }

  function toggle(event) {
    if (chosen.has(event.id)) {
      chosen.delete(event.id);
    } else {
      chosen.set(event.id, event);
    }
    renderChips();
    list.sync();
    onChange();
  }

  function showPage(connection, append) {
    if (!append) {
      list.reset();
    }
    const added = list.append(connection.edges.map((edge) => edge.node));
    if (!append && enterWhenLoaded && list.count() > 0) {
      list.enter(0);
    }
    enterWhenLoaded = false;
    cursor = connection.pageInfo.endCursor;
    more.hidden = !connection.pageInfo.hasNextPage;
    const total = connection.totalCount;
    if (total === 0) {
      status.textContent = lastSearch ? `No upcoming events match “${lastSearch}”.` : "Your organisation has no upcoming events.";
    } else {
      const matching = lastSearch ? ` matching “${lastSearch}”` : "";
      status.textContent = `Showing ${list.count()} of ${plural(total)}${matching}.`;
    }
    return added;
  }

  async function load({ append = false } = {}) {
    const mine = ++ticket;
    loading = true;
    alerts.replaceChildren();
    if (!append) {
      lastSearch = search.value.trim();
      status.textContent = "Loading events…";
    }
    let data;
    try {
      data = await app.run("Events", {
        first: PAGE_SIZE, after: append ? cursor : null, search: lastSearch || null, upcoming: true,
      });
    } catch (error) {
      if (mine !== ticket) {
        return 0;
      }
      loading = false;
      enterWhenLoaded = false;
      if (error instanceof SessionError) {
        app.sessionEnded();
        return 0;
      }
      status.textContent = "";
      const retry = h("button", { type: "button", class: "button button-small", text: "Try again", onclick: () => load({ append }) });
      const shown = errorBanner(error);
      shown.append(retry);
      alerts.replaceChildren(shown);
      return 0;
    }
    // A later search (or page) has started: this answer is out of date.
    if (mine !== ticket) {
      return 0;
    }
    loading = false;
    return showPage(data.events, append);
  }

  /** Run the typed search now, unless it is the one shown; true when a request started. */
  function searchNow() {
    clearTimeout(timer);
    timer = null;
    if (search.value.trim() !== lastSearch || list.count() === 0) {
      load();
      return true;
    }
    return false;
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(searchNow, SEARCH_DELAY_MS);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      const started = timer !== null && searchNow();
      if (started || loading) {
        enterWhenLoaded = true;
      } else if (list.count() > 0) {
        list.enter(0);
      }
    } else if (event.key === "Enter") {
      // Enter searches at once; it must not submit the dialog's form half-filled.
      event.preventDefault();
      searchNow();
    } else if (event.key === "Escape" && search.value !== "") {
      event.preventDefault();
      search.value = "";
      searchNow();
    }
  });

  more.addEventListener("click", async () => {
    const first = list.count();
    const added = await load({ append: true });
    if (added > 0) {
      // Continue in the list at the first new event (the button may be gone now).
      list.enter(first);
      announce(`${plural(added)} more shown.`);
    }
  });

  renderChips();

  return {
    element,
    chosenIds: () => [...chosen.keys()],
    /** Load the first page, once, when the picker is first shown. */
    activate() {
      if (!activated) {
        activated = true;
        load();
      }
    },
    focus() {
      search.focus();
    },
    setInvalid(invalid) {
      for (const control of [search, list.element]) {
        control.setAttribute("aria-invalid", invalid ? "true" : "false");
      }
    },
  };
}
