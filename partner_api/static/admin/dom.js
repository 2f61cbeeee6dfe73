// Building DOM nodes without HTML strings: text always goes through textContent, so nothing the
// server returns (names, e-mails, audit values) can ever be parsed as markup. The page's
// Content-Security-Policy enforces Trusted Types, so any HTML-parsing sink would throw anyway.

const BOOLEAN_PROPERTIES = new Set(["hidden", "disabled", "checked", "required", "readOnly", "multiple", "selected"]);

/**
 * h("button", { class: "button", type: "button", onclick: handler }, "Label", otherNode)
 * Props: `class`, `text`, `for`, boolean properties, `on<event>` listeners, `value`, and any other
 * attribute (set with setAttribute). Children: nodes, strings (as text), null/false (skipped), arrays.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || (value === false && !BOOLEAN_PROPERTIES.has(key))) {
      continue;
    }
    if (key === "class") {
      element.className = value;
    } else if (key === "text") {
      element.textContent = value;
    } else if (key === "for") {
      element.htmlFor = value;
    } else if (key === "value") {
      element.value = value;
    } else if (BOOLEAN_PROPERTIES.has(key)) {
      element[key] = Boolean(value);
    } else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "style") {
      throw new Error('h(): inline styles are refused by the page\'s CSP; use a class');
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(element, child);
    } else if (child instanceof Node) {
      element.append(child);
    } else {
      element.append(document.createTextNode(String(child)));
    }
  }
}

let counter = 0;

/** A document-unique id for label/aria wiring. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Polite screen-reader announcement (the page's live region). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (region === null) {
    return;
  }
  region.textContent = "";
  // A fresh text node in a new task, so the same message twice is announced twice.
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** An error or notice banner; `role="alert"` for errors so they are read out at once. */
export function banner(kind, message, ...extra) {
  return h(
    "div",
    { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { text: message }),
    ...extra,
  );
}

/** Move focus to a heading (or any element) that is not normally focusable. */
export function focusHeading(element) {
  if (element === null || element === undefined) {
    return;
  }
  if (!element.hasAttribute("tabindex")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
}
