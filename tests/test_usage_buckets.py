"""Usage counting at unit level (issue 16): minute and day buckets rolling over by a clock the
test moves, the bound on distinct addresses kept per credential and minute, refusals naming no
credential dropped at flush, and a hot path that does nothing with counting off."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from tortoise.context import TortoiseContext

from auth.partners.credential_directory import CredentialDirectory, CredentialState
from auth.partners.usage_counts import MAX_ADDRESSES, UsageCounts
from models.enums import AccessLevel
from models.organisation import Organisation
from models.usage import Granularity, UsageAddress, UsageCount, UsageMetric
from partner_api.foundation.clock import utcnow
from partner_api.operations.credentials import IssuedSecret
from tests.helpers import make_admin, make_credential
from tests.test_usage_counting import ME, totals


@pytest.fixture
async def issued(db: TortoiseContext) -> IssuedSecret:
    organisation: Organisation
    _, organisation, _ = await make_admin()
    return await make_credential(organisation=organisation)


async def test_buckets_roll_over_at_the_minute_and_the_day(
    db: TortoiseContext, issued: IssuedSecret
) -> None:
    state = await CredentialDirectory().by_id(issued.credential.id, now=utcnow(), monotonic_now=0)
    assert state is not None
    midnight = datetime(2030, 5, 17, tzinfo=UTC)
    moments = [
        midnight - timedelta(seconds=30),  # 23:59:30 the day before
        midnight - timedelta(seconds=1),  # 23:59:59, same minute
        midnight,  # 00:00:00, a new minute and a new day
        midnight + timedelta(seconds=59),
        midnight + timedelta(seconds=60),  # 00:01:00
    ]
    now = [moments[0].timestamp()]
    counts = UsageCounts(enabled=True, clock=lambda: now[0])
    for index, moment in enumerate(moments):
        now[0] = moment.timestamp()
        counts.call(state, ME, 200, f"198.51.100.{index}")
        if index == 2:
            assert await counts.flush()  # a flush mid-minute: the next one adds to its rows

    assert await counts.flush()
    rows = await UsageCount.filter(credential_id=state.id, metric="call")
    minutes = {
        row.bucket_start.astimezone(UTC): row.count for row in rows if row.granularity == "m"
    }
    assert minutes == {
        midnight - timedelta(minutes=1): 2,
        midnight: 2,
        midnight + timedelta(minutes=1): 1,
    }
    days = {row.bucket_start.astimezone(UTC): row.count for row in rows if row.granularity == "d"}
    assert days == {midnight - timedelta(days=1): 2, midnight: 3}
    assert sum(days.values()) == sum(minutes.values())
    addresses = await UsageAddress.filter(credential_id=state.id, granularity="d")
    by_day = Counter(row.bucket_start.astimezone(UTC) for row in addresses)
    assert by_day == {midnight - timedelta(days=1): 2, midnight: 3}


async def test_distinct_addresses_are_bounded_per_credential_and_minute(
    db: TortoiseContext, issued: IssuedSecret
) -> None:
    state = await CredentialDirectory().by_id(issued.credential.id, now=utcnow(), monotonic_now=0)
    assert state is not None
    counts = UsageCounts(enabled=True, clock=lambda: 1_900_000_000.0)
    for index in range(MAX_ADDRESSES + 50):
        counts.call(state, ME, 200, f"10.0.{index // 256}.{index % 256}")
    assert await counts.flush()
    assert await UsageAddress.filter(credential_id=state.id, granularity="m").count() == (
        MAX_ADDRESSES
    )
    assert await totals(state.id, Granularity.MINUTE) == Counter(
        {("call", ME, "2xx", ""): MAX_ADDRESSES + 50}
    )


async def test_refusals_naming_no_credential_are_dropped(
    db: TortoiseContext, issued: IssuedSecret
) -> None:
    counts = UsageCounts(enabled=True)
    counts.token_refused("pcl_unknown", "unknown_secret")
    counts.token_refused(issued.credential.client_id, "secret_expired")
    assert await counts.flush()
    rows = await UsageCount.all()
    assert {(str(row.credential_id), row.reason, row.count) for row in rows} == {  # type: ignore[attr-defined]
        (str(issued.credential.id), "secret_expired", 1)
    }


def test_the_hot_path_does_nothing_with_counting_off() -> None:
    counts = UsageCounts(enabled=False, clock=lambda: pytest.fail("clock read"))
    state = _state()
    counts.call(state, ME, 500, "192.0.2.1", "server_error")
    counts.event(state, UsageMetric.TOKEN_ISSUED)
    counts.token_refused("pcl_x", "wrong_secret")
    assert (counts._minutes, counts._events, counts._refused) == ({}, {}, {})


def _state() -> CredentialState:
    return CredentialState(
        id=uuid4(),
        organisation_id=uuid4(),
        client_id="pcl_x",
        name="x",
        organisation_name="Acme",
        access_level=AccessLevel.FULL,
        stored_scopes=(),
        ip_allowlist=(),
        event_ids=None,
        expires_at=None,
        revoked=False,
        secrets=(),
        loaded_at=0.0,
        rate_limit_per_minute=1200,
        token_quota_per_minute=600,
        monitor_only=False,
    )
