"""Writing audit events; callers run `record` in the same transaction as the change it records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from auth.identity import AdminIdentity
from models.audit import AuditEvent
from models.credential import Credential
from models.enums import ActorType, AuditAction

USER_AGENT_MAX_LENGTH = 300


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where (for the audit trail)."""

    identity: AdminIdentity | None
    ip_address: str | None
    user_agent: str | None

    @property
    def label(self) -> str:
        return self.identity.email if self.identity is not None else "system"


async def record(
    action: AuditAction,
    *,
    organisation_id: UUID,
    actor: Actor,
    credential: Credential | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_user_id: UUID | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    identity = actor.identity
    return await AuditEvent.create(
        organisation_id=organisation_id,
        action=action,
        actor_type=ActorType.USER if identity or actor_user_id else ActorType.SYSTEM,
        actor_user_id=identity.user_id if identity else actor_user_id,
        actor_label=actor_label or actor.label,
        credential=credential,
        ip_address=actor.ip_address,
        user_agent=(actor.user_agent or "")[:USER_AGENT_MAX_LENGTH] or None,
        before=before,
        after=after,
    )
