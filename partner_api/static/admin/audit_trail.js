// A credential's audit trail on the detail page: each event with its actor and address, its
// recorded changes in words, and "Show older events" paging through Query.auditEvents. The audit
// keeps raw before/after values and event ids, so this is where they become readable text.

import { h } from "./dom.js";
import { AUDIT_LABELS, AUTH_METHOD_LABELS, FIELD_LABELS, LIMIT_MODE_LABELS, auditValue, formatDateTime, minutesInWords } from "./format.js";

// A credential's own limits; null in the audit is "no own limit": the organisation default.
const LIMIT_KEYS = new Set(["rateLimitPerMinute", "tokenQuotaPerMinute"]);

/** The audit's `eventIds` as words: null is every event; ids become names where the credential
 * still lists the event (the audit keeps ids only, and events may be gone since). */
function eventIdsValue(ids, names) {
  if (ids === null || ids === undefined) {
    return "all events";
  }
  const known = ids.filter((id) => names.has(id)).map((id) => names.get(id));
  const others = ids.length - known.length;
  if (known.length === 0) {
    return `${others} ${others === 1 ? "event" : "events"}`;
  }
  return others === 0 ? known.join(", ") : `${known.join(", ")} and ${others} other ${others === 1 ? "event" : "events"}`;
}

// What a confirmed leak report did (the audit's `action`), in words.
const LEAK_OUTCOMES = {
  END_SECRET: "The secret was ended at once, and the access tokens obtained with it",
  NOTIFY_ONLY: "Nothing was changed (your policy is to notify only): the secret works until it is regenerated",
  ALREADY_ENDED: "The secret had already stopped working",
};

/** A key credential's audited keys (kid, alg and thumbprint; never key material) as words. */
function keysValue(keys) {
  return Array.isArray(keys) && keys.length > 0 ? keys.map((key) => `${key.kid} (${key.alg})`).join(", ") : "none";
}

function changesOf(event, names) {
  const before = event.before || {};
  const after = event.after || {};
  const value = (key, recorded) => {
    if (key === "eventIds") {
      return eventIdsValue(recorded, names);
    }
    if (key === "keys") {
      return keysValue(recorded);
    }
    if (LIMIT_KEYS.has(key) && (recorded === null || recorded === undefined)) {
      return "organisation default";
    }
    return key === "limitMode" ? LIMIT_MODE_LABELS[recorded] || auditValue(recorded) : auditValue(recorded);
  };
  if (event.action === "CREDENTIAL_UPDATED") {
    return Object.keys(after).map((key) => `${FIELD_LABELS[key] || key}: ${value(key, before[key])} → ${value(key, after[key])}`);
  }
  if (event.action === "CREDENTIAL_SECRET_REGENERATED") {
    const minutes = after.gracePeriodMinutes;
    return [minutes ? `Grace period: ${minutesInWords(minutes)}` : "No grace period: the previous secret ended at once"];
  }
  if (event.action === "CREDENTIAL_REVOKED") {
    return [`Reason: ${after.reason || "none given"}`];
  }
  if (event.action === "CREDENTIAL_PREVIOUS_SECRET_ENDED") {
    return [
      `Grace period would have ended ${formatDateTime(after.gracePeriodWouldHaveEndedAt)}`,
      after.safeToEnd ? "It was safe to end: not used since the rotation" : "It was ended before it was known to be safe to end",
    ];
  }
  if (event.action === "CREDENTIAL_SECRET_LEAKED") {
    return [
      `Published at: ${after.url || "no address given"}`,
      after.source ? `Found in: ${after.source}` : null,
      LEAK_OUTCOMES[after.action] || null,
    ].filter(Boolean);
  }
  if (event.action === "CREDENTIAL_CREATED") {
    return [
      `Access: ${auditValue(after.accessLevel)}${after.scopes && after.scopes.length ? ` (${after.scopes.join(", ")})` : ""}`,
      `Events: ${value("eventIds", after.eventIds)}`,
      after.authMethod === "PRIVATE_KEY_JWT"
        ? `Authentication: ${AUTH_METHOD_LABELS.PRIVATE_KEY_JWT}, ${after.jwksUri ? `keys from ${after.jwksUri}` : `keys ${keysValue(after.keys)}`}`
        : null,
    ].filter(Boolean);
  }
  return Object.keys(after).map((key) => `${key}: ${auditValue(after[key])}`);
}

function auditItem(event, names) {
  return h(
    "li",
    { class: "audit-event" },
    h(
      "div",
      { class: "audit-head" },
      h("span", { class: "audit-action", text: AUDIT_LABELS[event.action] || event.action }),
      h("time", { datetime: event.occurredAt, text: formatDateTime(event.occurredAt) }),
    ),
    h("p", { class: "muted", text: `By ${event.actor.label}${event.ipAddress ? ` from ${event.ipAddress}` : ""}` }),
    h("ul", { class: "audit-changes" }, changesOf(event, names).map((line) => h("li", { text: line }))),
  );
}

/** The "Audit trail" card for the credential and the first page of its audit events. */
export function auditSection(app, credential, connection) {
  const credentialId = credential.id;
  const names = new Map((credential.events || []).map((event) => [event.id, event.name]));
  const list = h("ol", { class: "audit" }, connection.edges.map((edge) => auditItem(edge.node, names)));
  let cursor = connection.pageInfo.endCursor;
  const more = h("button", { type: "button", class: "button button-small", text: "Show older events" });
  more.hidden = !connection.pageInfo.hasNextPage;
  more.addEventListener("click", async () => {
    const page = await app.load(() => app.run("AuditEvents", { first: 20, after: cursor, credentialId }));
    if (page === null) {
      return;
    }
    list.append(...page.auditEvents.edges.map((edge) => auditItem(edge.node, names)));
    cursor = page.auditEvents.pageInfo.endCursor;
    more.hidden = !page.auditEvents.pageInfo.hasNextPage;
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "audit-title" },
    h("h3", { id: "audit-title", text: "Audit trail" }),
    connection.edges.length === 0 ? h("p", { class: "muted", text: "No events yet." }) : list,
    more,
  );
}

/** A warning over the detail when the loaded audit trail holds leak reports: the latest one,
 * where the secret was published (as text: it is an address on someone else's site), and what
 * was done. Null when there is none. */
export function leakNotice(credential, connection) {
  const leaks = connection.edges.map((edge) => edge.node).filter((event) => event.action === "CREDENTIAL_SECRET_LEAKED");
  if (leaks.length === 0) {
    return null;
  }
  const [latest] = leaks;
  const after = latest.after || {};
  const live = credential.secrets.find((secret) => secret.id === after.secretId);
  const which = live ? `The secret ending in …${live.hint}` : "A secret of these credentials";
  const where = after.url ? ` at ${after.url}` : "";
  const outcome = LEAK_OUTCOMES[after.action];
  const more = leaks.length > 1 ? ` ${leaks.length} leak reports in all; see the audit trail.` : "";
  return h(
    "div",
    { class: "banner banner-warning leak-notice", role: "note" },
    h("p", { class: "strong", text: `Secret reported leaked ${formatDateTime(latest.occurredAt)}` }),
    h("p", { text: `${which} was reported published${where}.${outcome ? ` ${outcome}.` : ""}${more}` }),
  );
}
