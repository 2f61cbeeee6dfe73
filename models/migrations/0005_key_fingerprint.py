from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_lifecycle_policy")]

    initial = False

    operations = [
        ops.CreateModel(
            name="KeyFingerprint",
            fields=[
                (
                    "name",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32),
                ),
                ("fingerprint", fields.CharField(max_length=64)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "key_fingerprint", "app": "models", "pk_attr": "name"},
            bases=["Model"],
        ),
    ]
