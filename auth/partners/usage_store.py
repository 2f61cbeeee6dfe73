"""Writing usage counts to the database, and deleting them when they are too old.

A batch (`PendingUsage`) holds every count as a minute row and a day row. `write_usage` adds it
in one transaction: counts with `INSERT … ON CONFLICT (unique key) DO UPDATE SET count =
usage_count.count + excluded.count`, addresses with `ON CONFLICT DO NOTHING`, errors as new rows,
each table one executemany. Rows are written in key order, the same in every process, so two
processes adding to the same rows on PostgreSQL wait for each other instead of deadlocking. As
every process only adds, the rows hold the exact sums of all processes without a shared store.

`sweep` deletes minute rows, recent errors and minute addresses older than 48 hours and day
rows (counts and addresses) older than 400 days, in bounded batches; any number of processes may
run it at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from uuid import UUID

from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.credential import Credential
from models.usage import Granularity, UsageAddress, UsageCount, UsageError, UsageMetric

MINUTE_RETENTION = timedelta(hours=48)
DAY_RETENTION = timedelta(days=400)
ERROR_RETENTION = timedelta(hours=48)
SWEEP_BATCH = 5_000
SWEEP_MAX_BATCHES = 10
_RESOLVE_CHUNK = 500
_WRITE_CHUNK = 1_000
_DAY_MINUTES = 24 * 60
_MINUTE = Granularity.MINUTE.value
_DAY = Granularity.DAY.value

# (credential, granularity, bucket start, metric, operation, status class, reason)
CountKey = tuple[UUID, str, datetime, str, str, str, str]
AddressKey = tuple[UUID, str, datetime, str]
Ids = tuple[UUID, UUID]  # (credential, organisation)


@dataclass(frozen=True)
class ErrorRow:
    at: datetime
    operation: str
    status: int
    error_code: str


@lru_cache(maxsize=128)
def bucket_starts(minute_index: int) -> tuple[datetime, datetime]:
    """The minute and day buckets (UTC) of the `minute_index`-th minute since the epoch (one pair
    of objects per minute, shared by every key of the batch that falls in it)."""
    return (
        datetime.fromtimestamp(minute_index * 60, UTC),
        datetime.fromtimestamp(minute_index // _DAY_MINUTES * _DAY_MINUTES * 60, UTC),
    )


@dataclass
class PendingUsage:
    """Counts waiting to be written, already summed into their minute and day rows."""

    counts: dict[CountKey, int] = field(default_factory=dict)
    addresses: set[AddressKey] = field(default_factory=set)
    errors: dict[UUID, list[ErrorRow]] = field(default_factory=dict)
    # Refused token requests by the client ID presented: (minute, reason) -> count.
    refusals: dict[str, dict[tuple[int, str], int]] = field(default_factory=dict)
    organisations: dict[UUID, UUID] = field(default_factory=dict)

    def _remember(self, ids: Ids) -> UUID:
        """The credential of `ids`, its organisation noted for the rows to carry."""
        credential, organisation = ids
        self.organisations[credential] = organisation
        return credential

    def empty(self) -> bool:
        return not (self.counts or self.addresses or self.errors or self.refusals)

    def add_count(
        self,
        ids: Ids,
        minute_index: int,
        metric: str,
        operation: str,
        status_class: str,
        reason: str,
        count: int,
    ) -> None:
        credential = self._remember(ids)
        counts = self.counts
        for granularity, start in zip((_MINUTE, _DAY), bucket_starts(minute_index), strict=True):
            key = (credential, granularity, start, metric, operation, status_class, reason)
            counts[key] = counts.get(key, 0) + count

    def add_address(self, ids: Ids, minute_index: int, address: str, cap: int) -> None:
        if len(self.addresses) >= cap:
            return
        credential = self._remember(ids)
        minute, day = bucket_starts(minute_index)
        self.addresses.add((credential, _MINUTE, minute, address))
        self.addresses.add((credential, _DAY, day, address))

    def add_errors(self, ids: Ids, rows: list[ErrorRow], cap: int) -> None:
        credential = self._remember(ids)
        kept = self.errors.get(credential, []) + rows
        self.errors[credential] = kept[-cap:]

    def add_refusals(self, client_id: str, counts: dict[tuple[int, str], int], cap: int) -> None:
        pending = self.refusals.get(client_id)
        if pending is None:
            if len(self.refusals) >= cap:
                return
            pending = self.refusals[client_id] = {}
        for key, count in counts.items():
            pending[key] = pending.get(key, 0) + count


async def _resolve_refusals(pending: PendingUsage) -> None:
    """Turn refusals by client ID into counts of the credentials they name, one query per 500
    client IDs; refusals naming no credential are dropped."""
    client_ids = list(pending.refusals)
    refused = UsageMetric.TOKEN_REFUSED.value
    for start in range(0, len(client_ids), _RESOLVE_CHUNK):
        chunk = client_ids[start : start + _RESOLVE_CHUNK]
        rows = await Credential.filter(client_id__in=chunk).values_list(
            "client_id", "id", "organisation_id"
        )
        for client_id, credential_id, organisation_id in rows:
            ids = (UUID(str(credential_id)), UUID(str(organisation_id)))
            for (minute_index, reason), count in pending.refusals[str(client_id)].items():
                pending.add_count(ids, minute_index, refused, "", "", reason, count)
    pending.refusals = {}


# Written for PostgreSQL (`$n`); SQLite takes the same statements with `?` (`_for_dialect`).
_ADD_COUNTS = (
    "INSERT INTO usage_count (organisation_id, credential_id, granularity, bucket_start, metric,"
    " operation, status_class, reason, count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (credential_id, granularity, bucket_start, metric, operation, status_class,"
    " reason) DO UPDATE SET count = usage_count.count + excluded.count"
)
_ADD_ADDRESSES = (
    "INSERT INTO usage_address (organisation_id, credential_id, granularity, bucket_start,"
    " address) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (credential_id, granularity, bucket_start, address) DO NOTHING"
)
_ADD_ERRORS = (
    "INSERT INTO usage_error (organisation_id, credential_id, occurred_at, operation, status,"
    " error_code) VALUES ($1, $2, $3, $4, $5, $6)"
)
_POSITIONAL = re.compile(r"\$\d+")


def _for_dialect(statement: str, postgres: bool) -> str:
    return statement if postgres else _POSITIONAL.sub("?", statement)


async def write_usage(pending: PendingUsage) -> None:
    """Add `pending` to the database in one transaction (all of it, or nothing)."""
    if pending.refusals:
        await _resolve_refusals(pending)
    organisations = pending.organisations
    async with in_transaction() as connection:
        postgres = connection.capabilities.dialect == "postgres"

        def uuid(value: UUID) -> UUID | str:
            # asyncpg takes UUIDs; Tortoise keeps them as text on SQLite.
            return value if postgres else str(value)

        async def add_rows(statement: str, rows: Iterable[list[object]]) -> None:
            # In slices, so a flush of many credentials never holds all its parameters at once.
            for chunk in _chunks(rows):
                await connection.execute_many(_for_dialect(statement, postgres), chunk)

        # Sorted by the keys themselves: a UUID orders as its canonical text does.
        counts = pending.counts
        await add_rows(
            _ADD_COUNTS,
            (
                [uuid(organisations[key[0]]), uuid(key[0]), *key[1:], counts[key]]
                for key in sorted(counts)
            ),
        )
        await add_rows(
            _ADD_ADDRESSES,
            (
                [uuid(organisations[key[0]]), uuid(key[0]), *key[1:]]
                for key in sorted(pending.addresses)
            ),
        )
        await add_rows(
            _ADD_ERRORS,
            (
                [
                    uuid(organisations[credential]),
                    uuid(credential),
                    row.at,
                    row.operation[:80],
                    row.status,
                    row.error_code[:40],
                ]
                for credential, rows in pending.errors.items()
                for row in rows
            ),
        )


def _chunks(rows: Iterable[list[object]]) -> Iterator[list[list[object]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, _WRITE_CHUNK)):
        yield chunk


async def _delete_batches(model: type[Model], **older: object) -> int:
    """Delete the rows matching `older`, `SWEEP_BATCH` at a time, at most `SWEEP_MAX_BATCHES`."""
    deleted = 0
    for _ in range(SWEEP_MAX_BATCHES):
        ids = await model.filter(**older).limit(SWEEP_BATCH).values_list("id", flat=True)
        if not ids:
            break
        deleted += await model.filter(id__in=list(ids)).delete()
        if len(ids) < SWEEP_BATCH:
            break
    return deleted


async def sweep(now: datetime) -> int:
    """Delete usage past its retention; returns how many rows went. Bounded per call: what is
    left goes with the next sweep."""
    minute_cutoff, day_cutoff = now - MINUTE_RETENTION, now - DAY_RETENTION
    deleted = 0
    for model in (UsageCount, UsageAddress):
        deleted += await _delete_batches(model, granularity=_MINUTE, bucket_start__lt=minute_cutoff)
        deleted += await _delete_batches(model, granularity=_DAY, bucket_start__lt=day_cutoff)
    deleted += await _delete_batches(UsageError, occurred_at__lt=now - ERROR_RETENTION)
    return deleted
