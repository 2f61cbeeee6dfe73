"""Where outbound requests (webhooks, JWKS URIs) may go (SECURITY-PLANNED.md WH-03).

Two checks share these rules. `check_url` runs when a URL is registered: it vets the URL's form
and, when the host is an IP literal, the address, but does no DNS, because a name's answers can
change after registration. The address rules (`address_kind`) run again on every delivery attempt,
on each address the host name resolves to, just before connecting (see `outbound.VettingBackend`),
so a name that is rebound to an internal address after registration is still refused.

In production only public unicast addresses are allowed. Outside production loopback and private
networks are allowed too, so tests and local receivers work, but link-local, cloud metadata,
unspecified and multicast addresses stay refused everywhere: nothing legitimate receives webhooks
there. An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4 one.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

import httpx

URL_MAX_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata and host agents that hand out credentials: AWS/GCP/Azure (IPv4) and AWS
# (IPv6), Alibaba Cloud (inside carrier-grade NAT space) and Azure's WireServer (a public address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
# After IDNA encoding a host name is letters, digits, hyphens and dots (underscores occur in
# some real names); anything else (a percent sign, a bracket) is refused rather than guessed at.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


@dataclass(frozen=True)
class OutboundPolicy:
    """Built from `Settings.production`; production allows public addresses and https only."""

    production: bool


class OutboundRefused(Exception):
    """A URL or address that an outbound request may not use; `reason` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), which is where it leads."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_kind(ip: IPAddress, policy: OutboundPolicy) -> str | None:
    """What makes `ip` a forbidden destination ("private", "loopback"...), or None if allowed."""
    target = _embedded_ipv4(ip) or ip
    if target in METADATA_ADDRESSES or ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if target.is_link_local:
        return "link-local"
    if target.is_unspecified:
        return "unspecified"
    if target.is_multicast:
        return "multicast"
    if not policy.production:
        return None
    if target.is_loopback:
        return "loopback"
    if target in _SHARED_ADDRESS_SPACE:
        return "carrier-grade NAT (shared address space)"
    if target.is_private or (isinstance(target, ipaddress.IPv6Address) and target.is_site_local):
        return "private"
    if target.is_reserved or not target.is_global:
        return "reserved"
    return None


def describe(ip: IPAddress) -> str:
    """`ip` for a message; an IPv6 form that carries an IPv4 address also shows that address."""
    embedded = _embedded_ipv4(ip)
    return str(ip) if embedded is None else f"{ip} ({embedded})"


def address_allowed(ip: IPAddress, policy: OutboundPolicy) -> bool:
    return address_kind(ip, policy) is None


def literal_address(host: str) -> IPAddress | None:
    """`host` as an IP address when it is one, including the shorthand forms the system resolver
    reads as IPv4 without asking DNS ("127.1", "2130706433", "0x7f.0.0.1")."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, policy: OutboundPolicy) -> str:
    """The normalised form of an outbound URL, or `OutboundRefused` saying what is wrong.

    Run at registration and again before every delivery; does no DNS (the address check that
    matters happens at connection time)."""
    if len(url) > URL_MAX_LENGTH:
        raise OutboundRefused(f"URL is longer than {URL_MAX_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise OutboundRefused("URL contains a space or control character")
    # Browsers read a backslash as a slash and httpx does not, so the two see different hosts.
    if "\\" in url:
        raise OutboundRefused("URL contains a backslash")
    scheme, separator, rest = url.partition("://")
    allowed_schemes = ("https",) if policy.production else ("http", "https")
    if not separator or scheme.lower() not in allowed_schemes:
        expected = " or ".join(f"{name}://" for name in allowed_schemes)
        raise OutboundRefused(f"URL must be an absolute {expected} URL")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise OutboundRefused("URL must not contain a user name or password")
    if "#" in rest:
        raise OutboundRefused("URL must not contain a fragment (#...)")
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower()
    except (httpx.InvalidURL, UnicodeError):
        raise OutboundRefused("URL is not valid") from None
    if parsed.userinfo:
        raise OutboundRefused("URL must not contain a user name or password")
    if not host:
        raise OutboundRefused("URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise OutboundRefused("URL has an invalid port")
    address = literal_address(host)
    if address is None and not _HOST_NAME.fullmatch(host):
        raise OutboundRefused("URL has an invalid host name")
    if address is not None and (kind := address_kind(address, policy)) is not None:
        raise OutboundRefused(f"address {describe(address)} is {kind}")
    # RFC 6761 §6.3: localhost names are loopback whatever DNS says.
    bare_host = host.rstrip(".")
    if policy.production and (bare_host == "localhost" or bare_host.endswith(".localhost")):
        raise OutboundRefused(f"host {host} is loopback")
    normalised = str(parsed)
    if len(normalised) > URL_MAX_LENGTH:
        raise OutboundRefused(f"URL is longer than {URL_MAX_LENGTH} characters")
    return normalised
