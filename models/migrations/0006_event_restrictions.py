from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_key_fingerprint")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Credential",
            name="event_ids",
            field=fields.JSONField(null=True),
        ),
    ]
