"""Client authentications that succeeded, remembered so that a client presenting the very same
credentials again skips reading them and the keyed-hash comparison.

A partner asks for a token with the same `Authorization: Basic …` header (or the same
`client_id` + `client_secret` in the body) many times a minute. Parsing that header, checking
the secret's checksum and spending an HMAC on it are a fifth of a token request's CPU, and their
answer only changes when the credential does. So the first success is remembered under a keyed
BLAKE2b digest of the credentials as presented, and a request presenting them again is
recognised by that digest.

What makes this safe:
- Only successes are remembered. A wrong, unknown or malformed secret never matches an entry
  (the digest covers the whole presented secret), so it always takes the full path and costs
  what it did (CR-05); a hit needs the exact secret, so its speed tells a caller nothing they
  did not already know.
- An entry holds the directory's `CredentialState` it was verified against, and is used only
  while the directory still holds that very object (`is`). Any change to the credential or its
  secrets (revocation, rotation, a secret ended, re-scoping, a new allowlist) reaches the
  directory through the change feed and replaces the object, so the next request takes the full
  path (RS-10, CR-06). Time-based states (expiry, a grace period ending) and the caller's
  address are checked on every hit, as on the full path.
- The failure throttle runs before an entry is looked at, as it does before a secret is (TE-20).
- Secrets are not stored: the key is random per process and never leaves it, and 256-bit
  digests of 256-bit secrets are not a way back to them.
- The number of entries is bounded, oldest out first. Only a caller holding valid credentials
  adds one (each spelling of its header is an entry of its own), and an entry pushed out costs
  its client's next request the full path, which is what every request cost without this.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from auth.partners.client_secrets import AuthenticatedClient

DEFAULT_MAX_ENTRIES = 10_000


class VerifiedClients:
    __slots__ = ("_entries", "_key", "_max_entries")

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._key = secrets.token_bytes(32)
        self._max_entries = max_entries
        self._entries: dict[bytes, AuthenticatedClient] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def digest(self, headers: Mapping[str, str], form: Mapping[str, str]) -> bytes | None:
        """The keyed digest of the client secret credentials the request presents in one way
        only (Basic or body); None for any other request (assertions, several ways, none),
        which takes the full path that verifies or refuses it (auth/partners/client_auth.py)."""
        if "client_assertion" in form or "client_assertion_type" in form:
            return None
        header = headers.get("authorization")
        if header is not None:
            if "client_secret" in form:
                return None
            material = b"basic\x00" + header.encode("latin-1")
        else:
            secret = form.get("client_secret")
            if secret is None:
                return None
            client_id = form.get("client_id", "")
            # The length keeps (id, secret) pairs apart that would concatenate alike.
            material = f"post\x00{len(client_id)}\x00{client_id}\x00{secret}".encode()
        return hashlib.blake2b(material, key=self._key, digest_size=32).digest()

    def recall(self, digest: bytes, form: Mapping[str, str]) -> AuthenticatedClient | None:
        """The client the digest was verified as; None when unknown, or when the body names
        another client ID next to Basic (the full path then refuses the request)."""
        client = self._entries.get(digest)
        if client is None:
            return None
        body_id = form.get("client_id")
        if body_id is not None and not hmac.compare_digest(
            body_id.encode(), client.credential.client_id.encode()
        ):
            return None
        return client

    def remember(self, digest: bytes, client: AuthenticatedClient) -> None:
        entries = self._entries
        entries.pop(digest, None)
        entries[digest] = client
        if len(entries) > self._max_entries:
            del entries[next(iter(entries))]

    def forget(self, digest: bytes) -> None:
        self._entries.pop(digest, None)
