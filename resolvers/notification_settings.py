"""The organisation's notification settings and the mails it was sent, in the admin API.

Every role reads both; only OWNER and ADMIN change the settings (the role that manages
credentials). Everything goes through the caller's tenant scope (CR-07).
"""

from __future__ import annotations

import strawberry

from models.tenancy import parse_id
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import notification_settings as operations
from resolvers.mutation_inputs import may_manage, required
from schema.context import Context
from schema.notification_settings import (
    NOTIFICATION_SETTINGS_PERMISSION_DENIED,
    MailMessage,
    NotificationSettings,
    NotificationSettingsUpdated,
    UpdateNotificationSettingsInput,
    UpdateNotificationSettingsResult,
    mail_nodes,
)
from schema.pagination import Connection, paginate
from schema.results import PermissionDenied, ValidationError


def _node(settings: operations.NotificationSettings) -> NotificationSettings:
    return NotificationSettings(
        security_contacts=list(settings.security_contacts),
        leaked_secret_action=settings.leaked_secret_action,
    )


async def notification_settings(info: strawberry.Info[Context, None]) -> NotificationSettings:
    return _node(await operations.read_settings(info.context.tenant))


async def update_notification_settings(
    info: strawberry.Info[Context, None], input: UpdateNotificationSettingsInput
) -> UpdateNotificationSettingsResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=NOTIFICATION_SETTINGS_PERMISSION_DENIED)
    try:
        # Left out: unchanged. An explicit null says nothing clear, so it is refused.
        if input.security_contacts is None:
            raise InvalidInput(
                "securityContacts", "securityContacts cannot be null; [] removes every contact."
            )
        if input.leaked_secret_action is None:
            raise InvalidInput(
                "leakedSecretAction",
                "leakedSecretAction cannot be null; leave it out to keep it unchanged.",
            )
        updated = await operations.update_settings(
            context.tenant,
            context.actor,
            security_contacts=required(input.security_contacts, "securityContacts"),
            leaked_secret_action=required(input.leaked_secret_action, "leakedSecretAction"),
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    return NotificationSettingsUpdated(settings=_node(updated))


async def mail_messages(
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    credential_id: strawberry.ID | None = None,
) -> Connection[MailMessage]:
    """Newest first; with `credentialId`, only the mails about that credential (an id that is
    malformed, unknown or another organisation's has none)."""
    query = info.context.tenant.mail_messages()
    if credential_id is not None:
        parsed = parse_id(str(credential_id))
        query = query.filter(credential_id=parsed) if parsed else query.filter(id__in=[])
    return await paginate(
        query,
        time_field="created_at",
        first=first,
        after=after,
        maximum=info.context.services.settings.page_size_max,
        to_nodes=mail_nodes,
    )
