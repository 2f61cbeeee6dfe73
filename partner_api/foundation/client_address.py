"""The caller's IP address: the socket peer, unless that peer is a configured trusted proxy (TE-22).

Behind trusted proxies, `X-Forwarded-For` is read right to left and the first address that is not
itself a trusted proxy is the client; anything further left could have been forged by the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address(connection: HTTPConnection, trusted_proxies: Sequence[Network]) -> str | None:
    # The ASGI scope's (host, port) as it is: `connection.client` builds an Address each time,
    # and this runs on every Partner API call (twice: the bearer check and usage counting).
    client = connection.scope.get("client")
    peer: str | None = client[0] if client else None
    if peer is None or not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    forwarded = ",".join(connection.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer
