"""Usage rows written straight into the usage tables, as the flush would leave them, so the
reports can be tested on exact, chosen buckets."""

from __future__ import annotations

from datetime import datetime

from models.credential import Credential
from models.usage import Granularity, UsageAddress, UsageCount, UsageError, UsageMetric

MINUTE = Granularity.MINUTE
DAY = Granularity.DAY
EVENTS = "GET /partner/v1/events"


async def add_count(
    credential: Credential,
    start: datetime,
    count: int,
    *,
    granularity: Granularity = MINUTE,
    metric: UsageMetric = UsageMetric.CALL,
    operation: str | None = None,
    status_class: str | None = None,
    reason: str = "",
) -> None:
    """One counter row; a call is a 2xx of `EVENTS` unless told otherwise, other metrics have
    no operation or status class unless told."""
    call = metric is UsageMetric.CALL
    if operation is None:
        operation = EVENTS if call else ""
    if status_class is None:
        status_class = "2xx" if call else ""
    await UsageCount.create(
        organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
        credential=credential,
        granularity=granularity.value,
        bucket_start=start,
        metric=metric.value,
        operation=operation,
        status_class=status_class,
        reason=reason,
        count=count,
    )


async def add_address(
    credential: Credential, start: datetime, address: str, *, granularity: Granularity = MINUTE
) -> None:
    await UsageAddress.create(
        organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
        credential=credential,
        granularity=granularity.value,
        bucket_start=start,
        address=address,
    )


async def add_error(
    credential: Credential,
    at: datetime,
    *,
    operation: str = "GET /partner/v1/orders/{order_id}",
    status: int = 404,
    error_code: str = "not_found",
) -> None:
    await UsageError.create(
        organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
        credential=credential,
        occurred_at=at,
        operation=operation,
        status=status,
        error_code=error_code,
    )
