"""models/row_insert.py writes what `Model.create` would, and refuses a row that does not give
exactly the model's columns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from tortoise.exceptions import ValidationError
from tortoise.transactions import in_transaction

from models.row_insert import RowInsert
from models.ticketing import IdempotentResponse
from partner_api.foundation.clock import utcnow

RECORDS = RowInsert(IdempotentResponse)


def record(**changes: Any) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "credential_id": uuid4(),
        "key": "key-1",
        "request_hash": "ab" * 32,
        "status_code": 201,
        "body": '{"ok": true}',
        "created_at": utcnow() - timedelta(minutes=5),
        **changes,
    }


def as_read(row: IdempotentResponse) -> dict[str, Any]:
    return {name: getattr(row, name) for name in RECORDS.columns(row._meta.db.capabilities.dialect)}


async def test_a_row_reads_back_as_the_values_written(db: object) -> None:
    written = record()

    await RECORDS.insert([written])

    assert as_read(await IdempotentResponse.get(id=written["id"])) == written


async def test_a_row_reads_back_as_one_written_by_create(db: object) -> None:
    values = record()
    await RECORDS.insert([values])
    created = await IdempotentResponse.create(
        **record(key="key-2", created_at=values["created_at"])
    )

    ours = as_read(await IdempotentResponse.get(id=values["id"]))
    theirs = as_read(await IdempotentResponse.get(id=created.id))

    assert {name: type(value) for name, value in ours.items()} == {
        name: type(value) for name, value in theirs.items()
    }
    assert ours["created_at"] == theirs["created_at"]


async def test_several_rows_are_written_in_a_transaction(db: object) -> None:
    rows = [record(key=f"key-{index}") for index in range(3)]

    async with in_transaction():
        await RECORDS.insert(rows)

    stored = await IdempotentResponse.all().order_by("key")
    assert [as_read(row) for row in stored] == sorted(rows, key=lambda row: row["key"])


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            {k: v for k, v in record().items() if k != "created_at"}, id="a column left out"
        ),
        pytest.param({**record(), "extra": 1}, id="a column too many"),
        pytest.param(
            {**{k: v for k, v in record().items() if k != "body"}, "bodi": "x"}, id="a misspelt one"
        ),
    ],
)
async def test_a_row_that_does_not_give_exactly_the_columns_is_refused(
    db: object, row: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="gives exactly its columns"):
        await RECORDS.insert([row])

    assert await IdempotentResponse.all().count() == 0


async def test_a_value_too_long_for_its_column_is_refused_as_by_create(db: object) -> None:
    with pytest.raises(ValidationError, match=r"^key: Length of "):
        await RECORDS.insert([record(key="k" * 256)])
