"""The one catalogue of Partner API scopes (`resource:action`).

The token endpoint, the Partner API, GraphQL's `partnerApi.scopes` and the documentation all read
this module. A FULL credential is granted every scope listed here at the moment a token is issued,
so scopes added later reach FULL credentials without a data migration; a FINE_GRAINED credential
holds exactly the scopes stored on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.enums import AccessLevel


@dataclass(frozen=True)
class Scope:
    name: str
    description: str


CATALOGUE: tuple[Scope, ...] = (
    Scope("events:read", "Read events, their dates and ticket types (products)."),
    Scope("orders:read", "Read orders and their tickets."),
    Scope("orders:write", "Create, confirm and cancel reservations (orders)."),
    Scope("barcodes:read", "Read ticket barcodes of orders."),
)

SCOPE_NAMES: frozenset[str] = frozenset(scope.name for scope in CATALOGUE)
_EVERY_SCOPE: tuple[str, ...] = tuple(scope.name for scope in CATALOGUE)


def unknown_scopes(names: Iterable[str]) -> list[str]:
    """The names that are not in the catalogue, in the order given, without repeats."""
    seen: list[str] = []
    for name in names:
        if name not in SCOPE_NAMES and name not in seen:
            seen.append(name)
    return seen


def in_catalogue_order(names: Iterable[str]) -> list[str]:
    """Known names, deduplicated, in catalogue order (stable output for clients)."""
    wanted = set(names)
    return [scope.name for scope in CATALOGUE if scope.name in wanted]


def effective_scopes(access_level: AccessLevel, stored: Iterable[str]) -> list[str]:
    """What a credential may be granted now, in catalogue order: every scope of the catalogue for
    FULL (read when asked, so scopes added later reach it), its own `stored` list for
    FINE_GRAINED. The one definition: admin views and the authorization server both call it."""
    if access_level is AccessLevel.FULL:
        return list(_EVERY_SCOPE)
    return in_catalogue_order(stored)
