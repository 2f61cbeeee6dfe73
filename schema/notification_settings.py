"""GraphQL types of the organisation's notification settings and of the mails sent to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from models.notifications import DeliveryStatus, LeakedSecretAction, NotificationEvent
from models.notifications import MailMessage as MailMessageModel
from schema.results import PermissionDenied, ValidationError

# Registered here rather than in schema/enums.py: only these types use it.
strawberry.enum(
    LeakedSecretAction,
    description="What a confirmed leak report (GitHub secret scanning) does to the leaked secret.",
)


@strawberry.type
class NotificationSettings:
    security_contacts: list[str] = strawberry.field(
        description="Who receives reminders and security notices besides each credential's "
        "contact e-mail (at most 10)."
    )
    leaked_secret_action: LeakedSecretAction = strawberry.field(
        description="END_SECRET (the default): the leaked secret and its tokens stop working at "
        "once. NOTIFY_ONLY: nothing changes; the contacts are told."
    )


@strawberry.input(description="Fields left out are unchanged.")
class UpdateNotificationSettingsInput:
    security_contacts: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The complete list (an empty list removes all); duplicates are merged.",
    )
    leaked_secret_action: LeakedSecretAction | None = strawberry.UNSET


@strawberry.type
class NotificationSettingsUpdated:
    settings: NotificationSettings


UpdateNotificationSettingsResult = Annotated[
    NotificationSettingsUpdated | ValidationError | PermissionDenied,
    strawberry.union("UpdateNotificationSettingsResult"),
]

NOTIFICATION_SETTINGS_PERMISSION_DENIED = (
    "Your role may view the notification settings but not change them."
)


@strawberry.enum
class MailStatus(Enum):
    PENDING = "PENDING"
    SENT = strawberry.enum_value("SENT", description="Sent, or in development only logged.")
    FAILED = strawberry.enum_value("FAILED", description="Every attempt failed, for about a day.")


_STATUSES = {
    DeliveryStatus.PENDING: MailStatus.PENDING,
    DeliveryStatus.DELIVERED: MailStatus.SENT,
    DeliveryStatus.FAILED: MailStatus.FAILED,
}


@strawberry.type(description="A reminder or security notice mailed to your organisation.")
class MailMessage:
    id: strawberry.ID
    subject: str
    recipients: list[str]
    status: MailStatus
    created_at: datetime
    sent_at: datetime | None
    credential_id: strawberry.ID | None = strawberry.field(
        description="The credential it is about; null for mails about webhook endpoints."
    )
    event_type: str | None = strawberry.field(
        description="The notification event that caused it, e.g. credential.expiring."
    )

    @classmethod
    def from_model(cls, mail: MailMessageModel, event: NotificationEvent | None) -> MailMessage:
        credential_id = mail.credential_id  # type: ignore[attr-defined]
        return cls(
            id=strawberry.ID(str(mail.id)),
            subject=mail.subject,
            recipients=list(mail.recipients),
            status=_STATUSES[mail.status],
            created_at=mail.created_at,
            sent_at=mail.sent_at,
            credential_id=None if credential_id is None else strawberry.ID(str(credential_id)),
            event_type=None if event is None else event.type.value,
        )


async def mail_nodes(rows: Sequence[MailMessageModel]) -> list[MailMessage]:
    """A page of mails with their events' types, read in one query."""
    event_ids = {row.event_id for row in rows} - {None}  # type: ignore[attr-defined]
    events = (
        {event.id: event for event in await NotificationEvent.filter(id__in=event_ids)}
        if event_ids
        else {}
    )
    return [
        MailMessage.from_model(row, events.get(row.event_id))  # type: ignore[attr-defined]
        for row in rows
    ]
