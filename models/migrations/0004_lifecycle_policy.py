from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import AuditAction


class Migration(migrations.Migration):
    dependencies = [("models", "0003_ticketing")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="AuditEvent",
            name="action",
            field=fields.CharEnumField(
                description="ADMIN_LOGIN: ADMIN_LOGIN\nADMIN_LOGIN_FAILED: ADMIN_LOGIN_FAILED\nADMIN_LOGOUT: ADMIN_LOGOUT\nCREDENTIAL_CREATED: CREDENTIAL_CREATED\nCREDENTIAL_SECRET_REGENERATED: CREDENTIAL_SECRET_REGENERATED\nCREDENTIAL_UPDATED: CREDENTIAL_UPDATED\nCREDENTIAL_REVOKED: CREDENTIAL_REVOKED\nCREDENTIAL_PREVIOUS_SECRET_ENDED: CREDENTIAL_PREVIOUS_SECRET_ENDED\nCREDENTIAL_POLICY_UPDATED: CREDENTIAL_POLICY_UPDATED\nTOKEN_ISSUED: TOKEN_ISSUED\nTOKEN_REFUSED: TOKEN_REFUSED\nTOKEN_REVOKED: TOKEN_REVOKED",
                enum_type=AuditAction,
                max_length=48,
            ),
        ),
        ops.AddField(
            model_name="Organisation",
            name="max_credential_lifetime_days",
            field=fields.IntField(null=True),
        ),
    ]
