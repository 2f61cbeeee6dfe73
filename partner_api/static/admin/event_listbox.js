// The event picker's result list: a multi-select listbox of events that keeps focus itself and
// points at the active option with aria-activedescendant, so a screen reader follows it like a
// native select. The arrow keys, Home and End move, Space or Enter chooses or unchooses, Escape
// hands focus back (to the picker's search box). Which events are chosen stays with the picker.

import { h } from "./dom.js";
import { eventDates, hasEnded } from "./format.js";

/** An event's venue, dates and whether it has ended, as one line. */
export function describe(event) {
  return `${event.venue} · ${eventDates(event)}${hasEnded(event) ? " · ended" : ""}`;
}

/**
 * The listbox `${id}-list`, described by `errorId`. `isChosen(event)` marks an option selected;
 * `onToggle(event)` runs when the user chooses or unchooses one; `onEscape` when Escape is pressed.
 * Returns { element, count, reset, append, sync, enter }.
 */
export function eventListbox({ id, errorId, isChosen, onToggle, onEscape }) {
  let options = [];
  let active = -1;

  const listbox = h("ul", {
    id: `${id}-list`, class: "event-options", role: "listbox", tabindex: 0,
    "aria-multiselectable": "true", "aria-label": "Upcoming events", "aria-describedby": errorId, hidden: true,
  });

  function syncOptions() {
    for (const option of options) {
      option.element.setAttribute("aria-selected", isChosen(option.event) ? "true" : "false");
    }
  }

  function setActive(index) {
    if (options.length === 0) {
      return;
    }
    active = Math.max(0, Math.min(index, options.length - 1));
    options.forEach((option, position) => option.element.classList.toggle("is-active", position === active));
    const current = options[active].element;
    listbox.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function optionFor(event, index) {
    const element = h(
      "li",
      { id: `${id}-option-${index}`, class: "event-option", role: "option", "aria-selected": "false" },
      h("span", { class: "event-name", text: event.name }),
      h("span", { class: "event-meta", text: describe(event) }),
    );
    element.addEventListener("click", () => {
      setActive(index);
      onToggle(options[index].event);
    });
    return { event, element };
  }

  listbox.addEventListener("focus", () => {
    if (active === -1) {
      setActive(0);
    }
  });
  listbox.addEventListener("keydown", (event) => {
    const moves = { ArrowDown: active + 1, ArrowUp: active - 1, Home: 0, End: options.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      setActive(moves[event.key]);
    } else if ((event.key === " " || event.key === "Enter") && active !== -1) {
      event.preventDefault();
      onToggle(options[active].event);
    } else if (event.key === "Escape") {
      event.preventDefault();
      onEscape();
    }
  });

  return {
    element: listbox,
    /** How many events the list shows. */
    count: () => options.length,
    /** Empty the list, for the first page of a new search. */
    reset() {
      options = [];
      active = -1;
      listbox.removeAttribute("aria-activedescendant");
      listbox.replaceChildren();
    },
    /** Add `events` below the ones shown; the list is hidden while it has none. Returns how many. */
    append(events) {
      const added = events.map((event, position) => optionFor(event, options.length + position));
      options.push(...added);
      listbox.append(...added.map((option) => option.element));
      syncOptions();
      listbox.hidden = options.length === 0;
      return added.length;
    },
    /** Mark the chosen options again, after the choice changed elsewhere. */
    sync: syncOptions,
    /** Focus the list with the option at `index` active. */
    enter(index) {
      listbox.focus();
      setActive(index);
    },
  };
}
