from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_usage_and_limits")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="UsageAddress",
            index=Index(fields=["granularity", "bucket_start"]),
        ),
        ops.AddIndex(
            model_name="UsageCount",
            index=Index(fields=["granularity", "bucket_start"]),
        ),
        ops.AddIndex(
            model_name="UsageError",
            index=Index(fields=["occurred_at"]),
        ),
    ]
