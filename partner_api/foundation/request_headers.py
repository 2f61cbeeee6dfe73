"""Reading a header that must occur once (RFC 9110 §5.3) straight from the raw ASGI header list.

With two `Authorization` headers, which one the framework, a proxy in front or a logging layer
picks is a guess, so the request is refused rather than answered for whichever comes first
(RS-11). The list is scanned once, with nothing built on the way: the Partner API's hot path reads
its token this way, without Starlette's `Headers`.
"""

from __future__ import annotations

from collections.abc import Iterable


class RepeatedHeader(Exception):
    """The header occurs more than once."""


def single_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The raw value of the header `name` (lower-case, as ASGI servers give names), None when it
    is absent; RepeatedHeader when it occurs more than once."""
    found: bytes | None = None
    for header, value in headers:
        if header == name:
            if found is not None:
                raise RepeatedHeader(name.decode("latin-1"))
            found = value
    return found
