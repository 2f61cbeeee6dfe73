"""Mail and leak-report settings (partner_api/operations/mail.py, leak_reports.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from partner_api.foundation.settings_reader import EnvironmentReader

GITHUB_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"


@dataclass(frozen=True, kw_only=True)
class MailSettings:
    # `smtp://[user:password@]host[:port]` (STARTTLS when the server offers it; `?starttls=required`
    # insists) or `smtps://…` (TLS from the start). Empty: mails are only logged and kept in the
    # database (development).
    smtp_url: str = ""
    mail_from: str = "Partner API <partner-api@localhost>"


@dataclass(frozen=True, kw_only=True)
class LeakReportSettings:
    # Where GitHub publishes the keys that sign secret-scanning alerts; tests point it at a local
    # key server.
    github_keys_url: str = GITHUB_KEYS_URL
    # Sent as `Authorization: Bearer` when fetching the key list: GitHub allows 60 unauthenticated
    # requests an hour per address, 5,000 with a token (any token; it needs no scope).
    github_token: str = field(default="", repr=False)


def read_mail(reader: EnvironmentReader) -> MailSettings:
    defaults = MailSettings()
    return MailSettings(
        smtp_url=reader.text("PARTNER_API_SMTP_URL", defaults.smtp_url),
        mail_from=reader.text("PARTNER_API_MAIL_FROM", defaults.mail_from),
    )


def read_leak_reports(reader: EnvironmentReader) -> LeakReportSettings:
    defaults = LeakReportSettings()
    return LeakReportSettings(
        github_keys_url=reader.text("PARTNER_API_GITHUB_KEYS_URL", defaults.github_keys_url),
        github_token=reader.text("PARTNER_API_GITHUB_TOKEN", ""),
    )
