"""Admin API tokens behind the admin seam: `Authorization: Bearer pat_…` on `POST /graphql`.

A token is checked cheapest first, so what an unauthenticated caller can make the service do is
bounded before any lookup (like a client secret, auth/partners/client_secrets.py):

1. an address over its failed-login budget is refused before anything else (no lookup, no HMAC;
   the GraphQL layer answers 429 with `Retry-After`, schema/api_token_types.py);
2. a value that is not a well-formed token (prefix, length, alphabet, CRC-32 checksum) is refused
   without a database query;
3. one indexed query by the lookup part embedded in the token reads the token, its creator's
   membership, user and organisation; exactly one keyed-hash comparison follows, also when no row
   matched, so a miss costs what a hit does (CR-05).

Nothing is cached: every request reads the row, so a revocation, an expiry, or a change of the
creator's membership holds at once in every process (PT-02 asks for 1 s). The token acts as its
role capped by the role its creator holds *now*: a demoted creator demotes the token, and a
creator whose membership is deleted ends it (the token keeps no power its creator lost). Every
failure counts against the caller's address in the login throttle (auth/admins/login_throttle.py)
and is one INFO line with the reason; the token value is never logged.

Last use (time and address) is written at most once a minute per token, by a conditional UPDATE
that only the first request of a minute matches: never a write per request, and two processes
racing write at most one row each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from starlette.requests import HTTPConnection
from tortoise.expressions import Q

from auth.admins.identity import AdminIdentity
from auth.admins.login_throttle import LoginThrottle
from auth.tokens import API_TOKEN_PREFIX, api_token_lookup_id
from models.api_token import ApiToken, ApiTokenStatus, lesser_role
from models.compiled_select import CompiledSelect
from partner_api.foundation.client_address import Network, client_address
from partner_api.foundation.clock import utcnow

logger = logging.getLogger("partner_api.api_tokens")

LAST_USED_INTERVAL = timedelta(minutes=1)
# Where a throttled presentation is noted for the GraphQL layer: a key of the request's ASGI
# scope, which every `Request` built on the same request shares.
RETRY_AFTER_SCOPE_KEY = "partner_api.api_token_retry_after"


class TokenHasher(Protocol):
    """The keyed hash client secrets are stored with (auth/partners/keyed_hash.py `KeyedHasher`)."""

    def matches(self, value: str, stored: str) -> bool: ...

    def spend_on_miss(self, value: str) -> None: ...


class TokenServices(Protocol):
    """What checking a token needs of the serving app's services (partner_api/operations/
    services.py `Services`): the secrets' keyed hash and the login throttle."""

    @property
    def hasher(self) -> TokenHasher: ...

    @property
    def login_throttle(self) -> LoginThrottle: ...


ServicesOf = Callable[[HTTPConnection], TokenServices]


def presented_api_token(connection: HTTPConnection) -> str | None:
    """The `Authorization: Bearer pat_…` value, well-formed or not; None for anything else."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(API_TOKEN_PREFIX):
        return None
    return value


def throttled_retry_after(connection: HTTPConnection) -> int:
    """Seconds the request's API token was refused for by the throttle; 0 when it was not."""
    seconds: int = connection.scope.get(RETRY_AFTER_SCOPE_KEY, 0)
    return seconds


# Compiled once, like the session lookup (auth/admins/sessions.py): it runs on every request.
_TOKEN_BY_LOOKUP = CompiledSelect(
    ApiToken,
    lambda lookup_id, limit: (
        ApiToken.filter(lookup_id=lookup_id)
        .select_related("created_by__user", "created_by__organisation")
        .limit(limit)
    ),
)


async def verified_token(token: str, hasher: TokenHasher) -> ApiToken | str:
    """The row whose keyed hash matches `token`, or why there is none (for the log only)."""
    lookup_id = api_token_lookup_id(token)
    if lookup_id is None:
        return "malformed"
    rows = await _TOKEN_BY_LOOKUP.fetch(lookup_id, 1)  # lookup_id is unique: at most one row
    if not rows:
        hasher.spend_on_miss(token)
        return "unknown"
    if not hasher.matches(token, rows[0].token_hash):
        return "wrong token"
    return rows[0]


def identity_of(token: ApiToken, now: datetime) -> AdminIdentity | str:
    """Who a verified token acts as at `now`, or why it may not act."""
    status = token.status_at(now)
    if status is not ApiTokenStatus.ACTIVE:
        return status.value.lower()
    membership = token.created_by
    organisation_id: UUID = token.organisation_id  # type: ignore[attr-defined]
    if membership is None or membership.organisation.id != organisation_id:
        return "creator no longer a member"
    return AdminIdentity(
        user_id=membership.user.id,
        email=membership.user.email,
        organisation_id=membership.organisation.id,
        organisation_name=membership.organisation.name,
        role=lesser_role(token.role, membership.role),
        api_token_id=token.id,
        api_token_name=token.name,
    )


async def record_use(token: ApiToken, now: datetime, address: str | None) -> None:
    """Last use, at most once a minute per token (see the module docstring)."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_INTERVAL:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
    await ApiToken.filter(stale, id=token.id).update(last_used_at=now, last_used_ip=address)


def app_services(connection: HTTPConnection) -> TokenServices:
    """The serving app's services (`app.state.services`, partner_api/web/app.py): its keyed hash,
    and its login throttle, so a failed token and a failed password spend one budget per address.
    Found through the request, Starlette's place for app state, because the services hold the
    authenticator and so cannot be handed to it when it is built."""
    services: TokenServices = connection.app.state.services
    return services


class ApiTokenAuthenticator:
    """Resolves `Authorization: Bearer pat_…` to the identity the token acts as (PT-02)."""

    def __init__(
        self,
        *,
        trusted_proxies: Sequence[Network] = (),
        services_of: ServicesOf = app_services,
    ) -> None:
        self.trusted_proxies = trusted_proxies
        self.services_of = services_of

    async def authenticate(self, connection: HTTPConnection) -> AdminIdentity | None:
        token = presented_api_token(connection)
        if token is None:
            return None
        address = client_address(connection, self.trusted_proxies)
        services = self.services_of(connection)
        throttle = services.login_throttle
        wait = await throttle.address_retry_after(address)
        if wait:
            connection.scope[RETRY_AFTER_SCOPE_KEY] = wait
            logger.info("admin API token refused: address throttled for %d s", wait)
            return None
        verified = await verified_token(token, services.hasher)
        if isinstance(verified, str):
            await _refused(throttle, address, verified)
            return None
        now = utcnow()
        identity = identity_of(verified, now)
        if isinstance(identity, str):
            await _refused(throttle, address, identity, token_id=verified.id)
            return None
        await record_use(verified, now, address)
        return identity


async def _refused(
    throttle: LoginThrottle, address: str | None, reason: str, *, token_id: UUID | None = None
) -> None:
    await throttle.address_failed(address)
    # The token's row id identifies without authenticating; the token itself is never logged.
    logger.info("admin API token refused: %s", reason, extra={"api_token_id": token_id})
