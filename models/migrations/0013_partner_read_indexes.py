from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_api_tokens")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Barcode",
            index=Index(fields=["order_id", "created_at", "code"]),
        ),
        ops.RemoveIndex(
            model_name="Order",
            name=None,
            fields=["organisation_id", "created_at"],
        ),
        ops.AddIndex(
            model_name="Order",
            index=Index(fields=["organisation_id", "created_at", "id"]),
        ),
        ops.AddIndex(
            model_name="OrderLine",
            index=Index(fields=["order_id", "id"]),
        ),
    ]
