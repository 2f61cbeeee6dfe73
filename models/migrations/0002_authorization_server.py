import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import AuditAction
from models.oauth import ChangeKind


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ChangeEvent",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="CREDENTIAL_CHANGED: CREDENTIAL_CHANGED\nTOKEN_REVOKED: TOKEN_REVOKED\nSIGNING_KEYS_CHANGED: SIGNING_KEYS_CHANGED",
                        enum_type=ChangeKind,
                        max_length=32,
                    ),
                ),
                ("credential_id", fields.UUIDField(null=True)),
                ("jti", fields.CharField(null=True, max_length=64)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
                ),
            ],
            options={"table": "change_event", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RevokedToken",
            fields=[
                (
                    "jti",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("credential_id", fields.UUIDField()),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "revoked_token",
                "app": "models",
                "pk_attr": "jti",
                "table_description": "An access token revoked through RFC 7009 before its expiry (kept until it would expire).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SigningKey",
            fields=[
                (
                    "kid",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("algorithm", fields.CharField(max_length=16)),
                ("encrypted_private_key", fields.TextField(unique=False)),
                (
                    "public_jwk",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("retired_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "signing_key", "app": "models", "pk_attr": "kid"},
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="AuditEvent",
            name="action",
            field=fields.CharEnumField(
                description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED\nTOKEN_ISSUED: TOKEN_ISSUED\nTOKEN_REFUSED: TOKEN_REFUSED\nTOKEN_REVOKED: TOKEN_REVOKED",
                enum_type=AuditAction,
                max_length=48,
            ),
        ),
    ]
