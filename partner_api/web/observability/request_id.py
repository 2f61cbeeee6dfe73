"""The request id: one per HTTP request, on every log record emitted while handling it.

A well-formed incoming `X-Request-Id` (from a load balancer or the partner) is kept so one id
follows a request across systems; anything else is replaced by a fresh random id. The id lives
in a context variable, which asyncio copies into the task that handles the request, and
`RequestIdFilter` copies it onto each log record.
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar

HEADER = b"x-request-id"
MAX_LENGTH = 128
# Letters, digits and the separators of UUIDs and common trace ids; nothing that could forge
# another log field or header.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,%d}" % MAX_LENGTH)

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


# Ids are cut from a batch of CSPRNG output (one getrandom call per 256 ids, not one per request).
_ID_BYTES = 16
_BATCH_IDS = 256
_batch = ""
_next = 0


def new_request_id() -> str:
    """128 random bits as 32 hex digits."""
    global _batch, _next
    start = _next
    if start >= len(_batch):
        _batch, start = os.urandom(_ID_BYTES * _BATCH_IDS).hex(), 0
    _next = end = start + 2 * _ID_BYTES
    return _batch[start:end]


def _forget_batch() -> None:
    """A forked child must not hand out the ids its parent still holds."""
    global _batch, _next
    _batch, _next = "", 0


os.register_at_fork(after_in_child=_forget_batch)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The incoming id when it is well-formed, else a new one (ASGI raw headers)."""
    for name, value in headers:
        if name == HEADER:
            if _WELL_FORMED.fullmatch(value):
                return value.decode("ascii")
            break
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request) to every record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
