"""The caller's address (SECURITY.md TE-22): the socket peer unless it is a trusted proxy."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from partner_api.foundation.client_address import Network, client_address

PROXIES: tuple[Network, ...] = (ipaddress.ip_network("10.0.0.0/8"),)
PROXY_PEER = "10.0.0.5"
CLIENT = "198.51.100.7"


def _request(peer: str | None, *forwarded_for: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/oauth/token",
        "query_string": b"",
        "headers": headers,
        "client": (peer, 51234) if peer is not None else None,
    }
    return Request(scope)


def test_te22_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    request = _request("203.0.113.10", CLIENT)
    assert client_address(request, ()) == "203.0.113.10"
    # Even when the peer happens to be a private address.
    assert client_address(_request(PROXY_PEER, CLIENT), ()) == PROXY_PEER


def test_te22_behind_a_trusted_proxy_the_forwarded_client_is_used() -> None:
    assert client_address(_request(PROXY_PEER, CLIENT), PROXIES) == CLIENT


def test_te22_rightmost_untrusted_hop_is_the_client() -> None:
    # client -> proxy 10.0.0.9 -> proxy 10.0.0.5 (the peer)
    request = _request(PROXY_PEER, f"{CLIENT}, 10.0.0.9")
    assert client_address(request, PROXIES) == CLIENT


def test_te22_forged_leftmost_hop_is_ignored() -> None:
    """A client sending its own `X-Forwarded-For: 1.2.3.4` cannot choose its address."""
    request = _request(PROXY_PEER, f"1.2.3.4, {CLIENT}")
    assert client_address(request, PROXIES) == CLIENT
    # The same when the forged value arrives as a separate header line.
    split = _request(PROXY_PEER, "1.2.3.4", CLIENT)
    assert client_address(split, PROXIES) == CLIENT


def test_te22_untrusted_peer_is_used_even_with_forwarded_for() -> None:
    request = _request("203.0.113.10", CLIENT)
    assert client_address(request, PROXIES) == "203.0.113.10"


def test_te22_trusted_peer_without_forwarded_for_is_the_client() -> None:
    assert client_address(_request(PROXY_PEER), PROXIES) == PROXY_PEER
    # Only proxies in the chain: nothing further to trust, the peer stands.
    assert client_address(_request(PROXY_PEER, "10.1.2.3"), PROXIES) == PROXY_PEER


def test_te22_garbage_in_forwarded_for_never_becomes_the_address() -> None:
    request = _request(PROXY_PEER, f"{CLIENT}, not-an-address")
    address = client_address(request, PROXIES)
    assert address != "not-an-address"
    assert address is not None
    ipaddress.ip_address(address)
    # Garbage further left than the client is irrelevant.
    assert client_address(_request(PROXY_PEER, f"evil, {CLIENT}"), PROXIES) == CLIENT


def test_te22_ipv6_addresses_are_normalised() -> None:
    proxies: tuple[Network, ...] = (ipaddress.ip_network("fd00::/8"),)
    request = _request("fd00::1", "2001:DB8:0:0::0001")
    assert client_address(request, proxies) == "2001:db8::1"


def test_no_peer_means_no_address() -> None:
    assert client_address(_request(None, CLIENT), PROXIES) is None
    assert client_address(_request(None), ()) is None
