// Display formats: dates in the reader's locale and time zone, labels for enums.

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const NUMBER = new Intl.NumberFormat(undefined);

export const STATUS_LABELS = { ACTIVE: "Active", EXPIRED: "Expired", REVOKED: "Revoked" };
export const ROLE_LABELS = { OWNER: "Owner", ADMIN: "Admin", DEVELOPER: "Developer", VIEWER: "Viewer" };
export const MANAGING_ROLES = new Set(["OWNER", "ADMIN"]);

export const AUDIT_LABELS = {
  ADMIN_LOGIN: "Admin logged in",
  ADMIN_LOGIN_FAILED: "Failed admin login",
  ADMIN_LOGOUT: "Admin logged out",
  CREDENTIAL_CREATED: "Credentials created",
  CREDENTIAL_SECRET_REGENERATED: "Secret regenerated",
  CREDENTIAL_UPDATED: "Access changed",
  CREDENTIAL_REVOKED: "Credentials revoked",
  CREDENTIAL_PREVIOUS_SECRET_ENDED: "Previous secret ended early",
  CREDENTIAL_POLICY_UPDATED: "Credential policy changed",
  TOKEN_ISSUED: "Access tokens issued",
  TOKEN_REFUSED: "Token requests refused",
  TOKEN_REVOKED: "Access token revoked",
  WEBHOOK_ENDPOINT_CREATED: "Webhook endpoint added",
  WEBHOOK_ENDPOINT_UPDATED: "Webhook endpoint changed",
  WEBHOOK_ENDPOINT_DELETED: "Webhook endpoint deleted",
  WEBHOOK_SECRET_ROTATED: "Webhook signing secret rotated",
  WEBHOOK_TEST_SENT: "Webhook test sent",
  WEBHOOK_ENDPOINT_DISABLED: "Webhook endpoint disabled after failures",
  NOTIFICATION_SETTINGS_UPDATED: "Notification settings changed",
  CREDENTIAL_SECRET_LEAKED: "Secret reported leaked",
};

/** Notification event types (`notificationEventTypes`) in words; unknown ones show as named. */
export const EVENT_TYPE_LABELS = {
  "credential.created": "Credentials created",
  "credential.updated": "Credentials changed",
  "credential.secret_rotated": "Secret regenerated",
  "credential.previous_secret_ended": "Previous secret ended",
  "credential.expiring": "Expiry reminder (30, 7 and 1 days before)",
  "credential.expired": "Credentials expired",
  "credential.stale": "Credentials unused (stale)",
  "credential.revoked": "Credentials revoked",
  "credential.secret_leaked": "Secret reported leaked",
  "webhook.test": "Test message",
};

export const DELIVERY_STATUS_LABELS = { PENDING: "Pending", DELIVERED: "Delivered", FAILED: "Failed" };
export const MAIL_STATUS_LABELS = { PENDING: "Pending", SENT: "Sent", FAILED: "Failed" };

export const ACCESS_LABELS = { FULL: "Full", FINE_GRAINED: "Fine-grained" };

export const FIELD_LABELS = {
  name: "Name",
  contactEmail: "Contact e-mail",
  accessLevel: "Access level",
  scopes: "Scopes",
  expiresAt: "Expiry",
  ipAllowlist: "IP allowlist",
  reason: "Reason",
  gracePeriodMinutes: "Grace period",
  clientId: "Client ID",
  secretId: "Secret",
  maxCredentialLifetimeDays: "Maximum lifetime",
  eventIds: "Events",
  allEvents: "Events",
  url: "URL",
  eventTypes: "Event types",
  description: "Description",
  enabled: "Enabled",
  securityContacts: "Security contacts",
  leakedSecretAction: "Leaked secrets",
  rateLimitPerMinute: "Rate limit",
  tokenQuotaPerMinute: "Token quota",
  limitMode: "Limit mode",
  useOrganisationRateLimit: "Rate limit",
  useOrganisationTokenQuota: "Token quota",
  defaultRateLimitPerMinute: "Default rate limit",
  defaultTokenQuotaPerMinute: "Default token quota",
  authMethod: "Authentication",
  jwks: "Public JWK Set",
  jwksUri: "JWKS URL",
  keys: "Keys",
};

export const AUTH_METHOD_LABELS = { CLIENT_SECRET: "Client secret", PRIVATE_KEY_JWT: "Key pair (private_key_jwt)" };

export const LIMIT_MODE_LABELS = { ENFORCE: "Enforce", MONITOR: "Monitor" };

/** A count in the reader's locale: 12345 → "12,345". */
export function formatNumber(value) {
  return NUMBER.format(value);
}

/** "1 call" / "12,345 calls". */
export function counted(count, singular, plural = `${singular}s`) {
  return `${formatNumber(count)} ${count === 1 ? singular : plural}`;
}

export function formatDate(iso) {
  return iso ? DATE.format(new Date(iso)) : "—";
}

export function formatDateTime(iso) {
  return iso ? DATE_TIME.format(new Date(iso)) : "—";
}

export function formatTime(iso) {
  return iso ? TIME.format(new Date(iso)) : "—";
}

export function lastUsed(iso) {
  return iso ? formatDateTime(iso) : "Never used";
}

/** [access level, scope summary] for the list, e.g. ["Fine-grained", "2 scopes"]. */
export function accessSummary(credential) {
  if (credential.accessLevel === "FULL") {
    return ["Full access", "All scopes"];
  }
  const count = credential.scopes.length;
  return ["Fine-grained", `${count} ${count === 1 ? "scope" : "scopes"}`];
}

/** An event's dates: "12 Jul 2026", or "12–14 Jul 2026" when it spans days. */
export function eventDates(event) {
  return DATE.formatRange(new Date(event.startsAt), new Date(event.endsAt));
}

export function hasEnded(event) {
  return new Date(event.endsAt) <= new Date();
}

/** A grace period in minutes as words: "60 minutes" → "1 hour", 1440 → "24 hours". */
export function minutesInWords(minutes) {
  const plural = (count, unit) => `${count} ${unit}${count === 1 ? "" : "s"}`;
  if (minutes % 1440 === 0 && minutes >= 2880) {
    return plural(minutes / 1440, "day");
  }
  if (minutes % 60 === 0) {
    return plural(minutes / 60, "hour");
  }
  return plural(minutes, "minute");
}

/** "1 day" / "30 days". */
export function days(count) {
  return `${count} ${count === 1 ? "day" : "days"}`;
}

/** The latest yyyy-mm-dd whose end (in the reader's time zone) is within `maxDays` from now:
 * the server refuses an expiry later than now + maxDays, and a date's expiry is its last second. */
export function latestDateWithin(maxDays) {
  const limit = new Date(Date.now() + maxDays * 86400000);
  const lastDay = new Date(limit.getFullYear(), limit.getMonth(), limit.getDate() - 1);
  return dateInputValue(lastDay.toISOString());
}

export function canManage(viewer) {
  return MANAGING_ROLES.has(viewer.role);
}

/** yyyy-mm-dd of an instant in the reader's time zone (for <input type="date">). */
export function dateInputValue(iso) {
  if (!iso) {
    return "";
  }
  const date = new Date(iso);
  const pad = (value) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The end of a yyyy-mm-dd day in the reader's time zone, as an ISO instant (UTC). */
export function endOfDay(value) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day, 23, 59, 59).toISOString();
}

/** An audit before/after value as short text. */
export function auditValue(value) {
  if (value === null || value === undefined) {
    return "none";
  }
  if (typeof value === "string" && value in ACCESS_LABELS) {
    return ACCESS_LABELS[value];
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? "none" : value.join(", ");
  }
  if (typeof value === "object") {
    return JSON.stringify(value);
  }
  return String(value);
}
