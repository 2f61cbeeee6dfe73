"""Which changes write a mail, and when: in the transaction of the event that causes it (rolled
back with it), only for reminders and security notices, and, for a webhook endpoint disabled after
a day of failures, to the security contacts or else the owners and admins.
"""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models.enums import Role
from models.notifications import MailMessage, NotificationType, WebhookEndpoint
from models.tenancy import TenantScope
from partner_api.foundation.settings import Settings
from partner_api.operations import credential_changes, notification_events
from partner_api.operations.credentials import CredentialChanges
from partner_api.operations.mail import enqueue_endpoint_disabled, send_due_mail
from tests.helpers import make_admin, make_credential
from tests.test_mail import ISSUER, SYSTEM, mail_settings, now_utc, organisation, smtp_server


async def test_a_mail_is_written_in_its_events_transaction_and_rolled_back_with_it(
    db: Any,
) -> None:
    org = await organisation()
    credential = (await make_credential(organisation=org)).credential

    written: list[int] = []

    async def change_that_fails_after_its_event() -> None:
        async with in_transaction():
            await notification_events.record(
                NotificationType.CREDENTIAL_REVOKED,
                organisation_id=org.id,
                credential=credential,
                facts={"reason": None},
                now=now_utc(),
            )
            written.append(await MailMessage.filter(credential=credential).count())
            raise RuntimeError("the change fails after its event")

    with pytest.raises(RuntimeError):
        await change_that_fails_after_its_event()

    assert written == [1]
    assert await MailMessage.all().count() == 0


async def test_creating_or_changing_a_credential_sends_no_mail(db: Any) -> None:
    org = await organisation()
    credential = (await make_credential(organisation=org)).credential
    await credential_changes.update_credential(
        TenantScope(org.id),
        SYSTEM,
        str(credential.id),
        CredentialChanges(name="Renamed"),
        now=now_utc(),
    )

    assert await MailMessage.all().count() == 0


async def test_a_disabled_endpoint_is_told_to_security_contacts_or_else_owners_and_admins(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    with_contacts = await organisation(security_contacts=["security@acme.example"])
    _, without, _ = await make_admin(
        organisation="Rival", email="owner@rival.example", role=Role.OWNER
    )
    await make_admin(organisation="Rival", email="viewer@rival.example", role=Role.VIEWER)
    for org in (with_contacts, without):
        endpoint = await WebhookEndpoint.create(
            organisation=org,
            url="https://hooks.example/in",
            sealed_secret="v1:x",
            secret_hint="abcd",
        )
        await enqueue_endpoint_disabled(endpoint, "Every delivery failed for more than a day.", now)

    with smtp_server() as (inbox, port):
        await send_due_mail(mail_settings(settings, f"smtp://127.0.0.1:{port}"), now=now)

    assert sorted(mail.recipients for mail in inbox.received) == [
        ["owner@rival.example"],
        ["security@acme.example"],
    ]
    mail = inbox.received[0]
    assert (
        mail.message["Subject"]
        == "[Partner API] Webhook endpoint disabled: https://hooks.example/in"
    )
    assert "Every delivery failed for more than a day." in " ".join(mail.text.split())
    assert mail.text.splitlines()[-1] == f"{ISSUER}/settings/organisation/partner-api"
