"""Where the platform identity provider's public keys come from: one PEM key, or a JWKS URL.

Only keys from our configuration ever verify a platform token: `jku`, `x5u` and `jwk` headers are
never read (the same rule as RS-01 for our own tokens). Each key is bound to the asymmetric
algorithms it can verify, so a token cannot pick another algorithm family for the same key
(RSA vs EC, and never HMAC with a public key as the secret).

The JWKS is fetched with httpx and cached for `jwks_cache_seconds`. A token naming a key id we do
not know triggers one refetch (the provider may have rotated its keys), but at most once per
`UNKNOWN_KID_REFETCH_SECONDS`, so a stream of made-up key ids cannot make us fetch on every
request. A failed fetch never accepts anything: with no fresh keys every token is refused, and
the next attempt waits `FAILED_FETCH_RETRY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.exceptions import PyJWKError, PyJWTError

from partner_api.foundation.settings import ConfigurationError

logger = logging.getLogger("partner_api.platform_sign_in")

UNKNOWN_KID_REFETCH_SECONDS = 30.0
FAILED_FETCH_RETRY_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_JWKS_BYTES = 256 * 1024

# Asymmetric only: `none` and HS* are never in here, whatever the configuration says.
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGORITHMS_BY_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
ASYMMETRIC_ALGORITHMS = _RSA_ALGORITHMS | set(_EC_ALGORITHMS_BY_CURVE.values()) | {"EdDSA"}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class VerificationKey:
    """A key and the algorithms a token signed with it may use (already intersected with the
    configured allowlist)."""

    key: PublicKey | PyJWK
    algorithms: tuple[str, ...]


class KeySource(Protocol):
    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey | None:
        """The key that may verify a token with this (unverified) header, or None."""
        ...


def algorithms_for(key: object, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The allowed algorithms this public key can verify."""
    if isinstance(key, rsa.RSAPublicKey):
        usable: set[str] = set(_RSA_ALGORITHMS)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve_algorithm = _EC_ALGORITHMS_BY_CURVE.get(key.curve.name)
        usable = {curve_algorithm} if curve_algorithm else set()
    elif isinstance(key, ed25519.Ed25519PublicKey):
        usable = {"EdDSA"}
    else:
        usable = set()
    return tuple(name for name in allowed if name in usable and name in ASYMMETRIC_ALGORITHMS)


class PemKey:
    """One configured PEM public key; the token's `kid` does not matter."""

    def __init__(self, pem: str, allowed: tuple[str, ...]) -> None:
        try:
            key = load_pem_public_key(pem.encode("utf-8"))
        except ValueError:
            raise ConfigurationError(
                "PARTNER_API_PLATFORM_PUBLIC_KEY is not a readable PEM public key"
            ) from None
        algorithms = algorithms_for(key, allowed)
        if not isinstance(key, PublicKey) or not algorithms:
            raise ConfigurationError(
                "PARTNER_API_PLATFORM_PUBLIC_KEY cannot verify any of "
                f"PARTNER_API_PLATFORM_ALGORITHMS ({', '.join(allowed)})"
            )
        self._key = VerificationKey(key=key, algorithms=algorithms)

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey | None:
        return self._key


class JwksKeys:
    """The provider's JWKS, fetched over HTTP(S) and cached; see the module docstring."""

    def __init__(
        self,
        url: str,
        allowed: tuple[str, ...],
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._allowed = allowed
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._transport = transport
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._lock = asyncio.Lock()

    async def key_for(self, header: Mapping[str, Any]) -> VerificationKey | None:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            logger.info("platform sign-in refused: token header has no kid")
            return None
        if self._lock.locked():
            # A fetch is in flight (say, the first requests after start): wait for its keys
            # rather than refusing because an attempt was "just made".
            async with self._lock:
                pass
        now = self._clock()
        if self._fresh(now):
            if kid not in self._keys and self._may_attempt(now, UNKNOWN_KID_REFETCH_SECONDS):
                await self._refresh()
        elif self._may_attempt(now, FAILED_FETCH_RETRY_SECONDS):
            await self._refresh()
        if not self._fresh(self._clock()):
            logger.info("platform sign-in refused: no current JWKS (fetch failed)")
            return None
        key = self._keys.get(kid)
        if key is None:
            logger.info("platform sign-in refused: unknown kid %r", kid[:100])
            return None
        return VerificationKey(key=key, algorithms=(key.algorithm_name,))

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._cache_seconds

    def _may_attempt(self, now: float, floor: float) -> bool:
        return self._last_attempt is None or now - self._last_attempt >= floor

    async def _refresh(self) -> None:
        seen = self._last_attempt
        async with self._lock:
            if self._last_attempt != seen:
                return  # another request fetched while this one waited: use its result
            self._last_attempt = self._clock()
            try:
                document = await self._fetch()
            # RecursionError: absurdly nested JSON. Whatever goes wrong, the fetch refuses.
            except (httpx.HTTPError, ValueError, RecursionError) as error:
                logger.warning("platform sign-in: JWKS fetch from %s failed: %s", self._url, error)
                return
            self._keys = self._usable_keys(document)
            self._fetched_at = self._clock()

    async def _fetch(self) -> Any:
        async with (
            httpx.AsyncClient(
                transport=self._transport,
                timeout=FETCH_TIMEOUT_SECONDS,
                follow_redirects=False,
            ) as client,
            client.stream("GET", self._url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"HTTP status {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
        return json.loads(body)

    def _usable_keys(self, document: Any) -> dict[str, PyJWK]:
        """Signature keys with a kid and an allowed asymmetric algorithm; others are skipped."""
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            logger.warning("platform sign-in: JWKS from %s has no keys list", self._url)
            return {}
        keys: dict[str, PyJWK] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") == "oct":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = PyJWK(entry)
            except (PyJWKError, PyJWTError, ValueError, TypeError):
                continue
            if key.algorithm_name in self._allowed and algorithms_for(key.key, self._allowed):
                keys[kid] = key
        return keys


def key_source(
    *,
    jwks_url: str | None,
    public_key: str | None,
    allowed: tuple[str, ...],
    cache_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.AsyncBaseTransport | None = None,
) -> KeySource:
    """The key source the settings describe (they guarantee exactly one of the two)."""
    if public_key is not None:
        return PemKey(public_key, allowed)
    assert jwks_url is not None
    return JwksKeys(
        jwks_url, allowed, cache_seconds=cache_seconds, clock=clock, transport=transport
    )
