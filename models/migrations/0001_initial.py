import functools
from json import dumps, loads
from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import AccessLevel, ActorType, AuditAction, Role


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="AdminUser",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("email", fields.CharField(unique=True, max_length=254)),
                ("password_hash", fields.CharField(max_length=255)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "admin_user", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Organisation",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "organisation", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Credential",
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
                        related_name="credentials",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("contact_email", fields.CharField(max_length=254)),
                ("client_id", fields.CharField(unique=True, max_length=64)),
                (
                    "access_level",
                    fields.CharEnumField(
                        description="FULL: FULL\nFINE_GRAINED: FINE_GRAINED",
                        enum_type=AccessLevel,
                        max_length=16,
                    ),
                ),
                (
                    "scopes",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "ip_allowlist",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
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
                ("revocation_reason", fields.CharField(null=True, max_length=500)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_used_ip", fields.CharField(null=True, max_length=45)),
            ],
            options={
                "table": "credential",
                "app": "models",
                "indexes": [Index(fields=["organisation_id", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEvent",
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
                        related_name="audit_events",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "action",
                    fields.CharEnumField(
                        description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED",
                        enum_type=AuditAction,
                        max_length=48,
                    ),
                ),
                (
                    "actor_type",
                    fields.CharEnumField(
                        description="USER: USER\nCREDENTIAL: CREDENTIAL\nSYSTEM: SYSTEM",
                        enum_type=ActorType,
                        max_length=16,
                    ),
                ),
                (
                    "actor_user",
                    fields.ForeignKeyField(
                        "models.AdminUser",
                        source_field="actor_user_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("actor_label", fields.CharField(max_length=254)),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="audit_events",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("ip_address", fields.CharField(null=True, max_length=45)),
                ("user_agent", fields.CharField(null=True, max_length=300)),
                (
                    "before",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "after",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "audit_event",
                "app": "models",
                "indexes": [Index(fields=["organisation_id", "occurred_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CredentialSecret",
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
                        related_name="secrets",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("lookup_id", fields.CharField(unique=True, max_length=32)),
                ("secret_hash", fields.CharField(max_length=128)),
                ("hint", fields.CharField(max_length=4)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_used_ip", fields.CharField(null=True, max_length=45)),
            ],
            options={"table": "credential_secret", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "user",
                    fields.ForeignKeyField(
                        "models.AdminUser",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="OWNER: OWNER\nADMIN: ADMIN\nDEVELOPER: DEVELOPER\nVIEWER: VIEWER",
                        enum_type=Role,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "membership",
                "app": "models",
                "unique_together": (("user", "organisation"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AdminSession",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=128)),
                (
                    "membership",
                    fields.ForeignKeyField(
                        "models.Membership",
                        source_field="membership_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="sessions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ip_address", fields.CharField(null=True, max_length=45)),
                ("user_agent", fields.CharField(null=True, max_length=300)),
            ],
            options={
                "table": "admin_session",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An opaque login session. Only a keyed hash of its token is stored.",
            },
            bases=["Model"],
        ),
    ]
