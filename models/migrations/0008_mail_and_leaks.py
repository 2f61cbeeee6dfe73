from uuid import uuid4

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import AuditAction
from models.notifications import DeliveryStatus, LeakedSecretAction


class Migration(migrations.Migration):
    dependencies = [("models", "0007_notifications")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LeakReport",
            fields=[
                (
                    "body_sha256",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "leak_report",
                "app": "models",
                "pk_attr": "body_sha256",
                "table_description": "A leak report already handled, by the SHA-256 of its signed body: the same signed report",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MailMessage",
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
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
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
                    "event",
                    fields.ForeignKeyField(
                        "models.NotificationEvent",
                        source_field="event_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("recipients", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("subject", fields.CharField(max_length=200)),
                ("body", fields.TextField(unique=False)),
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
                ("last_error", fields.CharField(null=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "mail_message",
                "app": "models",
                "indexes": [
                    Index(fields=["status", "next_attempt_at"]),
                    Index(fields=["organisation_id", "created_at"]),
                ],
                "pk_attr": "id",
                "table_description": "A mail to send: reminders and security notices, written in the transaction of what causes",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="AuditEvent",
            name="action",
            field=fields.CharEnumField(
                description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED\nCREDENTIAL_PREVIOUS_SECRET_ENDED: CREDENTIAL_PREVIOUS_SECRET_ENDED\nCREDENTIAL_POLICY_UPDATED: CREDENTIAL_POLICY_UPDATED\nTOKEN_ISSUED: TOKEN_ISSUED\nTOKEN_REFUSED: TOKEN_REFUSED\nTOKEN_REVOKED: TOKEN_REVOKED\nWEBHOOK_ENDPOINT_CREATED: WEBHOOK_ENDPOINT_CREATED\nWEBHOOK_ENDPOINT_UPDATED: WEBHOOK_ENDPOINT_UPDATED\nWEBHOOK_ENDPOINT_DELETED: WEBHOOK_ENDPOINT_DELETED\nWEBHOOK_SECRET_ROTATED: WEBHOOK_SECRET_ROTATED\nWEBHOOK_TEST_SENT: WEBHOOK_TEST_SENT\nWEBHOOK_ENDPOINT_DISABLED: WEBHOOK_ENDPOINT_DISABLED\nNOTIFICATION_SETTINGS_UPDATED: NOTIFICATION_SETTINGS_UPDATED\nCREDENTIAL_SECRET_LEAKED: CREDENTIAL_SECRET_LEAKED",
                enum_type=AuditAction,
                max_length=48,
            ),
        ),
        ops.AddField(
            model_name="Organisation",
            name="leaked_secret_action",
            field=fields.CharEnumField(
                default=LeakedSecretAction.END_SECRET,
                description="END_SECRET: END_SECRET\nNOTIFY_ONLY: NOTIFY_ONLY",
                enum_type=LeakedSecretAction,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Organisation",
            name="security_contacts",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
