"""A bound on the request head (the URL and the headers) that `partner-api serve` accepts.

uvicorn's httptools protocol keeps no limit of its own: it gathers the URL and each header value
by concatenating every piece the parser hands over, so one connection can make the process hold
any number of bytes, at a cost that grows with the square of their count, before the application
sees a request (a 200 MB header took 84 s of CPU). Bodies are bounded where they are read
(partner_api/foundation/request_body.py); this protocol bounds what comes before them. A head whose
URL and
header lines (names, values and their separators) exceed MAX_HEAD_BYTES is answered 431 and the
connection closed, as uvicorn itself closes after a malformed request; one still arriving is
refused as soon as the bytes received for it pass the bound, so what is held stays below the
bound plus two reads from the socket (256 KiB each with uvloop)."""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from partner_api.foundation.error_body import error_body

# Like common front ends (nginx: 4 x 8 KiB; Node.js and h11: 16 KiB). An access token is at most
# 8 KiB (auth/partners/access_tokens.py MAX_TOKEN_LENGTH), a client's Basic header a few hundred
# bytes.
MAX_HEAD_BYTES = 32 * 1024
_BODY = orjson.dumps(
    error_body("invalid_request", f"The URL and headers exceed {MAX_HEAD_BYTES} bytes.")
)
# How long the rest of a refused head is read and dropped before the connection is closed.
LINGER_SECONDS = 2.0


class HeadBoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the head bound; everything else is uvicorn's."""

    # The size of the read being parsed.
    _read_bytes = 0
    # Bytes counted towards the current head: every read that begins while no body is being read
    # belongs to a head from its start. None from the end of a head to the end of its message.
    _head_bytes: int | None = 0
    # The head began inside a read that ended a message: at most this many of its bytes came in
    # that read, uncounted (the parser does not say where in a read a message ends).
    _uncounted = 0
    # The head is over the bound: the application is not called, and `_refuse` answers.
    _over = False
    _answered = False

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return  # the rest of a refused request, read only so that the answer arrives
        self._read_bytes = len(data)
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        unfinished_over = self._head_bytes is not None and self._head_bytes > MAX_HEAD_BYTES
        if (self._over or unfinished_over) and not self.transport.is_closing():
            self._refuse()

    def on_message_complete(self) -> None:
        self._head_bytes = 0
        self._uncounted = self._read_bytes
        if not self._over:
            super().on_message_complete()

    def on_headers_complete(self) -> None:
        most = (self._head_bytes or 0) + self._uncounted
        self._head_bytes = None
        self._uncounted = 0
        if self._over:
            return  # a request pipelined behind the refused one
        # Measured only when the count cannot rule it out: on the hot path it is one comparison.
        if most > MAX_HEAD_BYTES and self._head_size() > MAX_HEAD_BYTES:
            self._over = True
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._over:
            super().on_body(body)

    def _head_size(self) -> int:
        """The request target and the header lines, as uvicorn has gathered them."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _refuse(self) -> None:
        """RFC 6585 §5, written here since the application never saw the request. Closing at
        once would lose the answer: with the client's bytes still unread, the kernel resets the
        connection. So the write side is closed after the answer, and whatever the client still
        sends is read and dropped until it closes or LINGER_SECONDS pass."""
        self._answered = True
        if self.cycle is not None and not self.cycle.response_complete:
            # Pipelined behind a request still being answered: an answer now would be written
            # into the middle of that one's, so the connection just ends.
            self.transport.close()
            return
        content = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(_BODY),
                b"cache-control: no-store\r\n",
                b"connection: close\r\n",
                b"\r\n",
                _BODY,
            ]
        )
        self.transport.write(b"".join(content))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
