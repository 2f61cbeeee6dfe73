"""The append-only audit trail. Nothing in the service updates or deletes an audit event.

`before`/`after` hold the changed, non-secret fields only; a secret never appears here (CR-02).
`write_audit_event` is the one place an event is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from models.enums import ActorType, AuditAction

if TYPE_CHECKING:
    from models.admin import AdminUser
    from models.api_token import ApiToken
    from models.credential import Credential
    from models.organisation import Organisation

USER_AGENT_MAX_LENGTH = 300


class AuditEvent(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="audit_events", on_delete=fields.RESTRICT
    )
    occurred_at = fields.DatetimeField(auto_now_add=True)
    action = fields.CharEnumField(AuditAction, max_length=48)
    actor_type = fields.CharEnumField(ActorType, max_length=16)
    actor_user: fields.ForeignKeyNullableRelation[AdminUser] = fields.ForeignKeyField(
        "models.AdminUser", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # The API token the actor acted through (actor type API_TOKEN); `actor_user` is its creator.
    actor_api_token: fields.ForeignKeyNullableRelation[ApiToken] = fields.ForeignKeyField(
        "models.ApiToken", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    # A snapshot (e-mail, client ID or API token name) so the trail stays readable if the actor
    # is deleted.
    actor_label = fields.CharField(max_length=254)
    credential: fields.ForeignKeyNullableRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="audit_events", null=True, on_delete=fields.RESTRICT
    )
    ip_address = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=USER_AGENT_MAX_LENGTH, null=True)
    before: dict[str, Any] | None = fields.JSONField(null=True)
    after: dict[str, Any] | None = fields.JSONField(null=True)

    class Meta:
        table = "audit_event"
        indexes = (("organisation_id", "occurred_at"),)


async def write_audit_event(
    action: AuditAction,
    *,
    organisation_id: UUID,
    actor_type: ActorType,
    actor_label: str,
    actor_user_id: UUID | None = None,
    actor_api_token_id: UUID | None = None,
    credential_id: UUID | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. The actor is plain values (a user id and e-mail, a client ID, "system"),
    so admin operations and the authorization server record alike without sharing an identity
    type. Run it in the transaction of the change it records, so neither exists without the
    other."""
    return await AuditEvent.create(
        organisation_id=organisation_id,
        action=action,
        actor_type=actor_type,
        actor_user_id=actor_user_id,
        actor_api_token_id=actor_api_token_id,
        actor_label=actor_label,
        credential_id=credential_id,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:USER_AGENT_MAX_LENGTH] or None,
        before=before,
        after=after,
    )
