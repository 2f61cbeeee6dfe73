"""Retention of usage (issue 16): minute rows, minute addresses and recent errors are kept 48
hours, day rows 400 days; the sweep deletes the rest in bounded batches, and running it again
(or in several processes) is harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from auth.partners import usage_store
from models.credential import Credential
from models.usage import UsageAddress, UsageCount, UsageError
from tests.helpers import make_admin, make_credential

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def _seed() -> Credential:
    _, organisation, _ = await make_admin()
    credential = (await make_credential(organisation=organisation)).credential
    ages = {
        "m": (timedelta(hours=49), timedelta(hours=47)),
        "d": (timedelta(days=401), timedelta(days=399)),
    }
    for granularity, (old, recent) in ages.items():
        for age in (old, recent):
            start = (NOW - age).replace(second=0, microsecond=0)
            await UsageCount.create(
                organisation=organisation,
                credential=credential,
                granularity=granularity,
                bucket_start=start,
                metric="call",
                operation="GET /partner/v1/me",
                status_class="2xx",
                count=1,
            )
            await UsageAddress.create(
                organisation=organisation,
                credential=credential,
                granularity=granularity,
                bucket_start=start,
                address="192.0.2.1",
            )
    for age in (timedelta(hours=49), timedelta(hours=47)):
        await UsageError.create(
            organisation=organisation,
            credential=credential,
            occurred_at=NOW - age,
            operation="GET /partner/v1/me",
            status=500,
            error_code="server_error",
        )
    return credential


async def _ages() -> dict[str, set[float]]:
    def hours(moment: datetime) -> float:
        return (NOW - moment).total_seconds() // 3600

    return {
        "counts": {hours(row.bucket_start) for row in await UsageCount.all()},
        "addresses": {hours(row.bucket_start) for row in await UsageAddress.all()},
        "errors": {hours(row.occurred_at) for row in await UsageError.all()},
    }


async def test_the_sweep_deletes_what_is_past_retention_and_keeps_the_rest(
    db: TortoiseContext,
) -> None:
    await _seed()
    assert await usage_store.sweep(NOW) == 5
    kept = {47.0, 399.0 * 24}
    assert await _ages() == {"counts": kept, "addresses": kept, "errors": {47.0}}
    assert await usage_store.sweep(NOW) == 0  # idempotent: a second process finds nothing


async def test_the_sweep_is_bounded_per_run_and_finishes_over_several(
    db: TortoiseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = await _seed()
    for minute in range(7):
        await UsageCount.create(
            organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
            credential=credential,
            granularity="m",
            bucket_start=(NOW - timedelta(hours=50, minutes=minute)).replace(second=0),
            metric="token_issued",
            count=1,
        )
    monkeypatch.setattr(usage_store, "SWEEP_BATCH", 2)
    monkeypatch.setattr(usage_store, "SWEEP_MAX_BATCHES", 2)
    # At most 2 x 2 per kind of row and run: 8 old minute counts need two runs.
    assert await UsageCount.filter(granularity="m").count() == 9
    await usage_store.sweep(NOW)
    assert await UsageCount.filter(granularity="m").count() == 5
    await usage_store.sweep(NOW)
    assert await UsageCount.filter(granularity="m").count() == 1
    await usage_store.sweep(NOW)
    assert await UsageCount.filter(granularity="m").count() == 1
