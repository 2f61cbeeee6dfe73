// The credential fields shared by the create and edit dialogs: name, contact e-mail, access
// level with the scope catalogue (access_field.js), the events they reach, optional expiry and
// IP allowlist. Validates as the user types (the submit button stays disabled until valid) and
// places the server's ValidationError at its field.

import { accessField } from "./access_field.js";
import { dateInputValue, days, endOfDay, formatDate, latestDateWithin } from "./format.js";
import { h, uid } from "./dom.js";
import { eventsField } from "./events_field.js";

const NAME_MAX = 100;
// The same pragmatic rule the server applies (partner_api/validation.py).
const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

function field({ id, label, hint, control, errorSlot }) {
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : null, errorSlot.id].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", describedBy);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "field-label", text: label }),
    hint ? h("p", { id: hintId, class: "field-hint", text: hint }) : null,
    control,
    errorSlot,
  );
}

function errorSlot(id) {
  return h("p", { id: `${id}-error`, class: "field-error", hidden: true });
}

function parseAllowlist(text) {
  return text.split(/[\s,]+/).map((entry) => entry.trim()).filter(Boolean);
}

function sameList(a, b) {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function expiryHint(maxDays, editing) {
  if (maxDays === null) {
    return "The credentials stop working at the end of this day, in your time zone. Leave empty for no expiry.";
  }
  const rule = `Your organisation's policy allows at most ${days(maxDays)}.`;
  return editing
    ? `The credentials stop working at the end of this day, in your time zone. ${rule}`
    : `The credentials stop working at the end of this day, in your time zone. ${rule} Leave empty for the longest allowed (${days(maxDays)} from now).`;
}

/**
 * Build the fields. `app` loads the events to choose from; `scopes` is partnerApi.scopes;
 * `initial` a credential when editing; `maxDays` the organisation's maximum credential lifetime
 * (null: no limit). Returns { element, isValid, values, changes, showError, onInput, focusFirst }.
 */
export function credentialForm({ app, scopes, initial = null, maxDays = null }) {
  const listeners = [];
  const touched = new Set();
  const base = uid("credential");
  const ids = {
    name: `${base}-name`,
    contactEmail: `${base}-email`,
    accessLevel: `${base}-access`,
    scopes: `${base}-scopes`,
    eventIds: `${base}-events`,
    expiresAt: `${base}-expiry`,
    ipAllowlist: `${base}-ips`,
  };
  const errors = Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, errorSlot(id)]));

  const name = h("input", {
    id: ids.name, name: "name", type: "text", required: true, maxlength: NAME_MAX, autocomplete: "off",
    value: initial ? initial.name : "",
  });
  const email = h("input", {
    id: ids.contactEmail, name: "contactEmail", type: "email", required: true, autocomplete: "email",
    value: initial ? initial.contactEmail : "",
  });

  const { levels, scopeSet, level, chosenScopes, firstScope } = accessField({
    levelName: `${base}-level`, ids, errors, scopes, initial,
  });

  const events = eventsField({
    app,
    id: ids.eventIds,
    initial: initial ? initial.events : null,
    errorSlot: errors.eventIds,
    onChange: (chosen) => {
      if (chosen) {
        touched.add("eventIds");
      }
      setError("eventIds", null);
      refresh();
    },
  });

  const initialExpiry = initial ? dateInputValue(initial.expiresAt) : "";
  const latestExpiry = maxDays === null ? null : latestDateWithin(maxDays);
  const expiry = h("input", {
    id: ids.expiresAt, name: "expiresAt", type: "date", value: initialExpiry,
    min: dateInputValue(new Date().toISOString()), max: latestExpiry,
  });
  const initialAllowlist = initial ? initial.ipAllowlist : [];
  const allowlist = h("textarea", {
    id: ids.ipAllowlist, name: "ipAllowlist", rows: 3, spellcheck: "false", autocomplete: "off",
    value: initialAllowlist.join("\n"),
  });

  const element = h(
    "div",
    { class: "credential-fields" },
    field({ id: ids.name, label: "Name", hint: "What these credentials connect, e.g. “Box office sync”.", control: name, errorSlot: errors.name }),
    field({ id: ids.contactEmail, label: "Contact e-mail", hint: "Who is responsible for this integration.", control: email, errorSlot: errors.contactEmail }),
    levels,
    scopeSet,
    events.element,
    field({
      id: ids.expiresAt,
      label: maxDays !== null && initial ? "Expiry date" : "Expiry date (optional)",
      hint: expiryHint(maxDays, initial !== null),
      control: expiry,
      errorSlot: errors.expiresAt,
    }),
    field({
      id: ids.ipAllowlist,
      label: "IP allowlist (optional)",
      hint: "One IP address or CIDR network per line, e.g. 198.51.100.0/24. Leave empty to allow any address.",
      control: allowlist,
      errorSlot: errors.ipAllowlist,
    }),
  );

  function problems() {
    const found = {};
    const trimmed = name.value.trim();
    if (trimmed.length === 0) {
      found.name = "Enter a name.";
    } else if (trimmed.length > NAME_MAX) {
      found.name = `Use at most ${NAME_MAX} characters.`;
    }
    if (!EMAIL.test(email.value.trim())) {
      found.contactEmail = "Enter a valid e-mail address, like it@partner.example.";
    }
    if (level() === "FINE_GRAINED" && chosenScopes().length === 0) {
      found.scopes = "Choose at least one scope.";
    }
    const eventProblem = events.problem();
    if (eventProblem) {
      found.eventIds = eventProblem;
    }
    const expiryChanged = expiry.value !== initialExpiry;
    if (expiry.value && expiryChanged && new Date(endOfDay(expiry.value)) <= new Date()) {
      found.expiresAt = "Choose a date in the future.";
    } else if (expiry.value && expiryChanged && latestExpiry !== null && expiry.value > latestExpiry) {
      found.expiresAt = `Your organisation's policy allows at most ${days(maxDays)}: choose ${formatDate(endOfDay(latestExpiry))} or earlier.`;
    } else if (!expiry.value && expiryChanged && maxDays !== null) {
      found.expiresAt = `Your organisation's policy requires an expiry date, at most ${days(maxDays)} away.`;
    }
    return found;
  }

  function setError(key, message) {
    const slot = errors[key];
    const control = { name, contactEmail: email, expiresAt: expiry, ipAllowlist: allowlist }[key];
    slot.textContent = message || "";
    slot.hidden = !message;
    if (control) {
      control.setAttribute("aria-invalid", message ? "true" : "false");
    }
    if (key === "eventIds") {
      events.setInvalid(Boolean(message));
    }
  }

  function refresh() {
    scopeSet.hidden = level() !== "FINE_GRAINED";
    const found = problems();
    for (const key of ["name", "contactEmail", "scopes", "eventIds", "expiresAt"]) {
      if (touched.has(key)) {
        setError(key, found[key]);
      }
    }
    for (const listener of listeners) {
      listener();
    }
  }

  const touch = (key) => () => {
    touched.add(key);
    refresh();
  };
  name.addEventListener("input", refresh);
  name.addEventListener("blur", touch("name"));
  email.addEventListener("input", refresh);
  email.addEventListener("blur", touch("contactEmail"));
  expiry.addEventListener("input", touch("expiresAt"));
  allowlist.addEventListener("input", () => setError("ipAllowlist", null));
  levels.addEventListener("change", () => {
    setError("accessLevel", null);
    refresh();
  });
  scopeSet.addEventListener("change", touch("scopes"));
  queueMicrotask(refresh);

  /** Everything, for createCredential's input. */
  function values() {
    const result = { name: name.value.trim(), contactEmail: email.value.trim(), accessLevel: level() };
    if (result.accessLevel === "FINE_GRAINED") {
      result.scopes = chosenScopes();
    }
    const eventIds = events.value();
    if (eventIds !== undefined) {
      result.eventIds = eventIds;
    }
    if (expiry.value) {
      result.expiresAt = endOfDay(expiry.value);
    }
    const entries = parseAllowlist(allowlist.value);
    if (entries.length > 0) {
      result.ipAllowlist = entries;
    }
    return result;
  }

  /** Only what differs from `initial`, for updateCredential's input (left-out fields stay). */
  function changes() {
    const result = {};
    if (name.value.trim() !== initial.name) {
      result.name = name.value.trim();
    }
    if (email.value.trim() !== initial.contactEmail) {
      result.contactEmail = email.value.trim();
    }
    if (level() !== initial.accessLevel) {
      result.accessLevel = level();
    }
    if (level() === "FINE_GRAINED") {
      const chosen = chosenScopes();
      if (level() !== initial.accessLevel || !sameList(chosen, initial.scopes)) {
        result.scopes = chosen;
      }
    }
    Object.assign(result, events.changes());
    if (expiry.value !== initialExpiry) {
      result.expiresAt = expiry.value ? endOfDay(expiry.value) : null;
    }
    const entries = parseAllowlist(allowlist.value);
    if (!sameList(entries, initialAllowlist)) {
      result.ipAllowlist = entries;
    }
    return result;
  }

  return {
    element,
    isValid: () => Object.keys(problems()).length === 0,
    values,
    changes,
    /** A server ValidationError: message at its field, focus on it. False if the field is unknown. */
    showError(key, message) {
      if (!(key in errors)) {
        return false;
      }
      touched.add(key);
      setError(key, message);
      const target = {
        name, contactEmail: email, expiresAt: expiry, ipAllowlist: allowlist,
        accessLevel: levels.querySelector("input:checked"),
        scopes: firstScope(),
      }[key];
      if (key === "eventIds") {
        events.focus();
      } else if (target) {
        target.focus();
      }
      return true;
    },
    onInput(listener) {
      listeners.push(listener);
    },
    focusFirst() {
      name.focus();
    },
  };
}
