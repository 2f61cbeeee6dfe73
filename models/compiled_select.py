"""Model reads whose SQL Tortoise builds once, then runs with new values.

Tortoise builds a query's SQL afresh every time it runs one: for the admin session lookup (a
three-table join) that is ~0.8 ms of Python, more than SQLite takes to answer it, on every admin
request. A `CompiledSelect` lets Tortoise build the query once per database dialect and *shape*
(the types of the values, and the length of each list), keeps the SQL text, and afterwards hands
Tortoise's own executor that text with the new values, so rows still become models exactly as
Tortoise makes them (related models of `select_related` included).

Safety: the values bound later are the caller's arguments in order (lists flattened, UUIDs as
text). When a shape is first compiled, that binding is compared with the parameters Tortoise
produced for the same arguments; if they differ in any way (in value or type: a value Tortoise
converts otherwise, a constant in the query, a reordering), the shape is never compiled and
every call simply runs the Tortoise query. So a cached text is only ever used with parameters
proven to line up with it. Every argument must therefore reach the SQL as a parameter: pass a
LIMIT as an argument too. A query with `prefetch_related` or annotations is never compiled.

Tortoise internals it relies on, none of them public API: `QuerySet.sql()` leaving the built query
on the queryset (`query.query.get_parameterized_sql()`, `_select_related_idx`, `_prefetch_map`,
`_annotations`), and the executor (`_meta.db.executor_class(...).execute_select`). It is tested
with tortoise-orm 1.1; tests/test_compiled_select.py fails naming this module when another
version is installed, and pyproject.toml allows only that range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise.models import Model
from tortoise.queryset import QuerySet

ModelT = TypeVar("ModelT", bound=Model)
Value = object
Shape = tuple[object, ...]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    select_related_idx: list[Any]


def flatten(values: Sequence[Value]) -> list[Value]:
    flat: list[Value] = []
    for value in values:
        if isinstance(value, list | tuple | set | frozenset):
            flat.extend(value)
        else:
            flat.append(value)
    return [str(value) if isinstance(value, UUID) else value for value in flat]


def same_parameters(tortoise_parameters: list[Value], bound: list[Value]) -> bool:
    """Equal and of the same types (an enum member equals its text, True equals 1: a driver may
    still bind them differently)."""
    return len(tortoise_parameters) == len(bound) and all(
        type(ours) is type(theirs) and ours == theirs
        for ours, theirs in zip(bound, tortoise_parameters, strict=True)
    )


# The types bound as they are (UUIDs as text): for these Tortoise's conversion to a query
# parameter does not depend on the value, so what is proven for one value holds for all of the
# shape. An aware datetime is passed through; a naive one Tortoise makes aware, so it never
# compiles (`shape_of` keeps the two apart).
_BOUND_AS_IS = (str, int, UUID, datetime)


def shape_of(values: Sequence[Value]) -> Shape:
    return tuple(_element_shape(value) for value in values)


def _element_shape(value: Value) -> object:
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value), len(value))
    if isinstance(value, datetime):
        return (datetime, value.tzinfo is None)
    return type(value)


def bindable(values: list[Value]) -> bool:
    return all(type(value) in _BOUND_AS_IS for value in values) and not any(
        isinstance(value, datetime) and value.tzinfo is None for value in values
    )


class CompiledSelect(Generic[ModelT]):
    """`build(*values)` must give the same SQL for all values of one shape: no choosing between
    filters by a value. Values are str, int, UUID, aware datetimes, or lists of them; a shape with
    anything else (None, an enum, a naive datetime) runs through Tortoise every time."""

    def __init__(self, model: type[ModelT], build: Callable[..., QuerySet[ModelT]]) -> None:
        """`build(*values)` returns the Tortoise query for those values."""
        self._model = model
        self._build = build
        # (dialect, shape) -> the compiled SQL, or None: that shape runs through Tortoise.
        self._compiled: dict[tuple[str, Shape], _Compiled | None] = {}

    async def fetch(self, *values: Value) -> list[ModelT]:
        db = self._model._meta.db
        key = (db.capabilities.dialect, shape_of(values))
        if key not in self._compiled:
            self._compiled[key] = self._compile(values)
        compiled = self._compiled[key]
        if compiled is None:
            rows: list[ModelT] = await self._build(*values)
            return rows
        executor = db.executor_class(
            model=self._model, db=db, select_related_idx=compiled.select_related_idx
        )
        return await executor.execute_select(compiled.sql, flatten(values), custom_fields=[])

    def _compile(self, values: Sequence[Value]) -> _Compiled | None:
        query = self._build(*values)
        sql = query.sql()  # builds the query, leaving Tortoise's own parts on `query`
        _, parameters = query.query.get_parameterized_sql()
        bound = flatten(values)
        if (
            not bindable(bound)
            or not same_parameters(list(parameters), bound)
            or query._prefetch_map
            or query._annotations
        ):
            return None
        return _Compiled(sql=sql, select_related_idx=list(query._select_related_idx))
