"""The organisation's events, for choosing which ones a credential may reach."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from tortoise.expressions import Q

from models.ticketing import Event as EventModel
from partner_api.foundation.clock import utcnow
from partner_api.foundation.validation import InvalidInput, refuse_invisible
from schema.context import Context
from schema.errors import BadUserInput
from schema.pagination import Connection, paginate
from schema.types import Event

SEARCH_MAX_LENGTH = 100


async def events(
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
    search: str | None = None,
    upcoming: bool | None = None,
) -> Connection[Event]:
    """Newest first by start; with `upcoming: true` only events that have not ended, soonest
    first, as a picker offers them. `search` matches name or venue, ignoring case."""
    query = info.context.tenant.events()
    if search is not None and search.strip():
        query = query.filter(_matching(search.strip()))
    if upcoming:
        query = query.filter(ends_at__gt=utcnow())
    return await paginate(
        query,
        time_field="starts_at",
        first=first,
        after=after,
        maximum=info.context.services.settings.page_size_max,
        to_nodes=_event_nodes,
        oldest_first=bool(upcoming),
    )


def _matching(search: str) -> Q:
    if len(search) > SEARCH_MAX_LENGTH:
        raise BadUserInput(f"`search` must be at most {SEARCH_MAX_LENGTH} characters.")
    try:
        refuse_invisible("search", search, label="Search")
    except InvalidInput as error:
        raise BadUserInput(error.message) from None
    return Q(name__icontains=search) | Q(venue__icontains=search)


async def _event_nodes(rows: Sequence[EventModel]) -> list[Event]:
    return [Event.from_model(row) for row in rows]
