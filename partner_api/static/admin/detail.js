// One credential: its usage, every field, its limits, its lifecycle signals, its live secrets (or,
// for a key pair, its public keys), the reminders mailed about it, leak reports, its audit trail,
// and (for owners and admins) the Edit access, Edit limits, Edit keys, Regenerate, Revoke and
// "End now" (previous secret) actions.

import { openEditDialog, openEndSecretDialog, openRegenerateDialog, openRevokeDialog } from "./actions.js";
import { auditSection, leakNotice } from "./audit_trail.js";
import { copyable } from "./clipboard.js";
import { h } from "./dom.js";
import { AUTH_METHOD_LABELS, days, eventDates, formatDateTime, hasEnded, lastUsed } from "./format.js";
import { keysSection, openEditKeysDialog } from "./key_detail.js";
import { limitsSection } from "./limits.js";
import { openLimitsDialog } from "./limits_dialog.js";
import { lifecycleBadges, statusBadge } from "./list.js";
import { remindersSection } from "./reminders.js";
import { usagePanel } from "./usage_panel.js";

function fact(term, ...description) {
  return [h("dt", { text: term }), h("dd", {}, ...description)];
}

function scopesFact(app, credential) {
  const descriptions = new Map(app.partnerApi.scopes.map((scope) => [scope.name, scope.description]));
  const level = credential.accessLevel === "FULL"
    ? "Full access: every scope, including scopes added later."
    : "Fine-grained: only these scopes.";
  return h(
    "div",
    {},
    h("p", { text: level }),
    h(
      "ul",
      { class: "scope-list" },
      credential.scopes.map((name) => h("li", {}, h("code", { text: name }), descriptions.has(name) ? ` — ${descriptions.get(name)}` : "")),
    ),
  );
}

function eventsFact(credential) {
  if (credential.events === null) {
    return h("p", { text: "All events: every event of your organisation, including events added later." });
  }
  const lapsed = credential.restrictionLapsed
    ? h("span", {
      class: "fact-note",
      text: "Every chosen event has ended or was deleted: these credentials reach nothing upcoming. Edit access to choose other events, or revoke them.",
    })
    : null;
  if (credential.events.length === 0) {
    return h("div", {}, h("p", { text: "Only chosen events, and none of them exists any more." }), lapsed);
  }
  return h(
    "div",
    {},
    h("p", { text: "Only these events:" }),
    h(
      "ul",
      { class: "event-list" },
      credential.events.map((event) => h(
        "li",
        {},
        h("span", { class: "event-name", text: event.name }),
        h("span", { class: "cell-sub", text: `${event.venue} · ${eventDates(event)}${hasEnded(event) ? " · ended" : ""}` }),
      )),
    ),
    lapsed,
  );
}

function factsSection(app, credential) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "facts-title" },
    h("h3", { id: "facts-title", text: "Details" }),
    h(
      "dl",
      { class: "facts" },
      fact("Client ID", copyable(credential.clientId, "Client ID")),
      fact("Status", statusBadge(credential.status)),
      fact("Authentication", AUTH_METHOD_LABELS[credential.authMethod] || credential.authMethod),
      fact("Contact e-mail", credential.contactEmail),
      fact("Access", scopesFact(app, credential)),
      fact("Events", eventsFact(credential)),
      fact("Created", formatDateTime(credential.createdAt), credential.createdBy ? ` by ${credential.createdBy.email}` : ""),
      fact(
        "Last used",
        lastUsed(credential.lastUsedAt),
        credential.stale ? h("span", { class: "fact-note", text: `Unused for ${days(app.partnerApi.staleAfterDays)} or more: revoke these credentials if nothing needs them.` }) : null,
      ),
      fact(
        "Expires",
        credential.expiresAt ? formatDateTime(credential.expiresAt) : "Never",
        credential.expiresSoon ? h("span", { class: "fact-note", text: `Within ${days(app.partnerApi.expiresSoonDays)}: extend the expiry date or create new credentials in time.` }) : null,
      ),
      fact(
        "IP allowlist",
        credential.ipAllowlist.length === 0
          ? "Any address"
          : h("ul", { class: "plain-list" }, credential.ipAllowlist.map((entry) => h("li", {}, h("code", { text: entry })))),
      ),
      credential.revokedAt ? fact("Revoked", formatDateTime(credential.revokedAt)) : null,
      credential.revokedAt ? fact("Reason", credential.revocationReason || "None given") : null,
    ),
  );
}

function secretNote(secret, current) {
  if (secret.safeToEnd) {
    return h("span", {
      class: "badge badge-safe",
      title: "Not used since the rotation (as of the last usage update, at most a minute old).",
      text: "Safe to end",
    });
  }
  const usedSince = Boolean(secret.lastUsedAt && current && new Date(secret.lastUsedAt) >= new Date(current.createdAt));
  return h("span", {
    class: "cell-sub",
    text: usedSince ? "Used since the rotation" : "Not used since the rotation yet; wait until clients renew their access tokens",
  });
}

function secretsSection(app, credential, onChanged) {
  const [current] = credential.secrets;
  const canEnd = app.canManage() && credential.status === "ACTIVE";
  const hasPrevious = credential.secrets.length > 1;
  const rows = credential.secrets.map((secret, index) => h(
    "tr",
    { "data-secret-id": secret.id },
    h(
      "th",
      { scope: "row", "data-label": "Secret" },
      h("code", { text: `••••${secret.hint}` }),
      h("span", { class: "cell-sub", text: index === 0 ? "Current" : "Previous (grace period)" }),
      index === 0 ? null : secretNote(secret, current),
    ),
    h("td", { "data-label": "Created" }, formatDateTime(secret.createdAt)),
    h("td", { "data-label": "Expires" }, secret.expiresAt ? formatDateTime(secret.expiresAt) : "When replaced"),
    h("td", { "data-label": "Last used", class: secret.lastUsedAt ? "" : "muted" }, lastUsed(secret.lastUsedAt)),
    canEnd && hasPrevious
      ? h(
        "td",
        { "data-label": "Action" },
        index === 0
          ? null
          : h("button", {
            type: "button", class: "button button-small", text: "End now", "data-focus": `end-${secret.id}`,
            "aria-label": `End the previous secret ending in ${secret.hint} now`,
            onclick: () => openEndSecretDialog(app, credential, secret, { onChanged }),
          }),
      )
      : null,
  ));
  const titles = ["Secret", "Created", "Expires", "Last used", ...(canEnd && hasPrevious ? ["Action"] : [])];
  return h(
    "section",
    { class: "card", "aria-labelledby": "secrets-title" },
    h("h3", { id: "secrets-title", text: "Secrets" }),
    h("p", { class: "muted", text: "Only the last four characters of a secret are kept for display; the secret itself is shown once, when it is created." }),
    rows.length === 0
      ? h("p", { text: "No live secrets: these credentials cannot be used." })
      : h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "secrets" },
          h("caption", { class: "visually-hidden", text: "Live secrets" }),
          h("thead", {}, h("tr", {}, titles.map((title) => h("th", { scope: "col", text: title })))),
          h("tbody", {}, rows),
        ),
      ),
  );
}

function actionBar(app, credential) {
  if (!app.canManage() || credential.status === "REVOKED") {
    return null;
  }
  const changed = (updated) => app.credentialChanged(updated);
  return h(
    "div",
    { class: "detail-actions", role: "group", "aria-label": "Actions" },
    h("button", {
      type: "button", class: "button", text: "Edit access", "data-focus": "edit",
      onclick: () => openEditDialog(app, credential, { onChanged: changed }),
    }),
    credential.status === "ACTIVE" && credential.authMethod !== "PRIVATE_KEY_JWT"
      ? h("button", {
        type: "button", class: "button", text: "Regenerate secret", "data-focus": "regenerate",
        onclick: () => openRegenerateDialog(app, credential, { onChanged: changed }),
      })
      : null,
    h("button", {
      type: "button", class: "button button-danger", text: "Revoke", "data-focus": "revoke",
      onclick: () => openRevokeDialog(app, credential, { onChanged: changed }),
    }),
  );
}

/** The detail view for the CredentialDetail query's data. */
export function detailView(app, data) {
  const back = h("a", { href: "partner-api", class: "back-link", text: "All credentials" });
  back.addEventListener("click", (event) => {
    if (event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      app.openList();
    }
  });
  const credential = data.credential;
  if (credential === null) {
    return h(
      "section",
      { class: "detail" },
      back,
      h("h2", { id: "detail-title", text: "Credentials not found" }),
      h("p", { text: "They do not exist, or they belong to another organisation." }),
    );
  }
  const notice = credential.status === "REVOKED"
    ? h("p", { class: "banner banner-neutral", text: "These credentials are revoked: they no longer work and cannot be changed." })
    : credential.status === "EXPIRED"
      ? h("p", { class: "banner banner-neutral", text: "These credentials have expired. Edit access to set a later expiry date." })
      : null;
  const policyDays = app.policyDays();
  const beyondPolicy = credential.exceedsPolicy && policyDays !== null
    ? h("p", {
      class: "banner banner-neutral",
      text: credential.expiresAt
        ? `These credentials expire on ${formatDateTime(credential.expiresAt)}, later than your organisation's policy (at most ${days(policyDays)}) ` +
          "allows for new credentials. They keep working until then; edit the expiry date to bring them within the policy."
        : `These credentials never expire, which your organisation's policy (at most ${days(policyDays)}) no longer allows for new credentials. ` +
          "They keep working; set an expiry date to bring them within the policy.",
    })
    : null;
  const changed = (updated) => app.credentialChanged(updated);
  return h(
    "section",
    { class: "detail", "aria-labelledby": "detail-title", "data-credential-id": credential.id },
    back,
    h(
      "div",
      { class: "detail-header" },
      h(
        "div",
        { class: "detail-title" },
        h("h2", { id: "detail-title", text: credential.name }),
        statusBadge(credential.status),
        lifecycleBadges(app, credential),
      ),
      actionBar(app, credential),
    ),
    notice,
    leakNotice(credential, data.auditEvents),
    beyondPolicy,
    usagePanel(app, credential),
    h(
      "div",
      { class: "detail-grid" },
      h(
        "div",
        { class: "detail-side" },
        factsSection(app, credential),
        limitsSection(app, credential, { onEdit: () => openLimitsDialog(app, credential, { onChanged: changed }) }),
        remindersSection(app, credential),
      ),
      h(
        "div",
        { class: "detail-side" },
        credential.authMethod === "PRIVATE_KEY_JWT"
          ? keysSection(app, credential, { onEdit: () => openEditKeysDialog(app, credential, { onChanged: changed }) })
          : secretsSection(app, credential, changed),
        auditSection(app, credential, data.auditEvents),
      ),
    ),
  );
}
