"""Log formatting: one JSON object per line (production default) or readable text (development),
both carrying the request id and both passed through the credential scrubber.

`logging_config(settings)` is the `logging.config.dictConfig` document `partner-api serve` hands
to uvicorn, so uvicorn's own loggers and every worker process format the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple

import orjson

from partner_api.foundation.settings import Settings
from partner_api.web.observability.scrubbing import scrub, scrub_value

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_INIT = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
_RECORD_INIT_ATTRIBUTES = len(_RECORD_INIT)
_STANDARD_ATTRIBUTES = frozenset(_RECORD_INIT) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    # uvicorn repeats its message with terminal colour codes here.
    "color_message",
}


# The formatted second, kept while records arrive within it (most do, under load).
_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds: `2026-11-30T09:16:16.117Z`."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    milliseconds = int((created - whole) * 1000)
    return f"{_second[1]}.{milliseconds:03d}Z"


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = record.__dict__
    # `LogRecord.__init__` sets the standard attributes first, always the same ones in the same
    # order; `extra=` and filters add theirs after. So only the tail is looked at, in order (a
    # kind of line always reads the same way).
    return {
        key: scrub_value(value, key)
        for key, value in islice(fields.items(), _RECORD_INIT_ATTRIBUTES, None)
        if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
    }


def _given_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` as `_extra_fields` would find them on a record made with `extra=fields`."""
    return {
        key: scrub_value(value, key)
        for key, value in fields.items()
        if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
    }


def _lean_records() -> None:
    """Neither format prints the caller's file, line or function, the thread or the process, so
    the logging module is told not to collect them for each record (the logging HOWTO's
    "Optimization" section): about 5 µs of the ~30 µs of the `access token issued` line, which
    every token request writes (SECURITY.md LG-01)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class LineParts(NamedTuple):
    """What a line says, from a record or given without one."""

    created: float
    level_name: str
    logger_name: str
    message: str
    request_id: str | None
    fields: dict[str, Any]


def _record_parts(record: logging.LogRecord) -> LineParts:
    return LineParts(
        record.created,
        record.levelname,
        record.name,
        record.getMessage(),
        getattr(record, "request_id", None),
        _extra_fields(record),
    )


class _LineFormatter(logging.Formatter):
    """A formatter that writes a line from its parts: a record's, or the same parts given without
    a record (`format_fields`, for partner_api/foundation/event_log.py)."""

    def __init__(self) -> None:
        super().__init__()
        _lean_records()

    def _line(self, parts: LineParts) -> str:
        raise NotImplementedError

    def format_fields(
        self,
        created: float,
        level: int,
        logger_name: str,
        message: str,
        request_id: str | None,
        fields: Mapping[str, Any],
    ) -> str:
        """The line `format` gives a record of these (no exception, no stack)."""
        level_name = logging.getLevelName(level)
        given = _given_fields(fields)
        return self._line(LineParts(created, level_name, logger_name, message, request_id, given))


class JsonFormatter(_LineFormatter):
    """`{"time", "level", "logger", "message", "request_id"?, <extra fields>, "exc_type"?,
    "traceback"?}` on one line; every string value scrubbed of credentials."""

    def _line(self, parts: LineParts) -> str:
        return _json_line(_json_head(parts))

    def format(self, record: logging.LogRecord) -> str:
        payload = _json_head(_record_parts(record))
        if record.exc_info and record.exc_info[0] is not None:
            payload["exc_type"] = record.exc_info[0].__name__
            payload["traceback"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            payload["stack"] = scrub(self.formatStack(record.stack_info))
        return _json_line(payload)


def _json_head(parts: LineParts) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "time": _timestamp(parts.created),
        "level": parts.level_name,
        "logger": parts.logger_name,
        "message": scrub(parts.message),
    }
    if parts.request_id is not None:
        payload["request_id"] = parts.request_id
    for key, value in parts.fields.items():
        payload.setdefault(key, value)
    return payload


def _json_line(payload: dict[str, Any]) -> str:
    """One JSON line: orjson for the usual line; the standard library for the rare one orjson
    would write otherwise: non-ASCII text (a credential's name, say) goes out as \\u escapes so a
    line is ASCII whatever it carries, and an integer beyond 64 bits is written, not refused."""
    try:
        line = orjson.dumps(payload, default=str)
        if line.isascii():
            return line.decode("ascii")
    except orjson.JSONEncodeError:
        pass
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":"), default=str)


class TextFormatter(_LineFormatter):
    """`time level logger [request id] message key=value …`, scrubbed like the JSON lines."""

    def _line(self, parts: LineParts) -> str:
        words = [_timestamp(parts.created), parts.level_name, parts.logger_name]
        if parts.request_id is not None:
            words.append(f"[{parts.request_id}]")
        words.append(scrub(parts.message))
        words.extend(f"{key}={value}" for key, value in parts.fields.items())
        return " ".join(words)

    def format(self, record: logging.LogRecord) -> str:
        text = self._line(_record_parts(record))
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + scrub(self.formatException(record.exc_info))
        if record.stack_info:
            text += "\n" + scrub(self.formatStack(record.stack_info))
        return text


def logging_config(settings: Settings) -> dict[str, Any]:
    """Everything, uvicorn included, to stderr through one handler with the request-id filter."""
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "partner_api.web.observability.request_id.RequestIdFilter"}
        },
        "formatters": {
            "json": {"()": "partner_api.web.observability.log_format.JsonFormatter"},
            "text": {"()": "partner_api.web.observability.log_format.TextFormatter"},
        },
        "handlers": {
            "stderr": {
                "class": "partner_api.web.observability.log_handler.BatchingStreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": settings.log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Propagate to the root handler instead of uvicorn's own plain-text handlers.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # Off in any case (`access_log=False`): it prints whole URLs (LG-02).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
