from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import ActorType, AuditAction, Role


class Migration(migrations.Migration):
    dependencies = [("models", "0011_private_key_jwt")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ApiToken",
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
                        related_name="api_tokens",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                (
                    "role",
                    fields.CharEnumField(
                        description="OWNER: OWNER\nADMIN: ADMIN\nDEVELOPER: DEVELOPER\nVIEWER: VIEWER",
                        enum_type=Role,
                        max_length=16,
                    ),
                ),
                ("lookup_id", fields.CharField(unique=True, max_length=32)),
                ("token_hash", fields.CharField(max_length=128)),
                ("hint", fields.CharField(max_length=4)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "models.Membership",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="api_tokens",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_by_email", fields.CharField(max_length=254)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "revoked_by",
                    fields.ForeignKeyField(
                        "models.AdminUser",
                        source_field="revoked_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_used_ip", fields.CharField(null=True, max_length=45)),
            ],
            options={
                "table": "api_token",
                "app": "models",
                "indexes": [Index(fields=["organisation_id", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="AuditEvent",
            name="action",
            field=fields.CharEnumField(
                description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED\nCREDENTIAL_PREVIOUS_SECRET_ENDED: CREDENTIAL_PREVIOUS_SECRET_ENDED\nCREDENTIAL_POLICY_UPDATED: CREDENTIAL_POLICY_UPDATED\nTOKEN_ISSUED: TOKEN_ISSUED\nTOKEN_REFUSED: TOKEN_REFUSED\nTOKEN_REVOKED: TOKEN_REVOKED\nWEBHOOK_ENDPOINT_CREATED: WEBHOOK_ENDPOINT_CREATED\nWEBHOOK_ENDPOINT_UPDATED: WEBHOOK_ENDPOINT_UPDATED\nWEBHOOK_ENDPOINT_DELETED: WEBHOOK_ENDPOINT_DELETED\nWEBHOOK_SECRET_ROTATED: WEBHOOK_SECRET_ROTATED\nWEBHOOK_TEST_SENT: WEBHOOK_TEST_SENT\nWEBHOOK_ENDPOINT_DISABLED: WEBHOOK_ENDPOINT_DISABLED\nNOTIFICATION_SETTINGS_UPDATED: NOTIFICATION_SETTINGS_UPDATED\nCREDENTIAL_SECRET_LEAKED: CREDENTIAL_SECRET_LEAKED\nAPI_TOKEN_CREATED: API_TOKEN_CREATED\nAPI_TOKEN_REVOKED: API_TOKEN_REVOKED",
                enum_type=AuditAction,
                max_length=48,
            ),
        ),
        ops.AlterField(
            model_name="AuditEvent",
            name="actor_type",
            field=fields.CharEnumField(
                description="USER: USER\nCREDENTIAL: CREDENTIAL\nSYSTEM: SYSTEM\nAPI_TOKEN: API_TOKEN",
                enum_type=ActorType,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="AuditEvent",
            name="actor_api_token",
            field=fields.ForeignKeyField(
                "models.ApiToken",
                source_field="actor_api_token_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name=False,
                on_delete=OnDelete.RESTRICT,
            ),
        ),
    ]
