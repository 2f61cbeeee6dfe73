"""A fresh database per test, on SQLite (default) or PostgreSQL (`TEST_DATABASE_URL`).

SQLite tests use an in-memory database. On PostgreSQL each test creates its own database named
`pa_test_<random>` on the server of `TEST_DATABASE_URL` and drops it afterwards, so tests never see
each other's rows and real transactions/row locks are exercised.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.context import TortoiseContext, set_global_context, tortoise_test_context

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


def fresh_database_url() -> tuple[str, str | None]:
    """A URL for a database no test has used yet, and its name when it must be dropped."""
    if not on_postgres():
        return TEST_DATABASE_URL, None
    name = f"pa_test_{secrets.token_hex(6)}"
    return _with_database_name(TEST_DATABASE_URL, name), name


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


@asynccontextmanager
async def fresh_database() -> AsyncIterator[TortoiseContext]:
    url, name = fresh_database_url()
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url) as context:
            # The app under test may run work in other tasks; let them find this context too.
            set_global_context(context)
            yield context
    finally:
        if name is not None:
            await _drop_postgres_database(TEST_DATABASE_URL, name)
