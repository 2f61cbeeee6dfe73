// The "Events" field of the create and edit dialogs: all events, or only the events chosen in
// the picker (event_picker.js). It turns the choice into createCredential's `eventIds` and
// updateCredential's `eventIds` / `allEvents`, which the server tells apart: an omitted or null
// `eventIds` leaves a restriction as it is, so lifting one needs `allEvents: true`.

import { h } from "./dom.js";
import { eventPicker } from "./event_picker.js";

function sameSet(a, b) {
  const sorted = (list) => [...list].sort().join("\n");
  return sorted(a) === sorted(b);
}

/**
 * `initial` is the credential's `events` when editing (null: all events). `onChange(chosen)`
 * runs when the mode (chosen false) or the chosen events (chosen true) change.
 * Returns { element, problem, value, changes, setInvalid, focus }.
 */
export function eventsField({ app, id, initial = null, errorSlot, onChange }) {
  const initialMode = initial === null ? "ALL" : "ONLY";
  const modeName = `${id}-mode`;
  const modeOption = (value, label, description) => {
    const optionId = `${id}-${value.toLowerCase()}`;
    return h(
      "div",
      { class: "choice" },
      h("input", { id: optionId, type: "radio", name: modeName, value, checked: value === initialMode }),
      h(
        "label",
        { for: optionId },
        h("span", { class: "choice-title", text: label }),
        h("span", { class: "choice-text", text: description }),
      ),
    );
  };
  const picker = eventPicker({
    app, id: `${id}-picker`, initial: initial || [], errorId: errorSlot.id, onChange: () => onChange(true),
  });
  const element = h(
    "fieldset",
    { class: "fieldset", id, "aria-describedby": errorSlot.id },
    h("legend", { class: "field-label", text: "Events" }),
    modeOption("ALL", "All events", "Every event of your organisation, including events added later."),
    modeOption("ONLY", "Only these events", "The Partner API shows these credentials nothing of any other event."),
    picker.element,
    errorSlot,
  );
  const mode = () => element.querySelector(`input[name="${modeName}"]:checked`).value;

  function sync() {
    picker.element.hidden = mode() !== "ONLY";
    if (mode() === "ONLY") {
      picker.activate();
    }
  }
  for (const radio of element.querySelectorAll(`input[name="${modeName}"]`)) {
    radio.addEventListener("change", () => {
      sync();
      onChange(false);
    });
  }
  sync();

  return {
    element,
    /** What keeps the form from being sent, or undefined. */
    problem() {
      return mode() === "ONLY" && picker.chosenIds().length === 0
        ? "Choose at least one event, or allow all events."
        : undefined;
    },
    /** createCredential's `eventIds`: left out (undefined) for all events. */
    value() {
      return mode() === "ONLY" ? picker.chosenIds() : undefined;
    },
    /** updateCredential's fields for what differs from `initial`: {}, { allEvents } or { eventIds }. */
    changes() {
      if (mode() === "ALL") {
        return initialMode === "ONLY" ? { allEvents: true } : {};
      }
      const chosen = picker.chosenIds();
      return initialMode === "ALL" || !sameSet(chosen, initial.map((event) => event.id)) ? { eventIds: chosen } : {};
    },
    setInvalid(invalid) {
      picker.setInvalid(invalid);
    },
    /** Where a server error at `eventIds` sends focus: the search box, or the chosen mode. */
    focus() {
      if (mode() === "ONLY") {
        picker.focus();
      } else {
        element.querySelector(`input[name="${modeName}"]:checked`).focus();
      }
    },
  };
}
