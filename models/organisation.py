"""The tenant: every credential, membership and audit event belongs to exactly one organisation."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.notifications import LeakedSecretAction


class Organisation(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Credential policy: the longest expiry (in days from now) a credential may be given when it
    # is created or its expiry is changed. None: no limit
    # (partner_api/operations/credential_policy.py).
    max_credential_lifetime_days = fields.IntField(null=True)
    # Notification settings: who hears of reminders and security notices besides each
    # credential's contact, and what a confirmed leak report does to the leaked secret.
    security_contacts: list[str] = fields.JSONField(default=list)
    leaked_secret_action = fields.CharEnumField(
        LeakedSecretAction, max_length=16, default=LeakedSecretAction.END_SECRET
    )
    # Defaults for the organisation's credentials that set no limit of their own; null: the
    # service setting (PARTNER_API_RATE_LIMIT_PER_MINUTE, PARTNER_API_TOKEN_QUOTA_PER_MINUTE).
    default_rate_limit_per_minute = fields.IntField(null=True)
    default_token_quota_per_minute = fields.IntField(null=True)

    class Meta:
        table = "organisation"
