"""The organisation's notification settings: its security contacts (who hears of reminders and
security notices besides each credential's contact) and what a confirmed leak report does to the
leaked secret. Read by every role; changed by owners and admins, audited with before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.enums import AuditAction
from models.notifications import LeakedSecretAction
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.validation import InvalidInput, clean_email, refuse_invisible
from partner_api.operations import audit
from partner_api.operations.credentials import KEEP, Keep
from partner_api.operations.mail import recipients

MAX_SECURITY_CONTACTS = 10
FIELD = "securityContacts"
# How much of a refused address the message repeats.
SHOWN_MAX_LENGTH = 60


@dataclass(frozen=True)
class NotificationSettings:
    security_contacts: list[str]
    leaked_secret_action: LeakedSecretAction

    @classmethod
    def of(cls, organisation: Organisation) -> NotificationSettings:
        return cls(list(organisation.security_contacts), organisation.leaked_secret_action)

    def snapshot(self) -> dict[str, Any]:
        """The audited view."""
        return {
            FIELD: list(self.security_contacts),
            "leakedSecretAction": self.leaked_secret_action.value,
        }


def clean_security_contacts(values: Sequence[str]) -> list[str]:
    """Valid addresses, each once (compared case-insensitively), at most `MAX_SECURITY_CONTACTS`."""
    cleaned: list[str] = []
    for value in values:
        refuse_invisible(FIELD, value, label="Security contacts")
        try:
            cleaned.append(clean_email(value))
        except InvalidInput:
            shown = value.strip()
            if len(shown) > SHOWN_MAX_LENGTH:
                shown = shown[: SHOWN_MAX_LENGTH - 1] + "…"
            raise InvalidInput(FIELD, f'"{shown}" is not a valid e-mail address.') from None
    merged = recipients(cleaned)
    if len(merged) > MAX_SECURITY_CONTACTS:
        raise InvalidInput(FIELD, f"At most {MAX_SECURITY_CONTACTS} security contacts are allowed.")
    return merged


async def read_settings(scope: TenantScope) -> NotificationSettings:
    organisation = await Organisation.get(id=scope.organisation_id)
    return NotificationSettings.of(organisation)


async def update_settings(
    scope: TenantScope,
    actor: Actor,
    *,
    security_contacts: Sequence[str] | Keep = KEEP,
    leaked_secret_action: LeakedSecretAction | Keep = KEEP,
) -> NotificationSettings:
    """Change what is given; audited when something changes, else a no-op."""
    contacts = (
        security_contacts
        if isinstance(security_contacts, Keep)
        else clean_security_contacts(security_contacts)
    )
    async with in_transaction():
        # The row lock orders concurrent changes, so each audit event's `before` is exact.
        organisation = await Organisation.filter(id=scope.organisation_id).select_for_update().get()
        current = NotificationSettings.of(organisation)
        wanted = NotificationSettings(
            current.security_contacts if isinstance(contacts, Keep) else contacts,
            current.leaked_secret_action
            if isinstance(leaked_secret_action, Keep)
            else leaked_secret_action,
        )
        before, after = current.snapshot(), wanted.snapshot()
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return current
        organisation.security_contacts = wanted.security_contacts
        organisation.leaked_secret_action = wanted.leaked_secret_action
        await organisation.save(update_fields=["security_contacts", "leaked_secret_action"])
        await audit.record(
            AuditAction.NOTIFICATION_SETTINGS_UPDATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return wanted
