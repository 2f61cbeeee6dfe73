"""Notifications: what happened to a credential (events), where it is sent (webhook endpoints) and
each sending of one event to one endpoint (deliveries).

An event and its deliveries are written in the transaction of the change that causes them, so an
acknowledged change always has its event and a rolled-back change never has one (WH-04); workers
then send the deliveries, at least once (partner_api/operations/webhook_delivery.py). Time-based
events (an expiry coming up, an expiry, a credential gone stale) carry a `once_key`, unique, so a
scan that runs in several processes, or again after a restart, records each one once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.admin import AdminUser
    from models.credential import Credential
    from models.organisation import Organisation


class NotificationType(StrEnum):
    """The event types, named as webhook consumers see them (`type` in the payload)."""

    CREDENTIAL_CREATED = "credential.created"
    CREDENTIAL_UPDATED = "credential.updated"
    CREDENTIAL_SECRET_ROTATED = "credential.secret_rotated"  # noqa: S105 (an event name)
    CREDENTIAL_PREVIOUS_SECRET_ENDED = "credential.previous_secret_ended"  # noqa: S105 (an event name)
    CREDENTIAL_EXPIRING = "credential.expiring"
    CREDENTIAL_EXPIRED = "credential.expired"
    CREDENTIAL_STALE = "credential.stale"
    CREDENTIAL_REVOKED = "credential.revoked"
    CREDENTIAL_SECRET_LEAKED = "credential.secret_leaked"  # noqa: S105 (an event name)
    # Only ever sent to the endpoint that asked for it (`sendTestWebhook`).
    WEBHOOK_TEST = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class NotificationEvent(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, on_delete=fields.RESTRICT
    )
    credential: fields.ForeignKeyNullableRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    type = fields.CharEnumField(NotificationType, max_length=48)
    occurred_at = fields.DatetimeField()
    # The payload's `data`: the credential's id, name and client ID and the event's facts; never
    # a secret, hash or token (WH-02).
    data: dict[str, object] = fields.JSONField()
    once_key = fields.CharField(max_length=200, null=True, unique=True)

    class Meta:
        table = "notification_event"
        indexes = (("organisation_id", "occurred_at"),)


class WebhookEndpoint(Model):
    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, on_delete=fields.RESTRICT
    )
    url = fields.CharField(max_length=2000)
    description = fields.CharField(max_length=500, default="")
    event_types: list[str] = fields.JSONField(default=list)
    # The signing secret, sealed with the key-encryption key: Standard Webhooks signs with the
    # secret itself, so it is kept recoverable, never in the clear (WH-01).
    sealed_secret = fields.TextField()
    secret_hint = fields.CharField(max_length=4)
    enabled = fields.BooleanField(default=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=200, null=True)
    # Set by the first failed attempt after a success, cleared by the next success: an endpoint
    # failing for a day is disabled.
    failing_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by: fields.ForeignKeyNullableRelation[AdminUser] = fields.ForeignKeyField(
        "models.AdminUser", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_endpoint"
        indexes = (("organisation_id", "created_at"),)


class WebhookDelivery(Model):
    id = fields.UUIDField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation[NotificationEvent] = fields.ForeignKeyField(
        "models.NotificationEvent", related_name=False, on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # The worker that claimed the next attempt holds it until then; a worker killed mid-attempt
    # leaves a lease that runs out, and the attempt is claimed again (at least once).
    claimed_until = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_latency_ms = fields.IntField(null=True)
    last_error = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "created_at"))


class LeakedSecretAction(StrEnum):
    """What a confirmed leak report does to the leaked secret (the organisation chooses)."""

    END_SECRET = "END_SECRET"  # noqa: S105 (a policy name)
    NOTIFY_ONLY = "NOTIFY_ONLY"


class MailMessage(Model):
    """A mail to send: reminders and security notices, written in the transaction of what causes
    them and sent by the worker (or, without SMTP in development, only logged and kept here for
    the page to show)."""

    id = fields.UUIDField(primary_key=True)
    organisation: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    credential: fields.ForeignKeyNullableRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    event: fields.ForeignKeyNullableRelation[NotificationEvent] = fields.ForeignKeyField(
        "models.NotificationEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    recipients: list[str] = fields.JSONField()
    subject = fields.CharField(max_length=200)
    body = fields.TextField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mail_message"
        indexes = (("status", "next_attempt_at"), ("organisation_id", "created_at"))


class LeakReport(Model):
    """A leak report already handled, by the SHA-256 of its signed body: the same signed report
    sent again is a replay and changes nothing (LK-01)."""

    body_sha256 = fields.CharField(max_length=64, primary_key=True)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "leak_report"
