"""The client secret check as partners meet it: at `POST /oauth/token` (CR-03, CR-04, CR-05,
CR-06, CR-08), counting the database queries and keyed-hash comparisons a request costs.

Time-dependent cases move the authorization server's clock
(`auth.partners.authorization_server.utcnow`,
the one clock its calls read), so the same credential cache, rules and responses production runs
decide them.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from auth.admins.identity import Actor
from auth.partners import change_feed
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import client_secret_lookup_id, new_client_id, new_client_secret
from models.credential import Credential, CredentialSecret
from models.oauth import ChangeKind
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credential_changes import revoke_credential
from partner_api.operations.credentials import IssuedSecret, regenerate_secret
from partner_api.web.app import create_app
from tests.helpers import (
    TEST_PEPPER,
    counting_queries,
    make_credential,
    wrong_secret_for,
)

TOKEN = "/oauth/token"
HASHER = KeyedHasher((TEST_PEPPER,))
SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No change-feed read falls due inside a counted request: a change this process makes still
    # reaches its cache at once (the feed syncs after a local publication).
    return replace(settings, change_feed_poll_milliseconds=3_600_000)


@pytest.fixture
async def organisation(app: Starlette) -> Organisation:
    return await Organisation.create(name="Acme Tickets")


async def _issue(organisation: Organisation, name: str = "Box office") -> IssuedSecret:
    return await make_credential(organisation=organisation, name=name, hasher=HASHER)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-urlencode id and secret, then base64 `id:secret`."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(client_id, secret)
    )


async def _accepted(client: httpx.AsyncClient, client_id: str, secret: str) -> bool:
    """True for a token, False for the one refusal every failed authentication gets (TE-14)."""
    response = await _token(client, client_id, secret)
    if response.status_code == 200:
        return True
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    return False


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The authorization server's clock reads `moment` from now on."""

    def clock() -> datetime:
        return moment

    monkeypatch.setattr("auth.partners.authorization_server.utcnow", clock)


async def _warm(client: httpx.AsyncClient) -> None:
    """One request first, so that the server's start (keys, revocations) is not counted."""
    assert not await _accepted(client, new_client_id(), new_client_secret().value)


async def test_valid_pair_verifies_and_names_credential_and_secret(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    issued = await _issue(organisation)
    response = await _token(client, issued.credential.client_id, issued.secret_value)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["credential_id"] == str(issued.credential.id)
    assert claims["organisation_id"] == str(organisation.id)
    secret = await CredentialSecret.get(id=claims["secret_id"])
    assert secret.lookup_id == client_secret_lookup_id(issued.secret_value)
    assert secret.hint == issued.secret_value[-4:]


async def test_cr05_wrong_secret_or_someone_elses_pair_is_refused(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    mine = await _issue(organisation, "Mine")
    theirs = await _issue(organisation, "Theirs")
    # A valid secret of another credential, presented with my client ID.
    assert not await _accepted(client, mine.credential.client_id, theirs.secret_value)
    # My valid secret presented with another credential's client ID.
    assert not await _accepted(client, theirs.credential.client_id, mine.secret_value)
    # A well-formed secret nobody was issued.
    assert not await _accepted(client, mine.credential.client_id, new_client_secret().value)
    # An unknown client ID with a real secret.
    assert not await _accepted(client, new_client_id(), mine.secret_value)
    assert not await _accepted(client, "", mine.secret_value)
    # The genuine pairs still work.
    assert await _accepted(client, mine.credential.client_id, mine.secret_value)
    assert await _accepted(client, theirs.credential.client_id, theirs.secret_value)


async def test_cr03_guessed_secret_for_a_known_lookup_id_is_refused(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A well-formed value (right prefix, lookup id, checksum) with the wrong random part: it
    reaches the keyed-hash comparison, which refuses it."""
    issued = await _issue(organisation)
    forged = wrong_secret_for(issued.secret_value)
    assert client_secret_lookup_id(forged) == client_secret_lookup_id(issued.secret_value)
    row = await CredentialSecret.get(credential_id=issued.credential.id)
    compared = _count_hmacs(monkeypatch)
    assert not await _accepted(client, issued.credential.client_id, forged)
    assert compared == [row.secret_hash]


async def test_cr03_stored_hash_or_hint_presented_as_secret_never_verifies(
    client: httpx.AsyncClient, organisation: Organisation
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
        assert not await _accepted(client, client_id, presented), presented


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
    client: httpx.AsyncClient,
    organisation: Organisation,
    monkeypatch: pytest.MonkeyPatch,
    malformed: str,
) -> None:
    issued = await _issue(organisation)
    await _warm(client)
    with counting_queries(monkeypatch) as statements:
        assert not await _accepted(client, issued.credential.client_id, malformed)
        # A mistyped real secret (one character changed) is caught by the checksum, too.
        typo = issued.secret_value[:-8] + ("a" if issued.secret_value[-8] != "a" else "b")
        typo += issued.secret_value[-7:]
        assert not await _accepted(client, issued.credential.client_id, typo)
    assert statements == [], "a malformed secret reached the database"


async def test_revoked_credential_is_refused(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    issued = await _issue(organisation)
    scope = TenantScope(organisation.id)
    await revoke_credential(scope, SYSTEM, str(issued.credential.id), "test", now=utcnow())
    assert not await _accepted(client, issued.credential.client_id, issued.secret_value)


async def test_revoked_credential_is_refused_even_if_its_secret_was_not_ended(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    """The credential's own status is checked, not only the secret's."""
    issued = await _issue(organisation)
    await Credential.filter(id=issued.credential.id).update(revoked_at=utcnow())
    assert not await _accepted(client, issued.credential.client_id, issued.secret_value)


async def test_expired_credential_is_refused(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await _issue(organisation)
    now = utcnow()
    await Credential.filter(id=issued.credential.id).update(expires_at=now + timedelta(hours=1))
    client_id, secret = issued.credential.client_id, issued.secret_value
    _at(monkeypatch, now)
    assert await _accepted(client, client_id, secret)
    _at(monkeypatch, now + timedelta(hours=2))
    assert not await _accepted(client, client_id, secret)

    await Credential.filter(id=issued.credential.id).update(expires_at=now - timedelta(seconds=1))
    # As every writer does, so each process drops its cached copy.
    await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=issued.credential.id)
    _at(monkeypatch, now)
    assert not await _accepted(client, client_id, secret)


async def test_ended_secret_is_refused(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    issued = await _issue(organisation)
    await CredentialSecret.filter(credential_id=issued.credential.id).update(ended_at=utcnow())
    assert not await _accepted(client, issued.credential.client_id, issued.secret_value)


async def test_cr06_previous_secret_works_until_its_grace_period_ends(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
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

    _at(monkeypatch, now + timedelta(minutes=59))
    assert await _accepted(client, client_id, old)
    assert await _accepted(client, client_id, new)
    _at(monkeypatch, now + timedelta(minutes=61))
    assert not await _accepted(client, client_id, old)
    assert await _accepted(client, client_id, new)


async def test_cr06_rotation_without_grace_ends_the_previous_secret_at_once(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    issued = await _issue(organisation)
    client_id = issued.credential.client_id
    assert await _accepted(client, client_id, issued.secret_value)  # cached, as on a busy server
    regenerated = await regenerate_secret(
        TenantScope(organisation.id),
        SYSTEM,
        str(issued.credential.id),
        timedelta(0),
        hasher=HASHER,
        now=utcnow(),
    )
    assert not await _accepted(client, client_id, issued.secret_value)
    assert await _accepted(client, client_id, regenerated.secret_value)


async def test_cr08_secret_hashed_with_a_previous_pepper_still_verifies(
    app: Starlette, settings: Settings, organisation: Organisation
) -> None:
    issued = await _issue(organisation)
    new_pepper = b"rotated-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
    client_id = issued.credential.client_id

    async def accepted_with(peppers: tuple[bytes, ...]) -> bool:
        rotated = create_app(replace(settings, secret_peppers=peppers), manage_database=False)
        transport = httpx.ASGITransport(app=rotated)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await _accepted(client, client_id, issued.secret_value)

    assert await accepted_with((new_pepper, TEST_PEPPER))
    # Once the old pepper is dropped from configuration, its hashes stop verifying.
    assert not await accepted_with((new_pepper,))


def _count_hmacs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hash of every keyed-hash comparison from now on."""
    calls: list[str] = []
    real_matches = KeyedHasher.matches

    def counting_matches(self: KeyedHasher, value: str, stored: str) -> bool:
        calls.append(stored)
        return real_matches(self, value, stored)

    monkeypatch.setattr(KeyedHasher, "matches", counting_matches)
    return calls


async def test_cr05_a_miss_costs_one_hmac_like_a_hit(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await _issue(organisation)
    calls = _count_hmacs(monkeypatch)

    assert not await _accepted(client, issued.credential.client_id, new_client_secret().value)
    assert len(calls) == 1, "an unknown lookup id skipped the HMAC"

    calls.clear()
    assert await _accepted(client, issued.credential.client_id, issued.secret_value)
    assert len(calls) == 1

    calls.clear()
    assert not await _accepted(client, new_client_id(), issued.secret_value)
    assert len(calls) == 1


async def test_cr05_a_refusal_costs_the_same_queries_for_a_known_and_an_unknown_client_id(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client ID presented is not looked up while refusing: the only query is the secret's
    lookup, the same one whether the client ID exists or not."""
    issued = await _issue(organisation)
    await _warm(client)
    costs: list[tuple[list[str], int]] = []
    for client_id in (issued.credential.client_id, new_client_id()):
        calls = _count_hmacs(monkeypatch)
        with counting_queries(monkeypatch) as statements:
            assert not await _accepted(client, client_id, new_client_secret().value)
        costs.append(([_table_of(statement) for statement in statements], len(calls)))
    assert costs == [(["credential_secret"], 1)] * 2


def _table_of(statement: str) -> str:
    return statement.split(" FROM ", 1)[1].split()[0].strip('"`')


async def test_cr04_hash_comparison_is_constant_time(
    client: httpx.AsyncClient, organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await _issue(organisation)
    compared: list[object] = []
    real_compare = hmac.compare_digest

    def recording_compare(a: Any, b: Any) -> bool:
        compared.append(b)
        return real_compare(a, b)

    monkeypatch.setattr("auth.partners.keyed_hash.hmac.compare_digest", recording_compare)
    assert await _accepted(client, issued.credential.client_id, issued.secret_value)
    row = await CredentialSecret.get(credential_id=issued.credential.id)
    assert row.secret_hash.split("$")[2] in compared
