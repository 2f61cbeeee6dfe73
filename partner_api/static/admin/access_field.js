// The access field of the credential form: the "Full" / "Fine-grained" access level as radio
// buttons, and the scope catalogue as checkboxes for fine-grained access. The form owns the
// field's ids, error slots, validation and when the scopes are shown.

import { h } from "./dom.js";

/**
 * The two fieldsets for `scopes` (partnerApi.scopes), starting from `initial` (a credential; null
 * starts at Full). `levelName` names the radio group; `ids` and `errors` are the form's, keyed
 * accessLevel and scopes. Returns { levels, scopeSet, level, chosenScopes, firstScope }.
 */
export function accessField({ levelName, ids, errors, scopes, initial }) {
  const initialLevel = initial ? initial.accessLevel : "FULL";
  const levelOption = (value, label, description) => {
    const id = `${ids.accessLevel}-${value.toLowerCase()}`;
    return h(
      "div",
      { class: "choice" },
      h("input", { id, type: "radio", name: levelName, value, checked: value === initialLevel }),
      h(
        "label",
        { for: id },
        h("span", { class: "choice-title", text: label }),
        h("span", { class: "choice-text", text: description }),
      ),
    );
  };
  const levels = h(
    "fieldset",
    { class: "fieldset", id: ids.accessLevel, "aria-describedby": errors.accessLevel.id },
    h("legend", { class: "field-label", text: "Access level" }),
    levelOption("FULL", "Full", "Every Partner API scope, including scopes added later."),
    levelOption("FINE_GRAINED", "Fine-grained", "Only the scopes you choose below."),
    errors.accessLevel,
  );

  const initialScopes = new Set(initial && initial.accessLevel === "FINE_GRAINED" ? initial.scopes : []);
  const scopeBoxes = scopes.map((scope, index) => {
    const id = `${ids.scopes}-${index}`;
    const box = h("input", { id, type: "checkbox", name: "scopes", value: scope.name, checked: initialScopes.has(scope.name) });
    return {
      box,
      element: h(
        "div",
        { class: "choice" },
        box,
        h(
          "label",
          { for: id },
          h("code", { class: "choice-title", text: scope.name }),
          h("span", { class: "choice-text", text: scope.description }),
        ),
      ),
    };
  });
  const scopeSet = h(
    "fieldset",
    { class: "fieldset scopes", id: ids.scopes, "aria-describedby": errors.scopes.id },
    h("legend", { class: "field-label", text: "Scopes" }),
    h("p", { class: "field-hint", text: "Grant only what the integration needs." }),
    scopeBoxes.map((item) => item.element),
    errors.scopes,
  );

  return {
    levels,
    scopeSet,
    /** The checked access level, "FULL" or "FINE_GRAINED". */
    level: () => levels.querySelector(`input[name="${levelName}"]:checked`).value,
    /** The checked scopes' names, in catalogue order. */
    chosenScopes: () => scopeBoxes.filter((item) => item.box.checked).map((item) => item.box.value),
    /** Where focus goes for an error about the scopes (null when the catalogue is empty). */
    firstScope: () => (scopeBoxes.length ? scopeBoxes[0].box : null),
  };
}
