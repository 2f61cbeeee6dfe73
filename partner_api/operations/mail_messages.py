"""The texts of notification mails: plain text, short, saying what happened, to which credential
(name and client ID), when, and what to do.

They are written from the event's recorded data, which names the credential and the facts of the
change and never holds a secret, a hash or a token (WH-02), so neither can a mail. The link to the
credential's page is added when the mail is sent, where the issuer is known
(partner_api/operations/mail_transport.py).

A leak report's event (`credential.secret_leaked`, partner_api/operations/leak_reports.py) is read
for `url` (where the secret was found) and `action` (the `LeakedSecretAction` applied, or
`ALREADY_ENDED`); both are optional.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.notifications import LeakedSecretAction, NotificationType

SUBJECT_PREFIX = "[Partner API] "
SUBJECT_MAX_LENGTH = 200


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


def when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _moment(value: object, fallback: datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else fallback


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _subject(text: str) -> str:
    subject = SUBJECT_PREFIX + text
    if len(subject) > SUBJECT_MAX_LENGTH:
        subject = subject[: SUBJECT_MAX_LENGTH - 1] + "…"
    return subject


@dataclass(frozen=True)
class _Facts:
    """What an event's text is written from."""

    name: str
    client_id: str
    organisation: str
    occurred_at: datetime
    data: Mapping[str, Any]

    @property
    def credential(self) -> str:
        """The credential named in a sentence's middle; `sentence_start` opens one."""
        return f'the Partner API credential "{self.name}" (client ID {self.client_id}) of ' + (
            self.organisation
        )

    @property
    def sentence_start(self) -> str:
        return "T" + self.credential[1:]


def _remaining(expires_at: datetime, now: datetime) -> str:
    """The time left as a reminder says it: "in 7 days" from 6 days and 23 hours before (the
    scan's 7-day reminder), "within a day" from 24 hours before."""
    days = math.ceil((expires_at - now) / timedelta(days=1))
    return "within a day" if days <= 1 else f"in {days} days"


def _expiring(facts: _Facts) -> tuple[str, str]:
    expires_at = _moment(facts.data.get("expires_at"), facts.occurred_at)
    remaining = _remaining(expires_at, facts.occurred_at)
    return (
        f'Credential "{facts.name}" expires {remaining}',
        f"{facts.sentence_start} expires on {when(expires_at)}, {remaining}.\n\n"
        "From then on the token endpoint refuses it, and the integration that uses it stops "
        "working.\n\n"
        "What to do: if the integration is still needed, extend the credential's expiry, or "
        "create a new credential, switch the integration to it and revoke this one.",
    )


def _expired(facts: _Facts) -> tuple[str, str]:
    expires_at = _moment(facts.data.get("expires_at"), facts.occurred_at)
    return (
        f'Credential "{facts.name}" has expired',
        f"{facts.sentence_start} expired on {when(expires_at)}. Since then the token endpoint "
        "refuses it, and the integration that used it no longer gets access tokens.\n\n"
        "What to do: if the integration is still needed, create a new credential and switch "
        "the integration to it.",
    )


def _revoked(facts: _Facts) -> tuple[str, str]:
    reason = facts.data.get("reason")
    because = f' The reason given: "{reason}".' if isinstance(reason, str) and reason else ""
    return (
        f'Security notice: credential "{facts.name}" was revoked',
        f"{facts.sentence_start} was revoked on {when(facts.occurred_at)}.{because} Its secrets "
        "and access tokens no longer work.\n\n"
        "What to do: if you did not expect this, check the audit trail in the Partner API "
        "settings and ask your organisation's administrators.",
    )


_LEAK_ACTIONS = {
    LeakedSecretAction.END_SECRET.value: (
        "That secret stopped working at once, and so did the access tokens issued with it; the "
        "credential's other secrets keep working."
    ),
    LeakedSecretAction.NOTIFY_ONLY.value: (
        "Your organisation's policy is to notify only: that secret still works, for anyone who "
        "found it, until you replace it."
    ),
    # partner_api/operations/leak_reports.py: the secret was ended or expired before the report.
    "ALREADY_ENDED": "That secret had already stopped working, so nothing else was changed.",
}


def _secret_leaked(facts: _Facts) -> tuple[str, str]:
    url = facts.data.get("url")
    where = f" at {url}" if isinstance(url, str) and url else ""
    action = _LEAK_ACTIONS.get(str(facts.data.get("action")), "")
    return (
        f'Security notice: a secret of credential "{facts.name}" was published',
        f"A secret of {facts.credential} was reported on {when(facts.occurred_at)} as "
        f"published{where} (GitHub secret scanning). {action}".rstrip()
        + "\n\n"
        "What to do: regenerate the credential's secret and update the integration, remove the "
        "secret from where it was published, and check the audit trail for use you do not "
        "recognise.",
    )


def _stale(facts: _Facts) -> tuple[str, str]:
    days = int(facts.data.get("stale_after_days", 0))
    last_used = facts.data.get("last_used_at")
    if isinstance(last_used, str):
        quiet = f"has not been used since {when(datetime.fromisoformat(last_used))}"
    else:
        quiet = f"has never been used, and was created more than {_days(days)} ago"
    return (
        f'Credential "{facts.name}" has not been used for {_days(days)}',
        f"{facts.sentence_start} {quiet}.\n\n"
        "An unused credential is a risk with no benefit. What to do: if no integration needs it "
        "any more, revoke it.",
    )


_TEXTS: dict[NotificationType, Callable[[_Facts], tuple[str, str]]] = {
    NotificationType.CREDENTIAL_EXPIRING: _expiring,
    NotificationType.CREDENTIAL_EXPIRED: _expired,
    NotificationType.CREDENTIAL_REVOKED: _revoked,
    NotificationType.CREDENTIAL_SECRET_LEAKED: _secret_leaked,
    NotificationType.CREDENTIAL_STALE: _stale,
}
MAIL_WORTHY = frozenset(_TEXTS)


def _why(organisation: str) -> str:
    return (
        "\n\nYou receive this mail as the credential's contact or as a security contact of "
        f"{organisation}."
    )


def for_event(
    kind: NotificationType,
    data: Mapping[str, Any],
    *,
    name: str,
    client_id: str,
    organisation: str,
    occurred_at: datetime,
) -> MailText | None:
    """The mail about an event of `kind`, or None when that kind sends none."""
    text = _TEXTS.get(kind)
    if text is None:
        return None
    subject, body = text(_Facts(name, client_id, organisation, occurred_at, data))
    return MailText(_subject(subject), body + _why(organisation))


def endpoint_disabled(*, url: str, reason: str, organisation: str, now: datetime) -> MailText:
    return MailText(
        _subject(f"Webhook endpoint disabled: {url}"),
        f"The webhook endpoint {url} of {organisation} was disabled on {when(now)}: {reason}\n\n"
        "Events that happen while it is disabled are not sent to it. What to do: make sure the "
        "endpoint answers with a 2xx status, then enable it again in the Partner API settings."
        "\n\nYou receive this mail as a security contact of "
        f"{organisation}.",
    )
