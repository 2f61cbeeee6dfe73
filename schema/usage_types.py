"""GraphQL types of usage reports (`Credential.usage`, `Organisation.usage`), built from the
reports of partner_api/operations/usage_report.py.

Counts are GraphQL `Int`s (32-bit): a sum beyond 2,147,483,647 is shown as that number rather
than failing the whole answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from partner_api.operations.usage_report import (
    OrganisationUsageReport,
    UsageCounts,
    UsageParts,
    UsageRange,
    UsageReport,
)
from partner_api.operations.usage_sql import CredentialRank

if TYPE_CHECKING:
    from schema.types import Credential

strawberry.enum(
    UsageRange,
    description=(
        "LAST_HOUR: 60 one-minute buckets; LAST_DAY: 24 one-hour buckets; LAST_7_DAYS and "
        "LAST_30_DAYS: 7 and 30 one-day buckets. Buckets are aligned to UTC; the last one is the "
        "current one."
    ),
)

INT_MAX = 2**31 - 1


def _int(value: int) -> int:
    return min(value, INT_MAX)


@strawberry.type(description="One bucket of a usage series.")
class UsagePoint:
    start: datetime
    calls: int = strawberry.field(description="Partner API calls answered (all statuses).")
    calls_2xx: int
    calls_4xx: int
    calls_5xx: int
    errors: int = strawberry.field(description="calls4xx + calls5xx.")
    rate_limited: int = strawberry.field(description="Calls refused with 429 (ENFORCE mode).")
    tokens_issued: int
    tokens_refused: int

    @classmethod
    def of(cls, start: datetime, counts: UsageCounts) -> UsagePoint:
        return cls(
            start=start,
            calls=_int(counts.calls),
            calls_2xx=_int(counts.calls_2xx),
            calls_4xx=_int(counts.calls_4xx),
            calls_5xx=_int(counts.calls_5xx),
            errors=_int(counts.errors),
            rate_limited=_int(counts.rate_limited),
            tokens_issued=_int(counts.tokens_issued),
            tokens_refused=_int(counts.tokens_refused),
        )


@strawberry.type
class OperationUsage:
    operation: str = strawberry.field(
        description='The route template, e.g. "GET /partner/v1/orders/{order_id}".'
    )
    calls: int
    errors: int


@strawberry.type(description="A failed call: no request body, header or token is ever kept.")
class UsageErrorEntry:
    at: datetime
    operation: str
    status: int
    error_code: str


@strawberry.type
class RefusalReasonCount:
    reason: str
    count: int


@strawberry.type(
    description=(
        "Usage over a range. Counts reach it within one flush interval of each process "
        "(`PARTNER_API_USAGE_FLUSH_SECONDS`, 5 s by default)."
    )
)
class Usage:
    range: UsageRange
    start: datetime = strawberry.field(description="The start of the oldest bucket.")
    end: datetime = strawberry.field(description="The end of the current bucket (exclusive).")
    bucket_seconds: int
    calls: int = strawberry.field(description="Partner API calls answered (all statuses).")
    calls_2xx: int
    calls_4xx: int
    calls_5xx: int
    errors: int = strawberry.field(description="calls4xx + calls5xx.")
    rate_limited: int = strawberry.field(description="Calls refused with 429 (ENFORCE mode).")
    would_have_been_limited: int = strawberry.field(
        description="Calls over the limit in MONITOR mode, answered anyway."
    )
    tokens_issued: int
    tokens_refused: int
    tokens_refused_by_reason: list[RefusalReasonCount] = strawberry.field(
        description="Biggest first."
    )
    distinct_addresses: int = strawberry.field(
        description="Distinct client addresses seen in the range."
    )
    series: list[UsagePoint] = strawberry.field(
        description="Every bucket of the range, oldest first, zeros included."
    )
    top_operations: list[OperationUsage] = strawberry.field(
        description="Up to 10 operations, most calls first."
    )
    last_errors: list[UsageErrorEntry] = strawberry.field(
        description="Up to 20 failed calls within the range, newest first."
    )

    @staticmethod
    def values(report: UsageReport) -> dict[str, Any]:
        """The fields, for this type and for OrganisationUsage."""
        window, totals = report.window, report.totals
        return {
            "range": window.range,
            "start": window.start,
            "end": window.end,
            "bucket_seconds": window.bucket_seconds,
            "calls": _int(totals.calls),
            "calls_2xx": _int(totals.calls_2xx),
            "calls_4xx": _int(totals.calls_4xx),
            "calls_5xx": _int(totals.calls_5xx),
            "errors": _int(totals.errors),
            "rate_limited": _int(totals.rate_limited),
            "would_have_been_limited": _int(totals.would_limit),
            "tokens_issued": _int(totals.tokens_issued),
            "tokens_refused": _int(totals.tokens_refused),
            "tokens_refused_by_reason": [
                RefusalReasonCount(reason=reason, count=_int(count))
                for reason, count in report.reasons_biggest_first()
            ],
            "distinct_addresses": _int(report.distinct_addresses),
            "series": [
                UsagePoint.of(window.bucket_start(index), counts)
                for index, counts in enumerate(report.series)
            ],
            "top_operations": [
                OperationUsage(
                    operation=entry.operation, calls=_int(entry.calls), errors=_int(entry.errors)
                )
                for entry in report.top_operations
            ],
            "last_errors": [
                UsageErrorEntry(
                    at=entry.occurred_at,
                    operation=entry.operation,
                    status=entry.status,
                    error_code=entry.error_code,
                )
                for entry in report.last_errors
            ],
        }

    @classmethod
    def from_report(cls, report: UsageReport) -> Usage:
        return cls(**Usage.values(report))


@strawberry.type
class CredentialUsageRank:
    credential: Annotated[Credential, strawberry.lazy("schema.types")]
    calls: int
    errors: int


@strawberry.type(description="The organisation's usage: every credential's summed.")
class OrganisationUsage(Usage):
    top_credentials_by_calls: list[CredentialUsageRank] = strawberry.field(
        description="Up to 10 credentials, most calls first."
    )
    top_credentials_by_errors: list[CredentialUsageRank] = strawberry.field(
        description="Up to 10 credentials with errors, most errors first."
    )

    @classmethod
    def from_organisation_report(
        cls, report: OrganisationUsageReport, nodes: dict[UUID, Credential]
    ) -> OrganisationUsage:
        def ranks(ranked: Iterable[CredentialRank]) -> list[CredentialUsageRank]:
            return [
                CredentialUsageRank(
                    credential=nodes[rank.credential_id],
                    calls=_int(rank.calls),
                    errors=_int(rank.errors),
                )
                for rank in ranked
                if rank.credential_id in nodes
            ]

        return cls(
            **Usage.values(report.usage),
            top_credentials_by_calls=ranks(report.top_by_calls),
            top_credentials_by_errors=ranks(report.top_by_errors),
        )


def usage_parts(selected: Iterable[Selection]) -> UsageParts:
    """The parts of a report the query selects (`info.selected_fields` of a usage field), so a
    list page asking for calls and errors reads no series, operations or errors."""
    names: set[str] = set()
    pending: list[Selection] = [selection for field in selected for selection in field.selections]
    while pending:
        selection = pending.pop()
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            pending.extend(selection.selections)
    return UsageParts(
        series="series" in names,
        operations="topOperations" in names,
        errors="lastErrors" in names,
        addresses="distinctAddresses" in names,
        ranking=bool({"topCredentialsByCalls", "topCredentialsByErrors"} & names),
    )
