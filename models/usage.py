"""Usage of the Partner API and the token endpoint, per credential, in time buckets.

Counts are gathered in memory on the hot paths and added here in batches by every process
(auth/partners/usage_counts.py): each flush adds its deltas to the row of the same bucket with one
`INSERT … ON CONFLICT … DO UPDATE SET count = count + excluded.count`, so the counts of every
process add up exactly without a shared store. Minute buckets are kept 48 hours and day buckets
400 days (the retention sweep deletes older rows).

`organisation_id` is repeated on every row so an organisation's usage is summed without a join,
and filtered by tenant like every other table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.credential import Credential
    from models.organisation import Organisation


class Granularity(StrEnum):
    MINUTE = "m"
    DAY = "d"


class UsageMetric(StrEnum):
    # A Partner API call answered for this credential (any status), by operation and status class.
    CALL = "call"
    # Refused with 429 because the credential's rate limit was spent (ENFORCE).
    RATE_LIMITED = "rate_limited"
    # Over the rate limit in MONITOR mode: counted and answered normally.
    WOULD_LIMIT = "would_limit"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 (a metric name)
    # A refused token request naming this credential, by reason.
    TOKEN_REFUSED = "token_refused"  # noqa: S105 (a metric name)


class UsageCount(Model):
    """One counter of one credential in one bucket. `operation` is a route template
    (`GET /partner/v1/orders/{order_id}`), never a concrete path; `reason` a refusal code; both
    are "" where they do not apply, so the unique key has no nulls."""

    id = fields.BigIntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, on_delete=fields.CASCADE
    )
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, on_delete=fields.CASCADE
    )
    granularity = fields.CharField(max_length=1)
    bucket_start = fields.DatetimeField()
    metric = fields.CharField(max_length=16)
    operation = fields.CharField(max_length=80, default="")
    status_class = fields.CharField(max_length=3, default="")
    reason = fields.CharField(max_length=40, default="")
    count = fields.BigIntField(default=0)

    class Meta:
        table = "usage_count"
        unique_together = (
            (
                "credential_id",
                "granularity",
                "bucket_start",
                "metric",
                "operation",
                "status_class",
                "reason",
            ),
        )
        # The second serves the retention sweep (auth/partners/usage_store.py).
        indexes = (
            ("organisation_id", "granularity", "bucket_start"),
            ("granularity", "bucket_start"),
        )


class UsageAddress(Model):
    """A client address seen for a credential in a bucket: distinct addresses are these rows
    counted, exact across processes (the insert ignores one already there)."""

    id = fields.BigIntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, on_delete=fields.CASCADE
    )
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, on_delete=fields.CASCADE
    )
    granularity = fields.CharField(max_length=1)
    bucket_start = fields.DatetimeField()
    address = fields.CharField(max_length=45)

    class Meta:
        table = "usage_address"
        unique_together = (("credential_id", "granularity", "bucket_start", "address"),)
        indexes = (
            ("organisation_id", "granularity", "bucket_start"),
            ("granularity", "bucket_start"),
        )


class UsageError(Model):
    """One recent failed call of a credential (status ≥ 400): when, which operation, the status
    and the stable error code. No request body, header or token is ever kept."""

    id = fields.BigIntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name=False, on_delete=fields.CASCADE
    )
    credential: fields.ForeignKeyRelation[Credential] = fields.ForeignKeyField(
        "models.Credential", related_name=False, on_delete=fields.CASCADE
    )
    occurred_at = fields.DatetimeField()
    operation = fields.CharField(max_length=80)
    status = fields.IntField()
    error_code = fields.CharField(max_length=40)

    class Meta:
        table = "usage_error"
        indexes = (
            ("credential_id", "occurred_at"),
            ("organisation_id", "occurred_at"),
            ("occurred_at",),
        )
