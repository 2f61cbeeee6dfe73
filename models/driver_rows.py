"""Rows as the database driver returns them, for listings that answer with text anyway.

`driver_rows(query)` runs a values-list query and returns the driver's rows by column position:
UUIDs and timestamps as the driver gives them (text on SQLite), enums as their text. Tortoise's
conversion of every value to Python and back (a UUID parsed then printed) costs more than the
query on a 100-row page. The SQL and its parameters are Tortoise's own, so filters and tenancy
stay in the QuerySet.

`CompiledRows` also keeps the SQL: Tortoise builds a query's SQL afresh on every run, 90 to 160 µs
of Python for a page of events, a sixth of what the whole request costs. As
models/compiled_select.py does for model reads, it has Tortoise build the query once per
database dialect and *shape*, proves that the values it will bind are exactly the parameters
Tortoise produced, and afterwards runs the kept text with the new values; a shape that does not
line up runs through Tortoise every time. Here a value may also be None, which the builder reads
as "this filter is absent": None is part of the shape (so each combination of present filters is
compiled on its own) and is never bound.

Relies on `_make_query`, `query` and `_db`: Tortoise internals, as models/compiled_select.py
does (the same pinned version range).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, cast

from tortoise.models import Model
from tortoise.queryset import ValuesListQuery

from models.compiled_select import Shape, Value, bindable, flatten, same_parameters, shape_of

RowsQuery = ValuesListQuery[Literal[False]]


async def driver_rows(query: RowsQuery) -> list[Sequence[Any]]:
    """`query`'s rows as the database driver returns them, by column position."""
    query._choose_db_if_not_chosen()
    query._make_query()
    _, rows = await query._db.execute_query(*query.query.get_parameterized_sql())
    # Typed as dicts by Tortoise; sqlite3.Row and asyncpg's Record are indexed by position too.
    return cast(list[Sequence[Any]], list(rows))


class CompiledRows:
    """`build(*values)` must give the same SQL for all values of one shape: it may choose its
    filters by which values are None, never by what the others are. Values are str, int, UUID,
    aware datetimes, lists or tuples of them, or None."""

    def __init__(self, model: type[Model], build: Callable[..., RowsQuery]) -> None:
        self._model = model
        self._build = build
        # (dialect, shape) -> the SQL, or None: that shape runs through Tortoise.
        self._compiled: dict[tuple[str, Shape], str | None] = {}

    async def fetch(self, *values: Value | None) -> list[Sequence[Any]]:
        db = self._model._meta.db
        key = (db.capabilities.dialect, shape_of(values))
        if key not in self._compiled:
            self._compiled[key] = self._compile(values)
        sql = self._compiled[key]
        if sql is None:
            return await driver_rows(self._build(*values))
        _, rows = await db.execute_query(sql, _bound(values))
        return cast(list[Sequence[Any]], list(rows))

    def _compile(self, values: Sequence[Value | None]) -> str | None:
        query = self._build(*values)
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, parameters = query.query.get_parameterized_sql()
        bound = _bound(values)
        if not bindable(bound) or not same_parameters(list(parameters), bound):
            return None
        return str(sql)


def _bound(values: Sequence[Value | None]) -> list[Value]:
    return flatten([value for value in values if value is not None])
