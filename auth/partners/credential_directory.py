"""An in-process cache of credentials and their live secrets, for the token endpoint and the
Partner API's revocation check: no database round-trip per request in the common case.

Entries are dropped when the change feed reports the credential changed
(auth/partners/change_feed.py),
so a revocation, rotation or re-scoping is honoured within the feed's bound; `max_age` is a
second line of defence. Time-based states (credential expiry, a previous secret's grace period)
are evaluated on every use against the cached timestamps, so they need no invalidation.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from uuid import UUID

from tortoise.expressions import Q

from auth.partners.client_keys import JwksRejected, PublicKey, parse_public_jwks
from auth.partners.credential_limits import ServiceLimits
from auth.partners.secret_state import SecretState, key_secret, key_secret_id
from auth.partners.shared_values import (
    shared_organisation,
    shared_organisation_text,
    shared_scopes,
)
from models.credential import Credential, CredentialSecret, before_expiry
from models.enums import AccessLevel, ClientAuthMethod, LimitMode
from partner_api.foundation.metrics import CREDENTIAL_CACHE
from partner_api.foundation.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
logger = logging.getLogger("partner_api.oauth")


@dataclass(frozen=True)
class CredentialState:
    id: UUID
    organisation_id: UUID
    client_id: str
    name: str
    organisation_name: str
    access_level: AccessLevel
    stored_scopes: tuple[str, ...]
    ip_allowlist: tuple[Network, ...]
    # The events the credential is limited to (canonical ids, as chosen); None: every event.
    event_ids: tuple[str, ...] | None
    expires_at: datetime | None
    revoked: bool
    secrets: tuple[SecretState, ...]
    loaded_at: float
    # The effective limits (auth/partners/credential_limits.py), per minute, and whether going
    # over them is only counted (MONITOR) rather than refused.
    rate_limit_per_minute: int
    token_quota_per_minute: int
    monitor_only: bool
    # private_key_jwt (auth/partners/client_assertions.py): the registered public keys, or the
    # URI the keys are fetched from (auth/partners/jwks_fetch.py).
    auth_method: ClientAuthMethod = ClientAuthMethod.CLIENT_SECRET
    keys: tuple[PublicKey, ...] = ()
    jwks_uri: str | None = None

    @cached_property
    def id_text(self) -> str:
        return str(self.id)

    @cached_property
    def organisation_id_text(self) -> str:
        return shared_organisation_text(self.organisation_id)

    def active_at(self, now: datetime) -> bool:
        return not self.revoked and before_expiry(self.expires_at, now)

    def allowed_scopes(self) -> list[str]:
        """`partner_api.foundation.scopes.effective_scopes`, worked out once per cached state (the
        catalogue is
        fixed for the life of a process, so later scopes reach FULL with the next deployment).
        A copy: callers may keep it."""
        return list(self._allowed)

    @cached_property
    def _allowed(self) -> tuple[str, ...]:
        return shared_scopes(self.access_level, self.stored_scopes)[0]

    @cached_property
    def allowed_scope_set(self) -> frozenset[str]:
        return shared_scopes(self.access_level, self.stored_scopes)[1]

    @cached_property
    def event_id_set(self) -> frozenset[str] | None:
        return None if self.event_ids is None else frozenset(self.event_ids)

    def admits_address(self, address: str | None) -> bool:
        if not self.ip_allowlist:
            return True
        if address is None:
            return False
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.ip_allowlist)

    def secret(self, secret_id: UUID) -> SecretState | None:
        """The secret, or for a key-based credential the key, a token was obtained with."""
        for secret in self.secrets:
            if secret.id == secret_id:
                return secret
        if self.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
            if self.jwks_uri is not None:
                # Published keys are not held here; such tokens end with the credential.
                return key_secret(secret_id)
            if secret_id in self._key_secret_ids:
                return key_secret(secret_id)
        return None

    @cached_property
    def _key_secret_ids(self) -> frozenset[UUID]:
        # Worked out once per cached state: `secret` runs on every Partner API call.
        return frozenset(key_secret_id(self.id, key.thumbprint) for key in self.keys)


def _inline_keys(credential: Credential) -> tuple[PublicKey, ...]:
    if credential.auth_method is not ClientAuthMethod.PRIVATE_KEY_JWT or credential.jwks is None:
        return ()
    try:
        return tuple(parse_public_jwks(credential.jwks))
    except JwksRejected as rejected:
        # Validated when stored; a set that no longer parses authenticates nobody.
        logger.error(
            "stored key set unusable",
            extra={"credential_id": str(credential.id), "reason": str(rejected)},
        )
        return ()


class CredentialDirectory:
    def __init__(
        self,
        *,
        limits: ServiceLimits | None = None,
        max_entries: int = 100_000,
        max_age_seconds: float = 300.0,
    ) -> None:
        """`limits`: the service's limits and maxima; None: those of the default settings."""
        self._limits = limits if limits is not None else ServiceLimits.from_settings(Settings())
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._by_id: OrderedDict[UUID, CredentialState] = OrderedDict()
        self._credential_of_lookup: dict[str, UUID] = {}
        self._credential_of_client: dict[str, UUID] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def invalidate(self, credential_id: UUID) -> None:
        state = self._by_id.pop(credential_id, None)
        if state is not None:
            for secret in state.secrets:
                self._credential_of_lookup.pop(secret.lookup_id, None)
            self._credential_of_client.pop(state.client_id, None)

    def clear(self) -> None:
        self._by_id.clear()
        self._credential_of_lookup.clear()
        self._credential_of_client.clear()

    def _cached(self, credential_id: UUID, monotonic_now: float) -> CredentialState | None:
        state = self._by_id.get(credential_id)
        if state is None:
            CREDENTIAL_CACHE.miss.inc()
            return None
        if monotonic_now - state.loaded_at > self._max_age:
            self.invalidate(credential_id)
            CREDENTIAL_CACHE.miss.inc()
            return None
        self._by_id.move_to_end(credential_id)
        CREDENTIAL_CACHE.hit.inc()
        return state

    def _remember(self, state: CredentialState) -> None:
        self.invalidate(state.id)
        self._by_id[state.id] = state
        for secret in state.secrets:
            self._credential_of_lookup[secret.lookup_id] = state.id
        if state.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT:
            self._credential_of_client[state.client_id] = state.id
        while len(self._by_id) > self._max_entries:
            oldest = next(iter(self._by_id))
            self.invalidate(oldest)

    async def by_lookup_id(
        self, lookup_id: str, *, now: datetime, monotonic_now: float
    ) -> tuple[CredentialState, SecretState] | None:
        credential_id = self._credential_of_lookup.get(lookup_id)
        if credential_id is None:
            CREDENTIAL_CACHE.miss.inc()
        state = None if credential_id is None else self._cached(credential_id, monotonic_now)
        if state is None:
            row = await CredentialSecret.get_or_none(lookup_id=lookup_id).only("credential_id")
            if row is None:
                return None
            state = await self._load(row.credential_id, now=now, monotonic_now=monotonic_now)  # type: ignore[attr-defined]
            if state is None:
                return None
        for secret in state.secrets:
            if secret.lookup_id == lookup_id:
                return state, secret
        return None

    async def by_client_id(
        self, client_id: str, *, now: datetime, monotonic_now: float
    ) -> CredentialState | None:
        """A credential by its client ID, which is how a client assertion names it (`sub`)."""
        credential_id = self._credential_of_client.get(client_id)
        state = None if credential_id is None else self._cached(credential_id, monotonic_now)
        if state is not None:
            return state
        row = await Credential.get_or_none(client_id=client_id).only("id")
        if row is None:
            return None
        return await self._load(row.id, now=now, monotonic_now=monotonic_now)

    async def by_id(
        self, credential_id: UUID, *, now: datetime, monotonic_now: float
    ) -> CredentialState | None:
        state = self._cached(credential_id, monotonic_now)
        if state is not None:
            return state
        return await self._load(credential_id, now=now, monotonic_now=monotonic_now)

    async def _load(
        self, credential_id: UUID, *, now: datetime, monotonic_now: float
    ) -> CredentialState | None:
        credential = await Credential.get_or_none(id=credential_id).select_related("organisation")
        if credential is None:
            return None
        secrets = await CredentialSecret.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            credential_id=credential_id,
            ended_at__isnull=True,
        )
        organisation = credential.organisation
        organisation_id, organisation_name = shared_organisation(organisation.id, organisation.name)
        limits = self._limits
        state = CredentialState(
            id=credential.id,
            organisation_id=organisation_id,
            organisation_name=organisation_name,
            client_id=credential.client_id,
            name=credential.name,
            access_level=credential.access_level,
            stored_scopes=tuple(credential.scopes),
            ip_allowlist=tuple(ipaddress.ip_network(entry) for entry in credential.ip_allowlist),
            event_ids=None if credential.event_ids is None else tuple(credential.event_ids),
            expires_at=credential.expires_at,
            revoked=credential.revoked_at is not None,
            secrets=tuple(
                SecretState(
                    id=secret.id,
                    lookup_id=secret.lookup_id,
                    secret_hash=secret.secret_hash,
                    expires_at=secret.expires_at,
                )
                for secret in secrets
            ),
            loaded_at=monotonic_now,
            rate_limit_per_minute=limits.rate_limit(
                credential.rate_limit_per_minute, organisation.default_rate_limit_per_minute
            ),
            token_quota_per_minute=limits.token_quota(
                credential.token_quota_per_minute, organisation.default_token_quota_per_minute
            ),
            monitor_only=credential.limit_mode is LimitMode.MONITOR,
            auth_method=credential.auth_method,
            keys=_inline_keys(credential),
            jwks_uri=credential.jwks_uri
            if credential.auth_method is ClientAuthMethod.PRIVATE_KEY_JWT
            else None,
        )
        self._remember(state)
        return state
