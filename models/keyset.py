"""Keyset paging: a list's rows after a cursor, in the list's order, read off an index."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from uuid import UUID

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

ModelT = TypeVar("ModelT", bound=Model)


def keyset_page(
    query: QuerySet[ModelT],
    *,
    time_field: str,
    after: tuple[datetime, UUID] | None,
    oldest_first: bool = False,
) -> QuerySet[ModelT]:
    """`query`'s rows beyond the cursor `after` (all of them without one), in list order:
    (`time_field`, id), newest first unless `oldest_first`.

    The cursor condition, `time <= t AND (time < t OR id < i)` newest first, is the row
    comparison `(time, id) < (t, i)` spelled so that its first part bounds an index range: the
    database seeks to `t` in an index on (filter columns, time, id) and walks it in order,
    reading only the page's rows, however deep the page is."""
    if after is None:
        page = query
    else:
        moment, row_id = after
        bound, beyond = ("gte", "gt") if oldest_first else ("lte", "lt")
        within: dict[str, object] = {f"{time_field}__{bound}": moment}
        strictly: dict[str, object] = {f"{time_field}__{beyond}": moment}
        next_id: dict[str, object] = {f"id__{beyond}": row_id}
        page = query.filter(Q(**within), Q(**strictly) | Q(**next_id))  # type: ignore[arg-type]
    order = "" if oldest_first else "-"
    return page.order_by(f"{order}{time_field}", f"{order}id")
