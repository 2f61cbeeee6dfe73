"""Notification mails, through a real SMTP server on loopback (aiosmtpd): a reminder reaches the
credential's contact and the security contacts once each, says which credential, when and what
to do, links to the credential's page, and never carries a secret or its hash (WH-02). Which
changes write a mail, and in which transaction, is tests/test_mail_enqueue.py; sending (retries,
concurrency, development, TLS and login) is tests/test_mail_sending.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.credential import Credential, CredentialSecret
from models.notifications import (
    DeliveryStatus,
    MailMessage,
    NotificationType,
    WebhookEndpoint,
)
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.settings import Settings
from partner_api.foundation.settings_notifications import MailSettings
from partner_api.operations import credential_changes, notification_events
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.mail import enqueue_endpoint_disabled, send_due_mail
from partner_api.operations.notification_scan import scan
from tests.helpers import make_admin, make_credential

SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")
WINDOWS = LifecycleWindows(
    expires_soon=timedelta(days=7), stale_after=timedelta(days=90), settle=timedelta(minutes=20)
)
ISSUER = "https://partners.tickets.example"
MAIL_FROM = "Partner API <notify@tickets.example>"
CONTACT = "ops@partner.example"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=default)

    @property
    def text(self) -> str:
        return str(self.message.get_content())


@dataclass
class Inbox:
    """What the loopback SMTP server accepted, in order."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(port: int | None = None, **options: Any) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback, in its own thread, for the duration of the block."""
    inbox = Inbox()
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_settings(settings: Settings, smtp_url: str) -> Settings:
    return replace(
        settings, issuer=ISSUER, mail=MailSettings(smtp_url=smtp_url, mail_from=MAIL_FROM)
    )


async def organisation(*, security_contacts: list[str] | None = None) -> Organisation:
    _, org, _ = await make_admin()
    org.security_contacts = security_contacts or []
    await org.save()
    return org


async def expiring_credential(org: Organisation, *, now: datetime, days: int = 5) -> Credential:
    credential = (await make_credential(organisation=org, name="Box office")).credential
    credential.expires_at = now + timedelta(days=days)
    await credential.save()
    return credential


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def test_expiry_reminder_reaches_the_contact_and_security_contacts_once_each(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    # The contact again, in capitals, and one address twice: each receives the mail once.
    org = await organisation(security_contacts=["Security@Acme.example", CONTACT.upper()])
    credential = await expiring_credential(org, now=now, days=5)

    with smtp_server() as (inbox, port):
        await scan(now=now, windows=WINDOWS)
        sent = await send_due_mail(mail_settings(settings, f"smtp://127.0.0.1:{port}"), now=now)

    assert sent == 1
    (mail,) = inbox.received
    assert mail.recipients == [CONTACT, "Security@Acme.example"]
    assert mail.sender == "notify@tickets.example"
    message = mail.message
    assert message["From"] == MAIL_FROM
    assert message["To"] == f"{CONTACT}, Security@Acme.example"
    assert message["Subject"] == '[Partner API] Credential "Box office" expires in 5 days'
    text = " ".join(mail.text.split())  # unwrapped, to read sentences across line ends
    expiry = f"{now + timedelta(days=5):%Y-%m-%d %H:%M} UTC"
    assert (
        f'The Partner API credential "Box office" (client ID {credential.client_id}) of Acme '
        f"Tickets expires on {expiry}, in 5 days." in text
    )
    assert "What to do:" in text
    assert f"{ISSUER}/settings/organisation/partner-api?credential={credential.id}" in mail.text
    row = await MailMessage.get(credential=credential)
    assert row.status is DeliveryStatus.DELIVERED
    assert row.sent_at == now


async def test_a_reminder_is_mailed_once_however_often_the_scan_runs(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    org = await organisation()
    await expiring_credential(org, now=now, days=7)

    with smtp_server() as (inbox, port):
        configured = mail_settings(settings, f"smtp://127.0.0.1:{port}")
        for later in (timedelta(0), timedelta(minutes=1), timedelta(hours=2)):
            await scan(now=now + later, windows=WINDOWS)
            await send_due_mail(configured, now=now + later)

    assert [mail.message["Subject"] for mail in inbox.received] == [
        '[Partner API] Credential "Box office" expires in 7 days'
    ]


async def test_expiry_revocation_staleness_and_leaks_each_send_their_notice(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    org = await organisation(security_contacts=["security@acme.example"])
    expiring = await expiring_credential(org, now=now, days=1)
    quiet = (await make_credential(organisation=org, name="Old import")).credential
    await Credential.filter(id=quiet.id).update(created_at=now - timedelta(days=100))
    await scan(now=now, windows=WINDOWS)
    await scan(now=now + timedelta(days=1), windows=WINDOWS)
    await credential_changes.revoke_credential(
        TenantScope(org.id), SYSTEM, str(quiet.id), "contract ended", now=now
    )
    async with in_transaction():
        await notification_events.record(
            NotificationType.CREDENTIAL_SECRET_LEAKED,
            organisation_id=org.id,
            credential=expiring,
            facts={"url": "https://github.com/someone/repo/blob/main/.env", "action": "END_SECRET"},
            now=now,
        )

    with smtp_server() as (inbox, port):
        configured = mail_settings(settings, f"smtp://127.0.0.1:{port}")
        await send_due_mail(configured, now=now + timedelta(days=1))

    subjects = sorted(mail.message["Subject"] for mail in inbox.received)
    assert subjects == [
        '[Partner API] Credential "Box office" expires within a day',
        '[Partner API] Credential "Box office" has expired',
        '[Partner API] Credential "Old import" has not been used for 90 days',
        '[Partner API] Security notice: a secret of credential "Box office" was published',
        '[Partner API] Security notice: credential "Old import" was revoked',
    ]
    texts = {mail.message["Subject"]: " ".join(mail.text.split()) for mail in inbox.received}
    assert 'The reason given: "contract ended".' in texts[subjects[4]]
    leak = texts[subjects[3]]
    assert "published at https://github.com/someone/repo/blob/main/.env" in leak
    assert "That secret stopped working at once" in leak
    assert "has never been used" in texts[subjects[2]]
    assert all(mail.recipients == [CONTACT, "security@acme.example"] for mail in inbox.received)


async def test_wh02_no_mail_carries_a_secret_or_its_hash(db: Any, settings: Settings) -> None:
    now = now_utc()
    org = await organisation(security_contacts=["security@acme.example"])
    issued = await make_credential(organisation=org, name="Box office")
    credential = issued.credential
    credential.expires_at = now + timedelta(days=1)
    await credential.save()
    await scan(now=now, windows=WINDOWS)
    await scan(now=now + timedelta(days=1), windows=WINDOWS)
    async with in_transaction():
        await notification_events.record(
            NotificationType.CREDENTIAL_SECRET_LEAKED,
            organisation_id=org.id,
            credential=credential,
            facts={"url": "https://github.com/someone/repo", "action": "NOTIFY_ONLY"},
            now=now,
        )
    other = await make_credential(organisation=org, name="Other")
    await credential_changes.revoke_credential(
        TenantScope(org.id), SYSTEM, str(other.credential.id), None, now=now
    )
    endpoint = await WebhookEndpoint.create(
        organisation=org,
        url="https://hooks.partner.example/in",
        sealed_secret="v1:x",
        secret_hint="abcd",
    )
    await enqueue_endpoint_disabled(endpoint, "Every delivery failed for more than a day.", now)
    secrets_ = [issued.secret_value, other.secret_value]
    for row in await CredentialSecret.all():
        secrets_ += [row.secret_hash, row.lookup_id]

    with smtp_server() as (inbox, port):
        configured = mail_settings(settings, f"smtp://127.0.0.1:{port}")
        await send_due_mail(configured, now=now + timedelta(days=1))

    assert len(inbox.received) == 5
    stored = [row.subject + row.body for row in await MailMessage.all()]
    for secret in secrets_:
        for mail in inbox.received:
            assert secret not in mail.text
            assert secret.encode() not in mail.raw
        assert not any(secret in text for text in stored)
