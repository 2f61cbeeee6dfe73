"""Input rules for credentials; each failure names the offending input field (GraphQL camelCase).

Every admin text input first passes `refuse_invisible`: a character that is invisible or moves
other text when displayed would let a name, reason or address spoof another in the credential
list or the audit trail, and a NUL or lone surrogate cannot be stored on PostgreSQL at all. The
refused set is the Unicode categories
- Cc, control characters: C0 (NUL, tab, newline...), DEL and C1 (U+0080-U+009F, e.g. NEL);
- Cf, formatting characters: bidirectional embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069), marks (U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D, U+2060,
  U+FEFF), the soft hyphen and the rest of the category;
- Cs, surrogates (lone halves of UTF-16 pairs, which no database stores as text) and Co,
  private use;
- Zl and Zp, the line and paragraph separators U+2028 and U+2029;
in the Unicode version of the running Python. Spaces (category Zs) and every printable letter, mark,
digit, symbol and punctuation stay valid, so "Zoë", "東京" and combining accents are accepted.
The whole raw value is checked, ends included, so nothing is silently trimmed away either.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum

from models.enums import AccessLevel
from partner_api.foundation.scopes import in_catalogue_order, unknown_scopes

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
IP_ALLOWLIST_MAX_ENTRIES = 50
REASON_MAX_LENGTH = 500
# Bounds of the organisation's maximum credential lifetime (days): one day to ten years.
POLICY_LIFETIME_MIN_DAYS = 1
POLICY_LIFETIME_MAX_DAYS = 3650
# Pragmatic syntax check (one @, a dotted domain, no spaces); deliverability is not our business.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# The Unicode categories no admin text input may hold (see the module docstring).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


class Keep(Enum):
    """Marks an update field that was not given (distinct from None, which clears)."""

    KEEP = "keep"


KEEP = Keep.KEEP


class InvalidInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def invisible_character(value: str) -> str | None:
    """The first control or invisible formatting character in `value` (see the module docstring).

    Linear in the input: `str.isprintable` (one pass in C) is true for every text without them,
    since each refused category is also non-printable; only other text is walked character by
    character, and Zs spaces and unassigned code points found there are allowed."""
    if value.isprintable():
        return None
    for char in value:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            return char
    return None


def refuse_invisible(field: str, value: str, *, label: str) -> None:
    """Raise `InvalidInput` at `field` when `value` holds a character `invisible_character` finds.

    The message names the code point rather than echoing it, since it would not show."""
    char = invisible_character(value)
    if char is not None:
        raise InvalidInput(
            field,
            f"{label} must not contain control or invisible formatting characters "
            f"(found U+{ord(char):04X}).",
        )


def clean_name(value: str) -> str:
    refuse_invisible("name", value, label="Name")
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidInput("name", f"Name must be 1 to {NAME_MAX_LENGTH} characters long.")
    return name


def clean_email(value: str) -> str:
    refuse_invisible("contactEmail", value, label="Contact e-mail")
    email = value.strip()
    if len(email) > EMAIL_MAX_LENGTH or _EMAIL.fullmatch(email) is None:
        raise InvalidInput("contactEmail", "Contact e-mail must be a valid e-mail address.")
    return email


def clean_scopes(access_level: AccessLevel, scopes: Sequence[str] | None) -> list[str]:
    """The scopes to store: none for FULL (it reads the live catalogue), else the chosen set."""
    requested = list(scopes or [])
    for scope in requested:
        refuse_invisible("scopes", scope, label="Scopes")
    unknown = unknown_scopes(requested)
    if unknown:
        raise InvalidInput("scopes", f"Unknown scope: {', '.join(unknown)}.")
    if access_level is AccessLevel.FULL:
        if requested:
            raise InvalidInput(
                "scopes", "FULL access includes every scope; list scopes only for FINE_GRAINED."
            )
        return []
    if not requested:
        raise InvalidInput("scopes", "FINE_GRAINED access needs at least one scope.")
    return in_catalogue_order(requested)


def clean_ip_allowlist(entries: Sequence[str] | None) -> list[str]:
    """Normalised CIDRs; a bare address is that one host; host bits set is an error, not a guess."""
    cleaned: list[str] = []
    for entry in entries or []:
        refuse_invisible("ipAllowlist", entry, label="IP allowlist entries")
        try:
            network = ipaddress.ip_network(entry.strip(), strict=True)
        except ValueError:
            raise InvalidInput(
                "ipAllowlist", f"{entry!r} is not an IP address or CIDR network."
            ) from None
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > IP_ALLOWLIST_MAX_ENTRIES:
        raise InvalidInput(
            "ipAllowlist", f"At most {IP_ALLOWLIST_MAX_ENTRIES} allowlist entries are allowed."
        )
    return cleaned


def clean_expiry(value: datetime | None, *, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput(
            "expiresAt", "Expiry must include a time zone (e.g. 2027-01-31T00:00:00Z)."
        )
    if value <= now:
        raise InvalidInput("expiresAt", "Expiry must be in the future.")
    # Stored and compared in UTC, so the same moment in another offset is no change.
    return value.astimezone(UTC)


def clean_policy_expiry(
    value: datetime | None, *, now: datetime, max_lifetime_days: int | None, required: bool
) -> datetime | None:
    """An expiry that also respects the organisation's maximum credential lifetime.

    With a policy, no expiry means the longest one allowed when creating (`required=False`), and
    is refused when an update asks to clear it (`required=True`): "never expires" is what the
    policy forbids, and a silent change of meaning would surprise.
    """
    cleaned = clean_expiry(value, now=now)
    if max_lifetime_days is None:
        return cleaned
    limit = now + timedelta(days=max_lifetime_days)
    if cleaned is None:
        if required:
            raise InvalidInput(
                "expiresAt",
                f"Your organisation's policy requires an expiry at most {max_lifetime_days} "
                "days away.",
            )
        return limit.astimezone(UTC)
    if cleaned > limit:
        raise InvalidInput(
            "expiresAt",
            f"Your organisation's policy allows an expiry at most {max_lifetime_days} days away "
            f"(no later than {limit.astimezone(UTC):%Y-%m-%d %H:%M} UTC).",
        )
    return cleaned


def clean_policy_lifetime(value: int | None) -> int | None:
    if value is None:
        return None
    if not POLICY_LIFETIME_MIN_DAYS <= value <= POLICY_LIFETIME_MAX_DAYS:
        raise InvalidInput(
            "maxCredentialLifetimeDays",
            f"Maximum lifetime must be between {POLICY_LIFETIME_MIN_DAYS} and "
            f"{POLICY_LIFETIME_MAX_DAYS} days, or empty for no limit.",
        )
    return value


def clean_limit(value: int | None, *, field: str, maximum: int) -> int | None:
    """A per-minute limit an admin sets (None: inherit it), between 1 and the service maximum
    (`PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE`, `PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE`)."""
    if value is None:
        return None
    if not 1 <= value <= maximum:
        raise InvalidInput(field, f"The limit must be between 1 and {maximum:,} per minute.")
    return value


def clean_reason(value: str | None) -> str | None:
    if value is not None:
        refuse_invisible("reason", value, label="Reason")
    if value is None or not value.strip():
        return None
    reason = value.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput("reason", f"Reason must be at most {REASON_MAX_LENGTH} characters long.")
    return reason
