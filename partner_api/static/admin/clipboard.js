// Copy buttons. The value lives only in this closure and the DOM node it is shown in; nothing is
// written to storage, and the clipboard is touched only when the user asks.

import { announce, h } from "./dom.js";

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** A value shown in <code> with a "Copy" button next to it. */
export function copyable(value, what, { secret = false } = {}) {
  const code = h("code", { class: secret ? "value value-secret" : "value", text: value });
  let reset = null;
  const button = h("button", {
    type: "button",
    class: "button button-small button-quiet copy",
    "aria-label": `Copy ${what}`,
    text: "Copy",
  });
  button.addEventListener("click", async () => {
    clearTimeout(reset);
    try {
      if (!navigator.clipboard) {
        throw new Error("no clipboard");
      }
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
      announce(`${what} copied to the clipboard.`);
    } catch {
      // No clipboard access (e.g. an insecure origin): select the text for Ctrl+C instead.
      selectText(code);
      button.textContent = "Press Ctrl+C";
      announce(`Could not copy automatically. ${what} is selected: press Control C to copy.`);
    }
    reset = setTimeout(() => {
      button.textContent = "Copy";
    }, 2500);
  });
  return h("span", { class: "copyable" }, code, button);
}
