from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import LimitMode


class Migration(migrations.Migration):
    dependencies = [("models", "0008_mail_and_leaks")]

    initial = False

    operations = [
        ops.CreateModel(
            name="UsageAddress",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("granularity", fields.CharField(max_length=1)),
                ("bucket_start", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("address", fields.CharField(max_length=45)),
            ],
            options={
                "table": "usage_address",
                "app": "models",
                "unique_together": (("credential_id", "granularity", "bucket_start", "address"),),
                "indexes": [Index(fields=["organisation_id", "granularity", "bucket_start"])],
                "pk_attr": "id",
                "table_description": "A client address seen for a credential in a bucket: distinct addresses are these rows",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="UsageCount",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("granularity", fields.CharField(max_length=1)),
                ("bucket_start", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("metric", fields.CharField(max_length=16)),
                ("operation", fields.CharField(default="", max_length=80)),
                ("status_class", fields.CharField(default="", max_length=3)),
                ("reason", fields.CharField(default="", max_length=40)),
                ("count", fields.BigIntField(default=0)),
            ],
            options={
                "table": "usage_count",
                "app": "models",
                "unique_together": (
                    (
                        "credential_id",
                        "granularity",
                        "bucket_start",
                        "metric",
                        "operation",
                        "status_class",
                        "reason",
                    ),
                ),
                "indexes": [Index(fields=["organisation_id", "granularity", "bucket_start"])],
                "pk_attr": "id",
                "table_description": "One counter of one credential in one bucket. `operation` is a route template",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="UsageError",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "credential",
                    fields.ForeignKeyField(
                        "models.Credential",
                        source_field="credential_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("occurred_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("operation", fields.CharField(max_length=80)),
                ("status", fields.IntField()),
                ("error_code", fields.CharField(max_length=40)),
            ],
            options={
                "table": "usage_error",
                "app": "models",
                "indexes": [
                    Index(fields=["credential_id", "occurred_at"]),
                    Index(fields=["organisation_id", "occurred_at"]),
                ],
                "pk_attr": "id",
                "table_description": "One recent failed call of a credential (status ≥ 400): when, which operation, the status",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Credential",
            name="limit_mode",
            field=fields.CharEnumField(
                default=LimitMode.ENFORCE,
                description="ENFORCE: ENFORCE\nMONITOR: MONITOR",
                enum_type=LimitMode,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Credential",
            name="rate_limit_per_minute",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Credential",
            name="token_quota_per_minute",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Organisation",
            name="default_rate_limit_per_minute",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Organisation",
            name="default_token_quota_per_minute",
            field=fields.IntField(null=True),
        ),
    ]
