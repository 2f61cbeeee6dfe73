"""The verified-token cache holds one copy of what a credential's tokens share (issue 16: a
worker's memory with 10,000 active credentials)."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid4

from auth.partners.access_tokens import AccessTokenClaims
from auth.partners.secret_state import SecretState
from auth.partners.verified_tokens import VerifiedTokens, token_digest
from tests.test_token_reuse import _state


def _claims(credential_id: UUID, organisation_id: UUID, secret_id: UUID) -> AccessTokenClaims:
    # Copies, as decoding a token makes them: equal to the credential's, not the same objects.
    return AccessTokenClaims(
        jti="j",
        client_id="".join(["pcl_", "x"]),
        organisation_id=UUID(str(organisation_id)),
        credential_id=UUID(str(credential_id)),
        secret_id=UUID(str(secret_id)),
        scopes=frozenset({"events:read"}),
        issued_at=1,
        expires_at=2,
        key_id="k",
        scope="events:read",
        issuer="https://issuer",
        audience="https://issuer/partner/v1",
    )


def test_a_checked_entry_is_held_with_its_credentials_own_ids() -> None:
    secret = SecretState(id=uuid4(), lookup_id="l", secret_hash="h", expires_at=None)
    state = replace(_state(), client_id="pcl_x", secrets=(secret,))
    claims = _claims(state.id, state.organisation_id, secret.id)
    assert claims.credential_id is not state.id
    cache = VerifiedTokens()
    digest = token_digest("token")
    cache.put(digest, claims)

    adopted = cache.adopt(digest, claims, state, secret)

    assert adopted == claims
    held = cache.get(digest)
    assert held is adopted
    assert held.credential_id is state.id
    assert held.organisation_id is state.organisation_id
    assert held.secret_id is secret.id
    assert held.client_id is state.client_id
    assert cache.adopt(digest, held, state, secret) is held


def test_adopting_an_evicted_entry_does_not_bring_it_back() -> None:
    secret = SecretState(id=uuid4(), lookup_id="l", secret_hash="h", expires_at=None)
    state = replace(_state(), secrets=(secret,))
    cache = VerifiedTokens(max_entries=1)
    first, second = token_digest("first"), token_digest("second")
    claims = _claims(state.id, state.organisation_id, secret.id)
    cache.put(first, claims)
    cache.put(second, claims)
    cache.adopt(first, claims, state, secret)
    assert cache.get(first) is None
    assert len(cache) == 1
