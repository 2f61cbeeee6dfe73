"""Which events a credential may reach: validating an admin's choice against the organisation.

A restriction is a non-empty list of the organisation's events, at most
`models.credential.MAX_RESTRICTED_EVENTS`; `None` is every event. Ids that are malformed,
unknown or another organisation's get one and the same refusal, so the field cannot be used to
learn whether an id exists elsewhere (ER-04). The check reads through the tenant scope, like
every other tenant read.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from models.credential import MAX_RESTRICTED_EVENTS
from models.tenancy import TenantScope, parse_id
from partner_api.foundation.validation import InvalidInput

FIELD = "eventIds"
NOT_OURS = "Choose events of your organisation: some of these are not."


async def clean_event_ids(scope: TenantScope, event_ids: Sequence[str] | None) -> list[str] | None:
    """The restriction to store: canonical ids in the order given, duplicates merged."""
    if event_ids is None:
        return None
    if not event_ids:
        raise InvalidInput(FIELD, "Choose at least one event, or all events.")
    if len(event_ids) > MAX_RESTRICTED_EVENTS:
        raise InvalidInput(
            FIELD, f"A credential can be limited to at most {MAX_RESTRICTED_EVENTS} events."
        )
    parsed: dict[UUID, None] = {}
    for value in event_ids:
        event_id = parse_id(value)
        if event_id is None:
            raise InvalidInput(FIELD, NOT_OURS)
        parsed[event_id] = None
    found = await scope.events().filter(id__in=list(parsed)).count()
    if found != len(parsed):
        raise InvalidInput(FIELD, NOT_OURS)
    return [str(event_id) for event_id in parsed]
