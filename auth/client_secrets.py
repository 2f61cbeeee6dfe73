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
        hasher.matches(presented_secret, _ABSENT_HASH)
        return None
    hash_matches = hasher.matches(presented_secret, secret.secret_hash)
    credential = secret.credential
    client_matches = hmac.compare_digest(credential.client_id.encode(), client_id.encode())
    if not (hash_matches and client_matches):
        return None
    if not secret.is_live_at(now) or credential.status_at(now) is not CredentialStatus.ACTIVE:
        return None
    return VerifiedClient(credential=credential, secret=secret)
