"""Read side of the admin API: credentials, one credential, audit events, Partner API facts."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import strawberry
from tortoise.expressions import Q

from models.audit import AuditEvent as AuditEventModel
from models.credential_tally import credential_total
from models.enums import CredentialStatus
from models.tenancy import parse_id
from partner_api.foundation.clock import utcnow
from schema.audit_types import AuditEvent
from schema.context import Context
from schema.credential_nodes import credential_node, credential_nodes
from schema.pagination import Connection, paginate
from schema.types import Credential, PartnerApiInfo


async def partner_api(info: strawberry.Info[Context, None]) -> PartnerApiInfo:
    return PartnerApiInfo.from_settings(info.context.services.settings)


def _status_filter(status: CredentialStatus) -> Q:
    now = utcnow()
    if status is CredentialStatus.REVOKED:
        return Q(revoked_at__isnull=False)
    if status is CredentialStatus.EXPIRED:
        return Q(revoked_at__isnull=True, expires_at__lte=now)
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


async def credentials(
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    status: CredentialStatus | None = None,
) -> Connection[Credential]:
    """The organisation's credentials, newest first. `totalCount` of the whole list is the stored
    count (models/credential_tally.py: exact, no scan); filtered by status it is a COUNT, since
    status follows the clock."""
    tenant = info.context.tenant
    query = tenant.credentials()
    if status is not None:
        query = query.filter(_status_filter(status))
    return await paginate(
        query,
        time_field="created_at",
        first=first,
        after=after,
        maximum=info.context.services.settings.page_size_max,
        to_nodes=partial(credential_nodes, info.context),
        # The page the admin page opens with: its SQL is built once.
        first_page=tenant.newest_credentials if status is None else None,
        total=partial(credential_total, tenant.organisation_id) if status is None else None,
    )


async def credential(info: strawberry.Info[Context, None], id: strawberry.ID) -> Credential | None:
    """Null for unknown ids and for other organisations' ids alike (CR-07)."""
    found = await info.context.tenant.credential(str(id))
    return None if found is None else await credential_node(info.context, found)


async def audit_events(
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    credential_id: strawberry.ID | None = None,
) -> Connection[AuditEvent]:
    query = info.context.tenant.audit_events()
    if credential_id is not None:
        # A malformed or foreign id simply matches nothing within this organisation.
        parsed = parse_id(str(credential_id))
        query = query.filter(credential_id=parsed) if parsed else query.filter(id__isnull=True)
    return await paginate(
        query,
        time_field="occurred_at",
        first=first,
        after=after,
        maximum=info.context.services.settings.page_size_max,
        to_nodes=_audit_event_nodes,
    )


async def _audit_event_nodes(rows: Sequence[AuditEventModel]) -> list[AuditEvent]:
    return [AuditEvent.from_model(row) for row in rows]
