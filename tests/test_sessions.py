"""Admin sessions: how the token is presented, when it stops working, and what is stored."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.admins.identity import SESSION_COOKIE
from auth.tokens import BASE62, is_well_formed_session_token, new_session_token
from models.admin import AdminSession, Membership
from models.audit import AuditEvent
from models.enums import AuditAction, Role
from partner_api.foundation.clock import utcnow
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import PASSWORD, admin_token, create_via_graphql, gql, make_admin, operation


@asynccontextmanager
async def fresh_client(
    app: Starlette, *, cookies: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an empty cookie jar (the `client` fixture keeps the login cookie)."""
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40001))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=cookies
    ) as client:
        yield client


def assert_unauthenticated(body: dict[str, Any]) -> None:
    assert body["data"] is None, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def viewer_with(app: Starlette, token: str) -> dict[str, Any]:
    async with fresh_client(app) as client:
        return await gql(client, operation("Viewer"), token=token)


def with_wrong_checksum(token: str) -> str:
    """The same token with one random character changed, so its checksum no longer matches."""
    position = len("pas_") + 5
    replacement = BASE62[(BASE62.index(token[position]) + 1) % len(BASE62)]
    return token[:position] + replacement + token[position + 1 :]


async def test_session_token_works_as_bearer(app: Starlette, client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    body = await viewer_with(app, token)

    assert body["data"]["viewer"]["user"]["email"] == "admin@acme.example"
    assert body["data"]["viewer"]["role"] == "ADMIN"


async def test_session_cookie_alone_authenticates(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client)

    async with fresh_client(app, cookies={SESSION_COOKIE: token}) as browser:
        body = await gql(browser, operation("Viewer"))

    assert body["data"]["viewer"]["user"]["email"] == "admin@acme.example"


async def test_cookie_set_by_login_is_what_the_browser_sends_back(app: Starlette) -> None:
    await make_admin()
    async with fresh_client(app) as browser:
        logged_in = await gql(
            browser, operation("Login"), {"email": "admin@acme.example", "password": PASSWORD}
        )
        assert logged_in["data"]["login"]["__typename"] == "LoginSuccess"

        body = await gql(browser, operation("Viewer"))

    assert body["data"]["viewer"]["user"]["email"] == "admin@acme.example"


@pytest.mark.parametrize(
    "presented",
    [
        "not-a-token",
        "pas_",
        "pas_tooShort123",
        "pcs_" + "A" * 61,
        "pas_" + "A" * 48 + "!",
    ],
)
async def test_malformed_token_is_unauthenticated(
    app: Starlette, client: httpx.AsyncClient, presented: str
) -> None:
    await admin_token(client)

    assert_unauthenticated(await viewer_with(app, presented))


async def test_token_with_wrong_checksum_is_unauthenticated(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client)
    mistyped = with_wrong_checksum(token)
    assert not is_well_formed_session_token(mistyped)

    assert_unauthenticated(await viewer_with(app, mistyped))


async def test_unknown_well_formed_token_is_unauthenticated(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await admin_token(client)

    assert_unauthenticated(await viewer_with(app, new_session_token()))


async def test_expired_session_is_unauthenticated(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client)
    await AdminSession.all().update(expires_at=utcnow() - timedelta(seconds=1))

    assert_unauthenticated(await viewer_with(app, token))


async def test_expired_session_cookie_is_unauthenticated(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client)
    await AdminSession.all().update(expires_at=utcnow() - timedelta(seconds=1))

    async with fresh_client(app, cookies={SESSION_COOKIE: token}) as browser:
        assert_unauthenticated(await gql(browser, operation("Viewer")))


async def test_only_a_sha256_digest_of_the_token_is_stored(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    rows = await AdminSession.all().values()
    assert len(rows) == 1
    assert token not in repr(rows)
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode("ascii")).hexdigest()


async def test_logout_ends_the_session(app: Starlette, client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    async with fresh_client(app) as other:
        body = await gql(other, operation("Logout"), token=token)
        assert body == {"data": {"logout": True}}

        assert_unauthenticated(await gql(other, operation("Viewer"), token=token))
        # Logging out twice: there is no session any more.
        again = await gql(other, operation("Logout"), token=token)
    assert again == {"data": {"logout": False}}
    session = await AdminSession.get()
    assert session.ended_at is not None


async def test_logout_clears_the_browser_cookie(app: Starlette) -> None:
    await make_admin()
    async with fresh_client(app) as browser:
        await gql(
            browser, operation("Login"), {"email": "admin@acme.example", "password": PASSWORD}
        )
        assert browser.cookies.get(SESSION_COOKIE)

        body = await gql(browser, operation("Logout"))

        assert body["data"]["logout"] is True
        assert browser.cookies.get(SESSION_COOKIE) is None
        assert_unauthenticated(await gql(browser, operation("Viewer")))


async def test_logout_without_a_session_returns_false(app: Starlette) -> None:
    async with fresh_client(app) as anonymous:
        body = await gql(anonymous, operation("Logout"))

    assert body == {"data": {"logout": False}}


async def test_logout_ends_only_the_callers_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    first = await admin_token(client)
    async with fresh_client(app) as other:
        body = await gql(
            other, operation("Login"), {"email": "admin@acme.example", "password": PASSWORD}
        )
        second = body["data"]["login"]["token"]
        # Only the first token is presented: a request that also carries the second session's
        # cookie ends that session too (tests/test_logout_sessions.py).
        other.cookies.clear()

        await gql(other, operation("Logout"), token=first)

    assert_unauthenticated(await viewer_with(app, first))
    assert (await viewer_with(app, second))["data"]["viewer"]["role"] == "ADMIN"


async def test_lg01_logout_is_audited(app: Starlette, client: httpx.AsyncClient) -> None:
    user, organisation, _ = await make_admin()
    async with fresh_client(app) as browser:
        body = await gql(
            browser, operation("Login"), {"email": "admin@acme.example", "password": PASSWORD}
        )
        token = body["data"]["login"]["token"]
        await gql(browser, operation("Logout"), token=token)

    event = await AuditEvent.get(action=AuditAction.ADMIN_LOGOUT)
    assert event.organisation_id == organisation.id  # type: ignore[attr-defined]
    assert event.actor_user_id == user.id  # type: ignore[attr-defined]
    assert event.actor_label == "admin@acme.example"
    assert event.ip_address == CLIENT_ADDRESS


async def test_cr09_role_change_applies_to_an_existing_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client, role=Role.ADMIN)
    assert (await create_via_graphql(client, token))["__typename"] == "CredentialCreated"

    await Membership.all().update(role=Role.VIEWER)

    denied = await create_via_graphql(client, token, name="After demotion")
    assert denied["__typename"] == "PermissionDenied"
    assert (await viewer_with(app, token))["data"]["viewer"]["role"] == "VIEWER"


async def test_deleting_the_membership_ends_access(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = await admin_token(client)

    await Membership.all().delete()

    assert_unauthenticated(await viewer_with(app, token))
    async with fresh_client(app) as other:
        body = await gql(
            other,
            operation("CreateCredential"),
            {"input": {"name": "X", "contactEmail": "x@example.com", "accessLevel": "FULL"}},
            token=token,
        )
    assert_unauthenticated(body)
