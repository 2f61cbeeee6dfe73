"""`logout` from a request that presents two sessions: a bearer token and a browser cookie naming
another one. Both end, or neither does; the cookie is cleared only when its session has ended.

Cookie-only and bearer-only logouts are covered in tests/test_sessions.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from starlette.applications import Starlette

import resolvers.session
from auth.admins.identity import SESSION_COOKIE
from auth.admins.sessions import end_session
from auth.tokens import new_session_token
from models.admin import AdminSession
from models.audit import AuditEvent
from models.enums import AuditAction
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import gql, login, make_admin, operation

ADMIN = "admin@acme.example"
COLLEAGUE = "colleague@acme.example"


@asynccontextmanager
async def browser(app: Starlette, *, cookie: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, holding `cookie` as the session cookie if given."""
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40002))
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=cookies
    ) as client:
        yield client


async def sign_in(app: Starlette, email: str = ADMIN) -> str:
    async with browser(app) as client:
        return await login(client, email=email)


async def log_out(app: Starlette, *, cookie: str, bearer: str) -> httpx.Response:
    async with browser(app, cookie=cookie) as client:
        return await client.post(
            "/graphql",
            json={"query": operation("Logout")},
            headers={"Authorization": f"Bearer {bearer}"},
        )


async def viewer_by_cookie(app: Starlette, token: str) -> dict[str, Any]:
    async with browser(app, cookie=token) as client:
        return await gql(client, operation("Viewer"))


async def viewer_by_bearer(app: Starlette, token: str) -> dict[str, Any]:
    async with browser(app) as client:
        return await gql(client, operation("Viewer"), token=token)


def is_unauthenticated(body: dict[str, Any]) -> bool:
    return body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == [
        "UNAUTHENTICATED"
    ]


def clears_the_cookie(response: httpx.Response) -> bool:
    return any(
        header.startswith(f"{SESSION_COOKIE}=") and "max-age=0" in header.lower()
        for header in response.headers.get_list("set-cookie")
    )


async def test_logout_with_a_cookie_and_another_sessions_bearer_ends_both(app: Starlette) -> None:
    await make_admin(email=ADMIN)
    in_the_browser = await sign_in(app)
    in_a_script = await sign_in(app)

    response = await log_out(app, cookie=in_the_browser, bearer=in_a_script)

    assert response.json() == {"data": {"logout": True}}
    assert clears_the_cookie(response)
    assert is_unauthenticated(await viewer_by_cookie(app, in_the_browser))
    assert is_unauthenticated(await viewer_by_bearer(app, in_the_browser))
    assert is_unauthenticated(await viewer_by_bearer(app, in_a_script))
    assert await AdminSession.filter(ended_at__isnull=True).count() == 0


async def test_logout_of_two_users_sessions_audits_each_as_its_own_user(app: Starlette) -> None:
    admin, organisation, _ = await make_admin(email=ADMIN)
    colleague, other, _ = await make_admin(email=COLLEAGUE, organisation="Other Tickets")
    in_the_browser = await sign_in(app, COLLEAGUE)
    in_a_script = await sign_in(app, ADMIN)

    response = await log_out(app, cookie=in_the_browser, bearer=in_a_script)

    assert response.json() == {"data": {"logout": True}}
    assert is_unauthenticated(await viewer_by_cookie(app, in_the_browser))
    events = await AuditEvent.filter(action=AuditAction.ADMIN_LOGOUT).values(
        "actor_label", "actor_user_id", "organisation_id"
    )
    assert sorted((e["actor_label"], e["actor_user_id"], e["organisation_id"]) for e in events) == [
        (ADMIN, admin.id, organisation.id),
        (COLLEAGUE, colleague.id, other.id),
    ]


async def test_logout_with_a_dead_bearer_still_ends_the_live_cookie_session(
    app: Starlette,
) -> None:
    """The cookie is cleared, so its session must not outlive the logout."""
    await make_admin(email=ADMIN)
    in_the_browser = await sign_in(app)

    response = await log_out(app, cookie=in_the_browser, bearer=new_session_token())

    assert response.json() == {"data": {"logout": True}}
    assert clears_the_cookie(response)
    assert is_unauthenticated(await viewer_by_bearer(app, in_the_browser))


async def test_logout_that_fails_half_way_ends_neither_session_nor_clears_the_cookie(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_admin(email=ADMIN)
    in_the_browser = await sign_in(app)
    in_a_script = await sign_in(app)
    calls: list[UUID] = []

    async def fails_the_second_time(session_id: UUID, **kwargs: Any) -> bool:
        calls.append(session_id)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return await end_session(session_id, **kwargs)

    monkeypatch.setattr(resolvers.session, "end_session", fails_the_second_time)

    response = await log_out(app, cookie=in_the_browser, bearer=in_a_script)

    assert response.json()["data"] is None
    assert len(calls) == 2
    assert not clears_the_cookie(response)
    for token in (in_the_browser, in_a_script):
        assert (await viewer_by_bearer(app, token))["data"]["viewer"]["user"]["email"] == ADMIN
    assert await AuditEvent.filter(action=AuditAction.ADMIN_LOGOUT).count() == 0
