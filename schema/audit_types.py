"""The audit trail as GraphQL shows it: who did what to which credential, with the non-secret
settings before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from models.audit import AuditEvent as AuditEventModel
from schema.enums import ActorType, AuditAction


@strawberry.type
class AuditActor:
    type: ActorType
    label: str = strawberry.field(
        description="The user's e-mail, the credential's client ID, or for an admin API token its "
        "name and its creator's e-mail."
    )
    api_token_id: strawberry.ID | None = strawberry.field(
        default=None, description="The admin API token that acted (actor type API_TOKEN)."
    )


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    action: AuditAction
    occurred_at: datetime
    actor: AuditActor
    credential_id: strawberry.ID | None
    ip_address: str | None
    user_agent: str | None
    before: JSON | None
    after: JSON | None

    @classmethod
    def from_model(cls, event: AuditEventModel) -> AuditEvent:
        credential_id: Any = event.credential_id  # type: ignore[attr-defined]
        api_token_id: Any = event.actor_api_token_id  # type: ignore[attr-defined]
        return cls(
            id=strawberry.ID(str(event.id)),
            action=event.action,
            occurred_at=event.occurred_at,
            actor=AuditActor(
                type=event.actor_type,
                label=event.actor_label,
                api_token_id=None if api_token_id is None else strawberry.ID(str(api_token_id)),
            ),
            credential_id=None if credential_id is None else strawberry.ID(str(credential_id)),
            ip_address=event.ip_address,
            user_agent=event.user_agent,
            before=cast("JSON", event.before),
            after=cast("JSON", event.after),
        )
