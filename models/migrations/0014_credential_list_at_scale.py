from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_partner_read_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CredentialTally",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "organisation",
                    fields.OneToOneField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("credentials", fields.IntField(default=0)),
            ],
            options={"table": "credential_tally", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        # Every organisation's credentials so far: from here on the count changes with each
        # create and delete (models/credential_tally.py).
        ops.RunSQL(
            "INSERT INTO credential_tally (organisation_id, credentials) "
            "SELECT organisation_id, COUNT(*) FROM credential GROUP BY organisation_id",
            reverse_sql=[],
        ),
        ops.RemoveIndex(
            model_name="Credential",
            name=None,
            fields=["organisation_id", "created_at"],
        ),
        ops.AddIndex(
            model_name="Credential",
            index=Index(fields=["organisation_id", "created_at", "id"]),
        ),
        ops.AddIndex(
            model_name="CredentialSecret",
            index=Index(fields=["credential_id"]),
        ),
    ]
