"""One mail over SMTP with aiosmtplib, where `PARTNER_API_SMTP_URL` says:

    smtp://[user:password@]host[:port]          STARTTLS when the server offers it (port 25)
    smtp://…?starttls=required                  STARTTLS, or the attempt fails
    smtps://[user:password@]host[:port]         TLS from the first byte (port 465)

User name and password are percent-decoded; certificates are verified. Every SMTP step has
`TIMEOUT_SECONDS`, so a server that stops answering costs an attempt, not the worker.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from models.notifications import MailMessage

TIMEOUT_SECONDS = 10.0
LINE_WIDTH = 72
SETTINGS_PAGE = "/settings/organisation/partner-api"


class SmtpConfigurationError(ValueError):
    """`PARTNER_API_SMTP_URL` cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int | None
    use_tls: bool
    # None: STARTTLS when the server offers it (aiosmtplib's own default).
    start_tls: bool | None
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def smtp_target(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpConfigurationError("PARTNER_API_SMTP_URL must start with smtp:// or smtps://.")
    starttls = parse_qs(parts.query).get("starttls", [""])[-1]
    if starttls not in ("", "required") or (starttls and parts.scheme == "smtps"):
        raise SmtpConfigurationError(
            "PARTNER_API_SMTP_URL: `starttls=required` is the only option, for smtp:// only."
        )
    try:
        port = parts.port
    except ValueError:
        raise SmtpConfigurationError("PARTNER_API_SMTP_URL has an invalid port.") from None
    if not parts.hostname:
        raise SmtpConfigurationError("PARTNER_API_SMTP_URL names no host.")
    return SmtpTarget(
        hostname=parts.hostname,
        port=port,
        use_tls=parts.scheme == "smtps",
        start_tls=True if starttls else None,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def page_link(issuer: str, credential_id: object | None) -> str:
    """The admin page, opened at the credential when the mail is about one."""
    link = issuer.rstrip("/") + SETTINGS_PAGE
    return link if credential_id is None else f"{link}?credential={credential_id}"


def compose(mail: MailMessage, *, mail_from: str, issuer: str, now: datetime) -> EmailMessage:
    """The message as sent: the stored body and the link to the settings page."""
    credential_id = mail.credential_id  # type: ignore[attr-defined]
    about = "This credential" if credential_id is not None else "Your organisation's settings"
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    # The same id on every attempt, so a mail sent twice (a lost answer) can be recognised.
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "partner-api.invalid"
    message["Message-ID"] = f"<{mail.id.hex}@{domain}>"
    # RFC 3834: an automatic notification, which auto-responders should not answer.
    message["Auto-Submitted"] = "auto-generated"
    text = f"{mail.body}\n\n{about} in the Partner API:\n{page_link(issuer, credential_id)}"
    message.set_content(wrapped(text) + "\n")
    return message


def wrapped(text: str) -> str:
    """Paragraphs filled to `LINE_WIDTH` for plain-text readers; words (a URL) are never broken."""
    return "\n\n".join(
        "\n".join(
            textwrap.fill(line, LINE_WIDTH, break_long_words=False, break_on_hyphens=False)
            for line in paragraph.splitlines()
        )
        for paragraph in text.split("\n\n")
    )


async def send(
    message: EmailMessage, *, sender: str, recipients: list[str], target: SmtpTarget
) -> str | None:
    """Send `message`; raises on failure (aiosmtplib.SMTPException, OSError, TimeoutError).
    Returns a note when the server refused some recipients but took the rest."""
    refused, _ = await aiosmtplib.send(
        message,
        sender=parseaddr(sender)[1] or sender,
        recipients=recipients,
        hostname=target.hostname,
        port=target.port,
        username=target.username,
        password=target.password,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        timeout=TIMEOUT_SECONDS,
    )
    if not refused:
        return None
    return "refused by the server: " + ", ".join(sorted(refused))
