"""Where the database is: `DATABASE_URL`, else the SQLite file in the data directory."""

from __future__ import annotations

from pathlib import Path

from partner_api.foundation.settings_reader import ConfigurationError, EnvironmentReader

DATABASE_SCHEMES = ("sqlite://", "postgres://", "postgresql://", "asyncpg://")
DEFAULT_DATA_DIR = Path("var")


def default_database_url(data_dir: Path) -> str:
    """The SQLite file in the data directory, the database when DATABASE_URL is unset."""
    return f"sqlite://{data_dir}/partner-api.sqlite3"


def read_database_url(reader: EnvironmentReader, data_dir: Path) -> str:
    database_url = reader.text("DATABASE_URL", default_database_url(data_dir))
    if not database_url.startswith(DATABASE_SCHEMES):
        raise ConfigurationError(
            "DATABASE_URL must start with sqlite:// or postgres:// (PostgreSQL via asyncpg)"
        )
    return database_url
