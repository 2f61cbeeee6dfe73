"""`verify_client_secret`, what the token endpoint will call (CR-03, CR-04, CR-05)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from auth import tokens
from auth.client_secrets import VerifiedClient, verify_client_secret
from auth.keyed_hash import KeyedHasher
from auth.tokens import client_secret_lookup_id, new_client_id, new_client_secret
from models.credential import Credential, CredentialSecret
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.audit import Actor
from partner_api.clock import utcnow
from partner_api.credentials import IssuedSecret, regenerate_secret, revoke_credential
from tests.helpers import TEST_PEPPER, make_credential

HASHER = KeyedHasher((TEST_PEPPER,))
SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")


@pytest.fixture
async def organisation(db: TortoiseContext) -> Organisation:
    return await Organisation.create(name="Acme Tickets")


async def _issue(organisation: Organisation, name: str = "Box office") -> IssuedSecret:
    return await make_credential(organisation=organisation, name=name, hasher=HASHER)


async def _verify(
    client_id: str,
    secret: str,
    *,
    now: datetime | None = None,
    hasher: KeyedHasher = HASHER,
) -> VerifiedClient | None:
    return await verify_client_secret(client_id, secret, hasher=hasher, now=now or utcnow())


async def test_valid_pair_verifies_and_names_credential_and_secret(
    organisation: Organisation,
) -> None:
    issued = await _issue(organisation)
    verified = await _verify(issued.credential.client_id, issued.secret_value)
    assert verified is not None
    assert verified.credential.id == issued.credential.id
    assert verified.credential.organisation_id == organisation.id  # type: ignore[attr-defined]
    assert verified.secret.lookup_id == client_secret_lookup_id(issued.secret_value)
    assert verified.secret.hint == issued.secret_value[-4:]


async def test_cr05_wrong_secret_or_someone_elses_pair_is_refused(
    organisation: Organisation,
) -> None:
    mine = await _issue(organisation, "Mine")
    theirs = await _issue(organisation, "Theirs")
    # A valid secret of another credential, presented with my client ID.
    assert await _verify(mine.credential.client_id, theirs.secret_value) is None
    # My valid secret presented with another credential's client ID.
    assert await _verify(theirs.credential.client_id, mine.secret_value) is None
    # A well-formed secret nobody was issued.
    assert await _verify(mine.credential.client_id, new_client_secret().value) is None
    # An unknown client ID with a real secret.
    assert await _verify(new_client_id(), mine.secret_value) is None
    assert await _verify("", mine.secret_value) is None
    # The genuine pairs still work.
    assert await _verify(mine.credential.client_id, mine.secret_value) is not None
    assert await _verify(theirs.credential.client_id, theirs.secret_value) is not None


async def test_cr03_guessed_secret_for_a_known_lookup_id_is_refused(
    organisation: Organisation,
) -> None:
    """A well-formed value (right prefix, lookup id, checksum) with the wrong random part."""
    issued = await _issue(organisation)
    lookup_id = client_secret_lookup_id(issued.secret_value)
    assert lookup_id is not None
    forged = tokens._with_checksum(
        tokens.CLIENT_SECRET_PREFIX,
        lookup_id + tokens.random_base62(tokens.SECRET_RANDOM_LENGTH),
    )
    assert client_secret_lookup_id(forged) == lookup_id
    assert await _verify(issued.credential.client_id, forged) is None


async def test_cr03_stored_hash_or_hint_presented_as_secret_never_verifies(
    organisation: Organisation,
) -> None:
    issued = await _issue(organisation)
    row = await CredentialSecret.get(credential_id=issued.credential.id)
    assert row.secret_hash.startswith("v1$")
    assert issued.secret_value not in row.secret_hash
    client_id = issued.credential.client_id
    for presented in (
        row.secret_hash,
        "v1$" + row.secret_hash.split("$", 2)[2],
        "v1$00000000$" + "A" * 43,
        row.hint,
        f"pcs_{row.lookup_id}",
        row.lookup_id,
    ):
        assert await _verify(client_id, presented) is None, presented


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "pcs_",
        "not-a-secret",
        "pcs_" + "A" * 61,
        "v1$abcdef12$" + "A" * 43,
        "pas_" + "A" * 49,
    ],
)
async def test_cr03_malformed_secret_is_refused_without_a_database_query(
    organisation: Organisation, monkeypatch: pytest.MonkeyPatch, malformed: str
) -> None:
    issued = await _issue(organisation)

    def no_lookup(*args: Any, **kwargs: Any) -> None:
        pytest.fail("a malformed secret reached the database")

    monkeypatch.setattr(CredentialSecret, "get_or_none", no_lookup)
    assert await _verify(issued.credential.client_id, malformed) is None
    # A mistyped real secret (one character changed) is caught by the checksum, too.
    typo = issued.secret_value[:-8] + ("a" if issued.secret_value[-8] != "a" else "b")
    typo += issued.secret_value[-7:]
    assert await _verify(issued.credential.client_id, typo) is None


async def test_revoked_credential_is_refused(organisation: Organisation) -> None:
    issued = await _issue(organisation)
    scope = TenantScope(organisation.id)
    await revoke_credential(scope, SYSTEM, str(issued.credential.id), "test", now=utcnow())
    assert await _verify(issued.credential.client_id, issued.secret_value) is None


async def test_revoked_credential_is_refused_even_if_its_secret_was_not_ended(
    organisation: Organisation,
) -> None:
    """The credential's own status is checked, not only the secret's."""
    issued = await _issue(organisation)
    await Credential.filter(id=issued.credential.id).update(revoked_at=utcnow())
    assert await _verify(issued.credential.client_id, issued.secret_value) is None


async def test_expired_credential_is_refused(organisation: Organisation) -> None:
    issued = await _issue(organisation)
    now = utcnow()
    await Credential.filter(id=issued.credential.id).update(expires_at=now + timedelta(hours=1))
    client_id, secret = issued.credential.client_id, issued.secret_value
    assert await _verify(client_id, secret, now=now) is not None
    assert await _verify(client_id, secret, now=now + timedelta(hours=2)) is None

    await Credential.filter(id=issued.credential.id).update(expires_at=now - timedelta(seconds=1))
    assert await _verify(client_id, secret, now=now) is None


async def test_ended_secret_is_refused(organisation: Organisation) -> None:
    issued = await _issue(organisation)
    await CredentialSecret.filter(credential_id=issued.credential.id).update(ended_at=utcnow())
    assert await _verify(issued.credential.client_id, issued.secret_value) is None


async def test_cr06_previous_secret_works_until_its_grace_period_ends(
    organisation: Organisation,
) -> None:
    issued = await _issue(organisation)
    client_id = issued.credential.client_id
    now = utcnow()
    regenerated = await regenerate_secret(
        TenantScope(organisation.id),
        SYSTEM,
        str(issued.credential.id),
        timedelta(hours=1),
        hasher=HASHER,
        now=now,
    )
    old, new = issued.secret_value, regenerated.secret_value
    assert old != new

    during = now + timedelta(minutes=59)
    after = now + timedelta(minutes=61)
    assert await _verify(client_id, old, now=during) is not None
    assert await _verify(client_id, new, now=during) is not None
    assert await _verify(client_id, old, now=after) is None
    assert await _verify(client_id, new, now=after) is not None


async def test_cr06_rotation_without_grace_ends_the_previous_secret_at_once(
    organisation: Organisation,
) -> None:
    issued = await _issue(organisation)
    now = utcnow()
    regenerated = await regenerate_secret(
        TenantScope(organisation.id),
        SYSTEM,
        str(issued.credential.id),
        timedelta(0),
        hasher=HASHER,
        now=now,
    )
    client_id = issued.credential.client_id
    assert await _verify(client_id, issued.secret_value, now=now) is None
    assert await _verify(client_id, regenerated.secret_value, now=now) is not None


async def test_cr08_secret_hashed_with_a_previous_pepper_still_verifies(
    organisation: Organisation,
) -> None:
    issued = await _issue(organisation)
    new_pepper = b"rotated-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
    rotated = KeyedHasher((new_pepper, TEST_PEPPER))
    client_id = issued.credential.client_id
    assert await _verify(client_id, issued.secret_value, hasher=rotated) is not None
    # Once the old pepper is dropped from configuration, its hashes stop verifying.
    assert await _verify(client_id, issued.secret_value, hasher=KeyedHasher((new_pepper,))) is None


async def test_cr05_a_miss_costs_one_hmac_like_a_hit(
    organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await _issue(organisation)
    calls: list[str] = []
    real_matches = KeyedHasher.matches

    def counting_matches(self: KeyedHasher, value: str, stored: str) -> bool:
        calls.append(stored)
        return real_matches(self, value, stored)

    monkeypatch.setattr(KeyedHasher, "matches", counting_matches)

    assert await _verify(issued.credential.client_id, new_client_secret().value) is None
    assert len(calls) == 1, "an unknown lookup id skipped the HMAC"

    calls.clear()
    assert await _verify(issued.credential.client_id, issued.secret_value) is not None
    assert len(calls) == 1

    calls.clear()
    assert await _verify(new_client_id(), issued.secret_value) is None
    assert len(calls) == 1


async def test_cr04_hash_comparison_is_constant_time(
    organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await _issue(organisation)
    compared: list[object] = []
    real_compare = hmac.compare_digest

    def recording_compare(a: Any, b: Any) -> bool:
        compared.append(b)
        return real_compare(a, b)

    monkeypatch.setattr("auth.keyed_hash.hmac.compare_digest", recording_compare)
    assert await _verify(issued.credential.client_id, issued.secret_value) is not None
    row = await CredentialSecret.get(credential_id=issued.credential.id)
    assert row.secret_hash.split("$")[2] in compared
