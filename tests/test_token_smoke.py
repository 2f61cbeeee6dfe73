from __future__ import annotations

import httpx
import jwt
from starlette.applications import Starlette

from tests.helpers import make_admin, make_credential


async def test_client_credentials_flow(client: httpx.AsyncClient, app: Starlette) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["kid"] == header["kid"]
    introspection = await client.post(
        "/oauth/introspect",
        data={"token": body["access_token"]},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert introspection.json()["active"] is True, introspection.text
    revoked = await client.post(
        "/oauth/revoke",
        data={"token": body["access_token"]},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert revoked.status_code == 200
    introspection = await client.post(
        "/oauth/introspect",
        data={"token": body["access_token"]},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert introspection.json() == {"active": False}
