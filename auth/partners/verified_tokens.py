"""The verified-token cache: a partner re-using its access token pays for the signature once.

Entries are keyed by a 128-bit BLAKE2b digest of the token, not the token: a token is ~770
characters and a worker holds one entry per live token (tens of thousands with as many active
credentials), while the digest is 16 bytes. Finding another string with a cached token's
digest is a second preimage of BLAKE2b-128 (2^128 work), so a forged token cannot reach a
cached token's claims; the token itself is not kept. The values are `AccessTokenClaims`, which
share what tokens have in common (access_tokens.py), and once the token's credential is found,
its ids and client ID are the cached credential's own objects rather than copies (`adopt`).

A cached entry still needs its key to be published and its `exp` (with leeway) to be ahead;
everything else that can change (revocation, the credential, its secrets) is checked by the
caller on every use.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import replace

from auth.partners.access_tokens import AccessTokenClaims
from auth.partners.credential_directory import CredentialState
from auth.partners.secret_state import SecretState

MAX_ENTRIES = 50_000


def token_digest(token: str) -> bytes:
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class VerifiedTokens:
    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, AccessTokenClaims] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> AccessTokenClaims | None:
        return self._entries.get(digest)

    def forget(self, digest: bytes) -> None:
        self._entries.pop(digest, None)

    def put(self, digest: bytes, claims: AccessTokenClaims) -> None:
        self._entries[digest] = claims
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def adopt(
        self,
        digest: bytes,
        claims: AccessTokenClaims,
        credential: CredentialState,
        secret: SecretState,
    ) -> AccessTokenClaims:
        """`claims`, whose credential and secret the caller found and checked, held with that
        credential's own id objects and client ID: one copy of each per credential, not per
        token. Runs once per token and cached credential state; afterwards it is an identity
        check."""
        if claims.credential_id is credential.id:
            return claims
        shared = replace(
            claims,
            credential_id=credential.id,
            organisation_id=credential.organisation_id,
            client_id=credential.client_id,
            secret_id=secret.id,
        )
        if digest in self._entries:
            self._entries[digest] = shared
        return shared
