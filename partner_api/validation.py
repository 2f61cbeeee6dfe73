"""Input rules for credentials; each failure names the offending input field (GraphQL camelCase)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from auth.scopes import in_catalogue_order, unknown_scopes
from models.enums import AccessLevel

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
IP_ALLOWLIST_MAX_ENTRIES = 50
REASON_MAX_LENGTH = 500
# Pragmatic syntax check (one @, a dotted domain, no spaces); deliverability is not our business.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class InvalidInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def clean_name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidInput("name", f"Name must be 1 to {NAME_MAX_LENGTH} characters long.")
    if any(ord(char) < 32 for char in name):
        raise InvalidInput("name", "Name must not contain control characters.")
    return name


def clean_email(value: str) -> str:
    email = value.strip()
    if len(email) > EMAIL_MAX_LENGTH or _EMAIL.fullmatch(email) is None:
        raise InvalidInput("contactEmail", "Contact e-mail must be a valid e-mail address.")
    return email


def clean_scopes(access_level: AccessLevel, scopes: Sequence[str] | None) -> list[str]:
    """The scopes to store: none for FULL (it reads the live catalogue), else the chosen set."""
    requested = list(scopes or [])
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


def clean_reason(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    reason = value.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput("reason", f"Reason must be at most {REASON_MAX_LENGTH} characters long.")
    return reason
