"""Unexpected faults in the OAuth endpoints fail closed with a generic RFC 6749 body (LG-03)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from auth.partners.authorization_server import AuthorizationServer
from tests.helpers import make_admin, make_credential


async def test_lg03_unexpected_fault_is_a_generic_server_error(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT secret_hash FROM credential_secret -- /srv/app/secret.py")

    monkeypatch.setattr(AuthorizationServer, "issue_token", explode)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 500
    assert response.json() == {
        "error": "server_error",
        "error_description": "The server could not handle the request.",
    }
    assert response.headers["cache-control"] == "no-store"
    assert "SELECT" not in response.text
    assert "secret.py" not in response.text
