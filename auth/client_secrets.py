"""Verifying a presented client ID + secret: what the token endpoint calls (SECURITY.md CR-03..05).

One indexed lookup (by the lookup part embedded in the secret) and one HMAC comparison. A value
that is not a well-formed secret (wrong prefix, length, alphabet or checksum) is refused with no
database lookup at all, which also means a stored hash presented as a secret never verifies.
Every refusal returns the same `None`, so callers cannot leak which check failed (CR-05).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from auth.keyed_hash import KeyedHasher
from auth.tokens import client_secret_lookup_id
from models.credential import Credential, CredentialSecret
from models.enums import CredentialStatus

# Compared against when no secret row matched, so a miss costs the same HMAC as a hit.
_ABSENT_HASH = "v1$00000000$" + "A" * 43


def spend_miss(hasher: KeyedHasher, presented_secret: str) -> None:
    """The HMAC work of a comparison, for a secret that matched no row (CR-05 timing)."""
    hasher.matches(presented_secret, _ABSENT_HASH)


def secret_matches(
    hasher: KeyedHasher,
    *,
    presented_secret: str,
    presented_client_id: str,
    stored_hash: str,
    stored_client_id: str,
) -> bool:
    """Both comparisons always run, each constant-time, so neither short-cuts the other (CR-04)."""
    hash_matches = hasher.matches(presented_secret, stored_hash)
    client_matches = hmac.compare_digest(stored_client_id.encode(), presented_client_id.encode())
    return hash_matches and client_matches


@dataclass(frozen=True)
class VerifiedClient:
    credential: Credential
    secret: CredentialSecret


async def verify_client_secret(
    client_id: str, presented_secret: str, *, hasher: KeyedHasher, now: datetime
) -> VerifiedClient | None:
    """The credential and secret when `presented_secret` is live and `client_id` is active."""
    lookup_id = client_secret_lookup_id(presented_secret)
    if lookup_id is None:
        return None
    secret = await CredentialSecret.get_or_none(lookup_id=lookup_id).select_related("credential")
    if secret is None:
        spend_miss(hasher, presented_secret)
        return None
    credential = secret.credential
    if not secret_matches(
        hasher,
        presented_secret=presented_secret,
        presented_client_id=client_id,
        stored_hash=secret.secret_hash,
        stored_client_id=credential.client_id,
    ):
        return None
    if not secret.is_live_at(now) or credential.status_at(now) is not CredentialStatus.ACTIVE:
        return None
    return VerifiedClient(credential=credential, secret=secret)
