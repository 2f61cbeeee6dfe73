"""Reading a request body with a hard size bound, straight from the ASGI channel.

A declared Content-Length can be checked up front, but a chunked body declares none, so every
reader counts what arrives and stops at the bound. (Reading from `receive` also skips Starlette's
stream generator, which costs more than the parse on the token endpoint's hot path.)
"""

from __future__ import annotations

from starlette.types import Receive


async def read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it exceeds `limit` bytes. A disconnect ends the body early."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body.extend(message.get("body", b""))
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)
