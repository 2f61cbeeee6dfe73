from uuid import uuid4

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops

from models.enums import ClientAuthMethod


class Migration(migrations.Migration):
    dependencies = [("models", "0010_usage_retention_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CredentialKey",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="keys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kid", fields.CharField(max_length=200)),
                ("alg", fields.CharField(max_length=16)),
                ("jwk", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("thumbprint", fields.CharField(max_length=64)),
                ("from_uri", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "credential_key",
                "app": "models",
                "unique_together": (("credential_id", "kid"),),
                "pk_attr": "id",
                "table_description": "A public key a PRIVATE_KEY_JWT credential signs its client assertions with: one row per",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="UsedAssertion",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "expires_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "used_assertion",
                "app": "models",
                "pk_attr": "key",
                "table_description": "A client assertion's `jti`, kept until the assertion's `exp` so it is accepted once",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Credential",
            name="auth_method",
            field=fields.CharEnumField(
                default=ClientAuthMethod.CLIENT_SECRET,
                description="CLIENT_SECRET: CLIENT_SECRET\nPRIVATE_KEY_JWT: PRIVATE_KEY_JWT",
                enum_type=ClientAuthMethod,
                max_length=24,
            ),
        ),
        ops.AddField(
            model_name="Credential",
            name="jwks",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="Credential",
            name="jwks_uri",
            field=fields.CharField(null=True, max_length=2000),
        ),
    ]
