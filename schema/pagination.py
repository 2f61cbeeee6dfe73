"""Relay-style cursor connections, paged in SQL with keyset cursors (newest first).

A cursor encodes the (timestamp, id) of an edge; the next page is the rows strictly older than it,
with the id breaking ties, so pages never skip or repeat rows while new ones are being added.
`first` defaults to 20 and is capped at the configured maximum (100).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

import strawberry
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.keyset import keyset_page
from partner_api.foundation import cursors
from partner_api.foundation.cursors import encode_cursor
from schema.errors import BadUserInput

NodeT = TypeVar("NodeT")
ModelT = TypeVar("ModelT", bound=Model)

DEFAULT_PAGE_SIZE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_query: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        """All items matching the filter, across every page (only if asked: a COUNT query, or
        the count the list keeps)."""
        return await self.count_query()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        return cursors.decode_cursor(cursor)
    except cursors.InvalidCursor:
        raise BadUserInput("Invalid cursor: pass an endCursor from a previous page.") from None


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if first < 1:
        raise BadUserInput(f"`first` must be between 1 and {maximum}.")
    return min(first, maximum)


async def paginate(
    query: QuerySet[ModelT],
    *,
    time_field: str,
    first: int | None,
    after: str | None,
    maximum: int,
    to_nodes: Callable[[Sequence[ModelT]], Awaitable[list[NodeT]]],
    first_page: Callable[[int], Awaitable[Sequence[ModelT]]] | None = None,
    oldest_first: bool = False,
    total: Callable[[], Awaitable[int]] | None = None,
) -> Connection[NodeT]:
    """One SQL query for the page (`LIMIT n + 1` tells whether another page follows); the rows
    become nodes in one call, so a node type can load what it shows for the whole page at once.
    `first_page(limit)`, when given, reads the first page instead of `query`: the same rows,
    newest first, by a faster route. `oldest_first` pages the other way (soonest first).
    `total()`, when given, answers `totalCount` instead of a COUNT over `query`: the same number,
    kept elsewhere (models/credential_tally.py).

    The page query filters by the cursor and orders by (`time_field`, id): give the model an
    index on its filter columns followed by those two, and a page at any depth is read off the
    index without sorting."""
    size = page_size(first, maximum)
    rows: Sequence[ModelT]
    if after is None and first_page is not None:
        rows = await first_page(size + 1)
    else:
        cursor = None if after is None else decode_cursor(after)
        rows = await keyset_page(
            query, time_field=time_field, after=cursor, oldest_first=oldest_first
        ).limit(size + 1)
    page = rows[:size]
    edges = [
        Edge(cursor=encode_cursor(getattr(row, time_field), row.pk), node=node)
        for row, node in zip(page, await to_nodes(page), strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_query=query.count if total is None else total,
    )
