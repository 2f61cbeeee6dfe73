"""Failed admin API token presentations are throttled like failed logins, per address (PT-02,
GQ-15), on both counter backends (in process, and Redis database 15 of the local server).

A malformed, unknown, forged, revoked or expired `pat_…` counts against the caller's address in
the login throttle's per-address budget; over it, the address's requests that present a token are
answered 429 with `Retry-After` before the token is looked up. Other addresses, the admin's
included, are untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.admins.api_tokens import TokenServices
from auth.tokens import new_api_token
from models.api_token import ApiToken
from models.credential import Credential
from partner_api.foundation.clock import utcnow
from partner_api.operations.services import Services
from tests.conftest import AppFactory
from tests.helpers import PASSWORD, counting_queries, create_via_graphql, operation
from tests.test_api_tokens import OWNER, forged, new_token, owner_session

ADMIN_ADDRESS = "203.0.113.10"
ATTACKER_ADDRESS = "192.0.2.66"
LIMIT = 3


@asynccontextmanager
async def client_at(app: Starlette, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def post(
    client: httpx.AsyncClient, document: str, token: str, **variables: Any
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": operation(document), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


def refused_as_unauthenticated(response: httpx.Response) -> bool:
    body = response.json()
    return (
        response.status_code == 200 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    )


async def test_pt02_gq15_failed_tokens_throttle_their_own_address_only(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PT-02, GQ-15: after LIMIT failed tokens from one address, that address's next request is
    429 with Retry-After, its valid token included, and runs no query and no mutation; a password
    sign-in from there is throttled too (one budget). From the admin's address, the token and
    the password still work."""
    app = make_app(login_max_failures_per_address=LIMIT)
    services: TokenServices = app.state.services  # what the authenticator reads of the app
    assert isinstance(services, Services)
    async with client_at(app, ADMIN_ADDRESS) as admin, client_at(app, ATTACKER_ADDRESS) as attacker:
        session = await owner_session(admin)
        token, _ = await new_token(admin, session)
        credential = await create_via_graphql(admin, session)
        guesses = [forged(token), "pat_" + "A" * 61, new_api_token().value]

        failures = [await post(attacker, "Viewer", guess) for guess in guesses]
        with counting_queries(monkeypatch) as statements:
            throttled = await post(
                attacker, "RevokeCredential", token, input={"id": credential["credential"]["id"]}
            )
        password = await attacker.post(
            "/graphql",
            json={"query": operation("Login"), "variables": {"email": OWNER, "password": PASSWORD}},
        )
        from_admin = await post(admin, "Viewer", token)
        signs_in = await admin.post(
            "/graphql",
            json={"query": operation("Login"), "variables": {"email": OWNER, "password": PASSWORD}},
        )

    assert all(refused_as_unauthenticated(response) for response in failures)
    assert throttled.status_code == 429
    wait = int(throttled.headers["retry-after"])
    assert 0 < wait <= 15 * 60
    assert throttled.json() == {
        "data": None,
        "errors": [
            {
                "message": "Too many failed API token attempts from your address; "
                f"try again in {wait} s.",
                "extensions": {"code": "TOO_MANY_REQUESTS", "retryAfterSeconds": wait},
            }
        ],
    }
    assert statements == []
    assert (await Credential.get(id=credential["credential"]["id"])).revoked_at is None
    assert password.json()["data"]["login"]["__typename"] == "LoginThrottled"
    assert from_admin.json()["data"]["viewer"]["role"] == "ADMIN"
    assert signs_in.json()["data"]["login"]["__typename"] == "LoginSuccess"


async def test_pt02_revoked_and_expired_tokens_count_as_failures(make_app: AppFactory) -> None:
    """PT-02: presenting a token that was revoked or has expired is a failure like a wrong one."""
    app = make_app(login_max_failures_per_address=2)
    async with client_at(app, ADMIN_ADDRESS) as admin, client_at(app, ATTACKER_ADDRESS) as other:
        session = await owner_session(admin)
        revoked, revoked_id = await new_token(admin, session, name="Old CI")
        expired, expired_id = await new_token(admin, session, name="Older CI")
        valid, _ = await new_token(admin, session, name="CI")
        await ApiToken.filter(id=revoked_id).update(revoked_at=utcnow())
        await ApiToken.filter(id=expired_id).update(expires_at=utcnow())

        failures = [await post(other, "Viewer", value) for value in (revoked, expired)]
        throttled = await post(other, "Viewer", valid)

    assert all(refused_as_unauthenticated(response) for response in failures)
    assert throttled.status_code == 429
