"""Tortoise ORM configuration and the schema migrations (Tortoise's built-in migration engine).

Migrations live in `models/migrations/`; `partner-api migrate` and `partner-api serve` apply them.
`TORTOISE_ORM` is what `tortoise makemigrations` reads (see pyproject `[tool.tortoise]`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

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
    prefix = "sqlite://"
    if database_url.startswith(prefix):
        path = database_url[len(prefix) :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def apply_migrations(database_url: str) -> None:
    """Bring the database schema up to date; safe to run on every start."""
    ensure_sqlite_directory(database_url)
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


async def database_is_reachable() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://var/partner-api.sqlite3"))
