"""Remembered client authentications at the token endpoint (auth/partners/verified_clients.py;
SECURITY.md CR-05, CR-06, RS-10, TE-11, TE-20, TE-22): a client presenting the credentials it
succeeded with before skips the keyed-hash comparison, and is refused exactly when the full path
would refuse it.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.admins.identity import Actor
from auth.partners.client_secrets import AuthenticatedClient
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.verified_clients import VerifiedClients
from models.credential import Credential
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.operations.credential_changes import revoke_credential
from partner_api.operations.credentials import IssuedSecret
from tests.conftest import CLIENT_ADDRESS, AppFactory
from tests.helpers import (
    client_at,
    make_admin,
    make_credential,
    rotate_secret,
    wrong_secret_for,
)

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}
SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")


def basic(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, issued.secret_value


@pytest.fixture
async def organisation(db: TortoiseContext) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation)


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every keyed-hash comparison of a presented secret, as the secret compared."""
    checked: list[str] = []
    original = KeyedHasher.matches

    def counted(self: KeyedHasher, value: str, stored: str) -> bool:
        checked.append(value)
        return original(self, value, stored)

    monkeypatch.setattr(KeyedHasher, "matches", counted)
    return checked


async def token_status(client: httpx.AsyncClient, **request: Any) -> int:
    request.setdefault("data", GRANT)
    return (await client.post(TOKEN, **request)).status_code


# -- what is remembered ------------------------------------------------------------------------


async def test_a_repeated_basic_pair_skips_the_keyed_hash(
    client: httpx.AsyncClient, issued: IssuedSecret, hash_checks: list[str]
) -> None:
    for _ in range(3):
        assert await token_status(client, auth=basic(issued)) == 200
    assert hash_checks == [issued.secret_value]


async def test_a_repeated_body_pair_skips_the_keyed_hash(
    client: httpx.AsyncClient, issued: IssuedSecret, hash_checks: list[str]
) -> None:
    form = {**GRANT, "client_id": issued.credential.client_id, "client_secret": issued.secret_value}
    for _ in range(3):
        assert await token_status(client, data=form) == 200
    assert hash_checks == [issued.secret_value]


async def test_cr05_failures_are_never_remembered(
    client: httpx.AsyncClient, issued: IssuedSecret, hash_checks: list[str]
) -> None:
    """Every wrong secret takes the full path and costs its HMAC, however often it is sent."""
    wrong = (issued.credential.client_id, wrong_secret_for(issued.secret_value))
    for _ in range(3):
        assert await token_status(client, auth=wrong) == 401
    assert hash_checks == [wrong[1]] * 3
    assert await token_status(client, auth=basic(issued)) == 200


async def test_cr05_a_remembered_secret_under_another_client_id_is_refused(
    client: httpx.AsyncClient, organisation: Organisation, issued: IssuedSecret
) -> None:
    other = await make_credential(organisation=organisation, name="Other integration")
    assert await token_status(client, auth=basic(issued)) == 200
    assert await token_status(client, auth=(other.credential.client_id, issued.secret_value)) == 401
    form = {**GRANT, "client_id": other.credential.client_id, "client_secret": issued.secret_value}
    assert await token_status(client, data=form) == 401


# -- a remembered pair is refused exactly when the full path would refuse it ---------------------


async def test_rs10_revoking_the_credential_ends_a_remembered_pair_at_once(
    client: httpx.AsyncClient, organisation: Organisation, issued: IssuedSecret
) -> None:
    for _ in range(2):
        assert await token_status(client, auth=basic(issued)) == 200
    await revoke_credential(
        TenantScope(organisation.id), SYSTEM, str(issued.credential.id), None, now=utcnow()
    )
    assert await token_status(client, auth=basic(issued)) == 401


async def test_cr06_a_secret_rotated_away_stops_at_once_and_after_its_grace(
    client: httpx.AsyncClient,
    organisation: Organisation,
    issued: IssuedSecret,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(2):
        assert await token_status(client, auth=basic(issued)) == 200
    in_grace = await rotate_secret(organisation, issued, grace_minutes=60)
    for _ in range(2):
        assert await token_status(client, auth=basic(issued)) == 200
        assert await token_status(client, auth=basic(in_grace)) == 200

    after_grace = utcnow() + timedelta(minutes=61)
    monkeypatch.setattr("auth.partners.authorization_server.utcnow", lambda: after_grace)
    assert await token_status(client, auth=basic(issued)) == 401
    assert await token_status(client, auth=basic(in_grace)) == 200

    await rotate_secret(organisation, in_grace, grace_minutes=0)
    assert await token_status(client, auth=basic(in_grace)) == 401


async def test_an_expired_credential_is_refused_though_remembered(
    client: httpx.AsyncClient, issued: IssuedSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires_at = utcnow() + timedelta(hours=1)
    await Credential.filter(id=issued.credential.id).update(expires_at=expires_at)
    for _ in range(2):
        assert await token_status(client, auth=basic(issued)) == 200
    later = expires_at + timedelta(seconds=1)
    monkeypatch.setattr("auth.partners.authorization_server.utcnow", lambda: later)
    assert await token_status(client, auth=basic(issued)) == 401


async def test_te22_a_remembered_pair_from_outside_the_allowlist_is_refused(
    app: Starlette, client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    await Credential.filter(id=issued.credential.id).update(ip_allowlist=[f"{CLIENT_ADDRESS}/32"])
    for _ in range(2):
        assert await token_status(client, auth=basic(issued)) == 200
    async with client_at(app, "198.51.100.20") as outsider:
        assert await token_status(outsider, auth=basic(issued)) == 401
    assert await token_status(client, auth=basic(issued)) == 200


async def test_te20_a_throttled_address_gets_429_though_its_pair_is_remembered(
    make_app: AppFactory, issued: IssuedSecret
) -> None:
    app = make_app(token_max_failures_per_client_address=3)
    wrong = (issued.credential.client_id, wrong_secret_for(issued.secret_value))
    async with client_at(app, "192.0.2.66") as attacker:
        for _ in range(2):
            assert await token_status(attacker, auth=basic(issued)) == 200
        for _ in range(3):
            assert await token_status(attacker, auth=wrong) == 401
        assert await token_status(attacker, auth=basic(issued)) == 429
    async with client_at(app, CLIENT_ADDRESS) as partner:
        assert await token_status(partner, auth=basic(issued)) == 200


async def test_te09_another_client_id_in_the_body_next_to_a_remembered_header_is_refused(
    client: httpx.AsyncClient, organisation: Organisation, issued: IssuedSecret
) -> None:
    other = await make_credential(organisation=organisation, name="Other integration")
    assert await token_status(client, auth=basic(issued)) == 200
    mismatch = {**GRANT, "client_id": other.credential.client_id}
    response = await client.post(TOKEN, data=mismatch, auth=basic(issued))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    matching = {**GRANT, "client_id": issued.credential.client_id}
    assert await token_status(client, data=matching, auth=basic(issued)) == 200


async def test_te11_a_remembered_header_with_a_body_secret_is_refused(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    assert await token_status(client, auth=basic(issued)) == 200
    both = {**GRANT, "client_id": issued.credential.client_id, "client_secret": issued.secret_value}
    response = await client.post(TOKEN, data=both, auth=basic(issued))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


async def test_a_reloaded_credential_is_verified_again(
    app: Starlette, client: httpx.AsyncClient, issued: IssuedSecret, hash_checks: list[str]
) -> None:
    """An entry holds only while the directory holds the state it was verified against."""
    assert await token_status(client, auth=basic(issued)) == 200
    app.state.services.authorization_server.directory.clear()
    assert await token_status(client, auth=basic(issued)) == 200
    assert await token_status(client, auth=basic(issued)) == 200
    assert hash_checks == [issued.secret_value] * 2


# -- the store itself --------------------------------------------------------------------------


def basic_headers(value: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def test_only_one_secret_method_has_a_digest() -> None:
    store = VerifiedClients()
    headers = basic_headers("pcl_a:pcs_b")
    assert store.digest(headers, {}) is not None
    assert store.digest({}, {"client_id": "pcl_a", "client_secret": "pcs_b"}) is not None
    assert store.digest(headers, {"client_secret": "pcs_b"}) is None
    assert store.digest(headers, {"client_assertion": "x"}) is None
    assert store.digest({}, {"client_assertion_type": "x", "client_secret": "y"}) is None
    assert store.digest({}, {"client_id": "pcl_a"}) is None


def test_digests_keep_methods_and_pairs_apart() -> None:
    store = VerifiedClients()
    digests = {
        store.digest({}, {"client_id": "ab", "client_secret": "c"}),
        store.digest({}, {"client_id": "a", "client_secret": "bc"}),
        store.digest({}, {"client_secret": "abc"}),
        store.digest({"authorization": "abc"}, {}),
    }
    assert len(digests) == 4


def test_digests_are_keyed_per_process_and_hold_no_secret() -> None:
    form = {"client_id": "pcl_a", "client_secret": "pcs_secret_value"}
    first, second = VerifiedClients().digest({}, form), VerifiedClients().digest({}, form)
    assert first is not None
    assert second is not None
    assert first != second
    assert b"pcs_secret_value" not in first


def marker(name: str) -> AuthenticatedClient:
    """Stands for a verified client: the store keeps what it is given."""
    return AuthenticatedClient(credential=name, secret=name)  # type: ignore[arg-type]


def test_the_store_is_bounded_oldest_out_first() -> None:
    store = VerifiedClients(max_entries=2)
    for name in ("a", "b", "c"):
        store.remember(name.encode(), marker(name))
    assert len(store) == 2
    assert store.recall(b"a", {}) is None
    assert store.recall(b"b", {}) == marker("b")
    assert store.recall(b"c", {}) == marker("c")
