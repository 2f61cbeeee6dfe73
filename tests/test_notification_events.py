"""Notification events: each credential change records its event, with a delivery per subscribed
endpoint, in the change's own transaction (WH-04); the time-based scan records each reminder,
expiry, staleness and ended grace period once, however often and wherever it runs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.credential import Credential, CredentialSecret
from models.notifications import (
    DeliveryStatus,
    NotificationEvent,
    NotificationType,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.operations import audit, credential_changes
from partner_api.operations.credentials import CredentialChanges, regenerate_secret
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.notification_events import SUBSCRIBABLE
from partner_api.operations.notification_scan import scan
from partner_api.operations.previous_secrets import end_previous_secret
from tests.helpers import make_admin, make_credential

SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")
WINDOWS = LifecycleWindows(
    expires_soon=timedelta(days=7), stale_after=timedelta(days=90), settle=timedelta(minutes=20)
)


async def organisation() -> Organisation:
    _, org, _ = await make_admin()
    return org


async def endpoint(org: Organisation, types: list[str] | None = None) -> WebhookEndpoint:
    return await WebhookEndpoint.create(
        organisation=org,
        url="https://hooks.partner.example/in",
        event_types=[kind.value for kind in SUBSCRIBABLE] if types is None else types,
        sealed_secret="v1:unused-here",
        secret_hint="abcd",
    )


async def events(kind: NotificationType | None = None) -> list[NotificationEvent]:
    query = NotificationEvent.all().order_by("occurred_at")
    if kind is not None:
        query = query.filter(type=kind)
    return list(await query)


async def test_every_credential_change_records_its_event_with_a_delivery(db: Any) -> None:
    org = await organisation()
    hook = await endpoint(org)
    scope = TenantScope(org.id)

    issued = await make_credential(organisation=org, name="Box office")
    credential = issued.credential
    await credential_changes.update_credential(
        scope, SYSTEM, str(credential.id), CredentialChanges(name="Box office 2"), now=_now()
    )
    await regenerate_secret(
        scope, SYSTEM, str(credential.id), timedelta(hours=1), hasher=_hasher(), now=_now()
    )
    previous = await CredentialSecret.filter(
        credential=credential, expires_at__isnull=False
    ).first()
    assert previous is not None
    await end_previous_secret(
        scope, SYSTEM, str(credential.id), str(previous.id), now=_now(), settle=timedelta(0)
    )
    await credential_changes.revoke_credential(
        scope, SYSTEM, str(credential.id), "contract ended", now=_now()
    )

    recorded = await events()
    assert [event.type for event in recorded] == [
        NotificationType.CREDENTIAL_CREATED,
        NotificationType.CREDENTIAL_UPDATED,
        NotificationType.CREDENTIAL_SECRET_ROTATED,
        NotificationType.CREDENTIAL_PREVIOUS_SECRET_ENDED,
        NotificationType.CREDENTIAL_REVOKED,
    ]
    names = ["Box office", "Box office 2", "Box office 2", "Box office 2", "Box office 2"]
    for event, name in zip(recorded, names, strict=True):
        assert event.data["credential"] == {
            "id": str(credential.id),
            "name": name,
            "client_id": credential.client_id,
        }
    assert recorded[1].data["changes"] == {
        "name": {"before": "Box office", "after": "Box office 2"}
    }
    assert recorded[2].data["grace_period_minutes"] == 60
    assert recorded[3].data == {**recorded[3].data, "secret_id": str(previous.id)}
    assert recorded[4].data["reason"] == "contract ended"
    deliveries = await WebhookDelivery.filter(endpoint=hook).count()
    assert deliveries == len(recorded)
    assert await WebhookDelivery.filter(status=DeliveryStatus.PENDING).count() == deliveries


async def test_wh02_no_event_holds_a_secret_or_its_hash(db: Any) -> None:
    org = await organisation()
    await endpoint(org)
    issued = await make_credential(organisation=org)
    rotated = await regenerate_secret(
        TenantScope(org.id),
        SYSTEM,
        str(issued.credential.id),
        timedelta(hours=1),
        hasher=_hasher(),
        now=_now(),
    )
    hashes = [row.secret_hash for row in await CredentialSecret.all()]

    stored = json.dumps([event.data for event in await events()])

    for secret in (issued.secret_value, rotated.secret_value, *hashes):
        assert secret not in stored


async def test_deliveries_go_only_to_enabled_endpoints_subscribed_to_the_type(db: Any) -> None:
    org = await organisation()
    created_only = await endpoint(org, [NotificationType.CREDENTIAL_CREATED.value])
    revoked_only = await endpoint(org, [NotificationType.CREDENTIAL_REVOKED.value])
    disabled = await endpoint(org)
    disabled.enabled = False
    await disabled.save()
    _, elsewhere, _ = await make_admin(organisation="Rival", email="admin@rival.example")
    foreign = await endpoint(elsewhere)

    await make_credential(organisation=org)

    assert await WebhookDelivery.filter(endpoint=created_only).count() == 1
    assert await WebhookDelivery.filter(endpoint=revoked_only).count() == 0
    assert await WebhookDelivery.filter(endpoint=disabled).count() == 0
    assert await WebhookDelivery.filter(endpoint=foreign).count() == 0


async def test_each_subscribed_endpoint_gets_its_own_pending_delivery_of_the_event(db: Any) -> None:
    """The deliveries are written by one statement in the database (their ids made there): each
    a distinct version-4 UUID, pending, due at once, and the subscription matched exactly."""
    org = await organisation()
    subscribed = [await endpoint(org, [NotificationType.CREDENTIAL_CREATED.value]) for _ in "abc"]
    near_miss = await endpoint(org, ["credential.created.v2", "credential"])

    issued = await make_credential(organisation=org)

    event = (await events(NotificationType.CREDENTIAL_CREATED))[0]
    assert event.credential_id == issued.credential.id  # type: ignore[attr-defined]
    assert event.data["credential"] == {
        "id": str(issued.credential.id),
        "name": issued.credential.name,
        "client_id": issued.credential.client_id,
    }
    deliveries = await WebhookDelivery.filter(event=event)
    assert sorted(d.endpoint_id for d in deliveries) == sorted(e.id for e in subscribed)  # type: ignore[attr-defined]
    assert len({d.id for d in deliveries}) == 3
    assert all(d.id.version == 4 for d in deliveries)
    assert all(d.status is DeliveryStatus.PENDING and d.attempts == 0 for d in deliveries)
    assert all(d.next_attempt_at == event.occurred_at for d in deliveries)
    assert await WebhookDelivery.filter(endpoint=near_miss).count() == 0
    assert await WebhookDelivery.filter(next_attempt_at__lte=event.occurred_at).count() == 3


async def test_wh04_a_change_that_rolls_back_leaves_no_event_and_no_delivery(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await organisation()
    await endpoint(org)
    issued = await make_credential(organisation=org)
    before = await NotificationEvent.all().count()

    async def failing_audit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", failing_audit)
    with pytest.raises(RuntimeError):
        await credential_changes.revoke_credential(
            TenantScope(org.id), SYSTEM, str(issued.credential.id), "leak", now=_now()
        )

    assert await NotificationEvent.all().count() == before
    assert await NotificationEvent.filter(type=NotificationType.CREDENTIAL_REVOKED).count() == 0
    assert await WebhookDelivery.all().count() == before
    assert (await Credential.get(id=issued.credential.id)).revoked_at is None


async def test_wh04_an_acknowledged_change_has_its_event_in_the_same_commit(db: Any) -> None:
    org = await organisation()
    await endpoint(org)

    async with in_transaction():
        issued = await make_credential(organisation=org)
        inside = await NotificationEvent.filter(credential_id=issued.credential.id).count()

    assert inside == 1
    assert await WebhookDelivery.all().count() == 1


# -- the time-based scan -------------------------------------------------------------------------

NOON = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


async def expiring_credential(org: Organisation, expires_at: datetime) -> Credential:
    issued = await make_credential(organisation=org, name="Expiring")
    credential = issued.credential
    credential.expires_at = expires_at
    credential.last_used_at = expires_at - timedelta(days=1)
    await credential.save()
    return credential


async def test_expiry_reminders_30_7_and_1_days_before_each_once(db: Any) -> None:
    org = await organisation()
    expires_at = NOON + timedelta(days=40)
    credential = await expiring_credential(org, expires_at)

    seen = []
    for days_before in (45, 31, 30, 29.5, 20, 7, 6.9, 3, 1, 0.5, 0.1):
        now = expires_at - timedelta(days=days_before)
        await scan(now=now, windows=WINDOWS)
        await scan(now=now, windows=WINDOWS)  # a second scan, or another process, adds nothing
        seen = [
            event.data["days_before"]
            for event in await events(NotificationType.CREDENTIAL_EXPIRING)
        ]

    assert seen == [30, 7, 1]
    reminders = await events(NotificationType.CREDENTIAL_EXPIRING)
    assert all(event.data["expires_at"] == expires_at.isoformat() for event in reminders)
    assert {event.credential_id for event in reminders} == {credential.id}  # type: ignore[attr-defined]


async def test_only_the_nearest_reminder_when_several_are_due_at_once(db: Any) -> None:
    org = await organisation()
    await expiring_credential(org, NOON + timedelta(days=5))

    await scan(now=NOON, windows=WINDOWS)
    await scan(now=NOON + timedelta(days=4, hours=1), windows=WINDOWS)

    assert [e.data["days_before"] for e in await events(NotificationType.CREDENTIAL_EXPIRING)] == [
        7,
        1,
    ]


async def test_a_new_expiry_gets_its_own_reminders(db: Any) -> None:
    org = await organisation()
    credential = await expiring_credential(org, NOON + timedelta(days=6))
    await scan(now=NOON, windows=WINDOWS)

    credential.expires_at = NOON + timedelta(days=20)
    await credential.save()
    await scan(now=NOON + timedelta(days=14), windows=WINDOWS)

    reminders = await events(NotificationType.CREDENTIAL_EXPIRING)
    assert [(e.data["days_before"], e.data["expires_at"]) for e in reminders] == [
        (7, (NOON + timedelta(days=6)).isoformat()),
        (7, (NOON + timedelta(days=20)).isoformat()),
    ]


async def test_expired_is_recorded_once_across_midnight_and_restarts(db: Any) -> None:
    org = await organisation()
    expires_at = datetime(2030, 3, 1, 23, 59, 30, tzinfo=UTC)
    await expiring_credential(org, expires_at)

    # Before midnight, just after it, and again "after a restart" (a scan knows only the clock).
    for now in (expires_at + timedelta(seconds=10), expires_at + timedelta(minutes=1)):
        await scan(now=now, windows=WINDOWS)
    await scan(now=expires_at + timedelta(hours=2), windows=WINDOWS)

    expired = await events(NotificationType.CREDENTIAL_EXPIRED)
    assert len(expired) == 1
    assert expired[0].data["expires_at"] == expires_at.isoformat()


async def test_long_expired_credentials_are_not_announced(db: Any) -> None:
    org = await organisation()
    await expiring_credential(org, NOON - timedelta(days=30))

    await scan(now=NOON, windows=WINDOWS)

    assert await events(NotificationType.CREDENTIAL_EXPIRED) == []


async def test_scans_running_at_once_record_each_event_once(db: Any) -> None:
    org = await organisation()
    for index in range(5):
        await expiring_credential(org, NOON + timedelta(days=index + 1))

    await asyncio.gather(*(scan(now=NOON, windows=WINDOWS) for _ in range(4)))

    keys = [event.once_key for event in await events(NotificationType.CREDENTIAL_EXPIRING)]
    assert len(keys) == len(set(keys)) == 5


async def test_stale_is_recorded_once_and_again_after_new_use(db: Any) -> None:
    org = await organisation()
    issued = await make_credential(organisation=org)
    credential = issued.credential
    credential.last_used_at = NOON - timedelta(days=91)
    await credential.save()

    await scan(now=NOON, windows=WINDOWS)
    await scan(now=NOON + timedelta(days=1), windows=WINDOWS)
    assert len(await events(NotificationType.CREDENTIAL_STALE)) == 1

    credential.last_used_at = NOON + timedelta(days=2)
    await credential.save()
    await scan(now=NOON + timedelta(days=3), windows=WINDOWS)
    assert len(await events(NotificationType.CREDENTIAL_STALE)) == 1
    await scan(now=NOON + timedelta(days=93), windows=WINDOWS)
    stale = await events(NotificationType.CREDENTIAL_STALE)
    assert len(stale) == 2
    assert stale[1].data["last_used_at"] == (NOON + timedelta(days=2)).isoformat()


async def test_a_grace_period_that_runs_out_is_recorded_once_and_ending_it_early_counts(
    db: Any,
) -> None:
    org = await organisation()
    scope = TenantScope(org.id)
    issued = await make_credential(organisation=org)
    credential_id = str(issued.credential.id)
    now = datetime.now(UTC)
    await regenerate_secret(
        scope, SYSTEM, credential_id, timedelta(hours=1), hasher=_hasher(), now=now
    )
    await regenerate_secret(
        scope, SYSTEM, credential_id, timedelta(hours=1), hasher=_hasher(), now=now
    )
    ended_early = await CredentialSecret.filter(ended_at__isnull=False).first()
    assert ended_early is not None  # the second rotation ended the first previous secret
    in_grace = await CredentialSecret.filter(
        ended_at__isnull=True, expires_at__isnull=False
    ).first()
    assert in_grace is not None
    assert in_grace.expires_at is not None

    await scan(now=in_grace.expires_at + timedelta(minutes=1), windows=WINDOWS)
    await scan(now=in_grace.expires_at + timedelta(minutes=2), windows=WINDOWS)

    ended = await events(NotificationType.CREDENTIAL_PREVIOUS_SECRET_ENDED)
    assert [(e.data["secret_id"], e.data["reason"]) for e in ended] == [
        (str(in_grace.id), "grace_period_over")
    ]


def _now() -> datetime:
    return datetime.now(UTC)


def _hasher() -> Any:
    from auth.partners.keyed_hash import KeyedHasher
    from tests.helpers import TEST_PEPPER

    return KeyedHasher((TEST_PEPPER,))
