"""The token reuse window (auth/partners/token_reuse.py): within it, the same secret asking for the
same scope gets the token issued a moment ago; anything that changes what the token should say, or
whether it may be used, ends the reuse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.access_tokens import IssuedToken
from auth.partners.credential_directory import CredentialState
from auth.partners.signing_keys import rotate_signing_key
from auth.partners.token_reuse import RecentTokens
from models.enums import AccessLevel
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credentials import IssuedSecret
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import admin_token, create_via_graphql, gql, make_admin, make_credential
from tests.helpers import operation as graphql_operation

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
async def reuse_client(settings: Settings, db: TortoiseContext) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the default one-second reuse window."""
    default = replace(settings, token_reuse_seconds=Settings().token_reuse_seconds)
    assert default.token_reuse_seconds == 1
    await rotate_signing_key(
        algorithm=default.signing_algorithm,
        key_encryption_key=default.key_encryption_key,
        now=utcnow(),
    )
    app: Starlette = create_app(default, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40100))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def _token(client: httpx.AsyncClient, issued: IssuedSecret, **form: str) -> dict[str, object]:
    response = await client.post(
        "/oauth/token",
        data={**GRANT, **form},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_same_secret_and_scope_within_the_window_get_the_same_token(
    reuse_client: httpx.AsyncClient,
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    first = await _token(reuse_client, issued)
    second = await _token(reuse_client, issued)
    assert second["access_token"] == first["access_token"]
    assert isinstance(second["expires_in"], int)
    assert 0 < second["expires_in"] <= 900


async def test_another_scope_or_another_credential_gets_its_own_token(
    reuse_client: httpx.AsyncClient,
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    other = await make_credential(organisation=organisation, name="Other")
    full = await _token(reuse_client, issued)
    narrow = await _token(reuse_client, issued, scope="events:read")
    assert narrow["access_token"] != full["access_token"]
    assert narrow["scope"] == "events:read"
    assert (await _token(reuse_client, other))["access_token"] != full["access_token"]


async def test_a_revoked_token_is_never_handed_out_again(reuse_client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    first = await _token(reuse_client, issued)
    revoked = await reuse_client.post(
        "/oauth/revoke",
        data={"token": str(first["access_token"])},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert revoked.status_code == 200
    assert (await _token(reuse_client, issued))["access_token"] != first["access_token"]


async def test_a_changed_credential_ends_the_reuse(reuse_client: httpx.AsyncClient) -> None:
    """Re-scoping through GraphQL: the next token is new and carries the new scopes."""
    token = await admin_token(reuse_client)
    created = await create_via_graphql(
        reuse_client, token, accessLevel="FINE_GRAINED", scopes=["events:read", "orders:read"]
    )
    issued_secret = str(created["clientSecret"])
    client_id = str(created["credential"]["clientId"])
    auth = (client_id, issued_secret)
    first = (await reuse_client.post("/oauth/token", data=GRANT, auth=auth)).json()
    updated = await gql(
        reuse_client,
        graphql_operation("UpdateCredential"),
        {"input": {"id": created["credential"]["id"], "scopes": ["events:read"]}},
        token=token,
    )
    assert updated["data"]["updateCredential"]["__typename"] == "CredentialUpdated"
    second = (await reuse_client.post("/oauth/token", data=GRANT, auth=auth)).json()
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "events:read"


async def test_a_rotated_signing_key_ends_the_reuse(reuse_client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation, access_level=AccessLevel.FULL)
    first = await _token(reuse_client, issued)
    app: Starlette = reuse_client.app  # type: ignore[attr-defined]
    settings: Settings = app.state.services.settings
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    await app.state.services.authorization_server.reload_keys()
    assert (await _token(reuse_client, issued))["access_token"] != first["access_token"]


async def test_window_zero_signs_every_token(client: httpx.AsyncClient, app: Starlette) -> None:
    """The test suite's default settings turn reuse off; every request gets a new token."""
    assert app.state.services.settings.token_reuse_seconds == 0
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    first = await _token(client, issued)
    assert (await _token(client, issued))["access_token"] != first["access_token"]


def _state() -> CredentialState:
    return CredentialState(
        id=uuid4(),
        organisation_id=uuid4(),
        client_id="pcl_x",
        name="x",
        organisation_name="Acme",
        access_level=AccessLevel.FULL,
        stored_scopes=(),
        ip_allowlist=(),
        event_ids=None,
        expires_at=None,
        revoked=False,
        secrets=(),
        loaded_at=0.0,
        rate_limit_per_minute=1200,
        token_quota_per_minute=600,
        monitor_only=False,
    )


def test_the_window_ends_after_its_length() -> None:
    """Unit level, with explicit clocks: reused at +0.9 s, new at +1.0 s."""
    state = _state()
    secret_id = uuid4()
    recent = RecentTokens(window_seconds=1)
    token = IssuedToken(token="t", jti="j", scope="events:read", expires_in=900)
    recent.put(state=state, secret_id=secret_id, issued=token, kid="k", now=1000.0)
    again = recent.get(
        state=state,
        secret_id=secret_id,
        scope="events:read",
        details=None,
        kid="k",
        now=1000.9,
        revoked={},
    )
    assert again is not None
    assert again.token == "t"
    assert again.expires_in == 900
    later = recent.get(
        state=state,
        secret_id=secret_id,
        scope="events:read",
        details=None,
        kid="k",
        now=1001.0,
        revoked={},
    )
    assert later is None


def test_the_cache_holds_only_the_last_windows_tokens() -> None:
    """A worker serving 10,000 credentials must not keep one signed token (and the credential's
    cached state) per credential it ever served: tokens past the window leave as new ones come."""
    recent = RecentTokens(window_seconds=1)
    for index in range(1000):
        issued = IssuedToken(token=f"t{index}", jti=f"j{index}", scope="s", expires_in=900)
        recent.put(state=_state(), secret_id=uuid4(), issued=issued, kid="k", now=1000.0)
    assert len(recent) == 1000
    last = IssuedToken(token="last", jti="jl", scope="s", expires_in=900)
    recent.put(state=_state(), secret_id=uuid4(), issued=last, kid="k", now=1001.0)
    assert len(recent) == 1
