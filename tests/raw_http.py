"""HTTP/1.1 requests written byte for byte to a live server, and their answers read back.

For what a client library will not send or sends slowly: a head of tens of thousands of headers
(httpx's cookie handling is quadratic in the request's header count), a header repeated, a head
beyond the server's bound, a Content-Length that lies. Every request closes its connection, so
the answer is whatever arrives until the server closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

Header = tuple[bytes, bytes]


def http_request(
    method: str,
    target: bytes,
    *,
    headers: Sequence[Header] = (),
    body: bytes | None = None,
) -> bytes:
    """The bytes of one request; Host, `Connection: close` and (with a body) Content-Length are
    added, every other header is sent exactly as given."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1"]
    lines.append(b"connection: close")
    if body is not None:
        lines.append(b"content-length: %d" % len(body))
    lines.extend(name + b": " + value for name, value in headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def _response(raw: bytes) -> httpx.Response:
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete answer: {raw[:200]!r}"
    status_line, *header_lines = head.split(b"\r\n")
    headers = [
        (name.strip(), value.strip())
        for name, _, value in (line.partition(b":") for line in header_lines)
    ]
    assert (b"transfer-encoding", b"chunked") not in headers, "chunked answers are not read here"
    return httpx.Response(int(status_line.split(b" ")[1]), headers=headers, content=body)


async def send_raw(base_url: str, request: bytes) -> httpx.Response:
    """Write `request` to the server of `base_url` and read the answer until the server closes.

    A server may answer before it has read everything (a refused head or body) and then close,
    so a write that fails is not an error: the answer, if one came, is still read."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        try:
            writer.write(request)
            await writer.drain()
        except ConnectionError:
            pass  # the server stopped reading; its answer, if any, is still to be read
        try:
            raw = await reader.read()
        except ConnectionError:
            raw = b""
    finally:
        writer.close()
    return _response(raw)
