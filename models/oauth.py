"""Authorization-server state: signing keys, revoked access tokens, and the change feed.

The change feed is how several processes stay coherent without a database round-trip per request:
every change that must end access (a credential revoked, re-scoped or rotated, a token revoked, a
signing key rotated) appends a row in the same transaction; each process polls the feed at a short
interval and drops what it had cached (auth/partners/change_feed.py).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class SigningKey(Model):
    kid = fields.CharField(max_length=64, primary_key=True)
    algorithm = fields.CharField(max_length=16)
    # PKCS#8 private key, encrypted with the key-encryption key (auth/partners/signing_keys.py).
    encrypted_private_key = fields.TextField()
    public_jwk: dict[str, str] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set when a newer key takes over; the public key stays published until every token expired.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signing_key"


class RevokedToken(Model):
    """An access token revoked through RFC 7009 before its expiry (kept until it would expire)."""

    jti = fields.CharField(max_length=64, primary_key=True)
    credential_id = fields.UUIDField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "revoked_token"


class UsedAssertion(Model):
    """A client assertion's `jti`, kept until the assertion's `exp` so it is accepted once
    across every process (RFC 7523 §3, PK-01). Keyed by a hash of the client ID and the jti."""

    key = fields.CharField(max_length=64, primary_key=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "used_assertion"


class ChangeKind(StrEnum):
    CREDENTIAL_CHANGED = "CREDENTIAL_CHANGED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    SIGNING_KEYS_CHANGED = "SIGNING_KEYS_CHANGED"


class ChangeEvent(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(ChangeKind, max_length=32)
    credential_id = fields.UUIDField(null=True)
    jti = fields.CharField(max_length=64, null=True)
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "change_event"
