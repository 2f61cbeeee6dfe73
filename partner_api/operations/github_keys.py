"""The keys GitHub signs secret-scanning reports with, and checking a report's signature (LK-01).

GitHub publishes its keys at `Settings.leak_reports.github_keys_url` as
`{"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}` and names the key of each
report in `Github-Public-Key-Identifier`; `Github-Public-Key-Signature` is a base64 DER ECDSA
P-256 signature over the raw body, with SHA-256.

Every listed key is accepted, `is_current` or not: GitHub lists a key for as long as it may sign,
and a report signed just before a rotation is still GitHub's. A key that is no longer listed is
refused once the list has been fetched again.

The list is fetched through the vetted outbound client (WH-03) and kept for `KEYS_TTL`. A key id
that is not in it causes a fetch at once, but at most one every `REFETCH_INTERVAL`, so a stream of
made-up key ids costs GitHub's API one request per interval, not one per report. A failed fetch
keeps the keys already known (the report may be signed by one of them).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from partner_api.foundation import outbound
from partner_api.foundation.outbound import OutboundResult
from partner_api.foundation.outbound_policy import OutboundPolicy

logger = logging.getLogger("partner_api.secret_scanning")

KEYS_TTL_SECONDS = 600.0
REFETCH_INTERVAL_SECONDS = 30.0
# GitHub's identifiers are 64 hex digits; a DER P-256 signature is at most 72 bytes (96 base64).
MAX_KEY_ID_LENGTH = 128
MAX_SIGNATURE_LENGTH = 256
_FETCH_HEADERS = {"Accept": "application/json", "User-Agent": "partner-api secret scanning"}

Fetch = Callable[[str, dict[str, str], OutboundPolicy], Awaitable[OutboundResult]]


class SignatureRefused(Exception):
    """The report is not signed by a key GitHub lists; `reason` is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """GitHub's key list has never been fetched successfully, so no signature can be checked."""


@dataclass(frozen=True)
class PublishedKey:
    identifier: str
    key: ec.EllipticCurvePublicKey
    current: bool

    def verifies(self, body: bytes, signature: bytes) -> bool:
        try:
            self.key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_key_list(document: bytes) -> dict[str, PublishedKey]:
    """The P-256 keys of a key list, by identifier; ValueError when it is not a key list. A key
    that is not a P-256 public key in PEM is left out (GitHub signs with P-256 only)."""
    try:
        parsed = json.loads(document)
    except (ValueError, RecursionError) as error:
        raise ValueError("the key list is not JSON") from error
    entries = parsed.get("public_keys") if isinstance(parsed, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the key list has no public_keys array")
    keys: dict[str, PublishedKey] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        identifier, pem = entry.get("key_identifier"), entry.get("key")
        if not isinstance(identifier, str) or not isinstance(pem, str):
            continue
        try:
            key = serialization.load_pem_public_key(pem.encode("utf-8"))
        except (ValueError, UnsupportedAlgorithm):
            continue
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            keys[identifier] = PublishedKey(identifier, key, entry.get("is_current") is True)
    return keys


def decode_signature(value: str) -> bytes:
    if len(value) > MAX_SIGNATURE_LENGTH:
        raise SignatureRefused("signature header too long")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("signature is not base64") from None


async def _get(url: str, headers: dict[str, str], policy: OutboundPolicy) -> OutboundResult:
    return await outbound.get(url, headers, policy)


class GitHubKeys:
    """GitHub's published keys, fetched on demand and cached (see the module docstring).

    `token` (optional) authenticates the fetch, for GitHub's higher rate limit. `clock` is the
    monotonic clock the cache ages by; `fetch` the outbound GET (both for tests).
    """

    def __init__(
        self,
        url: str,
        policy: OutboundPolicy,
        *,
        token: str = "",
        clock: Callable[[], float] = time.monotonic,
        fetch: Fetch = _get,
    ) -> None:
        self._url = url
        self._headers = dict(_FETCH_HEADERS)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._policy = policy
        self._clock = clock
        self._fetch = fetch
        self._keys: Mapping[str, PublishedKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    def _due(self, identifier: str) -> bool:
        now = self._clock()
        if now - self._attempted_at < REFETCH_INTERVAL_SECONDS:
            return False
        if self._fetched_at is None or identifier not in self._keys:
            return True
        return now - self._fetched_at >= KEYS_TTL_SECONDS

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        result = await self._fetch(self._url, dict(self._headers), self._policy)
        if not result.ok:
            logger.warning("could not fetch GitHub's secret-scanning keys: %s", result.error)
            return
        try:
            keys = parse_key_list(result.body)
        except ValueError as error:
            logger.warning("GitHub's secret-scanning key list is unusable: %s", error)
            return
        self._keys = keys
        self._fetched_at = self._attempted_at

    async def key(self, identifier: str) -> PublishedKey | None:
        """The listed key with this identifier, fetching the list when it is due."""
        # A fetch in flight is waited for: it may bring the key, or the first list of all.
        if self._due(identifier) or self._lock.locked():
            async with self._lock:
                # Requests that queued behind a fetch in flight need not repeat it.
                if self._due(identifier):
                    await self._refresh()
        if self._fetched_at is None:
            raise KeysUnavailable
        return self._keys.get(identifier)

    async def verify(self, body: bytes, key_identifier: str, signature: str) -> PublishedKey:
        """The key that signed `body`; `SignatureRefused` unless a listed key did."""
        if not key_identifier or len(key_identifier) > MAX_KEY_ID_LENGTH:
            raise SignatureRefused("missing or oversized key identifier")
        decoded = decode_signature(signature)
        key = await self.key(key_identifier)
        if key is None:
            raise SignatureRefused("key identifier not listed by GitHub")
        if not key.verifies(body, decoded):
            raise SignatureRefused("signature does not verify")
        return key
