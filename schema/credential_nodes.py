"""Credential rows to `Credential` nodes, for a whole page at once.

Everything a node shows beyond its own row — its live secrets, its creator, the organisation's
policy (for `exceedsPolicy` and the effective limits), the events it is limited to, the public
keys of key credentials — is loaded here in at most five queries for the page, run concurrently,
and the lifecycle signals are worked out with one `now`.
The nodes then hold plain values, so GraphQL completes a page of 20 without awaiting anything per
credential: three async field resolvers per node would make 60 awaitables per page, which cost
more than the queries (docs/benchmarks.md, "GraphQL list").

The queries run whatever fields were selected: they are indexed lookups bounded by the page size
(and, for events, by 100 per credential), and a node is always complete. `totalCount` (the
organisation's stored count, models/credential_tally.py) stays lazy on the connection, and
`usage` on the node (batched for the page by `Context.credential_usage`).

The organisation's usage is built here too: it ranks credentials, shown as nodes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q

from auth.partners.credential_limits import ServiceLimits
from models.admin import AdminUser
from models.compiled_select import CompiledSelect
from models.credential import Credential as CredentialModel
from models.credential import CredentialKey as CredentialKeyModel
from models.credential import CredentialSecret as CredentialSecretModel
from models.enums import ClientAuthMethod, CredentialStatus
from models.tenancy import parse_id
from models.ticketing import Event as EventModel
from partner_api.foundation.clock import utcnow
from partner_api.operations import lifecycle
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.usage_report import UsageParts, UsageRange
from partner_api.operations.usage_report import organisation_usage as organisation_report
from schema.context import Context
from schema.key_types import CredentialKey
from schema.types import Credential, CredentialSecret, Event, User
from schema.usage_types import OrganisationUsage


async def credential_nodes(context: Context, rows: Sequence[CredentialModel]) -> list[Credential]:
    """Nodes for `rows` (one organisation's: the caller got them through its tenant scope)."""
    if not rows:
        return []
    now = utcnow()
    organisation_id: UUID = rows[0].organisation_id  # type: ignore[attr-defined]
    secrets, keys, creators, policy, events = await asyncio.gather(
        _live_secrets([row.id for row in rows], now),
        _keys([row.id for row in rows if row.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT]),
        _creators({row.created_by_id for row in rows} - {None}),  # type: ignore[attr-defined]
        context.organisation_policy(organisation_id),
        _restricted_events(context, {event_id for row in rows for event_id in row.event_ids or ()}),
    )
    windows = LifecycleWindows.from_settings(context.services.settings)
    limits = ServiceLimits.from_settings(context.services.settings)
    max_days = policy.max_credential_lifetime_days
    nodes = []
    for row in rows:
        active = row.status_at(now) is CredentialStatus.ACTIVE
        creator = creators.get(row.created_by_id)  # type: ignore[attr-defined]
        nodes.append(
            Credential.from_model(
                row,
                now=now,
                created_by=None if creator is None else User.from_model(creator),
                secrets=_secret_nodes(secrets.get(row.id, []), active, now, windows),
                keys=[CredentialKey.from_model(key) for key in keys.get(row.id, [])],
                expires_soon=lifecycle.expires_soon(row, now=now, window=windows.expires_soon),
                stale=lifecycle.is_stale(row, now=now, stale_after=windows.stale_after),
                exceeds_policy=lifecycle.exceeds_policy(row, now=now, max_lifetime_days=max_days),
                events=_event_nodes(row, events),
                limits=(
                    limits.rate_limit(
                        row.rate_limit_per_minute, policy.default_rate_limit_per_minute
                    ),
                    limits.token_quota(
                        row.token_quota_per_minute, policy.default_token_quota_per_minute
                    ),
                ),
            )
        )
    return nodes


async def credential_node(context: Context, row: CredentialModel) -> Credential:
    return (await credential_nodes(context, [row]))[0]


async def organisation_usage(
    context: Context, usage_range: UsageRange, parts: UsageParts
) -> OrganisationUsage:
    """The caller's organisation's usage; its ranked credentials as nodes, loaded together."""
    scope = context.tenant
    report = await organisation_report(scope, usage_range, now=context.usage_now, parts=parts)
    ranked = {rank.credential_id for rank in report.top_by_calls + report.top_by_errors}
    rows = await scope.credentials().filter(id__in=sorted(ranked)) if ranked else []
    nodes = await credential_nodes(context, rows)
    return OrganisationUsage.from_organisation_report(
        report, {UUID(node.id): node for node in nodes}
    )


# Secrets that still work (current, and previous within its grace period), newest first.
_LIVE_SECRETS = CompiledSelect(
    CredentialSecretModel,
    lambda credential_ids, now: (
        CredentialSecretModel.filter(credential_id__in=credential_ids, ended_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at")
    ),
)
_KEYS = CompiledSelect(
    CredentialKeyModel,
    lambda credential_ids: CredentialKeyModel.filter(credential_id__in=credential_ids).order_by(
        "kid"
    ),
)
_USERS = CompiledSelect(AdminUser, lambda user_ids: AdminUser.filter(id__in=user_ids))


async def _live_secrets(
    credential_ids: list[UUID], now: datetime
) -> dict[UUID, list[CredentialSecretModel]]:
    rows = await _LIVE_SECRETS.fetch(credential_ids, now)
    grouped: dict[UUID, list[CredentialSecretModel]] = {}
    for row in rows:
        grouped.setdefault(row.credential_id, []).append(row)  # type: ignore[attr-defined]
    return grouped


async def _keys(credential_ids: list[UUID]) -> dict[UUID, list[CredentialKeyModel]]:
    """The keys of the page's PRIVATE_KEY_JWT credentials, in one query; none when the page has
    none (a page of secret credentials costs what it did)."""
    if not credential_ids:
        return {}
    grouped: dict[UUID, list[CredentialKeyModel]] = {}
    for row in await _KEYS.fetch(credential_ids):
        grouped.setdefault(row.credential_id, []).append(row)  # type: ignore[attr-defined]
    return grouped


async def _creators(user_ids: set[UUID]) -> dict[UUID, AdminUser]:
    if not user_ids:
        return {}
    return {user.id: user for user in await _USERS.fetch(sorted(user_ids))}


async def _restricted_events(context: Context, wanted: set[str]) -> dict[str, EventModel]:
    """The events the page's restricted credentials name, by id, through the tenant scope: an
    event deleted since reads as absent."""
    if not wanted:
        return {}
    ids = [event_id for event_id in (parse_id(value) for value in sorted(wanted)) if event_id]
    return {str(event.id): event for event in await context.tenant.events().filter(id__in=ids)}


def _event_nodes(row: CredentialModel, events: dict[str, EventModel]) -> list[Event] | None:
    if row.event_ids is None:
        return None
    chosen = [events[event_id] for event_id in row.event_ids if event_id in events]
    chosen.sort(key=lambda event: (event.starts_at, str(event.id)))
    return [Event.from_model(event) for event in chosen]


def _secret_nodes(
    rows: list[CredentialSecretModel],
    credential_active: bool,
    now: datetime,
    windows: LifecycleWindows,
) -> list[CredentialSecret]:
    return [
        CredentialSecret.from_model(
            row,
            safe_to_end=lifecycle.safe_to_end(
                row,
                newer_secret_created_at=rows[index - 1].created_at if index else None,
                credential_active=credential_active,
                now=now,
                settle=windows.settle,
            ),
        )
        for index, row in enumerate(rows)
    ]
