"""The log handler every process writes through: lines go to the stream in order, one write per
event-loop turn instead of one per line.

`logging.StreamHandler` writes and flushes each record: on a line-buffered stderr that is one
`write` system call per line, and the token endpoint writes a line per token (SECURITY.md
LG-01). Measured with `bench.run_all --only token/100` (reuse window on), the line cost 0.14 of
the endpoint's ratio against the bare form endpoint; this handler won back 0.03 of it and the
shortcut of partner_api/foundation/event_log.py another 0.04. Here a line written on the event
loop's thread joins the lines of the same loop turn, and the turn's lines are written with one
call scheduled with `call_soon`: they reach the stream before the loop runs anything else that
was not already due, well within a millisecond.

Nothing is held back where it matters: a line at WARNING or above, a line written outside a
running event loop (start-up, shutdown, another thread), and `flush()` (which
`logging.shutdown` calls at exit) write everything pending at once, in order. What a killed
process (SIGKILL) can lose is the current loop turn's lines, which a plain StreamHandler would
have written a few microseconds earlier.

It is also the `EventLineHandler` partner_api/foundation/event_log.py writes hot lines through:
the same line as for the record, without making the record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, TextIO

from partner_api.foundation.event_log import EventLineHandler
from partner_api.web.observability.log_format import JsonFormatter, TextFormatter
from partner_api.web.observability.request_id import RequestIdFilter, current_request_id


class BatchingStreamHandler(logging.StreamHandler[TextIO], EventLineHandler):
    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock around this call.
        try:
            self._queue(self.format(record) + self.terminator, record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_event(
        self, level: int, logger_name: str, message: str, fields: Mapping[str, Any]
    ) -> bool:
        """The line `emit` writes for the record `Logger.log(level, message, extra=fields)`
        makes, without making it: with this service's formatters and request-id filter only."""
        formatter = self.formatter
        if not isinstance(formatter, JsonFormatter | TextFormatter):
            return False
        request_id = None
        for one in self.filters:
            if not isinstance(one, RequestIdFilter):
                return False
            request_id = current_request_id.get()
        try:
            line = formatter.format_fields(
                time.time(), level, logger_name, message, request_id, fields
            )
        except Exception:
            return False  # the record's own path reports it, as for any record
        with self.lock:  # type: ignore[union-attr]
            try:
                self._queue(line + self.terminator, level)
            except Exception:
                # As `emit` does: a broken stream is reported, never raised into the request.
                self.handleError(
                    logging.makeLogRecord({"name": logger_name, "levelno": level, "msg": message})
                )
        return True

    def _queue(self, line: str, level: int) -> None:
        self._pending.append(line)
        if level >= logging.WARNING:
            self._write_pending()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_pending()
            return
        if len(self._pending) == 1 or self._loop is not loop:
            self._loop = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.stream.write(text)
        if self.stream and hasattr(self.stream, "flush"):
            self.stream.flush()
