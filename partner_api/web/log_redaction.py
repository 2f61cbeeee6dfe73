"""Keep stored values out of logs (SECURITY.md CR-02, LG-02).

The database drivers log every statement *with its parameters* at DEBUG level, which would put
secret hashes, session digests and password hashes into logs whenever someone turns DEBUG on.
Those records are dropped; everything else logs as configured.
"""

from __future__ import annotations

import logging

# Loggers that log SQL parameters at DEBUG.
PARAMETER_LOGGERS = ("tortoise.db_client", "aiosqlite", "asyncpg")


class DropParameterLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_FILTER = DropParameterLogs()


def install() -> None:
    """Idempotent: attach the filter to every logger that logs SQL parameters."""
    for name in PARAMETER_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
