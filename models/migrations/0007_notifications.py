from uuid import uuid4

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import AuditAction
from models.notifications import DeliveryStatus, NotificationType


class Migration(migrations.Migration):
    dependencies = [("models", "0006_event_restrictions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="NotificationEvent",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "type",
                    fields.CharEnumField(
                        description="CREDENTIAL_CREATED: credential.created\nCREDENTIAL_UPDATED: credential.updated\nCREDENTIAL_SECRET_ROTATED: credential.secret_rotated\nCREDENTIAL_PREVIOUS_SECRET_ENDED: credential.previous_secret_ended\nCREDENTIAL_EXPIRING: credential.expiring\nCREDENTIAL_EXPIRED: credential.expired\nCREDENTIAL_STALE: credential.stale\nCREDENTIAL_REVOKED: credential.revoked\nCREDENTIAL_SECRET_LEAKED: credential.secret_leaked\nWEBHOOK_TEST: webhook.test",
                        enum_type=NotificationType,
                        max_length=48,
                    ),
                ),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("data", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("once_key", fields.CharField(null=True, unique=True, max_length=200)),
            ],
            options={
                "table": "notification_event",
                "app": "models",
                "indexes": [Index(fields=["organisation_id", "occurred_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("url", fields.CharField(max_length=2000)),
                ("description", fields.CharField(default="", max_length=500)),
                ("event_types", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("sealed_secret", fields.TextField(unique=False)),
                ("secret_hint", fields.CharField(max_length=4)),
                ("enabled", fields.BooleanField(default=True)),
                (
                    "disabled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("disabled_reason", fields.CharField(null=True, max_length=200)),
                (
                    "failing_since",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.AdminUser",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "webhook_endpoint",
                "app": "models",
                "indexes": [Index(fields=["organisation_id", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "endpoint",
                    fields.ForeignKeyField(
                        "models.WebhookEndpoint",
                        source_field="endpoint_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.NotificationEvent",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=DeliveryStatus.PENDING,
                        description="PENDING: PENDING\nDELIVERED: DELIVERED\nFAILED: FAILED",
                        enum_type=DeliveryStatus,
                        max_length=16,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "claimed_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_attempt_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_status_code", fields.IntField(null=True)),
                ("last_latency_ms", fields.IntField(null=True)),
                ("last_error", fields.CharField(null=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "webhook_delivery",
                "app": "models",
                "indexes": [
                    Index(fields=["status", "next_attempt_at"]),
                    Index(fields=["endpoint_id", "created_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="AuditEvent",
            name="action",
            field=fields.CharEnumField(
                description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED\nCREDENTIAL_PREVIOUS_SECRET_ENDED: CREDENTIAL_PREVIOUS_SECRET_ENDED\nCREDENTIAL_POLICY_UPDATED: CREDENTIAL_POLICY_UPDATED\nTOKEN_ISSUED: TOKEN_ISSUED\nTOKEN_REFUSED: TOKEN_REFUSED\nTOKEN_REVOKED: TOKEN_REVOKED\nWEBHOOK_ENDPOINT_CREATED: WEBHOOK_ENDPOINT_CREATED\nWEBHOOK_ENDPOINT_UPDATED: WEBHOOK_ENDPOINT_UPDATED\nWEBHOOK_ENDPOINT_DELETED: WEBHOOK_ENDPOINT_DELETED\nWEBHOOK_SECRET_ROTATED: WEBHOOK_SECRET_ROTATED\nWEBHOOK_TEST_SENT: WEBHOOK_TEST_SENT\nWEBHOOK_ENDPOINT_DISABLED: WEBHOOK_ENDPOINT_DISABLED",
                enum_type=AuditAction,
                max_length=48,
            ),
        ),
    ]
