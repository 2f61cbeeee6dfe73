"""Token introspection (RFC 7662, SECURITY.md IN-01..04) and revocation (RFC 7009, RV-01..03).

Both endpoints authenticate the client, and a client only ever learns about, or revokes, its own
tokens: anything else is `{"active": false}` / a 200 that changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette

from auth.partners.authorization_server import AuthorizationServer
from partner_api.foundation.scopes import CATALOGUE
from tests.helpers import (
    admin_token,
    create_via_graphql,
    gql,
    make_admin,
    make_credential,
    operation,
    wrong_secret_for,
)

CATALOGUE_NAMES = [scope.name for scope in CATALOGUE]
INACTIVE = {"active": False}


def authorization_server(app: Starlette) -> AuthorizationServer:
    server: AuthorizationServer = app.state.services.authorization_server
    return server


@dataclass(frozen=True)
class Partner:
    client_id: str
    secret: str
    credential_id: str

    async def token(self, client: httpx.AsyncClient, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        response = await client.post("/oauth/token", data=form, auth=(self.client_id, self.secret))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def introspect_response(
        self, client: httpx.AsyncClient, token: str, **form: str
    ) -> httpx.Response:
        return await client.post(
            "/oauth/introspect", data={"token": token, **form}, auth=(self.client_id, self.secret)
        )

    async def introspect(self, client: httpx.AsyncClient, token: str) -> dict[str, Any]:
        response = await self.introspect_response(client, token)
        assert response.status_code == 200, response.text
        assert_no_store(response)
        body: dict[str, Any] = response.json()
        return body

    async def revoke(self, client: httpx.AsyncClient, token: str, **form: str) -> httpx.Response:
        return await client.post(
            "/oauth/revoke", data={"token": token, **form}, auth=(self.client_id, self.secret)
        )


async def new_partner(organisation_name: str = "Acme Tickets", name: str = "Box office") -> Partner:
    _, organisation, _ = await make_admin(
        organisation=organisation_name,
        email=f"admin-{uuid4().hex[:12]}@example.org",
    )
    issued = await make_credential(organisation=organisation, name=name)
    return Partner(issued.credential.client_id, issued.secret_value, str(issued.credential.id))


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store", response.headers
    assert response.headers["pragma"] == "no-cache", response.headers


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert_no_store(response)


def resigned(server: AuthorizationServer, token: str, **claims: Any) -> str:
    """`token`'s claims with `claims` changed, validly signed with the server's active key."""
    key = server.key_ring.active
    assert key is not None
    payload = {**jwt.decode(token, options={"verify_signature": False}), **claims}
    return jwt.encode(
        payload, key.private_key, algorithm=key.algorithm, headers={"typ": "at+jwt", "kid": key.kid}
    )


def foreign_signed(token: str) -> str:
    """`token`'s claims and header, signed by a key that is not ours."""
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(
        payload, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header
    )


# -- IN: introspection -------------------------------------------------------------------------


async def test_in01_introspection_requires_client_authentication(
    client: httpx.AsyncClient,
) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    anonymous = await client.post("/oauth/introspect", data={"token": token})
    assert_invalid_client(anonymous)
    wrong_secret = await client.post(
        "/oauth/introspect",
        data={"token": token},
        auth=(partner.client_id, wrong_secret_for(partner.secret)),
    )
    assert_invalid_client(wrong_secret)
    unknown_client = await client.post(
        "/oauth/introspect", data={"token": token}, auth=("pcl_unknown", partner.secret)
    )
    assert_invalid_client(unknown_client)
    # The access token itself is not a client credential.
    bearer = await client.post(
        "/oauth/introspect", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_invalid_client(bearer)
    # The refusals carry nothing about the token.
    for response in (anonymous, wrong_secret, unknown_client, bearer):
        assert "active" not in response.json()
        assert partner.client_id not in response.text


async def test_in02_own_valid_token_is_active_with_its_details(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    partner = await new_partner()
    token = await partner.token(client, scope="orders:read events:read")
    claims = jwt.decode(token, options={"verify_signature": False})
    body = await partner.introspect(client, token)
    assert body["active"] is True
    assert body["scope"] == "events:read orders:read"
    assert body["client_id"] == partner.client_id
    assert body["token_type"] == "Bearer"
    for name in ("exp", "iat", "sub", "aud", "iss"):
        assert body[name] == claims[name], name
    assert body["sub"] == "client:" + partner.client_id
    assert body["iss"] == authorization_server(app).settings.issuer


async def test_in02_introspection_with_client_secret_post_and_a_type_hint(
    client: httpx.AsyncClient,
) -> None:
    """IN-02 with `client_secret_post` and a type hint; the answer is never cached (TE-17)."""
    partner = await new_partner()
    token = await partner.token(client)
    response = await client.post(
        "/oauth/introspect",
        data={
            "token": token,
            "token_type_hint": "access_token",
            "client_id": partner.client_id,
            "client_secret": partner.secret,
        },
    )
    assert response.status_code == 200, response.text
    assert_no_store(response)
    assert response.json()["active"] is True
    assert response.json()["scope"] == " ".join(CATALOGUE_NAMES)


@pytest.mark.parametrize(
    "garbage", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 300, " "]
)
async def test_in03_garbage_token_is_only_inactive(client: httpx.AsyncClient, garbage: str) -> None:
    partner = await new_partner()
    assert await partner.introspect(client, garbage) == INACTIVE


async def test_in03_token_signed_by_another_key_is_only_inactive(
    client: httpx.AsyncClient,
) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    assert await partner.introspect(client, foreign_signed(token)) == INACTIVE


async def test_in03_expired_token_is_only_inactive(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    now = int(time.time())
    expired = resigned(authorization_server(app), token, iat=now - 1000, exp=now - 100)
    still_valid = resigned(authorization_server(app), token, iat=now - 1000, exp=now + 100)
    assert (await partner.introspect(client, still_valid))["active"] is True
    assert await partner.introspect(client, expired) == INACTIVE


async def test_in03_token_past_its_exp_is_inactive_even_within_the_verification_leeway(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """RFC 7662 §2.2/§4: the server knows the exact time; a token past `exp` is not active.
    (The 30 s leeway is for resource servers whose clocks may differ, RS-05.)"""
    partner = await new_partner()
    token = await partner.token(client)
    now = int(time.time())
    just_expired = resigned(authorization_server(app), token, iat=now - 1000, exp=now - 5)
    assert await partner.introspect(client, just_expired) == INACTIVE


async def test_in03_token_revoked_through_rfc7009_is_only_inactive(
    client: httpx.AsyncClient,
) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    assert (await partner.introspect(client, token))["active"] is True
    assert (await partner.revoke(client, token)).status_code == 200
    assert await partner.introspect(client, token) == INACTIVE


async def test_in03_token_of_a_revoked_credential_is_only_inactive(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    session = await admin_token(client)
    created = await create_via_graphql(client, session)
    assert created["__typename"] == "CredentialCreated", created
    partner = Partner(
        created["credential"]["clientId"], created["clientSecret"], created["credential"]["id"]
    )
    token = await partner.token(client)
    colleague = await new_partner(name="Colleague of the same organisation")
    assert (await partner.introspect(client, token))["active"] is True

    body = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": partner.credential_id}},
        token=session,
    )
    assert body["data"]["revokeCredential"]["__typename"] == "CredentialRevoked", body

    # The revoked client cannot even authenticate to ask; nobody else learns anything.
    assert_invalid_client(await partner.introspect_response(client, token))
    assert await colleague.introspect(client, token) == INACTIVE
    assert await authorization_server(app).check_access_token(token) is None


async def test_in03_token_obtained_with_a_rotated_away_secret_is_only_inactive(
    client: httpx.AsyncClient,
) -> None:
    session = await admin_token(client)
    created = await create_via_graphql(client, session)
    assert created["__typename"] == "CredentialCreated", created
    old = Partner(
        created["credential"]["clientId"], created["clientSecret"], created["credential"]["id"]
    )
    token = await old.token(client)
    assert (await old.introspect(client, token))["active"] is True

    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": old.credential_id, "gracePeriodMinutes": 0}},
        token=session,
    )
    result = body["data"]["regenerateCredentialSecret"]
    assert result["__typename"] == "CredentialSecretRegenerated", result
    new = Partner(old.client_id, result["clientSecret"], old.credential_id)
    assert await new.introspect(client, token) == INACTIVE
    assert (await new.introspect(client, await new.token(client)))["active"] is True


async def test_in04_another_clients_valid_token_is_only_inactive(
    client: httpx.AsyncClient,
) -> None:
    owner = await new_partner()
    same_organisation = await new_partner(name="Second integration")
    other_organisation = await new_partner(organisation_name="Rival Events", name="Rival")
    token = await owner.token(client)
    assert await same_organisation.introspect(client, token) == INACTIVE
    assert await other_organisation.introspect(client, token) == INACTIVE
    assert (await owner.introspect(client, token))["active"] is True


@pytest.mark.parametrize("form", [{}, {"token": ""}])
async def test_in_missing_token_parameter_is_invalid_request(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    partner = await new_partner()
    response = await client.post(
        "/oauth/introspect", data=form, auth=(partner.client_id, partner.secret)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert_no_store(response)


# -- RV: revocation ----------------------------------------------------------------------------


async def test_rv01_revocation_requires_client_authentication(client: httpx.AsyncClient) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    assert_invalid_client(await client.post("/oauth/revoke", data={"token": token}))
    assert_invalid_client(
        await client.post(
            "/oauth/revoke",
            data={"token": token},
            auth=(partner.client_id, wrong_secret_for(partner.secret)),
        )
    )
    # Refused requests revoked nothing.
    assert (await partner.introspect(client, token))["active"] is True


async def test_rv02_unknown_or_garbage_token_is_200(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    now = int(time.time())
    expired = resigned(authorization_server(app), token, iat=now - 1000, exp=now - 100)
    for unknown in ("garbage", "a.b.c", foreign_signed(token), expired):
        response = await partner.revoke(client, unknown)
        assert response.status_code == 200, (unknown, response.text)
        assert_no_store(response)
    assert (await partner.introspect(client, token))["active"] is True


async def test_rv03_another_clients_token_is_not_revoked(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    owner = await new_partner()
    same_organisation = await new_partner(name="Second integration")
    other_organisation = await new_partner(organisation_name="Rival Events", name="Rival")
    token = await owner.token(client)
    for intruder in (same_organisation, other_organisation):
        response = await intruder.revoke(client, token)
        assert response.status_code == 200, response.text
    assert (await owner.introspect(client, token))["active"] is True
    assert await authorization_server(app).check_access_token(token) is not None


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
async def test_rv_own_token_is_revoked_and_only_that_token(
    client: httpx.AsyncClient, app: Starlette, hint: str | None
) -> None:
    """RFC 7009 §2.1: a wrong or absent hint does not stop the server finding the token."""
    partner = await new_partner()
    token = await partner.token(client)
    other_token = await partner.token(client)
    form = {} if hint is None else {"token_type_hint": hint}
    response = await partner.revoke(client, token, **form)
    assert response.status_code == 200, response.text
    assert_no_store(response)
    assert await partner.introspect(client, token) == INACTIVE
    assert await authorization_server(app).check_access_token(token) is None
    # The client itself, and its other tokens, are unaffected.
    assert (await partner.introspect(client, other_token))["active"] is True
    assert (await partner.introspect(client, await partner.token(client)))["active"] is True


async def test_rv_revoking_a_token_still_within_the_leeway_ends_it(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """A token a resource server still accepts (past `exp`, inside the 30 s leeway, RS-05)
    must stop being accepted once its revocation was acknowledged with 200."""
    server = authorization_server(app)
    partner = await new_partner()
    token = await partner.token(client)
    now = int(time.time())
    in_leeway = resigned(server, token, iat=now - 1000, exp=now - 5)
    assert await server.check_access_token(in_leeway) is not None
    assert (await partner.revoke(client, in_leeway)).status_code == 200
    assert await server.check_access_token(in_leeway) is None


async def test_rv_revoking_twice_is_200_both_times(client: httpx.AsyncClient) -> None:
    partner = await new_partner()
    token = await partner.token(client)
    first = await partner.revoke(client, token)
    second = await partner.revoke(client, token)
    assert (first.status_code, second.status_code) == (200, 200)
    assert await partner.introspect(client, token) == INACTIVE


async def test_rv_missing_token_parameter_is_invalid_request(client: httpx.AsyncClient) -> None:
    partner = await new_partner()
    response = await client.post("/oauth/revoke", data={}, auth=(partner.client_id, partner.secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
