"""The OAuth 2.0 authorization server's logic, apart from HTTP framing (partner_api/oauth_http.py).

It owns the per-process state that keeps the hot paths free of database round-trips — the
credential directory, the signing key ring, the set of revoked token ids — and keeps that state
coherent with other processes through the change feed. `check_access_token` is the revocation-aware
verification the Partner API calls on every request (RS-10).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from tortoise.transactions import in_transaction

from auth import change_feed
from auth.access_tokens import (
    AccessTokenClaims,
    InvalidAccessToken,
    IssuedToken,
    issue_access_token,
    verify_access_token,
)
from auth.change_feed import ChangeFeed
from auth.client_auth import PresentedClient
from auth.client_secrets import secret_matches, spend_miss
from auth.credential_directory import CredentialDirectory, CredentialState, SecretState
from auth.keyed_hash import KeyedHasher
from auth.oauth_errors import InvalidClient, InvalidScope, TooManyRequests
from auth.signing_keys import VERIFICATION_LEEWAY, KeyRing, SigningKeyError, load_key_ring
from auth.throttle import CounterFactory
from auth.token_reuse import RecentTokens
from auth.tokens import client_secret_lookup_id
from auth.usage import UsageRecorder
from models.audit import AuditEvent
from models.credential import Credential
from models.enums import ActorType, AuditAction
from models.oauth import ChangeKind, RevokedToken
from partner_api.clock import utcnow
from partner_api.observability.metrics import (
    VERIFIED_TOKEN_CACHE,
    count_client_authentication_failure,
)
from partner_api.settings import Settings

logger = logging.getLogger("partner_api.oauth")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')


VERIFIED_TOKEN_CACHE_SIZE = 50_000
_LEEWAY_SECONDS = VERIFICATION_LEEWAY.total_seconds()


# NamedTuples, not frozen dataclasses: as immutable, at half the cost to build, and one of them
# is built on every token request or Partner API call.
class ActiveToken(NamedTuple):
    claims: AccessTokenClaims
    credential: CredentialState


class AuthenticatedClient(NamedTuple):
    credential: CredentialState
    secret: SecretState


def resolve_scopes(requested: str | None, allowed: list[str]) -> list[str]:
    """TE-05/06: no scope → everything the credential holds; otherwise a subset, never more."""
    if requested is None or not requested.strip():
        return allowed
    names = requested.split(" ")
    if any(not name or not set(name) <= _SCOPE_TOKEN_CHARS for name in names):
        raise InvalidScope("The scope parameter is malformed.")
    held = set(allowed)
    if any(name not in held for name in names):
        raise InvalidScope("A requested scope is unknown or not granted to this client.")
    wanted = set(names)
    return [name for name in allowed if name in wanted]


class AuthorizationServer:
    def __init__(self, settings: Settings, hasher: KeyedHasher, counters: CounterFactory) -> None:
        self.settings = settings
        self.hasher = hasher
        self.directory = CredentialDirectory()
        self.key_ring = KeyRing(active=None, published=())
        self.revoked_tokens: dict[str, int] = {}
        self.feed = ChangeFeed(
            self, poll_interval_seconds=settings.change_feed_poll_milliseconds / 1000
        )
        window = settings.token_failure_window_seconds
        self.failures_by_client_address = counters(
            name="token-failures-client-address",
            limit=settings.token_max_failures_per_client_address,
            window_seconds=window,
        )
        self.failures_by_address = counters(
            name="token-failures-address",
            limit=settings.token_max_failures_per_address,
            window_seconds=window,
        )
        self.issuance_quota = counters(
            name="token-quota", limit=settings.token_quota_per_minute, window_seconds=60
        )
        self.recent_tokens = RecentTokens(window_seconds=settings.token_reuse_seconds)
        self.usage = UsageRecorder(
            last_used_interval=timedelta(seconds=settings.last_used_write_interval_seconds)
        )
        self._verified: OrderedDict[str, AccessTokenClaims] = OrderedDict()
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
            for row in await RevokedToken.filter(expires_at__gt=now - VERIFICATION_LEEWAY):
                self.revoked_tokens[row.jti] = int(row.expires_at.timestamp())
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
        cutoff = int((now - VERIFICATION_LEEWAY).timestamp())
        self.revoked_tokens = {jti: exp for jti, exp in self.revoked_tokens.items() if exp > cutoff}
        await change_feed.prune(now)
        await RevokedToken.filter(expires_at__lt=now - VERIFICATION_LEEWAY).delete()
        await self.reload_keys()

    # -- ChangeListener ----------------------------------------------------------------------

    def credential_changed(self, credential_id: UUID) -> None:
        self.directory.invalidate(credential_id)

    def token_revoked(self, jti: str, expires_at: datetime) -> None:
        self.revoked_tokens[jti] = int(expires_at.timestamp())

    async def signing_keys_changed(self) -> None:
        await self.reload_keys()

    # -- client authentication ---------------------------------------------------------------

    async def authenticate_client(
        self, presented: PresentedClient, *, client_ip: str | None
    ) -> AuthenticatedClient:
        """Verify id + secret + state + address; throttle failures (TE-14, TE-20, TE-22)."""
        if not self._started:  # `refresh()`, inlined on the token endpoint's hot path
            await self.ensure_started()
        await self.feed.sync_if_due()
        address_key = client_ip or "unknown"
        pair_key = f"{presented.client_id}\x00{address_key}"
        wait = max(
            await self.failures_by_client_address.retry_after(pair_key),
            await self.failures_by_address.retry_after(address_key),
        )
        if wait:
            raise TooManyRequests(wait)
        now = utcnow()
        found, reason = await self._verify(presented, client_ip=client_ip, now=now)
        if found is None:
            await self.failures_by_client_address.record(pair_key)
            await self.failures_by_address.record(address_key)
            await self._record_refusal(presented.client_id, reason, client_ip, now)
            raise InvalidClient
        return found

    async def _verify(
        self, presented: PresentedClient, *, client_ip: str | None, now: datetime
    ) -> tuple[AuthenticatedClient | None, str]:
        lookup_id = client_secret_lookup_id(presented.client_secret)
        if lookup_id is None:
            return None, "malformed_secret"
        found = await self.directory.by_lookup_id(
            lookup_id, now=now, monotonic_now=time.monotonic()
        )
        if found is None:
            spend_miss(self.hasher, presented.client_secret)
            return None, "unknown_secret"
        credential, secret = found
        if not secret_matches(
            self.hasher,
            presented_secret=presented.client_secret,
            presented_client_id=presented.client_id,
            stored_hash=secret.secret_hash,
            stored_client_id=credential.client_id,
        ):
            return None, "wrong_secret"
        if not credential.active_at(now):
            return None, "credential_inactive"
        if not secret.live_at(now):
            return None, "secret_expired"
        if not credential.admits_address(client_ip):
            return None, "address_not_allowed"
        return AuthenticatedClient(credential=credential, secret=secret), "ok"

    async def _record_refusal(
        self, client_id: str, reason: str, client_ip: str | None, now: datetime
    ) -> None:
        """Failed authentications are logged; for a known client ID also audited (aggregated)."""
        count_client_authentication_failure(reason)
        logger.info(
            "client authentication refused",
            extra={"client_id": client_id[:64], "reason": reason, "client_ip": client_ip},
        )
        credential = await Credential.get_or_none(client_id=client_id[:64]).only(
            "id", "organisation_id", "client_id"
        )
        if credential is not None:
            self.usage.token_refused(
                organisation_id=credential.organisation_id,  # type: ignore[attr-defined]
                credential_id=credential.id,
                client_id=credential.client_id,
                reason=reason,
                ip_address=client_ip,
                now=now,
            )

    # -- token issuance ----------------------------------------------------------------------

    async def issue_token(
        self, client: AuthenticatedClient, *, requested_scope: str | None, client_ip: str | None
    ) -> IssuedToken:
        scopes = resolve_scopes(requested_scope, client.credential.allowed_scopes())
        wait = await self.issuance_quota.record(client.credential.client_id)
        if wait:
            raise TooManyRequests(wait)
        now = utcnow()
        key = self.key_ring.active
        if key is None:
            raise SigningKeyError("no active signing key")
        timestamp = now.timestamp()
        issued = self.recent_tokens.get(
            state=client.credential,
            secret_id=client.secret.id,
            scope=" ".join(scopes),
            kid=key.kid,
            now=timestamp,
            revoked=self.revoked_tokens,
        )
        if issued is None:
            issued = issue_access_token(
                key_ring=self.key_ring,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                credential=client.credential,
                secret=client.secret,
                scopes=scopes,
                now=now,
                lifetime=timedelta(seconds=self.settings.access_token_ttl_seconds),
            )
            self.recent_tokens.put(
                state=client.credential,
                secret_id=client.secret.id,
                issued=issued,
                kid=key.kid,
                now=timestamp,
            )
        logger.info(
            "access token issued",
            extra={"client_id": client.credential.client_id, "jti": issued.jti},
        )
        write_due = self.usage.token_issued(
            organisation_id=client.credential.organisation_id,
            credential_id=client.credential.id,
            client_id=client.credential.client_id,
            secret_id=client.secret.id,
            ip_address=client_ip,
            now=now,
        )
        if write_due:
            await self.usage.flush(now)
        return issued

    # -- verification, introspection, revocation ---------------------------------------------

    async def check_access_token(self, token: str) -> AccessTokenClaims | None:
        """The token's claims when it is valid *now* (see `active_token`); None otherwise."""
        active = await self.active_token(token)
        return None if active is None else active.claims

    async def active_token(self, token: str) -> ActiveToken | None:
        """The token and its credential when the token is valid *now*: signature and claims
        (verified once, then cached until expiry), not revoked, credential active, the secret
        that obtained it still live, its signing key still published. Scopes are narrowed to what
        the credential holds now, so re-scoping applies at once. None otherwise (RS-10)."""
        if not self._started:  # `refresh()`, inlined on the Partner API's hot path
            await self.ensure_started()
        await self.feed.sync_if_due()
        claims = self._verified_claims(token)
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
        held = state.allowed_scope_set
        if not claims.scopes <= held:
            claims = replace(claims, scopes=claims.scopes & held)
        return ActiveToken(claims=claims, credential=state)

    def _verified_claims(self, token: str) -> AccessTokenClaims | None:
        """Signature and claims check, memoised per token: a partner re-using its token does not
        pay for the signature again. A cached entry still needs its key to be published and its
        `exp` (with leeway) to be ahead; everything that can change is checked by the caller."""
        now = time.time()
        cached = self._verified.get(token)
        (VERIFIED_TOKEN_CACHE.miss if cached is None else VERIFIED_TOKEN_CACHE.hit).inc()
        if cached is not None:
            if (
                cached.expires_at + _LEEWAY_SECONDS > now
                and self.key_ring.by_kid(cached.key_id) is not None
            ):
                return cached
            del self._verified[token]
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
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_TOKEN_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    async def introspect(self, token: str, client: AuthenticatedClient) -> dict[str, object]:
        """RFC 7662 §2.2: details only for the caller's own, currently valid token (IN-01..04)."""
        claims = await self.check_access_token(token)
        if claims is None or claims.credential_id != client.credential.id:
            return {"active": False}
        # The verification leeway is for other servers' clocks; the issuer knows the exact time.
        if claims.expires_at <= int(utcnow().timestamp()):
            return {"active": False}
        raw = claims.raw
        return {
            "active": True,
            "scope": " ".join(sorted(claims.scopes, key=list(raw["scope"].split()).index)),
            "client_id": claims.client_id,
            "token_type": "Bearer",
            "exp": raw["exp"],
            "iat": raw["iat"],
            "sub": raw["sub"],
            "aud": raw["aud"],
            "iss": raw["iss"],
            "jti": raw["jti"],
            "organisation_id": raw["organisation_id"],
        }

    async def revoke(
        self, token: str, client: AuthenticatedClient, *, client_ip: str | None
    ) -> None:
        """RFC 7009 §2.2: revoke the caller's own token; anything else is silently ignored."""
        await self.refresh()
        try:
            claims = verify_access_token(
                token,
                key_ring=self.key_ring,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                verify_exp=False,
            )
        except InvalidAccessToken:
            return
        if claims.credential_id != client.credential.id or claims.jti in self.revoked_tokens:
            return
        expires_at = datetime.fromtimestamp(claims.expires_at, tz=utcnow().tzinfo)
        # Still accepted within the verification leeway, so it must be revoked until then too.
        if expires_at + VERIFICATION_LEEWAY <= utcnow():
            return
        async with in_transaction():
            _, created = await RevokedToken.get_or_create(
                jti=claims.jti,
                defaults={"credential_id": claims.credential_id, "expires_at": expires_at},
            )
            if created:
                await change_feed.publish(
                    ChangeKind.TOKEN_REVOKED, jti=claims.jti, expires_at=expires_at
                )
                await AuditEvent.create(
                    organisation_id=client.credential.organisation_id,
                    action=AuditAction.TOKEN_REVOKED,
                    actor_type=ActorType.CREDENTIAL,
                    actor_label=client.credential.client_id,
                    credential_id=client.credential.id,
                    ip_address=client_ip,
                    after={"jti": claims.jti},
                )
        self.revoked_tokens[claims.jti] = claims.expires_at
