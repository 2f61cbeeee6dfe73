"""Admin API tokens (`pat_…`): an organisation's credentials for automation on the admin API.

A token acts as one role in one organisation, for the admin who created it: its `role`, capped on
every request by the role its creator holds then (`created_by`, the creator's membership). Only a
keyed hash of the token is stored, found through the lookup part embedded in the token, with the
last four characters as a hint, exactly like a client secret (models/credential.py). `status` is
derived from the timestamps, so expiry needs no background job; rows are never deleted, so the
audit trail can always name the token that acted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import Role

if TYPE_CHECKING:
    from models.admin import AdminUser, Membership
    from models.organisation import Organisation

# Lowest first: a token's role and its creator's are compared by this order.
_ROLE_ORDER = (Role.VIEWER, Role.DEVELOPER, Role.ADMIN, Role.OWNER)
# The most a token may be: an owner's powers stay with a person.
MAX_API_TOKEN_ROLE = Role.ADMIN


class ApiTokenStatus(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


def role_within(role: Role, ceiling: Role) -> bool:
    """Whether `role` grants no more than `ceiling`."""
    return _ROLE_ORDER.index(role) <= _ROLE_ORDER.index(ceiling)


def lesser_role(first: Role, second: Role) -> Role:
    return first if role_within(first, second) else second


class ApiToken(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="api_tokens", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    role = fields.CharEnumField(Role, max_length=16)
    # Embedded in the token, so authenticating a request is one indexed lookup
    # (auth/admins/api_tokens.py).
    lookup_id = fields.CharField(max_length=32, unique=True)
    token_hash = fields.CharField(max_length=128)
    hint = fields.CharField(max_length=4)
    # The creator's membership of this organisation: its role caps the token's on every request,
    # and when the membership is deleted the token can no longer act (null).
    created_by: fields.ForeignKeyNullableRelation[Membership] = fields.ForeignKeyField(
        "models.Membership", related_name="api_tokens", null=True, on_delete=fields.SET_NULL
    )
    # A snapshot, so the list still names the creator after the membership is gone.
    created_by_email = fields.CharField(max_length=254)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation[AdminUser] = fields.ForeignKeyField(
        "models.AdminUser", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # Written at most once a minute per token (auth/admins/api_tokens.py), never per request.
    last_used_at = fields.DatetimeField(null=True)
    last_used_ip = fields.CharField(max_length=45, null=True)

    class Meta:
        table = "api_token"
        indexes = (("organisation_id", "created_at"),)

    def status_at(self, now: datetime) -> ApiTokenStatus:
        """Usable strictly before `expires_at`, like a credential (`before_expiry`)."""
        if self.revoked_at is not None:
            return ApiTokenStatus.REVOKED
        if now >= self.expires_at:
            return ApiTokenStatus.EXPIRED
        return ApiTokenStatus.ACTIVE
