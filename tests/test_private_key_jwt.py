"""private_key_jwt client authentication (RFC 7523 §2.2; SECURITY-PLANNED PK-01..03): real
clients obtain tokens with an assertion, and every bad assertion gets the same invalid_client."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from auth.partners.client_assertions import JWT_BEARER
from models.credential import Credential, CredentialKey
from models.oauth import UsedAssertion
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import make_admin, make_credential
from tests.key_clients import KeyPair, assertion, assertion_form, key_pair, make_key_credential

TOKEN = "/oauth/token"
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
async def organisation(app: Starlette) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def pair() -> KeyPair:
    return key_pair("ES256")


@pytest.fixture
async def credential(organisation: Organisation, pair: KeyPair) -> Credential:
    return await make_key_credential(organisation=organisation, keys=(pair,))


def assert_uniform_invalid_client(response: httpx.Response) -> None:
    """PK-03: the same body as a wrong secret, whatever failed."""
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }


async def token_with(client: httpx.AsyncClient, token: str, **extra: str) -> httpx.Response:
    return await client.post(TOKEN, data=assertion_form(token, **extra))


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256", "PS256"])
async def test_pk01_an_assertion_obtains_a_token_for_each_algorithm(
    client: httpx.AsyncClient, organisation: Organisation, alg: str
) -> None:
    signing = key_pair(alg)
    credential = await make_key_credential(organisation=organisation, keys=(signing,))
    response = await token_with(client, assertion(signing, credential.client_id))
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    partner = await client.get("/partner/v1/events", headers={"Authorization": f"Bearer {access}"})
    assert partner.status_code != 401, partner.text


async def test_pk01_the_issuer_is_an_accepted_audience_too(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    response = await token_with(client, assertion(pair, credential.client_id, audience=ISSUER))
    assert response.status_code == 200, response.text


async def test_introspection_and_revocation_accept_an_assertion(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    issued = (await token_with(client, assertion(pair, credential.client_id))).json()
    form = {
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(pair, credential.client_id),
        "token": issued["access_token"],
    }
    introspected = await client.post("/oauth/introspect", data=form)
    assert introspected.status_code == 200, introspected.text
    assert introspected.json()["active"] is True
    form["client_assertion"] = assertion(pair, credential.client_id)
    revoked = await client.post("/oauth/revoke", data=form)
    assert revoked.status_code == 200, revoked.text
    form["client_assertion"] = assertion(pair, credential.client_id)
    assert (await client.post("/oauth/introspect", data=form)).json()["active"] is False


async def test_a_used_key_records_its_last_use(
    app: Starlette, client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    assert (await token_with(client, assertion(pair, credential.client_id))).status_code == 200
    await app.state.services.authorization_server.housekeeping(force=True)
    key = await CredentialKey.get(credential_id=credential.id, kid=pair.kid)
    assert key.last_used_at is not None


RELATIVE_TIMES = frozenset({"exp", "iat", "nbf"})


@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("wrong_audience", {"audience": "https://other.example/token"}),
        ("extra_audience", {"audience": [ISSUER, "https://other.example"]}),
        # Times as offsets from when the test runs, not from collection: a long suite (the
        # PostgreSQL run takes minutes) would otherwise turn "in the future" into the past.
        ("expired", {"exp": -120}),
        ("too_far_ahead", {"lifetime": 3600}),
        ("future_iat", {"iat": 600}),
        ("future_nbf", {"nbf": 600}),
        ("missing_exp", {"exp": None}),
        ("missing_jti", {"jti": None}),
        ("long_jti", {"jti": "j" * 201}),
        ("wrong_iss", {"iss": "someone-else"}),
        ("wrong_sub", {"sub": "someone-else"}),
    ],
)
async def test_pk01_bad_claims_are_invalid_client(
    client: httpx.AsyncClient,
    credential: Credential,
    pair: KeyPair,
    name: str,
    claims: dict[str, Any],
) -> None:
    now = int(time.time())
    timed = {
        claim: now + value if claim in RELATIVE_TIMES and value is not None else value
        for claim, value in claims.items()
    }
    response = await token_with(client, assertion(pair, credential.client_id, **timed))
    assert_uniform_invalid_client(response)


async def test_pk01_a_replayed_jti_is_invalid_client(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    token = assertion(pair, credential.client_id, jti="once")
    assert (await token_with(client, token)).status_code == 200
    assert_uniform_invalid_client(await token_with(client, token))
    again = assertion(pair, credential.client_id, jti="once")
    assert_uniform_invalid_client(await token_with(client, again))
    assert await UsedAssertion.all().count() == 1


async def test_pk01_expired_replay_records_are_swept(
    app: Starlette, client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    token = assertion(pair, credential.client_id, exp=int(time.time()) - 20)
    assert (await token_with(client, token)).status_code == 200  # inside the 30 s leeway
    await app.state.services.authorization_server.housekeeping(force=True)
    assert await UsedAssertion.all().count() == 1  # kept until exp + leeway
    await UsedAssertion.all().update(expires_at=utcnow() - timedelta(seconds=1))
    await app.state.services.authorization_server.housekeeping(force=True)
    assert await UsedAssertion.all().count() == 0


async def test_pk02_an_unknown_kid_is_invalid_client(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    token = assertion(pair, credential.client_id, headers={"kid": "not-registered"})
    assert_uniform_invalid_client(await token_with(client, token))


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


async def test_pk02_alg_none_is_invalid_client(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    signed = jwt.decode(assertion(pair, credential.client_id), options={"verify_signature": False})
    token = _unsigned(signed, {"alg": "none", "kid": pair.kid})
    assert_uniform_invalid_client(await token_with(client, token))


async def test_pk02_hs256_with_the_public_key_as_secret_is_invalid_client(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    from cryptography.hazmat.primitives import serialization

    public_pem = pair.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(assertion(pair, credential.client_id), options={"verify_signature": False})
    header = {"alg": "HS256", "kid": pair.kid}
    signing_input = _unsigned(claims, header)[:-1].encode()
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.digest(public_pem, signing_input, hashlib.sha256)
    ).rstrip(b"=")
    token = (signing_input + b"." + signature).decode()
    assert_uniform_invalid_client(await token_with(client, token))


async def test_pk02_a_key_of_another_credential_is_invalid_client(
    client: httpx.AsyncClient, organisation: Organisation, credential: Credential
) -> None:
    other_pair = key_pair("ES256")
    await make_key_credential(organisation=organisation, keys=(other_pair,), name="Other")
    token = assertion(other_pair, credential.client_id)
    assert_uniform_invalid_client(await token_with(client, token))


async def test_pk03_an_assertion_for_a_client_secret_credential_is_invalid_client(
    client: httpx.AsyncClient, organisation: Organisation, pair: KeyPair
) -> None:
    issued = await make_credential(organisation=organisation)
    token = assertion(pair, issued.credential.client_id)
    assert_uniform_invalid_client(await token_with(client, token))


async def test_pk03_a_secret_for_a_private_key_jwt_credential_is_invalid_client(
    client: httpx.AsyncClient, organisation: Organisation, credential: Credential
) -> None:
    issued = await make_credential(organisation=organisation)
    # A real, live secret of another credential, presented with the key-based client ID.
    response = await client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": issued.secret_value,
        },
    )
    assert_uniform_invalid_client(response)


async def test_assertion_plus_basic_is_invalid_request(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    basic = base64.b64encode(f"{credential.client_id}:x".encode()).decode()
    response = await client.post(
        TOKEN,
        data=assertion_form(assertion(pair, credential.client_id)),
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


async def test_a_body_client_id_must_match_the_assertion(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    token = assertion(pair, credential.client_id)
    assert_uniform_invalid_client(await token_with(client, token, client_id="pk_other"))
    ok = assertion(pair, credential.client_id)
    assert (await token_with(client, ok, client_id=credential.client_id)).status_code == 200


async def test_a_wrong_assertion_type_is_invalid_request(
    client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    form = assertion_form(assertion(pair, credential.client_id))
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    response = await client.post(TOKEN, data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_revoked_key_credential_is_invalid_client(
    app: Starlette, client: httpx.AsyncClient, credential: Credential, pair: KeyPair
) -> None:
    await Credential.filter(id=credential.id).update(revoked_at=utcnow())
    app.state.services.authorization_server.directory.clear()
    assert_uniform_invalid_client(await token_with(client, assertion(pair, credential.client_id)))
