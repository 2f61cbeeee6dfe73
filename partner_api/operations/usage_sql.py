"""The SQL of usage reports: sums, distinct counts and rankings done by the database.

Each function is one statement over the usage tables (models/usage.py), filtered by organisation
first, then by granularity and time range (both indexed), and, for a page of credentials, by
their ids; the rows that come back are already summed per bucket, metric and status class, so a
report costs the same few statements for one credential or a thousand, and what reaches Python is
bounded by the number of buckets, operations and credentials, never by the traffic.

Written as SQL rather than Tortoise queries for two things Tortoise cannot express: a bucket's
position in the range computed from its start (`(epoch(bucket_start) - start) / size`, so the
hours of a day sum their minute rows in the database), and the newest errors of each credential
of a page at once (`ROW_NUMBER() OVER (PARTITION BY credential_id …)`). Both run on SQLite (3.25
or later) and PostgreSQL; only the epoch expression and the placeholders differ. Values are bound
as Tortoise binds them: UUIDs as text, times as aware datetimes (UTC text on SQLite, the format
Tortoise writes them in, so comparisons are in time order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.connection import connections

from models.usage import Granularity, UsageMetric

ERROR_CLASSES = ("4xx", "5xx")

_EPOCH = {
    "sqlite": "CAST(strftime('%s', bucket_start) AS INTEGER)",
    "postgres": "CAST(EXTRACT(EPOCH FROM bucket_start) AS BIGINT)",
}


@dataclass(frozen=True)
class Period:
    granularity: Granularity
    start: datetime
    end: datetime
    bucket_seconds: int


@dataclass(frozen=True)
class CountRow:
    """A sum of counters; `credential_id` is None in organisation sums, `slot` (the bucket's
    position in the range) None when the series was not asked for."""

    credential_id: UUID | None
    slot: int | None
    metric: str
    operation: str
    status_class: str
    reason: str
    total: int


@dataclass(frozen=True)
class ErrorRow:
    credential_id: UUID
    occurred_at: datetime
    operation: str
    status: int
    error_code: str


@dataclass(frozen=True)
class CredentialRank:
    credential_id: UUID
    calls: int
    errors: int


class _Statement:
    """SQL written with `?` placeholders and its values, for the current connection's dialect."""

    def __init__(self) -> None:
        self.connection = connections.get("default")
        self.dialect: str = self.connection.capabilities.dialect
        self.values: list[Any] = []

    def bind(self, value: object) -> str:
        if isinstance(value, UUID):
            value = str(value)
        elif isinstance(value, datetime) and self.dialect == "sqlite":
            value = value.astimezone(UTC).isoformat(" ")
        self.values.append(value)
        return "?" if self.dialect == "sqlite" else f"${len(self.values)}"

    def bind_all(self, values: Sequence[object]) -> str:
        return ", ".join(self.bind(value) for value in values)

    def epoch(self) -> str:
        return _EPOCH[self.dialect]

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.connection.execute_query_dict(sql, self.values)
        return result


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _moment(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


def _bucket_filter(
    statement: _Statement,
    organisation_id: UUID,
    period: Period,
    credential_ids: Sequence[UUID] | None,
) -> str:
    sql = (
        f"organisation_id = {statement.bind(organisation_id)}"
        f" AND granularity = {statement.bind(period.granularity.value)}"
        f" AND bucket_start >= {statement.bind(period.start)}"
        f" AND bucket_start < {statement.bind(period.end)}"
    )
    if credential_ids is not None:
        sql += f" AND credential_id IN ({statement.bind_all(credential_ids)})"
    return sql


async def counts(
    organisation_id: UUID,
    period: Period,
    credential_ids: Sequence[UUID] | None,
    *,
    by_slot: bool,
) -> list[CountRow]:
    """Counters summed per metric, status class and refusal reason; per credential when
    `credential_ids` is given (else over the organisation), and per bucket with `by_slot`."""
    statement = _Statement()
    keys = ["credential_id"] if credential_ids is not None else []
    if by_slot:
        start = int(period.start.timestamp())
        size = period.bucket_seconds
        keys.append(
            f"({statement.epoch()} - {statement.bind(start)}) / {statement.bind(size)} AS slot"
        )
    keys += ["metric", "status_class", "reason"]
    where = _bucket_filter(statement, organisation_id, period, credential_ids)
    group = ", ".join(key.split(" AS ")[-1] for key in keys)
    rows = await statement.rows(
        f"SELECT {', '.join(keys)}, CAST(SUM(count) AS BIGINT) AS total"  # noqa: S608 (placeholders only)
        f" FROM usage_count WHERE {where} GROUP BY {group}"
    )
    return [
        CountRow(
            credential_id=_uuid(row["credential_id"]) if credential_ids is not None else None,
            slot=int(row["slot"]) if by_slot else None,
            metric=row["metric"],
            operation="",
            status_class=row["status_class"],
            reason=row["reason"],
            total=int(row["total"]),
        )
        for row in rows
    ]


async def operations(
    organisation_id: UUID, period: Period, credential_ids: Sequence[UUID] | None
) -> list[CountRow]:
    """Partner API calls summed per operation and status class (per credential when given)."""
    statement = _Statement()
    keys = ["credential_id"] if credential_ids is not None else []
    keys += ["operation", "status_class"]
    where = _bucket_filter(statement, organisation_id, period, credential_ids)
    where += f" AND metric = {statement.bind(UsageMetric.CALL.value)}"
    rows = await statement.rows(
        f"SELECT {', '.join(keys)}, CAST(SUM(count) AS BIGINT) AS total"  # noqa: S608 (placeholders only)
        f" FROM usage_count WHERE {where} GROUP BY {', '.join(keys)}"
    )
    return [
        CountRow(
            credential_id=_uuid(row["credential_id"]) if credential_ids is not None else None,
            slot=None,
            metric=UsageMetric.CALL.value,
            operation=row["operation"],
            status_class=row["status_class"],
            reason="",
            total=int(row["total"]),
        )
        for row in rows
    ]


async def distinct_addresses(
    organisation_id: UUID, period: Period, credential_ids: Sequence[UUID] | None
) -> dict[UUID | None, int]:
    """Distinct client addresses per credential (when given), else over the organisation (None)."""
    statement = _Statement()
    where = _bucket_filter(statement, organisation_id, period, credential_ids)
    if credential_ids is None:
        rows = await statement.rows(
            f"SELECT COUNT(DISTINCT address) AS addresses FROM usage_address WHERE {where}"  # noqa: S608 (placeholders only)
        )
        return {None: int(rows[0]["addresses"]) if rows else 0}
    rows = await statement.rows(
        "SELECT credential_id, COUNT(DISTINCT address) AS addresses"  # noqa: S608 (placeholders only)
        f" FROM usage_address WHERE {where} GROUP BY credential_id"
    )
    return {_uuid(row["credential_id"]): int(row["addresses"]) for row in rows}


async def last_errors(
    organisation_id: UUID, period: Period, credential_ids: Sequence[UUID] | None, limit: int
) -> list[ErrorRow]:
    """The newest `limit` errors in the period, newest first: of each credential when given,
    else of the organisation."""
    statement = _Statement()
    where = (
        f"organisation_id = {statement.bind(organisation_id)}"
        f" AND occurred_at >= {statement.bind(period.start)}"
        f" AND occurred_at < {statement.bind(period.end)}"
    )
    columns = "credential_id, occurred_at, operation, status, error_code"
    if credential_ids is None:
        sql = (
            f"SELECT {columns} FROM usage_error WHERE {where}"  # noqa: S608 (placeholders only)
            f" ORDER BY occurred_at DESC, id DESC LIMIT {statement.bind(limit)}"
        )
    else:
        where += f" AND credential_id IN ({statement.bind_all(credential_ids)})"
        sql = (
            f"SELECT {columns} FROM (SELECT {columns}, ROW_NUMBER() OVER ("  # noqa: S608 (placeholders only)
            "PARTITION BY credential_id ORDER BY occurred_at DESC, id DESC) AS position"
            f" FROM usage_error WHERE {where}) AS ranked"
            f" WHERE position <= {statement.bind(limit)} ORDER BY credential_id, position"
        )
    return [
        ErrorRow(
            credential_id=_uuid(row["credential_id"]),
            occurred_at=_moment(row["occurred_at"]),
            operation=row["operation"],
            status=int(row["status"]),
            error_code=row["error_code"],
        )
        for row in await statement.rows(sql)
    ]


async def top_credentials(
    organisation_id: UUID, period: Period, *, by_errors: bool, limit: int
) -> list[CredentialRank]:
    """The organisation's `limit` credentials with the most calls, or with `by_errors` the most
    errors (only those with any)."""
    statement = _Statement()

    def errors() -> str:
        # Bound afresh at each use: SQLite's placeholders are positional.
        classes = statement.bind_all(ERROR_CLASSES)
        return f"SUM(CASE WHEN status_class IN ({classes}) THEN count ELSE 0 END)"

    select = (
        "SELECT credential_id, CAST(SUM(count) AS BIGINT) AS calls,"
        f" CAST({errors()} AS BIGINT) AS errors"
    )
    where = _bucket_filter(statement, organisation_id, period, None)
    where += f" AND metric = {statement.bind(UsageMetric.CALL.value)}"
    having = f" HAVING {errors()} > 0" if by_errors else ""
    order = "errors DESC, calls DESC" if by_errors else "calls DESC, errors DESC"
    rows = await statement.rows(
        f"{select} FROM usage_count WHERE {where}"
        f" GROUP BY credential_id{having} ORDER BY {order}, credential_id"
        f" LIMIT {statement.bind(limit)}"
    )
    return [
        CredentialRank(_uuid(row["credential_id"]), int(row["calls"]), int(row["errors"]))
        for row in rows
    ]
