"""Claiming queued work (webhook deliveries, mail) so that each attempt goes to one process.

A row is due when it is PENDING, its time has come and no lease holds it. A caller claims a
candidate with one conditional UPDATE that matches only while the row still has the attempt count
the caller read and a free lease; exactly one of any number of claimers wins it, on SQLite and
PostgreSQL alike, and no lock is held while the work is done. The claims of a batch are one
transaction, taken in id order (the same in every process), so two claimers of overlapping batches
wait for each other on PostgreSQL instead of deadlocking. A claimer that dies leaves its lease to
run out, and the attempt is claimed again: at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.notifications import DeliveryStatus

LeasedT = TypeVar("LeasedT", bound=Model)


def lease_free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due(now: datetime) -> Q:
    """Rows whose next attempt may be claimed at `now`."""
    return Q(lease_free(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now)


async def claim(
    model: type[LeasedT], candidates: Sequence[LeasedT], *, now: datetime, lease: timedelta
) -> list[LeasedT]:
    """The `candidates` this caller won, each with its attempt counted and held until
    `now + lease`."""
    claimed: list[LeasedT] = []
    async with in_transaction():
        for row in sorted(candidates, key=lambda candidate: candidate.pk):
            attempts: int = row.attempts  # type: ignore[attr-defined]
            won = await model.filter(
                lease_free(now), id=row.pk, status=DeliveryStatus.PENDING, attempts=attempts
            ).update(claimed_until=now + lease, attempts=F("attempts") + 1)
            if won:
                row.attempts = attempts + 1
                row.claimed_until = now + lease
                claimed.append(row)
    return claimed
