"""Inserting a model's rows without building model instances.

`Model.create` costs Tortoise about 70 µs of Python besides the round trip (an instance, its
fields set one by one, the save's checks, an executor); `bulk_create` builds its SQL afresh on
every call. On a reservation, the hot write of an on-sale, that is a tenth of the request's CPU.
A `RowInsert` runs the statement Tortoise caches for the model (its executor's `insert_query`)
with each value converted by the model's own field (`to_db_value`, with the model class as the
instance, as Tortoise converts filter values), so what reaches the driver is what `create` would
send — except that nothing is filled in: every column is given by the caller (a default or an
`auto_now_add` timestamp too), and a row that names any other set of columns is refused.

Tortoise internals it relies on, as models/compiled_select.py does (the same pinned version
range): the executor's `insert_query` and `regular_columns`, and the client's `execute_insert`
and `execute_many`. No signal runs: a model with save signals must not be written through it.
Tortoise caches that statement by connection name, not by dialect: a process that points the
same connection at another kind of database must empty Tortoise's `EXECUTOR_CACHE` first (the
benchmarks do; the service and each test run use one kind), or `Model.create` fails as this does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.models import Model


class RowInsert:
    def __init__(self, model: type[Model]) -> None:
        self._model = model
        # dialect -> (the INSERT's SQL, its columns in parameter order)
        self._statements: dict[str, tuple[str, tuple[str, ...]]] = {}

    def columns(self, dialect: str) -> tuple[str, ...]:
        return self._statement(dialect)[1]

    def _statement(self, dialect: str) -> tuple[str, tuple[str, ...]]:
        statement = self._statements.get(dialect)
        if statement is None:
            db = self._model._meta.db
            executor = db.executor_class(model=self._model, db=db)
            if self._model._meta.generated_db_fields:
                raise TypeError(f"{self._model.__name__} has generated columns")
            statement = (executor.insert_query, tuple(executor.regular_columns))
            self._statements[dialect] = statement
        return statement

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for any number of rows; several rows must be inside a transaction
        (outside one, Tortoise's `execute_many` would open its own)."""
        db = self._model._meta.db
        sql, columns = self._statement(db.capabilities.dialect)
        fields = self._model._meta.fields_map
        model = self._model
        values: list[list[Any]] = []
        for row in rows:
            if len(row) != len(columns) or not all(column in row for column in columns):
                raise ValueError(
                    f"a {model.__name__} row gives exactly its columns {columns}: {sorted(row)}"
                )
            values.append([fields[column].to_db_value(row[column], model) for column in columns])
        if len(values) == 1:
            await db.execute_insert(sql, values[0])
        elif values:
            await db.execute_many(sql, values)
