"""One log line for an event on a hot path, at the cost of the line alone.

The token endpoint writes `access token issued` for every token (SECURITY.md LG-01). Through
`Logger.info` the logging module makes a LogRecord (two dozen attributes), walks the logger
hierarchy, runs filters and takes the handler's lock before the formatter reads the record back:
about 20 µs a line in-process, a third of a token request with the reuse window on. `log_event`
asks the one handler the line would reach to write it from its fields when that handler can
(`EventLineHandler`, the service's own: partner_api/web/observability/log_handler.py); the line
is the one the handler's formatter gives the record `Logger.log(level, message, extra=fields)`
would make. Anything else on the way (another handler, such as pytest's capture, a filter on a
logger, a disabled logger) sends it through `Logger.log` as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any


class EventLineHandler(logging.Handler):
    """A handler that can write an event's line without a LogRecord."""

    def write_event(
        self, level: int, logger_name: str, message: str, fields: Mapping[str, Any]
    ) -> bool:
        """Write the line, or answer False (nothing written) when the record must be made."""
        return False


def log_event(logger: logging.Logger, level: int, message: str, fields: Mapping[str, Any]) -> None:
    """`logger.log(level, message, extra=fields)`, through the sole handler's shortcut when it
    has one. `message` is used as it is (no %-arguments)."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_handler(logger)
    if (
        handler is None
        or level < handler.level
        or not handler.write_event(level, logger.name, message, fields)
    ):
        logger.log(level, message, extra=dict(fields))


def _sole_handler(logger: logging.Logger) -> EventLineHandler | None:
    """The one handler a record of `logger` would reach, when it is an EventLineHandler and no
    logger on the way filters or is disabled."""
    found: EventLineHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None or not isinstance(handler, EventLineHandler):
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    return found
