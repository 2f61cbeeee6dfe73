"""Verifying a presented client ID + secret (SECURITY.md CR-03..05): the check the token,
introspection and revocation endpoints run, through `auth.partners.client_authentication`.

A value that is not a well-formed secret (wrong prefix, length, alphabet or checksum) is refused
before anything else: no database query and no HMAC, which also means a stored hash presented as
a secret never verifies. That costs the same for every client ID, known or not, because the
format is all it depends on. A well-formed secret costs one lookup by the lookup part embedded in
it (the credential directory's cache, else one indexed query) and exactly one HMAC comparison,
also when no secret has that lookup part, so a miss costs what a hit does (CR-05).
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime
from typing import NamedTuple

from auth.partners.client_auth import PresentedClient
from auth.partners.credential_directory import CredentialDirectory, CredentialState
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.secret_state import SecretState
from auth.tokens import client_secret_lookup_id


class AuthenticatedClient(NamedTuple):
    # A NamedTuple, not a frozen dataclass: as immutable at half the cost to build, and one is
    # built on every token request.
    credential: CredentialState
    secret: SecretState


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


async def verify_client(
    directory: CredentialDirectory,
    hasher: KeyedHasher,
    presented: PresentedClient,
    *,
    client_ip: str | None,
    now: datetime,
) -> AuthenticatedClient | str:
    """The credential and secret when the pair verifies and both are usable from `client_ip` at
    `now`; otherwise the reason, for logs and the audit trail only (never for the client)."""
    lookup_id = client_secret_lookup_id(presented.client_secret)
    if lookup_id is None:
        return "malformed_secret"
    found = await directory.by_lookup_id(lookup_id, now=now, monotonic_now=time.monotonic())
    if found is None:
        hasher.spend_on_miss(presented.client_secret)
        return "unknown_secret"
    credential, secret = found
    if not secret_matches(
        hasher,
        presented_secret=presented.client_secret,
        presented_client_id=presented.client_id,
        stored_hash=secret.secret_hash,
        stored_client_id=credential.client_id,
    ):
        return "wrong_secret"
    if not credential.active_at(now):
        return "credential_inactive"
    if not secret.live_at(now):
        return "secret_expired"
    if not credential.admits_address(client_ip):
        return "address_not_allowed"
    return AuthenticatedClient(credential=credential, secret=secret)
