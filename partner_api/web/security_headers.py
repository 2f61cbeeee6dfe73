"""Security headers on every HTTP response, with HSTS added in production.

Pages set their own strict Content-Security-Policy (the admin page, /docs); this policy adds what
every response needs and a page might forget:

- `X-Content-Type-Options: nosniff`, so a JSON error is never sniffed into HTML;
- frame denial (`X-Frame-Options: DENY`; the pages' CSPs also say `frame-ancestors 'none'`);
- `Referrer-Policy: no-referrer`;
- for responses that are not HTML and carry no policy of their own (the APIs),
  `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: an API answer opened in a
  browser can run nothing;
- in production, `Strict-Transport-Security` (the issuer is https there; `PARTNER_API_HSTS_SECONDS`,
  0 turns it off, e.g. while a proxy adds its own).

A header the response already has is left alone. `SecurityHeaderPolicy` is not a middleware of its
own: the request middleware (partner_api/web/observability/middleware.py) already rewrites the
header
list of every `http.response.start`, and applies the policy in that same pass, so the partners'
hot paths build one new header list per response instead of one per layer. Header names compare
as they are: ASGI requires them lower-case, and Starlette and Strawberry emit them so.
"""

from __future__ import annotations

from collections.abc import Iterable

Header = tuple[bytes, bytes]

API_CONTENT_SECURITY_POLICY = b"default-src 'none'; frame-ancestors 'none'"
_CSP = b"content-security-policy"
_CONTENT_TYPE = b"content-type"


def _always(hsts_seconds: int) -> tuple[Header, ...]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if hsts_seconds > 0:
        headers.append(
            (b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode())
        )
    return tuple(headers)


class SecurityHeaderPolicy:
    """The security headers of one configuration, encoded once at start-up."""

    __slots__ = ("_always", "_api_csp", "_watched")

    def __init__(self, *, hsts_seconds: int) -> None:
        self._always = _always(hsts_seconds)
        # The only names whose presence changes what is added.
        self._watched = frozenset({*(name for name, _ in self._always), _CSP, _CONTENT_TYPE})
        self._api_csp: Header = (_CSP, API_CONTENT_SECURITY_POLICY)

    def with_security_headers(self, headers: Iterable[Header], last: Header) -> list[Header]:
        """A new list: `headers`, the security headers they lack, then `last` (the request id).
        The response's own list is not changed: a response object may be sent more than once."""
        present: set[bytes] | None = None
        content_type: bytes | None = None
        has_policy = False
        watched = self._watched
        result = list(headers)
        for name, value in result:
            if name in watched:
                if name == _CONTENT_TYPE:
                    if content_type is None:  # the first one decides, as a browser would read it
                        content_type = value
                elif name == _CSP:
                    has_policy = True
                else:
                    if present is None:
                        present = set()
                    present.add(name)
        if present is None:
            result.extend(self._always)
        else:
            result.extend(header for header in self._always if header[0] not in present)
        if not has_policy and (
            content_type is None or not content_type.lower().startswith(b"text/html")
        ):
            result.append(self._api_csp)
        result.append(last)
        return result
