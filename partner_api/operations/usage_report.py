"""Usage reports for the admin API: one credential's, a page of credentials' at once, and the
organisation's, over one of four ranges ending now.

A range is a fixed number of UTC-aligned buckets, oldest first, the last one the current one:
LAST_HOUR 60 minutes and LAST_DAY 24 hours read the minute rows (kept 48 hours), LAST_7_DAYS and
LAST_30_DAYS 7 and 30 days read the day rows (kept 400 days). The database sums the rows
(partner_api/operations/usage_sql.py), a handful of queries whatever the number of credentials or
rows, and only the parts asked for are read: a list page asking for calls and errors costs one.

Every query is filtered by the scope's organisation, so another organisation's rows are never
counted, whatever credential ids a caller passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from models.tenancy import TenantScope
from models.usage import Granularity, UsageMetric
from partner_api.operations import usage_sql
from partner_api.operations.usage_sql import CountRow, CredentialRank, ErrorRow, Period

T = TypeVar("T")

TOP_OPERATIONS = 10
LAST_ERRORS = 20
TOP_CREDENTIALS = 10


class UsageRange(StrEnum):
    LAST_HOUR = "LAST_HOUR"
    LAST_DAY = "LAST_DAY"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"


# range -> (rows read, bucket size in seconds, number of buckets)
_SHAPES: dict[UsageRange, tuple[Granularity, int, int]] = {
    UsageRange.LAST_HOUR: (Granularity.MINUTE, 60, 60),
    UsageRange.LAST_DAY: (Granularity.MINUTE, 3600, 24),
    UsageRange.LAST_7_DAYS: (Granularity.DAY, 86400, 7),
    UsageRange.LAST_30_DAYS: (Granularity.DAY, 86400, 30),
}


@dataclass(frozen=True)
class UsageWindow:
    """The buckets of a range at one moment: `start` is the oldest bucket's start, `end` the
    current bucket's end (exclusive), so `end - start` is `buckets * bucket_seconds`."""

    range: UsageRange
    granularity: Granularity
    bucket_seconds: int
    buckets: int
    start: datetime
    end: datetime

    @classmethod
    def ending_at(cls, usage_range: UsageRange, now: datetime) -> UsageWindow:
        granularity, size, buckets = _SHAPES[usage_range]
        epoch = int(now.timestamp())
        current = datetime.fromtimestamp(epoch - epoch % size, UTC)
        return cls(
            range=usage_range,
            granularity=granularity,
            bucket_seconds=size,
            buckets=buckets,
            start=current - timedelta(seconds=size * (buckets - 1)),
            end=current + timedelta(seconds=size),
        )

    @property
    def period(self) -> Period:
        return Period(
            granularity=self.granularity,
            start=self.start,
            end=self.end,
            bucket_seconds=self.bucket_seconds,
        )

    def bucket_start(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.bucket_seconds * index)


@dataclass(frozen=True)
class UsageParts:
    """What a report reads beyond the totals: parts not asked for stay empty (zero)."""

    series: bool = True
    operations: bool = True
    errors: bool = True
    addresses: bool = True
    # Organisation reports only: the credentials ranked by calls and by errors.
    ranking: bool = True


ALL_PARTS = UsageParts()


@dataclass
class UsageCounts:
    calls: int = 0
    calls_2xx: int = 0
    calls_4xx: int = 0
    calls_5xx: int = 0
    rate_limited: int = 0
    would_limit: int = 0
    tokens_issued: int = 0
    tokens_refused: int = 0

    @property
    def errors(self) -> int:
        return self.calls_4xx + self.calls_5xx

    def add(self, metric: str, status_class: str, count: int) -> None:
        if metric == UsageMetric.CALL:
            self.calls += count
            if status_class == "2xx":
                self.calls_2xx += count
            elif status_class == "4xx":
                self.calls_4xx += count
            elif status_class == "5xx":
                self.calls_5xx += count
        elif metric == UsageMetric.RATE_LIMITED:
            self.rate_limited += count
        elif metric == UsageMetric.WOULD_LIMIT:
            self.would_limit += count
        elif metric == UsageMetric.TOKEN_ISSUED:
            self.tokens_issued += count
        elif metric == UsageMetric.TOKEN_REFUSED:
            self.tokens_refused += count


@dataclass(frozen=True)
class OperationCount:
    operation: str
    calls: int
    errors: int


@dataclass
class UsageReport:
    window: UsageWindow
    totals: UsageCounts = field(default_factory=UsageCounts)
    # One UsageCounts per bucket, oldest first (empty when the series was not asked for).
    series: list[UsageCounts] = field(default_factory=list)
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    distinct_addresses: int = 0
    top_operations: list[OperationCount] = field(default_factory=list)
    last_errors: list[ErrorRow] = field(default_factory=list)

    def reasons_biggest_first(self) -> list[tuple[str, int]]:
        return sorted(self.refused_by_reason.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class OrganisationUsageReport:
    usage: UsageReport
    top_by_calls: list[CredentialRank] = field(default_factory=list)
    top_by_errors: list[CredentialRank] = field(default_factory=list)


def _empty(window: UsageWindow, parts: UsageParts) -> UsageReport:
    series = [UsageCounts() for _ in range(window.buckets)] if parts.series else []
    return UsageReport(window=window, series=series)


def _add_counts(report: UsageReport, row: CountRow) -> None:
    report.totals.add(row.metric, row.status_class, row.total)
    if row.metric == UsageMetric.TOKEN_REFUSED:
        reasons = report.refused_by_reason
        reasons[row.reason] = reasons.get(row.reason, 0) + row.total
    if row.slot is not None and 0 <= row.slot < len(report.series):
        report.series[row.slot].add(row.metric, row.status_class, row.total)


def _top_operations(rows: Sequence[CountRow]) -> list[OperationCount]:
    calls: dict[str, int] = {}
    errors: dict[str, int] = {}
    for row in rows:
        calls[row.operation] = calls.get(row.operation, 0) + row.total
        if row.status_class in usage_sql.ERROR_CLASSES:
            errors[row.operation] = errors.get(row.operation, 0) + row.total
    ranked = sorted(calls, key=lambda operation: (-calls[operation], operation))
    return [
        OperationCount(operation=name, calls=calls[name], errors=errors.get(name, 0))
        for name in ranked[:TOP_OPERATIONS]
    ]


async def credentials_usage(
    scope: TenantScope,
    credential_ids: Sequence[UUID],
    usage_range: UsageRange,
    *,
    now: datetime,
    parts: UsageParts = ALL_PARTS,
) -> dict[UUID, UsageReport]:
    """The usage of each of `credential_ids` (the scope's own; others count nothing), in at most
    four queries for all of them together."""
    window = UsageWindow.ending_at(usage_range, now)
    reports = {credential_id: _empty(window, parts) for credential_id in credential_ids}
    if not reports:
        return reports
    organisation_id = scope.organisation_id
    ids = list(reports)
    period = window.period
    counts, operations, addresses, errors = await asyncio.gather(
        usage_sql.counts(organisation_id, period, ids, by_slot=parts.series),
        usage_sql.operations(organisation_id, period, ids)
        if parts.operations
        else _skip(list[CountRow]()),
        usage_sql.distinct_addresses(organisation_id, period, ids)
        if parts.addresses
        else _skip(dict[UUID | None, int]()),
        usage_sql.last_errors(organisation_id, period, ids, LAST_ERRORS)
        if parts.errors
        else _skip(list[ErrorRow]()),
    )
    for row in counts:
        if row.credential_id in reports:
            _add_counts(reports[row.credential_id], row)
    by_credential: dict[UUID, list[CountRow]] = {}
    for row in operations:
        if row.credential_id is not None:
            by_credential.setdefault(row.credential_id, []).append(row)
    for credential_id, report in reports.items():
        report.top_operations = _top_operations(by_credential.get(credential_id, []))
        report.distinct_addresses = addresses.get(credential_id, 0)
    for error in errors:
        if error.credential_id in reports:
            reports[error.credential_id].last_errors.append(error)
    return reports


async def organisation_usage(
    scope: TenantScope, usage_range: UsageRange, *, now: datetime, parts: UsageParts = ALL_PARTS
) -> OrganisationUsageReport:
    """The organisation's usage summed over its credentials, and its busiest and failing-most
    credentials: at most six queries, whatever the number of credentials."""
    window = UsageWindow.ending_at(usage_range, now)
    report = _empty(window, parts)
    organisation_id = scope.organisation_id
    period = window.period
    no_ranking = list[CredentialRank]()
    counts, operations, addresses, errors, by_calls, by_errors = await asyncio.gather(
        usage_sql.counts(organisation_id, period, None, by_slot=parts.series),
        usage_sql.operations(organisation_id, period, None)
        if parts.operations
        else _skip(list[CountRow]()),
        usage_sql.distinct_addresses(organisation_id, period, None)
        if parts.addresses
        else _skip(dict[UUID | None, int]()),
        usage_sql.last_errors(organisation_id, period, None, LAST_ERRORS)
        if parts.errors
        else _skip(list[ErrorRow]()),
        usage_sql.top_credentials(organisation_id, period, by_errors=False, limit=TOP_CREDENTIALS)
        if parts.ranking
        else _skip(no_ranking),
        usage_sql.top_credentials(organisation_id, period, by_errors=True, limit=TOP_CREDENTIALS)
        if parts.ranking
        else _skip(no_ranking),
    )
    for row in counts:
        _add_counts(report, row)
    report.top_operations = _top_operations(operations)
    report.distinct_addresses = addresses.get(None, 0)
    report.last_errors = list(errors)
    return OrganisationUsageReport(
        usage=report,
        top_by_calls=by_calls,
        top_by_errors=by_errors,
    )


async def _skip(empty: T) -> T:
    """A part not asked for: its empty value, in place of its query."""
    return empty
