"""Tortoise ORM configuration and the schema migrations (Tortoise's built-in migration engine).

Migrations live in `models/migrations/`; `partner-api migrate` and `partner-api serve` apply them,
under `schema_lock` so that processes starting together do not race (docs/multi-process.md).
`TORTOISE_ORM` is what `tortoise makemigrations` reads (see pyproject `[tool.tortoise]`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate

from partner_api.foundation.development_keys import sqlite_file

MODEL_MODULES = ["models.all"]
MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its directory (the default lives under ./var/)."""
    path = sqlite_file(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


async def apply_migrations(database_url: str) -> None:
    """Bring the database schema up to date; safe to run on every start."""
    ensure_sqlite_directory(database_url)
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


# The pg_advisory_lock key for "changing the schema or the signing keys": a fixed 64-bit number
# nothing else on the server is likely to use (the ASCII bytes of "partnera").
SCHEMA_LOCK_KEY = int.from_bytes(b"partnera", "big")


def _sqlite_path(database_url: str) -> str | None:
    credentials = expand_db_url(database_url)["credentials"]
    path: str = credentials.get("file_path", "")
    return None if not path or path == ":memory:" else path


@asynccontextmanager
async def schema_lock(database_url: str) -> AsyncIterator[None]:
    """Hold an exclusive, cross-process lock while migrating and provisioning signing keys.

    Two processes starting at once on an empty database would otherwise both apply the first
    migration (PostgreSQL answers the loser with a duplicate `pg_type` error) or both create an
    "only" active signing key. On PostgreSQL this is a session-level advisory lock on a separate
    connection, so the server releases it if the holder dies; on SQLite (one host) an exclusive
    `flock` on a file next to the database. Other waiters block until the holder is done.
    """
    engine = expand_db_url(database_url)["engine"]
    if engine in ("tortoise.backends.asyncpg", "tortoise.backends.psycopg"):
        async with _postgres_advisory_lock(database_url):
            yield
    elif engine == "tortoise.backends.sqlite" and (path := _sqlite_path(database_url)):
        async with _file_lock(Path(f"{path}.lock")):
            yield
    else:  # an in-memory database belongs to one process: nothing to serialise
        yield


@asynccontextmanager
async def _postgres_advisory_lock(database_url: str) -> AsyncIterator[None]:
    credentials = expand_db_url(database_url)["credentials"]
    connection = await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
        ssl=credentials.get("ssl"),
    )
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", SCHEMA_LOCK_KEY)
        try:
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", SCHEMA_LOCK_KEY)
    finally:
        await connection.close()


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # flock blocks; wait in a thread so the event loop stays responsive meanwhile.
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


async def database_is_reachable() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://var/partner-api.sqlite3"))
