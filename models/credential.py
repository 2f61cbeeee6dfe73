"""API credentials (one per partner integration) and their secrets.

A credential has one current secret and, during a rotation grace period, at most one previous
secret that still works until its own `expires_at`. Only a keyed hash of each secret is stored,
with the last four characters as a hint. `status` is derived from the timestamps, so expiry needs
no background job.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import AccessLevel, ClientAuthMethod, CredentialStatus, LimitMode

if TYPE_CHECKING:
    from models.admin import AdminUser
    from models.organisation import Organisation


# Bounds what a restricted credential's access tokens carry: 100 event ids keep an RS256 token
# well under the resource server's 8 KiB limit (auth/partners/access_tokens.py).
MAX_RESTRICTED_EVENTS = 100


def before_expiry(expires_at: datetime | None, now: datetime) -> bool:
    """The one expiry rule, for credentials and secrets alike and for every reader (admin views,
    lifecycle, the token endpoint and the Partner API through
    auth/partners/credential_directory.py):
    usable strictly before `expires_at`; at that instant it has expired."""
    return expires_at is None or now < expires_at


class Credential(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="credentials", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    contact_email = fields.CharField(max_length=254)
    client_id = fields.CharField(max_length=64, unique=True)
    access_level = fields.CharEnumField(AccessLevel, max_length=16)
    # Only meaningful for FINE_GRAINED; FULL reads the live catalogue
    # (partner_api.foundation.scopes).
    scopes: list[str] = fields.JSONField(default=list)
    ip_allowlist: list[str] = fields.JSONField(default=list)
    # The events the credential may reach (canonical UUID strings, as chosen); null: every event
    # of the organisation. Ids of events deleted later stay and match nothing, so the credential
    # never widens to all events by losing its events.
    event_ids: list[str] | None = fields.JSONField(null=True)
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by: fields.ForeignKeyNullableRelation[AdminUser] = fields.ForeignKeyField(
        "models.AdminUser", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation[AdminUser] = fields.ForeignKeyField(
        "models.AdminUser", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    revocation_reason = fields.CharField(max_length=500, null=True)
    last_used_at = fields.DatetimeField(null=True)
    last_used_ip = fields.CharField(max_length=45, null=True)
    # Limits (per minute); null: the organisation's default, and when that is null too, the
    # service setting (auth/partners/credential_limits.py resolves them, capped by the service
    # maximum).
    rate_limit_per_minute = fields.IntField(null=True)
    token_quota_per_minute = fields.IntField(null=True)
    limit_mode = fields.CharEnumField(LimitMode, max_length=16, default=LimitMode.ENFORCE)
    # CLIENT_SECRET credentials have secrets; PRIVATE_KEY_JWT ones have none, and either a
    # registered public JWK Set (`jwks`, public members only) or a `jwks_uri` fetched on demand.
    auth_method = fields.CharEnumField(
        ClientAuthMethod, max_length=24, default=ClientAuthMethod.CLIENT_SECRET
    )
    jwks: dict[str, object] | None = fields.JSONField(null=True)
    jwks_uri = fields.CharField(max_length=2000, null=True)

    secrets: fields.ReverseRelation[CredentialSecret]
    keys: fields.ReverseRelation[CredentialKey]

    class Meta:
        table = "credential"
        # The list's order, newest first with the id breaking ties (schema/pagination.py): with
        # the id in the index, a page is read straight off it, at any depth, without sorting.
        indexes = (("organisation_id", "created_at", "id"),)

    def status_at(self, now: datetime) -> CredentialStatus:
        if self.revoked_at is not None:
            return CredentialStatus.REVOKED
        if not before_expiry(self.expires_at, now):
            return CredentialStatus.EXPIRED
        return CredentialStatus.ACTIVE


class CredentialSecret(Model):
    id = fields.UUIDField(primary_key=True)
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="secrets", on_delete=fields.CASCADE
    )
    # Embedded in the secret value, so verification is one indexed lookup
    # (auth.partners.client_secrets).
    lookup_id = fields.CharField(max_length=32, unique=True)
    secret_hash = fields.CharField(max_length=128)
    hint = fields.CharField(max_length=4)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set on the previous secret during a rotation grace period.
    expires_at = fields.DatetimeField(null=True)
    # Set when the secret was ended before its expiry (rotation without grace, revocation).
    ended_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    last_used_ip = fields.CharField(max_length=45, null=True)

    class Meta:
        table = "credential_secret"
        # A page of the list reads its credentials' live secrets by credential id; without this
        # index that read scans every secret of every organisation (68 ms at 100,000).
        indexes = (("credential_id",),)

    def is_live_at(self, now: datetime) -> bool:
        return self.ended_at is None and before_expiry(self.expires_at, now)


class CredentialKey(Model):
    """A public key a PRIVATE_KEY_JWT credential signs its client assertions with: one row per
    key of a registered JWK Set, and for a `jwks_uri` one per key that has been used, so each key
    shows when it was last used."""

    id = fields.UUIDField(primary_key=True)
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name="keys", on_delete=fields.CASCADE
    )
    kid = fields.CharField(max_length=200)
    alg = fields.CharField(max_length=16)
    # The public JWK as registered (no private member is ever stored).
    jwk: dict[str, object] = fields.JSONField()
    # RFC 7638 JWK thumbprint (SHA-256, base64url): the same key under another credential or kid.
    thumbprint = fields.CharField(max_length=64)
    from_uri = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credential_key"
        unique_together = (("credential_id", "kid"),)
