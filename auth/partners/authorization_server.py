"""The OAuth 2.0 authorization server, apart from HTTP framing (partner_api/web/oauth_http.py): its
per-process state and the entry points the endpoints call.

It owns the state that keeps the hot paths free of database round-trips — the credential
directory, the signing key ring, the set of revoked token ids, the verified-token cache — keeps
it coherent with other processes through the change feed, and reads the clock once per call.
Each concept lives in its own module:

    grants ........................ auth/partners/grants.py, auth/partners/client_credentials.py
    client authentication ......... auth/partners/client_authentication.py,
    auth/partners/client_secrets.py, auth/partners/client_assertions.py (private_key_jwt),
    auth/partners/assertion_replay.py, auth/partners/jwks_fetch.py
    issuance ...................... auth/partners/token_issuance.py
    introspection ................. auth/partners/introspection.py
    revocation .................... auth/partners/token_revocation.py
    usage and its audit ........... auth/partners/usage.py
    usage counts per credential ... auth/partners/usage_counts.py, auth/partners/usage_store.py
    limits per credential ......... auth/partners/credential_limits.py

`active_token` is the revocation-aware verification the Partner API calls on every request
(RS-10); `housekeeping` is the periodic upkeep of all of the above.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from redis.asyncio import Redis

from auth.partners import change_feed
from auth.partners.access_tokens import (
    AccessTokenClaims,
    InvalidAccessToken,
    IssuedToken,
    verify_access_token,
)
from auth.partners.assertion_replay import replay_store
from auth.partners.change_feed import ChangeFeed
from auth.partners.client_authentication import ClientAuthenticator
from auth.partners.client_credentials import ClientCredentialsGrant
from auth.partners.client_secrets import AuthenticatedClient
from auth.partners.credential_directory import CredentialDirectory, CredentialState
from auth.partners.credential_limits import ServiceLimits
from auth.partners.grants import Grant, grant_for
from auth.partners.introspection import introspection_response
from auth.partners.jwks_fetch import JwksFetcher
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.signing_keys import VERIFICATION_LEEWAY, KeyRing, load_key_ring
from auth.partners.token_issuance import TokenIssuer
from auth.partners.token_request import OAuthRequest
from auth.partners.token_revocation import (
    delete_lapsed_revocations,
    load_revoked_tokens,
    revoke_token,
    still_relevant,
)
from auth.partners.usage import UsageRecorder
from auth.partners.usage_counts import UsageCounts
from auth.partners.verified_tokens import VerifiedTokens, token_digest
from partner_api.foundation.clock import utcnow
from partner_api.foundation.metrics import VERIFIED_TOKEN_CACHE
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import CounterFactory

__all__ = ["ActiveToken", "AuthenticatedClient", "AuthorizationServer"]

_LEEWAY_SECONDS = VERIFICATION_LEEWAY.total_seconds()


# A NamedTuple, not a frozen dataclass: as immutable, at half the cost to build, and one is
# built on every Partner API call.
class ActiveToken(NamedTuple):
    claims: AccessTokenClaims
    credential: CredentialState


class AuthorizationServer:
    def __init__(
        self,
        settings: Settings,
        hasher: KeyedHasher,
        counters: CounterFactory,
        *,
        redis: Redis | None = None,
    ) -> None:
        """`redis`: where assertion `jti`s are spent when configured; the database otherwise."""
        self.settings = settings
        self.hasher = hasher
        self.directory = CredentialDirectory(limits=ServiceLimits.from_settings(settings))
        self.key_ring = KeyRing(active=None, published=())
        self.revoked_tokens: dict[str, int] = {}
        self.feed = ChangeFeed(
            self, poll_interval_seconds=settings.change_feed_poll_milliseconds / 1000
        )
        self.usage = UsageRecorder(
            last_used_interval=timedelta(seconds=settings.last_used_write_interval_seconds)
        )
        # Usage per credential; flushed by the app's usage task (partner_api/web/app.py).
        self.counts = UsageCounts(enabled=settings.usage.counting)
        self.assertion_replay = replay_store(redis)
        self.jwks = JwksFetcher(OutboundPolicy(production=settings.production))
        self.clients = ClientAuthenticator(
            settings,
            hasher,
            counters,
            directory=self.directory,
            usage=self.usage,
            counts=self.counts,
            replay=self.assertion_replay,
            fetcher=self.jwks,
        )
        self.issuer = TokenIssuer(settings, counters, self.usage, self.counts)
        self.grants: dict[str, Grant] = {
            ClientCredentialsGrant.GRANT_TYPE: ClientCredentialsGrant(self)
        }
        self._verified = VerifiedTokens()
        self._started = False
        self._start_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_started(self) -> None:
        """Load keys and revoked token ids once (lazily, so it also works without a lifespan)."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            now = utcnow()
            self.feed.start_from(now)
            await self.reload_keys()
            self.revoked_tokens.update(await load_revoked_tokens(now))
            self._started = True

    async def refresh(self) -> None:
        """Per-request coherence: start if needed, then apply other processes' changes if due."""
        if not self._started:
            await self.ensure_started()
        await self.feed.sync_if_due()

    async def reload_keys(self) -> None:
        self.key_ring = await load_key_ring(
            key_encryption_key=self.settings.key_encryption_key,
            previous_key_encryption_keys=self.settings.previous_key_encryption_keys,
            token_ttl=timedelta(seconds=self.settings.access_token_ttl_seconds),
            now=utcnow(),
        )

    async def housekeeping(self, *, force: bool = False) -> None:
        """Periodic work: usage/audit flush, expired revocations, feed pruning, key publication."""
        now = utcnow()
        await self.usage.flush(now, force=force)
        self.revoked_tokens = still_relevant(self.revoked_tokens, now)
        await change_feed.prune(now)
        await delete_lapsed_revocations(now)
        await self.assertion_replay.sweep(now)
        await self.reload_keys()

    # -- ChangeListener ----------------------------------------------------------------------

    def credential_changed(self, credential_id: UUID) -> None:
        self.directory.invalidate(credential_id)
        self.jwks.forget(credential_id)  # a new jwks_uri, or a revocation, is read afresh

    def token_revoked(self, jti: str, expires_at: datetime) -> None:
        self.revoked_tokens[jti] = int(expires_at.timestamp())

    async def signing_keys_changed(self) -> None:
        await self.reload_keys()

    # -- the token endpoint ------------------------------------------------------------------

    def grant_for(self, form: Mapping[str, str]) -> Grant:
        """The grant `form` asks for (`grant_type`); raises the RFC 6749 §5.2 error otherwise."""
        return grant_for(self.grants, form)

    async def authenticate_client(
        self, request: OAuthRequest, *, client_ip: str | None
    ) -> AuthenticatedClient:
        """The client the request authenticates as: id + secret (or assertion) + state +
        address verified; failures throttled (TE-14, TE-20, TE-22)."""
        if not self._started:  # `refresh()`, inlined on the token endpoint's hot path
            await self.ensure_started()
        await self.feed.sync_if_due()
        return await self.clients.authenticate_request(request, client_ip=client_ip, now=utcnow())

    async def issue_token(
        self,
        client: AuthenticatedClient,
        *,
        requested_scope: str | None,
        requested_details: str | None = None,
        client_ip: str | None,
    ) -> IssuedToken:
        return await self.issuer.issue(
            client,
            requested_scope=requested_scope,
            requested_details=requested_details,
            client_ip=client_ip,
            key_ring=self.key_ring,
            revoked=self.revoked_tokens,
            now=utcnow(),
        )

    # -- verification, introspection, revocation ---------------------------------------------

    async def check_access_token(self, token: str) -> AccessTokenClaims | None:
        """The token's claims when it is valid *now* (see `active_token`); None otherwise."""
        active = await self.active_token(token)
        return None if active is None else active.claims

    async def active_token(self, token: str) -> ActiveToken | None:
        """The token and its credential when the token is valid *now*: signature and claims
        (verified once, then cached until expiry), not revoked, credential active, the secret
        that obtained it still live, its signing key still published. Scopes and events are
        narrowed to what the credential holds now, so re-scoping and re-restricting apply at once
        (ER-03). None otherwise (RS-10)."""
        if not self._started:  # `refresh()`, inlined on the Partner API's hot path
            await self.ensure_started()
        await self.feed.sync_if_due()
        digest = token_digest(token)
        claims = self._verified_claims(token, digest)
        if claims is None or claims.jti in self.revoked_tokens:
            return None
        now = utcnow()
        state = await self.directory.by_id(
            claims.credential_id, now=now, monotonic_now=time.monotonic()
        )
        if state is None or not state.active_at(now):
            return None
        if state.organisation_id != claims.organisation_id or state.client_id != claims.client_id:
            return None
        secret = state.secret(claims.secret_id)
        if secret is None or not secret.live_at(now):
            return None
        claims = self._verified.adopt(digest, claims, state, secret)
        held = state.allowed_scope_set
        if not claims.scopes <= held:
            claims = replace(claims, scopes=claims.scopes & held)
        reachable = state.event_id_set
        if reachable is not None:
            granted = claims.event_ids
            if granted is None:
                claims = replace(claims, event_ids=reachable)
            elif not granted <= reachable:
                claims = replace(claims, event_ids=granted & reachable)
        return ActiveToken(claims=claims, credential=state)

    def _verified_claims(self, token: str, digest: bytes) -> AccessTokenClaims | None:
        """Signature and claims check, memoised per token (auth/partners/verified_tokens.py)."""
        now = time.time()
        cached = self._verified.get(digest)
        (VERIFIED_TOKEN_CACHE.miss if cached is None else VERIFIED_TOKEN_CACHE.hit).inc()
        if cached is not None:
            if (
                cached.expires_at + _LEEWAY_SECONDS > now
                and self.key_ring.by_kid(cached.key_id) is not None
            ):
                return cached
            self._verified.forget(digest)
            return None
        try:
            claims = verify_access_token(
                token,
                key_ring=self.key_ring,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
            )
        except InvalidAccessToken:
            return None
        self._verified.put(digest, claims)
        return claims

    async def introspect(self, token: str, client: AuthenticatedClient) -> dict[str, object]:
        """RFC 7662 §2.2: details only for the caller's own, currently valid token (IN-01..04)."""
        claims = await self.check_access_token(token)
        return introspection_response(claims, client, now=utcnow())

    async def revoke(
        self, token: str, client: AuthenticatedClient, *, client_ip: str | None
    ) -> None:
        """RFC 7009 §2.2: revoke the caller's own token; anything else is silently ignored."""
        await self.refresh()
        await revoke_token(
            token,
            client,
            key_ring=self.key_ring,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            revoked=self.revoked_tokens,
            client_ip=client_ip,
            now=utcnow(),
        )
