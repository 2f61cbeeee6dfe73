"""Notification mails: written with what causes them, sent afterwards by a worker.

    enqueue_for_event           in the change's transaction (notification_events.record): one
                                mail per reminder or security notice, to the credential's contact
                                and the organisation's security contacts
    enqueue_endpoint_disabled   in the transaction that disables a failing webhook endpoint: to
                                the security contacts, or the owners and admins when there are none
    send_due_mail               claims due mails, sends each (mail_transport), records the outcome

A claim is a compare-and-set, as for webhook deliveries (partner_api/operations/
webhook_delivery.py): one UPDATE per candidate, on the attempt count it was read with and a free
lease, so however many processes read the same mail exactly one of them sends that attempt. A
process that dies mid-attempt leaves its lease to run out and the mail is sent again (at least
once; the Message-ID stays the same). Failures are retried on the webhooks' backoff, about a day,
then the mail is FAILED.

Without `PARTNER_API_SMTP_URL` (development) a mail is logged, one INFO line with its recipients
and subject, and marked sent; the rows stay, for the page to show. A body is never logged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

import aiosmtplib
from tortoise.expressions import Q

from models.admin import AdminUser
from models.credential import Credential
from models.enums import Role
from models.notifications import (
    DeliveryStatus,
    MailMessage,
    NotificationEvent,
    NotificationType,
    WebhookEndpoint,
)
from models.organisation import Organisation
from partner_api.foundation.settings import Settings
from partner_api.operations import mail_messages
from partner_api.operations.leases import claim, due
from partner_api.operations.mail_transport import (
    SmtpConfigurationError,
    SmtpTarget,
    compose,
    send,
    smtp_target,
)
from partner_api.operations.webhook_payload import retry_delay

logger = logging.getLogger("partner_api.mail")

PENDING = DeliveryStatus.PENDING
# Longer than an attempt can take (each SMTP step has 10 s).
LEASE = timedelta(minutes=5)
BATCH = 20
ERROR_MAX_LENGTH = 200


def mails_for(kind: NotificationType) -> bool:
    """Whether an event of `kind` sends a mail: reminders and security notices."""
    return kind in mail_messages.MAIL_WORTHY


def recipients(*groups: Iterable[str]) -> list[str]:
    """Every address once, compared case-insensitively, in the order first seen."""
    seen: set[str] = set()
    merged: list[str] = []
    for group in groups:
        for address in group:
            key = address.strip().casefold()
            if key and key not in seen:
                seen.add(key)
                merged.append(address.strip())
    return merged


async def enqueue_for_event(
    event: NotificationEvent, *, organisation: Organisation, credential: Credential
) -> MailMessage | None:
    """The mail about `event`, pending; None when its type sends none. Call in the event's
    transaction."""
    text = mail_messages.for_event(
        event.type,
        event.data,
        name=credential.name,
        client_id=credential.client_id,
        organisation=organisation.name,
        occurred_at=event.occurred_at,
    )
    if text is None:
        return None
    return await MailMessage.create(
        organisation=organisation,
        credential=credential,
        event=event,
        recipients=recipients([credential.contact_email], organisation.security_contacts),
        subject=text.subject,
        body=text.body,
        next_attempt_at=event.occurred_at,
    )


async def enqueue_endpoint_disabled(
    endpoint: WebhookEndpoint, reason: str, now: datetime
) -> MailMessage | None:
    """The mail telling that `endpoint` was disabled, pending; None when the organisation has
    nobody to tell. Call in the transaction that disables it."""
    organisation = await Organisation.get(id=endpoint.organisation_id)  # type: ignore[attr-defined]
    to = recipients(organisation.security_contacts)
    if not to:
        managers = AdminUser.filter(
            memberships__organisation_id=organisation.id,
            memberships__role__in=[Role.OWNER, Role.ADMIN],
        ).order_by("email")
        to = recipients(await managers.values_list("email", flat=True))  # type: ignore[arg-type]
    if not to:
        return None
    text = mail_messages.endpoint_disabled(
        url=endpoint.url, reason=reason, organisation=organisation.name, now=now
    )
    return await MailMessage.create(
        organisation=organisation,
        recipients=to,
        subject=text.subject,
        body=text.body,
        next_attempt_at=now,
    )


async def claim_due(now: datetime, *, limit: int = BATCH) -> list[MailMessage]:
    """Up to `limit` due mails, each claimed by this caller alone for its next attempt
    (leases.py)."""
    candidates = await MailMessage.filter(due(now)).order_by("next_attempt_at", "id").limit(limit)
    return await claim(MailMessage, candidates, now=now, lease=LEASE)


def _mine(mail: MailMessage) -> Q:
    """The mail while it still carries the attempt this caller claimed."""
    return Q(id=mail.id, status=PENDING, attempts=mail.attempts)


async def _sent(mail: MailMessage, now: datetime, note: str | None) -> None:
    await MailMessage.filter(_mine(mail)).update(
        status=DeliveryStatus.DELIVERED, sent_at=now, claimed_until=None, last_error=note
    )


async def _failed(mail: MailMessage, now: datetime, error: str, rng: random.Random) -> None:
    logger.warning(
        "mail %s: attempt %d failed: %s",
        mail.id,
        mail.attempts,
        error,
        extra={"mail_id": str(mail.id)},
    )
    delay = retry_delay(mail.attempts, rng)
    if delay is None:
        await MailMessage.filter(_mine(mail)).update(
            status=DeliveryStatus.FAILED, claimed_until=None, last_error=error
        )
    else:
        await MailMessage.filter(_mine(mail)).update(
            next_attempt_at=now + delay, claimed_until=None, last_error=error
        )


def _logged(mail: MailMessage) -> None:
    logger.info(
        "mail to %s: %s (not sent: PARTNER_API_SMTP_URL is not set)",
        ", ".join(mail.recipients),
        mail.subject,
        extra={"mail_id": str(mail.id)},
    )


async def _attempt(
    mail: MailMessage, settings: Settings, target: SmtpTarget, now: datetime
) -> str | None:
    message = compose(mail, mail_from=settings.mail.mail_from, issuer=settings.issuer, now=now)
    return await send(
        message, sender=settings.mail.mail_from, recipients=mail.recipients, target=target
    )


async def send_due_mail(
    settings: Settings, *, now: datetime, rng: random.Random | None = None, limit: int = BATCH
) -> int:
    """Claim up to `limit` due mails and send them; how many were sent (or, without SMTP,
    logged). Mails that fail wait for their next attempt."""
    claimed = await claim_due(now, limit=limit)
    if not settings.mail.smtp_url:
        for mail in claimed:
            _logged(mail)
            await _sent(mail, now, None)
        return len(claimed)
    jitter = rng or random.Random()  # noqa: S311 (jitter, not a secret)
    sent = 0
    for mail in claimed:
        try:
            note = await _attempt(mail, settings, smtp_target(settings.mail.smtp_url), now)
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as error:
            # SmtpConfigurationError is a ValueError: the attempt fails until the URL is fixed.
            reason = (
                str(error)
                if isinstance(error, SmtpConfigurationError)
                else f"{type(error).__name__}: {error}"
            )
            await _failed(mail, now, reason[:ERROR_MAX_LENGTH], jitter)
        else:
            await _sent(mail, now, note if note is None else note[:ERROR_MAX_LENGTH])
            sent += 1
    return sent
