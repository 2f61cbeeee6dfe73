"""Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
the presented secret verified (auth.partners.client_secrets), failures throttled, refusals recorded.

Failures are counted per (client ID, address) and per address (TE-20); a throttled caller gets
429 before its secret is looked at, and a partner authenticating from its own address is not
locked out by an attacker elsewhere. Every refusal is the same `InvalidClient` (TE-14, CR-05),
is logged with its reason, and is audited for a known client ID through the usage recorder's
aggregate, which resolves client IDs when it flushes: refusing costs no database query. Refusals
(and requests throttled before their secret is looked at, reason `throttled`) are counted in the
credential's usage the same way (auth/partners/usage_counts.py).

A client presenting secret credentials it succeeded with before is recognised by them
(auth/partners/verified_clients.py): the throttle and the credential's current state are checked
as on the full path, its parsing and keyed-hash comparison are not repeated.

A private_key_jwt client (RFC 7523 §2.2) is named by its assertion's `sub` and verified by
auth/partners/client_assertions.py against the credential's registered or published keys; its
`jti` is then spent (auth/partners/assertion_replay.py). Its failures take the same path as a
wrong secret (PK-03). A secret for a key-based credential, or an assertion for a secret-based
one, is refused as `wrong_auth_method`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from auth.partners.assertion_replay import AssertionReplayStore, DatabaseReplayStore
from auth.partners.client_assertions import (
    LEEWAY_SECONDS,
    AssertionRefused,
    ClientAssertion,
    check_claims,
    parse_assertion,
    select_key,
    verify_signature,
)
from auth.partners.client_auth import PRIVATE_KEY_JWT, PresentedClient, presented_client
from auth.partners.client_secrets import AuthenticatedClient, verify_client
from auth.partners.credential_directory import CredentialDirectory
from auth.partners.jwks_fetch import JwksFetcher
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.oauth_errors import InvalidClient, TooManyRequests
from auth.partners.secret_state import key_secret, key_secret_id
from auth.partners.token_request import OAuthRequest
from auth.partners.usage import UsageRecorder
from auth.partners.usage_counts import UsageCounts
from auth.partners.verified_clients import VerifiedClients
from models.enums import ClientAuthMethod
from partner_api.foundation.metrics import count_client_authentication_failure
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import CounterFactory

logger = logging.getLogger("partner_api.oauth")
# The longest client ID we issue; a longer presented one cannot name a credential.
CLIENT_ID_MAX_LENGTH = 64


def _throttle_keys(client_id: str, client_ip: str | None) -> tuple[str, str]:
    """The failure counters' keys: per (client ID, address) and per address (TE-20)."""
    address_key = client_ip or "unknown"
    return f"{client_id}\x00{address_key}", address_key


class ClientAuthenticator:
    def __init__(
        self,
        settings: Settings,
        hasher: KeyedHasher,
        counters: CounterFactory,
        *,
        directory: CredentialDirectory,
        usage: UsageRecorder,
        counts: UsageCounts,
        replay: AssertionReplayStore | None = None,
        fetcher: JwksFetcher | None = None,
    ) -> None:
        self._hasher = hasher
        # Both endpoints' URLs identify us as an assertion's audience (RFC 7523 §3 item 3).
        self._audiences = (settings.issuer, settings.token_endpoint)
        self._max_seconds = settings.assertions.max_seconds
        self._replay = replay if replay is not None else DatabaseReplayStore()
        self._fetcher = (
            fetcher
            if fetcher is not None
            else JwksFetcher(OutboundPolicy(production=settings.production))
        )
        self._directory = directory
        self._verified = VerifiedClients()
        self._usage = usage
        self._counts = counts
        window = settings.token_failure_window_seconds
        self._failures_by_client_address = counters(
            name="token-failures-client-address",
            limit=settings.token_max_failures_per_client_address,
            window_seconds=window,
        )
        self._failures_by_address = counters(
            name="token-failures-address",
            limit=settings.token_max_failures_per_address,
            window_seconds=window,
        )

    async def authenticate_request(
        self, request: OAuthRequest, *, client_ip: str | None, now: datetime
    ) -> AuthenticatedClient:
        """The client the request authenticates as (`authenticate`), recognised without its
        secret being read again when it presents credentials that verified before."""
        form = request.form
        digest = self._verified.digest(request.headers, form)
        if digest is not None:
            remembered = self._verified.recall(digest, form)
            if remembered is not None and await self._still_valid(remembered, client_ip, now):
                return remembered
            self._verified.forget(digest)
        presented = presented_client(request.headers, form)
        client = await self.authenticate(presented, client_ip=client_ip, now=now)
        if digest is not None:
            self._verified.remember(digest, client)
        return client

    async def _still_valid(
        self, client: AuthenticatedClient, client_ip: str | None, now: datetime
    ) -> bool:
        """Whether a remembered client passes now what the full path would check: the
        throttle first (TooManyRequests), then the directory still holding the state it was
        verified against, then the time- and address-based states."""
        credential = client.credential
        await self._raise_if_throttled(
            credential.client_id, *_throttle_keys(credential.client_id, client_ip)
        )
        current = await self._directory.by_id(
            credential.id, now=now, monotonic_now=time.monotonic()
        )
        return (
            current is credential
            and credential.active_at(now)
            and client.secret.live_at(now)
            and credential.admits_address(client_ip)
        )

    async def _raise_if_throttled(self, client_id: str, pair_key: str, address_key: str) -> None:
        wait = max(
            await self._failures_by_client_address.retry_after(pair_key),
            await self._failures_by_address.retry_after(address_key),
        )
        if wait:
            self._counts.token_refused(client_id[:CLIENT_ID_MAX_LENGTH], "throttled")
            raise TooManyRequests(wait)

    async def authenticate(
        self, presented: PresentedClient, *, client_ip: str | None, now: datetime
    ) -> AuthenticatedClient:
        """The verified client; `TooManyRequests` while throttled, `InvalidClient` otherwise."""
        assertion: ClientAssertion | AssertionRefused | None = None
        client_id = presented.client_id
        if presented.method == PRIVATE_KEY_JWT:
            # Parsed before the throttle (bounded, no signature) so failures count against the
            # client the assertion names.
            try:
                assertion = parse_assertion(presented.assertion)
                client_id = client_id or assertion.client_id
            except AssertionRefused as refused:
                assertion = refused
        pair_key, address_key = _throttle_keys(client_id, client_ip)
        await self._raise_if_throttled(client_id, pair_key, address_key)
        if assertion is None:
            found = await verify_client(
                self._directory, self._hasher, presented, client_ip=client_ip, now=now
            )
            if not isinstance(found, str) and (
                found.credential.auth_method is not ClientAuthMethod.CLIENT_SECRET
            ):
                found = "wrong_auth_method"
        elif isinstance(assertion, AssertionRefused):
            found = assertion.reason
        else:
            try:
                found = await self._verify_assertion(
                    assertion, presented.client_id, client_ip=client_ip, now=now
                )
            except AssertionRefused as refused:
                found = refused.reason
        if isinstance(found, str):
            await self._failures_by_client_address.record(pair_key)
            await self._failures_by_address.record(address_key)
            self._record_refusal(client_id, found, client_ip, now)
            raise InvalidClient
        return found

    async def _verify_assertion(
        self,
        assertion: ClientAssertion,
        body_client_id: str,
        *,
        client_ip: str | None,
        now: datetime,
    ) -> AuthenticatedClient | str:
        """Claims, key, signature, state, address, then the jti spent: PK-01, PK-02."""
        client_id = assertion.client_id
        if body_client_id and body_client_id != client_id:
            return "bad_assertion"  # RFC 7523 §3: the client is the assertion's subject
        check_claims(
            assertion,
            client_id=client_id,
            audiences=self._audiences,
            now=now.timestamp(),
            max_seconds=self._max_seconds,
        )
        if len(client_id) > CLIENT_ID_MAX_LENGTH:
            return "unknown_client"
        state = await self._directory.by_client_id(
            client_id, now=now, monotonic_now=time.monotonic()
        )
        if state is None:
            return "unknown_client"
        if state.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT:
            return "wrong_auth_method"
        keys = state.keys
        if state.jwks_uri is not None:
            kid = assertion.header.get("kid")
            keys = await self._fetcher.keys(state.id, state.jwks_uri, kid=kid)
        if not keys:
            return "keys_unavailable"
        key = select_key(assertion, keys)
        verify_signature(assertion, key)
        if not state.active_at(now):
            return "credential_inactive"
        if not state.admits_address(client_ip):
            return "address_not_allowed"
        first = await self._replay.first_use(
            client_id, assertion.jti, expires_at=assertion.expires_at + LEEWAY_SECONDS
        )
        if not first:
            return "assertion_replayed"
        self._usage.key_used(
            state.id, key, from_uri=state.jwks_uri is not None, ip_address=client_ip, now=now
        )
        return AuthenticatedClient(state, key_secret(key_secret_id(state.id, key.thumbprint)))

    def _record_refusal(
        self, client_id: str, reason: str, client_ip: str | None, now: datetime
    ) -> None:
        """Logged at once; audited for a known client ID when the usage recorder flushes."""
        client_id = client_id[:CLIENT_ID_MAX_LENGTH]
        count_client_authentication_failure(reason)
        logger.info(
            "client authentication refused",
            extra={"client_id": client_id, "reason": reason, "client_ip": client_ip},
        )
        self._usage.token_refused(client_id=client_id, reason=reason, ip_address=client_ip, now=now)
        self._counts.token_refused(client_id, reason)
