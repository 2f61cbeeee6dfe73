"""Writing audit events for admin actions; callers run `record` in the same transaction as the
change it records. The row itself is written by `models.audit.write_audit_event`.

An identity acting through an admin API token is recorded as the token (PT-03): actor type
API_TOKEN, the token's id and name, and its creator as the user; never the token itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from auth.admins.identity import Actor
from models.audit import AuditEvent, write_audit_event
from models.credential import Credential
from models.enums import ActorType, AuditAction


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
    api_token_id = identity.api_token_id if identity else None
    if api_token_id is not None:
        actor_type = ActorType.API_TOKEN
    else:
        actor_type = ActorType.USER if identity or actor_user_id else ActorType.SYSTEM
    return await write_audit_event(
        action,
        organisation_id=organisation_id,
        actor_type=actor_type,
        actor_user_id=identity.user_id if identity else actor_user_id,
        actor_api_token_id=api_token_id,
        actor_label=actor_label or actor.label,
        credential_id=None if credential is None else credential.id,
        ip_address=actor.ip_address,
        user_agent=actor.user_agent,
        before=before,
        after=after,
    )
