"""The tenant: every credential, membership and audit event belongs to exactly one organisation."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Organisation(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Credential policy: the longest expiry (in days from now) a credential may be given when it
    # is created or its expiry is changed. None: no limit
    # (partner_api/operations/credential_policy.py).
    max_credential_lifetime_days = fields.IntField(null=True)

    class Meta:
        table = "organisation"
