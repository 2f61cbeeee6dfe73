// Modal dialogs on the native <dialog> element: the rest of the page is inert while one is open,
// Tab and Shift+Tab cycle inside it, Escape closes it (unless it is busy), and focus returns to
// the control that opened it — or the one that replaced it, or a fallback when it is gone.

import { h, uid } from "./dom.js";

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((element) => element.getClientRects().length > 0);
}

/** The control that replaced `opener` when its part of the page was rendered again meanwhile. */
function sameControl(opener) {
  const key = opener instanceof HTMLElement ? opener.dataset.focus : undefined;
  return key ? document.querySelector(`[data-focus="${CSS.escape(key)}"]:not([disabled])`) : null;
}

/**
 * Open a modal. Returns { element, body, setTitle, setBusy, close }. `onClose` runs after the
 * dialog has been removed from the document; `returnFocus` is used when the opener is gone.
 */
export function openDialog({ title, className = "", onClose = () => {}, returnFocus = null }) {
  const opener = document.activeElement;
  const titleId = uid("dialog-title");
  const heading = h("h2", { id: titleId, class: "dialog-title", text: title });
  const body = h("div", { class: "dialog-body" });
  const element = h(
    "dialog",
    { class: `dialog ${className}`.trim(), "aria-labelledby": titleId },
    h("div", { class: "dialog-frame" }, heading, body),
  );
  let busy = false;
  let closed = false;

  element.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") {
      return;
    }
    const items = focusables(element);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !element.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !element.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
  // Escape: close through our own path, so the content (a secret, say) is removed with it.
  element.addEventListener("cancel", (event) => {
    event.preventDefault();
    if (!busy) {
      close();
    }
  });

  function close() {
    if (closed) {
      return;
    }
    closed = true;
    element.close();
    element.remove();
    const target = opener instanceof HTMLElement && opener.isConnected ? opener : sameControl(opener) || (returnFocus && returnFocus());
    if (target instanceof HTMLElement) {
      if (!target.hasAttribute("tabindex") && !target.matches(FOCUSABLE)) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
    onClose();
  }

  document.body.append(element);
  element.showModal();

  return {
    element,
    body,
    setTitle(text) {
      heading.textContent = text;
    },
    /** While busy, Escape and every button are off: a late answer must find its dialog. */
    setBusy(value) {
      busy = value;
      element.setAttribute("aria-busy", value ? "true" : "false");
      for (const button of element.querySelectorAll("button")) {
        if (value) {
          button.dataset.wasDisabled = String(button.disabled);
          button.disabled = true;
        } else if (button.dataset.wasDisabled !== undefined) {
          button.disabled = button.dataset.wasDisabled === "true";
          delete button.dataset.wasDisabled;
        }
      }
    },
    get open() {
      return !closed;
    },
    /** Focus the first focusable element in the dialog (or `target`). */
    focus(target = null) {
      const item = target || focusables(element)[0];
      if (item) {
        item.focus();
      }
    },
    close,
  };
}
