"""Outbound requests (SECURITY-PLANNED.md WH-03): where webhooks and JWKS fetches may go.

The URL checks run without the network. Deliveries go to small Starlette receivers served by
uvicorn in this process on 127.0.0.1, which only development allows; production's address rules
are proven with DNS answers substituted for `socket.getaddrinfo`, the resolver asyncio uses.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from partner_api.foundation.outbound import VettingBackend, post
from partner_api.foundation.outbound_policy import (
    OutboundPolicy,
    OutboundRefused,
    address_allowed,
    check_url,
)
from tests.live_process import free_port
from tests.local_server import serve_locally

PRODUCTION = OutboundPolicy(production=True)
DEVELOPMENT = OutboundPolicy(production=False)
REBOUND_NAME = "hooks.example.test"


def refusal(url: str, policy: OutboundPolicy) -> str:
    with pytest.raises(OutboundRefused) as refused:
        check_url(url, policy)
    return refused.value.reason


@asynccontextmanager
async def receiver(
    app: ASGIApp, *, certificate: tuple[Path, Path] | None = None
) -> AsyncIterator[int]:
    """Serve `app` on 127.0.0.1 for the block; yields the port."""
    async with serve_locally(app, certificate=certificate, http="h11") as port:
        yield port


def recording_app(received: list[Request], bodies: list[bytes]) -> Starlette:
    async def hook(request: Request) -> Response:
        received.append(request)
        bodies.append(await request.body())
        await asyncio.sleep(0.2)
        return PlainTextResponse("thanks", status_code=202)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def fake_dns(monkeypatch: pytest.MonkeyPatch, name: str, *answers: list[str]) -> None:
    """`name` resolves to each answer in turn (the last one stays); other names resolve as usual."""
    real = socket.getaddrinfo
    pending = list(answers)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != name:
            return real(host, port, *args, **kwargs)
        addresses = pending.pop(0) if len(pending) > 1 else pending[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the socket layer: records where the vetting backend connects."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return httpcore.AsyncNetworkStream()


# --- registration: the URL's form --------------------------------------------------------------


def test_wh03_public_https_url_is_accepted_and_normalised() -> None:
    url = "HTTPS://Hooks.Example.COM/in/ünï?event=order.paid"
    assert (
        check_url(url, PRODUCTION) == "https://hooks.example.com/in/%C3%BCn%C3%AF?event=order.paid"
    )
    assert check_url("https://例え.jp/hook", PRODUCTION) == "https://xn--r8jz45g.jp/hook"


def test_wh03_production_refuses_http_and_development_allows_it() -> None:
    assert refusal("http://hooks.example.com/", PRODUCTION) == (
        "URL must be an absolute https:// URL"
    )
    assert check_url("http://hooks.example.com/", DEVELOPMENT) == "http://hooks.example.com/"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://hooks.example.com:70/",
        "//hooks.example.com/hook",
        "/hook",
        "hooks.example.com/hook",
        "https:hooks.example.com",
        "",
    ],
)
def test_wh03_other_schemes_and_relative_urls_are_refused(url: str) -> None:
    assert refusal(url, PRODUCTION) == "URL must be an absolute https:// URL"
    assert refusal(url, DEVELOPMENT) == "URL must be an absolute http:// or https:// URL"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@hooks.example.com/",
        "https://token@hooks.example.com/",
        "https://@hooks.example.com/",
        "https://hooks.example.com:443@internal.example.com/",
    ],
)
def test_wh03_user_info_is_refused(url: str) -> None:
    assert refusal(url, PRODUCTION) == "URL must not contain a user name or password"
    assert refusal(url, DEVELOPMENT) == "URL must not contain a user name or password"


@pytest.mark.parametrize("url", ["https://hooks.example.com/#x", "https://hooks.example.com#"])
def test_wh03_fragment_is_refused(url: str) -> None:
    assert refusal(url, PRODUCTION) == "URL must not contain a fragment (#...)"


def test_wh03_url_longer_than_2000_characters_is_refused() -> None:
    prefix = "https://hooks.example.com/"
    longest = prefix + "a" * (2000 - len(prefix))
    assert check_url(longest, PRODUCTION) == longest
    assert refusal(longest + "a", PRODUCTION) == "URL is longer than 2000 characters"
    # Percent-encoding may lengthen a URL; the stored, normalised form obeys the bound too.
    assert refusal(prefix + "é" * 1000, PRODUCTION) == "URL is longer than 2000 characters"


@pytest.mark.parametrize("character", [" ", "\t", "\n", "\r", "\x00", "\x7f", "\u200b", "\u2028"])
def test_wh03_whitespace_and_control_characters_are_refused(character: str) -> None:
    url = f"https://hooks.example.com/in{character}side"
    assert refusal(url, PRODUCTION) == "URL contains a space or control character"


def test_wh03_ambiguous_hosts_and_ports_are_refused() -> None:
    # A browser reads this host as hooks.example.com, httpx as internal.example.com.
    backslash = "https://hooks.example.com\\@internal.example.com/"
    assert refusal(backslash, PRODUCTION) == "URL contains a backslash"
    assert refusal("https:///hook", PRODUCTION) == "URL has no host"
    assert refusal("https://hooks.example.com:99999/", PRODUCTION) == "URL has an invalid port"
    assert refusal("https://hooks%2eexample.com/", PRODUCTION) == "URL has an invalid host name"


# --- registration: literal addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("[fc00::1]", "private"),
        ("[fec0::1]", "private"),
        ("100.64.0.1", "carrier-grade NAT (shared address space)"),
        ("169.254.1.1", "link-local"),
        ("[fe80::1]", "link-local"),
        ("169.254.169.254", "a cloud metadata address"),
        ("[fd00:ec2::254]", "a cloud metadata address"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("[::]", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("[ff02::1]", "multicast"),
        ("240.0.0.1", "private"),
        ("[2001:db8::1]", "private"),
        # IPv4-mapped, 6to4 and NAT64 forms lead to the IPv4 address they carry.
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:10.0.0.5]", "private"),
        ("[::ffff:169.254.169.254]", "a cloud metadata address"),
        ("[2002:7f00:1::]", "loopback"),
        ("[64:ff9b::a00:5]", "private"),
    ],
)
def test_wh03_literal_internal_addresses_are_refused_in_production(host: str, kind: str) -> None:
    reason = refusal(f"https://{host}/hook", PRODUCTION)
    assert reason.startswith("address ")
    assert reason.endswith(f" is {kind}")


@pytest.mark.parametrize(
    "host", ["93.184.215.14", "[2606:4700::1111]", "[::ffff:93.184.215.14]", "[64:ff9b::5db8:d70e]"]
)
def test_wh03_literal_public_addresses_are_accepted_in_production(host: str) -> None:
    assert check_url(f"https://{host}/hook", PRODUCTION) == f"https://{host}/hook"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://localhost:8080/hook",
    ],
)
def test_wh03_loopback_and_private_addresses_are_allowed_outside_production(url: str) -> None:
    assert check_url(url, DEVELOPMENT) == url


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "[fd00:ec2::254]",
        "100.100.100.200",
        "[::ffff:169.254.169.254]",
        "169.254.10.1",
        "[fe80::1]",
    ],
)
def test_wh03_metadata_and_link_local_addresses_are_refused_everywhere(host: str) -> None:
    for policy in (PRODUCTION, DEVELOPMENT):
        reason = refusal(f"https://{host}/hook", policy)
        assert reason.endswith(("is a cloud metadata address", "is link-local"))
        address = ipaddress.ip_address(host.strip("[]"))
        assert not address_allowed(address, policy)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "api.localhost"])
def test_wh03_localhost_names_are_refused_in_production(host: str) -> None:
    assert refusal(f"https://{host}/hook", PRODUCTION) == f"host {host.lower()} is loopback"


# --- delivery --------------------------------------------------------------------------------


async def test_wh03_delivery_in_development_reports_status_latency_and_body() -> None:
    received: list[Request] = []
    bodies: list[bytes] = []
    async with receiver(recording_app(received, bodies)) as port:
        result = await post(
            f"http://127.0.0.1:{port}/hook",
            b'{"event": "order.paid"}',
            {"content-type": "application/json", "x-signature": "t=1,v1=abc"},
            DEVELOPMENT,
        )
    assert (result.status_code, result.error, result.ok) == (202, None, True)
    assert result.body == b"thanks"
    # The receiver takes 200 ms to answer.
    assert 200 <= result.latency_ms < 5000
    assert bodies == [b'{"event": "order.paid"}']
    assert received[0].headers["x-signature"] == "t=1,v1=abc"
    assert received[0].headers["host"] == f"127.0.0.1:{port}"


async def test_wh03_receiver_error_status_is_a_failure() -> None:
    async def broken(request: Request) -> Response:
        return PlainTextResponse("database down", status_code=503)

    async with receiver(Starlette(routes=[Route("/hook", broken, methods=["POST"])])) as port:
        result = await post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT)
    assert (result.status_code, result.error, result.ok) == (503, "unexpected status 503", False)
    assert result.body == b"database down"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_wh03_redirect_is_not_followed(status: int) -> None:
    followed: list[str] = []

    async def hook(request: Request) -> Response:
        return RedirectResponse("/elsewhere", status_code=status)

    async def elsewhere(request: Request) -> Response:
        followed.append(request.method)
        return PlainTextResponse("followed")

    app = Starlette(
        routes=[
            Route("/hook", hook, methods=["POST"]),
            Route("/elsewhere", elsewhere, methods=["GET", "POST"]),
        ]
    )
    async with receiver(app) as port:
        result = await post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT)
    assert result.status_code == status
    assert result.error == f"redirect not followed ({status})"
    assert followed == []


async def test_wh03_slow_receiver_times_out() -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> Response:
        # Ten seconds, or until the test is over.
        await asyncio.wait_for(release.wait(), timeout=10)
        return PlainTextResponse("late")

    async with receiver(Starlette(routes=[Route("/hook", slow, methods=["POST"])])) as port:
        started = time.monotonic()
        result = await post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT, timeout=0.5)
        elapsed = time.monotonic() - started
        release.set()
    assert (result.status_code, result.error) == (None, "timeout")
    assert 0.5 <= elapsed < 2
    assert 500 <= result.latency_ms < 2000


async def test_wh03_timeout_bounds_the_whole_attempt_not_each_read() -> None:
    """A receiver that sends a byte every 0.2 s never trips a per-read timeout of 0.5 s."""

    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b"."
            await asyncio.sleep(0.2)

    async def hook(request: Request) -> Response:
        return StreamingResponse(drip())

    async with receiver(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as port:
        started = time.monotonic()
        # The guard turns a missing total timeout into a failure rather than a hang.
        result = await asyncio.wait_for(
            post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT, timeout=0.5), timeout=5
        )
        elapsed = time.monotonic() - started
    assert result.error == "timeout"
    assert elapsed < 2


async def test_wh03_huge_response_body_is_read_at_most_64_kib() -> None:
    huge = bytes(range(256)) * (10 * 1024 * 1024 // 256)

    async def hook(request: Request) -> Response:
        return Response(huge)

    async with receiver(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as port:
        started = time.monotonic()
        result = await post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT)
        elapsed = time.monotonic() - started
    assert (result.status_code, result.error) == (200, None)
    assert len(result.body) == 65_536
    assert result.body == huge[:65_536]
    assert elapsed < 3


async def test_wh03_endless_response_body_stops_being_read_at_the_cap() -> None:
    """Were the whole body read, this receiver would hold the call until the 5 s timeout."""

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 4096
            await asyncio.sleep(0)

    async def hook(request: Request) -> Response:
        return StreamingResponse(endless())

    async with receiver(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as port:
        started = time.monotonic()
        result = await post(f"http://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT)
        elapsed = time.monotonic() - started
    assert (result.status_code, result.error) == (200, None)
    assert len(result.body) == 65_536
    assert elapsed < 3


async def test_wh03_delivery_checks_the_url_again() -> None:
    plain = await post("http://hooks.example.com/hook", b"{}", {}, PRODUCTION)
    assert plain.error == "refused: URL must be an absolute https:// URL"
    private = await post("https://10.0.0.5/hook", b"{}", {}, PRODUCTION)
    assert private.error == "refused: address 10.0.0.5 is private"
    metadata = await post("http://169.254.169.254/latest/meta-data/", b"", {}, DEVELOPMENT)
    assert metadata.error == "refused: address 169.254.169.254 is a cloud metadata address"
    assert plain.status_code is private.status_code is metadata.status_code is None


async def test_wh03_name_resolving_to_loopback_is_refused_in_production() -> None:
    # localhost itself, through the system resolver (check_url refuses the name before this).
    backend = VettingBackend(PRODUCTION, inner=RecordingBackend())
    with pytest.raises(OutboundRefused) as refused:
        await backend.connect_tcp("localhost", 443)
    assert refused.value.reason == "localhost resolves to 127.0.0.1, which is loopback"


async def test_wh03_name_resolving_to_loopback_is_delivered_in_development() -> None:
    received: list[Request] = []
    async with receiver(recording_app(received, [])) as port:
        result = await post(f"http://localhost:{port}/hook", b"{}", {}, DEVELOPMENT)
    assert (result.status_code, result.error) == (202, None)
    assert received[0].headers["host"] == f"localhost:{port}"


async def test_wh03_dns_rebinding_is_refused_on_the_next_attempt_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, REBOUND_NAME, ["93.184.215.14"], ["10.0.0.5"])
    sockets = RecordingBackend()
    backend = VettingBackend(PRODUCTION, inner=sockets)
    await backend.connect_tcp(REBOUND_NAME, 443)
    # The connection goes to the address that was checked, not to a second lookup of the name.
    assert sockets.connected == [("93.184.215.14", 443)]
    with pytest.raises(OutboundRefused) as refused:
        await backend.connect_tcp(REBOUND_NAME, 443)
    assert refused.value.reason == f"{REBOUND_NAME} resolves to 10.0.0.5, which is private"
    assert sockets.connected == [("93.184.215.14", 443)]


async def test_wh03_dns_rebinding_to_metadata_is_refused_on_the_next_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, REBOUND_NAME, ["127.0.0.1"], ["169.254.169.254"])
    received: list[Request] = []
    async with receiver(recording_app(received, [])) as port:
        url = f"http://{REBOUND_NAME}:{port}/hook"
        first = await post(url, b"{}", {}, DEVELOPMENT)
        second = await post(url, b"{}", {}, DEVELOPMENT)
    assert (first.status_code, first.error) == (202, None)
    assert second.status_code is None
    assert second.error == (
        f"refused: {REBOUND_NAME} resolves to 169.254.169.254, which is a cloud metadata address"
    )
    assert len(received) == 1


async def test_wh03_one_internal_answer_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, REBOUND_NAME, ["93.184.215.14", "::ffff:7f00:1"])
    sockets = RecordingBackend()
    with pytest.raises(OutboundRefused) as refused:
        await VettingBackend(PRODUCTION, inner=sockets).connect_tcp(REBOUND_NAME, 443)
    assert refused.value.reason == (
        f"{REBOUND_NAME} resolves to ::ffff:7f00:1 (127.0.0.1), which is loopback"
    )
    assert sockets.connected == []


async def test_wh03_unresolvable_name_is_a_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, REBOUND_NAME, [])
    result = await post(f"https://{REBOUND_NAME}/hook", b"{}", {}, PRODUCTION)
    assert (result.status_code, result.error) == (None, "DNS error")


async def test_wh03_nothing_listening_is_a_connect_error() -> None:
    result = await post(f"http://127.0.0.1:{free_port()}/hook", b"{}", {}, DEVELOPMENT)
    assert (result.status_code, result.error) == (None, "connect error")


# --- TLS against the vetted address --------------------------------------------------------------


def _certificate_authority(directory: Path, name: str) -> tuple[ssl.SSLContext, tuple[Path, Path]]:
    """A client context trusting a fresh CA, and a server certificate from it for `name`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    certfile, keyfile = directory / "server.pem", directory / "server.key"
    certfile.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(
        cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
    )
    return context, (certfile, keyfile)


async def test_wh03_tls_verifies_the_url_host_name_not_the_vetted_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trust, certificate = _certificate_authority(tmp_path, REBOUND_NAME)
    fake_dns(monkeypatch, REBOUND_NAME, ["127.0.0.1"])
    received: list[Request] = []
    async with receiver(recording_app(received, []), certificate=certificate) as port:
        by_name = await post(
            f"https://{REBOUND_NAME}:{port}/hook", b"{}", {}, DEVELOPMENT, ssl_context=trust
        )
        # The same receiver by address: its certificate does not name 127.0.0.1.
        by_address = await post(
            f"https://127.0.0.1:{port}/hook", b"{}", {}, DEVELOPMENT, ssl_context=trust
        )
    assert (by_name.status_code, by_name.error) == (202, None)
    assert by_address.status_code is None
    assert by_address.error is not None
    assert by_address.error.startswith("TLS error")
    assert len(received) == 1
