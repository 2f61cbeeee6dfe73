"""An empty database per test, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`).

SQLite tests use an in-memory database. On PostgreSQL the run creates one database named
`pa_test_<random>` on the server of `TEST_DATABASE_URL`, with the models' schema, the first time a
test needs it, and every test starts by emptying its tables (one multi-statement DELETE with
foreign-key triggers off, and sequences restarted), so tests never see each other's rows and real
transactions and row locks are exercised. Creating a database and its schema per test costs about
0.37 s on PostgreSQL, emptying the tables about 5 ms: with two thousand tests, that is the
difference between a suite of 24 minutes and one of half that. The database is dropped when the run
ends (`drop_shared_database`, called from conftest).

`empty_database` still creates a database of its own, for tests that apply migrations or run
`serve` in another process.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext, set_global_context, tortoise_test_context
from tortoise.warnings import TortoiseLoopSwitchWarning

from partner_api.foundation.database import MODEL_MODULES

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://:memory:")


def on_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres://", "postgresql://", "asyncpg://"))


def _with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


async def _drop_postgres_database(url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(_with_database_name(url, "postgres")))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _create_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(
        asyncpg_dsn(_with_database_name(TEST_DATABASE_URL, "postgres"))
    )
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@asynccontextmanager
async def empty_database(sqlite_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database (no tables) nothing else uses: a SQLite file at
    `sqlite_path`, or on PostgreSQL a new database that is dropped afterwards."""
    if not on_postgres():
        yield f"sqlite://{sqlite_path}"
        return
    name = f"pa_test_{secrets.token_hex(6)}"
    await _create_postgres_database(name)
    try:
        yield _with_database_name(TEST_DATABASE_URL, name)
    finally:
        await _drop_postgres_database(TEST_DATABASE_URL, name)


class _SharedPostgresDatabase:
    """The run's one PostgreSQL test database: created with its schema on first use, emptied
    before each test."""

    def __init__(self) -> None:
        self.name: str | None = None
        self._emptying_sql = ""

    async def url(self) -> str:
        if self.name is None:
            self.name = f"pa_test_{secrets.token_hex(6)}"
            url = _with_database_name(TEST_DATABASE_URL, self.name)
            async with tortoise_test_context(MODEL_MODULES, db_url=url):
                pass
            self._emptying_sql = await self._read_emptying_sql(url)
        return _with_database_name(TEST_DATABASE_URL, self.name)

    @staticmethod
    async def _read_emptying_sql(url: str) -> str:
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            sequences = await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        finally:
            await connection.close()
        statements = [
            # Replica mode skips the foreign-key triggers, so the order of the DELETEs is free.
            "SET session_replication_role = replica",
            # The names come from the catalog, not from input.
            *(f'DELETE FROM "{row["tablename"]}"' for row in tables),  # noqa: S608
            *(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART' for row in sequences),
            "SET session_replication_role = origin",
        ]
        return "; ".join(statements)

    async def empty(self) -> str:
        url = await self.url()
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            async with connection.transaction():
                await connection.execute(self._emptying_sql)
        finally:
            await connection.close()
        return url

    async def drop(self) -> None:
        if self.name is not None:
            await _drop_postgres_database(TEST_DATABASE_URL, self.name)
            self.name = None


_shared_postgres = _SharedPostgresDatabase()


def drop_shared_database() -> None:
    """Drops the run's PostgreSQL test database, if a test created it."""
    if _shared_postgres.name is not None:
        asyncio.run(_shared_postgres.drop())


@asynccontextmanager
async def _connected(url: str) -> AsyncIterator[TortoiseContext]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=TortoiseLoopSwitchWarning)
        context = TortoiseContext()
        async with context:
            config = generate_config(url, app_modules={"models": MODEL_MODULES}, testing=True)
            await context.init(config=config, use_tz=True, timezone="UTC")
            yield context


@asynccontextmanager
async def fresh_database() -> AsyncIterator[TortoiseContext]:
    if on_postgres():
        database = _connected(await _shared_postgres.empty())
    else:
        database = tortoise_test_context(MODEL_MODULES, db_url=TEST_DATABASE_URL)
    async with database as context:
        # The app under test may run work in other tasks; let them find this context too.
        set_global_context(context)
        yield context
