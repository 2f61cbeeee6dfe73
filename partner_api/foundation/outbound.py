"""Outbound HTTP requests (webhook deliveries, GitHub's secret-scanning keys, later JWKS-URI
fetches) under WH-03.

`post` and `get` never raise for a network problem or a refusal: each returns an
`OutboundResult` whose `error` says what went wrong, for the delivery log. Every connection goes
through `VettingBackend`, which resolves the host itself, checks every answer with
`outbound_policy.address_kind` and connects to the checked address, so the check happens on
each attempt after DNS and a name rebound to an internal address is refused. TLS still verifies
the certificate against the URL's host name: httpcore passes it to `start_tls` separately.

    post | get
     ├── check_url                        refused: <reason>
     └── httpx.AsyncClient (no redirects, no proxies from the environment)
          └── VettingBackend.connect_tcp   refused: <reason> | DNS error
               └── httpcore.AnyIOBackend   connect error | TLS error | timeout
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from partner_api.foundation.outbound_policy import (
    IPAddress,
    OutboundPolicy,
    OutboundRefused,
    address_kind,
    check_url,
    describe,
    literal_address,
)

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024


class UnresolvableHost(httpcore.ConnectError):
    """The host name has no address; a connect error to httpx, "DNS error" in the result."""


@dataclass(frozen=True)
class OutboundResult:
    """One attempt: `error` is None exactly when the receiver answered 2xx."""

    status_code: int | None
    latency_ms: int
    error: str | None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error is None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnresolvableHost(f"could not resolve {host}") from exc
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in answers:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = literal_address(str(sockaddr[0]))
            if address is not None and address not in addresses:
                addresses.append(address)
    if not addresses:
        raise UnresolvableHost(f"could not resolve {host}")
    return addresses


class VettingBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    Refuses when ANY address of the host is not allowed, rather than picking the allowed ones:
    a name that answers with an internal address is not a public receiver."""

    def __init__(
        self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        for address in addresses:
            kind = address_kind(address, self._policy)
            if kind is None:
                continue
            if literal_address(host) is not None:
                raise OutboundRefused(f"address {describe(address)} is {kind}")
            raise OutboundRefused(f"{host} resolves to {describe(address)}, which is {kind}")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)


class _VettedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: OutboundPolicy, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx has no parameter for httpcore's network backend, so the pool it built (with the
        # same settings) is replaced by one that connects through the vetting backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=VettingBackend(policy)
        )


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The `kind` exception behind `exc`. The context counts too: httpcore's pool re-raises
    with `from None`, which drops the cause but keeps the context."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: httpx.TransportError) -> str:
    tls = _cause(exc, ssl.SSLError)
    if isinstance(tls, ssl.SSLCertVerificationError) and tls.verify_message:
        return f"TLS error: {tls.verify_message}"
    if tls is not None:
        return "TLS error"
    if _cause(exc, UnresolvableHost) is not None:
        return "DNS error"
    if isinstance(exc, httpx.ConnectError):
        return "connect error"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol error"
    return "network error"


def _status_error(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"redirect not followed ({status})"
    return f"unexpected status {status}"


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body, as sent (no decompression, so no zip bomb)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    policy: OutboundPolicy,
    *,
    # The whole attempt's budget, enforced inside with asyncio.timeout.
    timeout: float = DEFAULT_TIMEOUT_SECONDS,  # noqa: ASYNC109
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundResult:
    """POST `body` to `url` once, within `timeout` seconds in total; never follows a redirect.

    `ssl_context` replaces the default trust store (certifi), for receivers signed by a private
    certificate authority and for tests."""
    return await _send(
        "POST",
        url,
        body,
        headers,
        policy,
        timeout=timeout,
        max_response_bytes=max_response_bytes,
        ssl_context=ssl_context,
    )


async def get(
    url: str,
    headers: dict[str, str],
    policy: OutboundPolicy,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,  # noqa: ASYNC109
    max_response_bytes: int = MAX_RESPONSE_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundResult:
    """GET `url` once (a published key set, say), under the same rules as `post`: the URL and
    every address vetted, no redirects, `timeout` for the whole attempt, the body capped."""
    return await _send(
        "GET",
        url,
        None,
        headers,
        policy,
        timeout=timeout,
        max_response_bytes=max_response_bytes,
        ssl_context=ssl_context,
    )


async def _send(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    policy: OutboundPolicy,
    *,
    timeout: float,  # noqa: ASYNC109
    max_response_bytes: int,
    ssl_context: ssl.SSLContext | None,
) -> OutboundResult:
    started = time.perf_counter()

    def finished(status: int | None, error: str | None, received: bytes = b"") -> OutboundResult:
        latency_ms = round((time.perf_counter() - started) * 1000)
        return OutboundResult(status, latency_ms, error, received)

    try:
        url = check_url(url, policy)
    except OutboundRefused as exc:
        return finished(None, f"refused: {exc.reason}")
    transport = _VettedTransport(policy, ssl_context or _default_ssl_context())
    client = httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, timeout=timeout
    )
    request_headers = httpx.Headers(headers)
    # Identity encoding: the cap then bounds what is held in memory, not a compressed prefix.
    request_headers["accept-encoding"] = "identity"
    try:
        async with (
            asyncio.timeout(timeout),
            client,
            client.stream(method, url, content=body, headers=request_headers) as answer,
        ):
            received = await _read_capped(answer, max_response_bytes)
    except OutboundRefused as exc:
        return finished(None, f"refused: {exc.reason}")
    except (TimeoutError, httpx.TimeoutException):
        return finished(None, "timeout")
    except httpx.TransportError as exc:
        return finished(None, _describe(exc))
    return finished(answer.status_code, _status_error(answer.status_code), received)
