"""Security headers on every HTTP response (issue 6, production configuration).

Pages set their own strict Content-Security-Policy (the admin page, /docs); this layer adds what
every response needs and a page might forget:

- `X-Content-Type-Options: nosniff`, so a JSON error is never sniffed into HTML;
- frame denial (`X-Frame-Options: DENY`; the pages' CSPs also say `frame-ancestors 'none'`);
- `Referrer-Policy: no-referrer`;
- for responses that are not HTML and carry no policy of their own (the APIs),
  `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: an API answer opened in a
  browser can run nothing;
- in production, `Strict-Transport-Security` (the issuer is https there; `PARTNER_API_HSTS_SECONDS`,
  0 turns it off, e.g. while a proxy adds its own).

A header the response already has is left alone. It is a plain ASGI wrapper that only appends to
the header list of `http.response.start`, so the partners' hot paths pay a few list operations.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = b"default-src 'none'; frame-ancestors 'none'"


def _always(hsts_seconds: int) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if hsts_seconds > 0:
        headers.append(
            (b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode())
        )
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int) -> None:
        self.app = app
        self._always = _always(hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        always = self._always

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in always if header[0] not in present)
                if b"content-security-policy" not in present and not _is_html(headers):
                    headers.append((b"content-security-policy", API_CONTENT_SECURITY_POLICY))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False
