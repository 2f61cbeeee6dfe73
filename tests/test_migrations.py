"""The committed migrations build the models' schema, are idempotent and match the models.

Runs against an empty SQLite file, or a freshly created PostgreSQL database when
`TEST_DATABASE_URL` points at PostgreSQL. `apply_migrations` closes Tortoise's global connections,
so these tests do not use the `db` fixture.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.models import Model

from models import all as all_models
from models.organisation import Organisation
from partner_api.foundation.database import apply_migrations, tortoise_config
from tests.database import asyncpg_dsn, empty_database

MODELS: list[type[Model]] = [getattr(all_models, name) for name in all_models.__all__]


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(tmp_path / "migrations.sqlite3") as url:
        yield url


async def _columns_by_table(url: str) -> dict[str, set[str]]:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as connection:
            tables = [
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return {
                table: {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}
                for table in tables
            }
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    columns: dict[str, set[str]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], set()).add(row["column_name"])
    return columns


def _assert_schema_matches_models(columns: dict[str, set[str]]) -> None:
    for model in MODELS:
        table = model._meta.db_table
        assert table in columns, f"migrations did not create {table}"
        expected = set(model._meta.fields_db_projection.values())
        assert columns[table] == expected, f"{table}: {columns[table] ^ expected}"


async def test_migrations_create_every_model_table_and_are_idempotent(
    empty_database_url: str,
) -> None:
    await apply_migrations(empty_database_url)
    _assert_schema_matches_models(await _columns_by_table(empty_database_url))

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(empty_database_url))
        await Organisation.create(name="Survives a second migrate")

    await apply_migrations(empty_database_url)
    _assert_schema_matches_models(await _columns_by_table(empty_database_url))
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(empty_database_url))
        assert await Organisation.filter(name="Survives a second migrate").count() == 1


async def test_committed_migrations_match_the_models(empty_database_url: str) -> None:
    """What `tortoise makemigrations` would do: it must find nothing left to write."""
    config = tortoise_config(empty_database_url)
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        autodetector = MigrationAutodetector(context.apps, config["apps"])
        writers = await autodetector.changes()
    pending = {writer.app_label: writer.operations for writer in writers}
    assert pending == {}, f"models changed without a migration: {pending}"
