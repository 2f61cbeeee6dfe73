"""The verified-token cache: a partner re-using its access token pays for the signature once.

Entries are keyed by a 128-bit BLAKE2b digest of the token, not the token: a token is ~770
characters and a worker holds one entry per live token (tens of thousands with as many active
credentials), while the digest is 16 bytes. Finding another string with a cached token's
digest is a second preimage of BLAKE2b-128 (2^128 work), so a forged token cannot reach a
cached token's claims; the token itself is not kept. The values are `AccessTokenClaims`, which
share what tokens have in common (access_tokens.py).

A cached entry still needs its key to be published and its `exp` (with leeway) to be ahead;
everything else that can change (revocation, the credential, its secrets) is checked by the
caller on every use.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from auth.partners.access_tokens import AccessTokenClaims

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
