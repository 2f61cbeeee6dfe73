"""Sending notification mails: a server that cannot be reached costs an attempt, not the mail;
after about a day of failures the mail is FAILED; two senders at once send each mail once;
development without SMTP logs one line per mail and keeps it; the SMTP URL's login, STARTTLS
and implicit TLS are honoured (through real servers on loopback).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import random
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from models.notifications import DeliveryStatus, MailMessage, NotificationType
from models.organisation import Organisation
from partner_api.foundation.settings import Settings
from partner_api.operations import notification_events
from partner_api.operations.mail import send_due_mail
from partner_api.operations.webhook_payload import MAX_ATTEMPTS
from tests.helpers import make_credential
from tests.test_mail import CONTACT, free_port, mail_settings, now_utc, organisation, smtp_server


async def revoked_mails(org: Organisation, count: int, now: dt.datetime) -> None:
    """`count` pending security notices (a credential revoked, each)."""
    for index in range(count):
        credential = (await make_credential(organisation=org, name=f"Partner {index}")).credential
        await notification_events.record(
            NotificationType.CREDENTIAL_REVOKED,
            organisation_id=org.id,
            credential=credential,
            facts={"reason": None},
            now=now,
        )


async def test_an_unreachable_smtp_server_leaves_the_mail_for_a_later_attempt(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    await revoked_mails(await organisation(), 1, now)
    port = free_port()  # nothing listens here yet
    configured = mail_settings(settings, f"smtp://127.0.0.1:{port}")

    assert await send_due_mail(configured, now=now) == 0

    row = await MailMessage.get()
    assert row.status is DeliveryStatus.PENDING
    assert row.attempts == 1
    assert row.last_error is not None
    assert "SMTPConnectError" in row.last_error
    assert now < row.next_attempt_at <= now + dt.timedelta(seconds=10)
    with smtp_server(port) as (inbox, _):
        assert await send_due_mail(configured, now=now + dt.timedelta(seconds=1)) == 0
        assert await send_due_mail(configured, now=now + dt.timedelta(seconds=10)) == 1
    assert len(inbox.received) == 1
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)


async def test_a_mail_failing_for_about_a_day_is_marked_failed(db: Any, settings: Settings) -> None:
    start = now_utc()
    await revoked_mails(await organisation(), 1, start)
    configured = mail_settings(settings, f"smtp://127.0.0.1:{free_port()}")
    rng = random.Random(7)

    moment = start
    row = await MailMessage.get()
    while row.status is DeliveryStatus.PENDING:
        await send_due_mail(configured, now=moment, rng=rng)
        await row.refresh_from_db()
        last_attempt = moment
        moment = row.next_attempt_at + dt.timedelta(seconds=1)

    assert row.status is DeliveryStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert dt.timedelta(hours=20) < last_attempt - start < dt.timedelta(hours=36)
    assert row.sent_at is None


async def test_two_senders_at_once_send_each_mail_once(db: Any, settings: Settings) -> None:
    now = now_utc()
    await revoked_mails(await organisation(), 6, now)

    with smtp_server() as (inbox, port):
        configured = mail_settings(settings, f"smtp://127.0.0.1:{port}")
        sent = await asyncio.gather(
            send_due_mail(configured, now=now), send_due_mail(configured, now=now)
        )

    assert sum(sent) == 6
    message_ids = [mail.message["Message-ID"] for mail in inbox.received]
    assert len(message_ids) == len(set(message_ids)) == 6
    rows = await MailMessage.all()
    assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.DELIVERED, 1)}


async def test_development_without_smtp_logs_one_line_per_mail_and_keeps_it(
    db: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    now = now_utc()
    await revoked_mails(await organisation(security_contacts=["sec@acme.example"]), 2, now)

    with caplog.at_level(logging.INFO, logger="partner_api.mail"):
        assert await send_due_mail(settings, now=now) == 2
        assert await send_due_mail(settings, now=now) == 0

    lines = [record.getMessage() for record in caplog.records if record.name == "partner_api.mail"]
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"mail to {CONTACT}, sec@acme.example: [Partner API] Security")
        assert "What to do" not in line  # never the body
    rows = await MailMessage.all()
    assert len(rows) == 2
    assert all(row.status is DeliveryStatus.DELIVERED and row.sent_at == now for row in rows)


async def test_the_smtp_urls_user_and_password_log_in(db: Any, settings: Settings) -> None:
    now = now_utc()
    await revoked_mails(await organisation(), 1, now)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss:w/rd")

    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (inbox, port):
        url = f"smtp://notify%40acme:p%40ss%3Aw%2Frd@127.0.0.1:{port}"
        assert await send_due_mail(mail_settings(settings, url), now=now) == 1

    assert logins == [(b"notify@acme", b"p@ss:w/rd")]
    assert len(inbox.received) == 1


async def test_starttls_required_refuses_a_server_that_does_not_offer_it(
    db: Any, settings: Settings
) -> None:
    now = now_utc()
    await revoked_mails(await organisation(), 1, now)

    with smtp_server() as (inbox, port):
        url = f"smtp://127.0.0.1:{port}?starttls=required"
        assert await send_due_mail(mail_settings(settings, url), now=now) == 0

    assert inbox.received == []
    row = await MailMessage.get()
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error is not None


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_smtps_sends_over_tls_to_a_trusted_server_only(
    db: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = now_utc()
    await revoked_mails(await organisation(), 1, now)
    cert_path, key_path = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)

    with smtp_server(ssl_context=server_tls) as (inbox, port):
        configured = mail_settings(settings, f"smtps://127.0.0.1:{port}")
        # Not trusted yet: the certificate is verified, so nothing is sent.
        assert await send_due_mail(configured, now=now) == 0
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        later = (await MailMessage.get()).next_attempt_at
        assert await send_due_mail(configured, now=later) == 1

    assert len(inbox.received) == 1
    row = await MailMessage.get()
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)
