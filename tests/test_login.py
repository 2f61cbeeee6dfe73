"""Admin login through GraphQL: result, session cookie, uniform failures, throttling (GQ-10)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

import auth.admins.login
from auth.admins.identity import SESSION_COOKIE
from auth.admins.passwords import hash_password, verify_dummy_password
from models.admin import AdminSession, AdminUser
from models.audit import AuditEvent
from models.enums import AuditAction, Role
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import PASSWORD, TEST_PEPPER, gql, login, make_admin, operation

OTHER_ADDRESS = "198.51.100.77"
WRONG_PASSWORD = "definitely not the password"


@asynccontextmanager
async def client_from(app: Starlette, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same app (same throttle counters), from another source address."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    """One login attempt; returns the `login` union member, whatever it is."""
    body = await gql(client, operation("Login"), {"email": email, "password": password})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["login"]
    return result


async def post_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": operation("Login"), "variables": {"email": email, "password": password}},
    )


def session_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The session cookie's value and its attributes (lower-cased names) from Set-Cookie."""
    headers = [
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    ]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    name_value, *attributes = (part.strip() for part in headers[0].split(";"))
    parsed = {}
    for attribute in attributes:
        name, _, value = attribute.partition("=")
        parsed[name.lower()] = value
    return name_value.partition("=")[2], parsed


async def test_gq10_login_success_returns_token_expiry_and_viewer(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, organisation, _ = await make_admin(role=Role.OWNER)
    before = utcnow()

    result = await attempt(client, "admin@acme.example", PASSWORD)

    assert result["__typename"] == "LoginSuccess"
    assert result["token"].startswith("pas_")
    expires_at = datetime.fromisoformat(result["expiresAt"])
    expected = before + timedelta(minutes=settings.session_ttl_minutes)
    assert expected - timedelta(seconds=5) <= expires_at <= expected + timedelta(seconds=60)
    assert result["viewer"] == {
        "user": {"email": "admin@acme.example"},
        "organisation": {"id": str(organisation.id), "name": "Acme Tickets"},
        "role": "OWNER",
    }


async def test_gq09_login_sets_httponly_samesite_strict_cookie_not_secure_in_development(
    client: httpx.AsyncClient,
) -> None:
    await make_admin()

    response = await post_login(client, "admin@acme.example", PASSWORD)

    token = response.json()["data"]["login"]["token"]
    value, attributes = session_cookie(response)
    assert value == token
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/"
    assert "secure" not in attributes


async def test_gq09_session_cookie_is_secure_in_production(db: TortoiseContext) -> None:
    settings = Settings(env="production", secret_peppers=(TEST_PEPPER,))
    app = create_app(settings, manage_database=False)
    await make_admin()

    async with client_from(app, CLIENT_ADDRESS) as client:
        response = await post_login(client, "admin@acme.example", PASSWORD)

    assert response.json()["data"]["login"]["__typename"] == "LoginSuccess"
    _, attributes = session_cookie(response)
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "strict"


async def test_cr03_admin_passwords_are_stored_with_argon2id(client: httpx.AsyncClient) -> None:
    user, _, _ = await make_admin()

    stored = (await AdminUser.get(id=user.id)).password_hash

    assert stored.startswith("$argon2id$"), stored
    assert PASSWORD not in stored
    assert (await attempt(client, "admin@acme.example", PASSWORD))["__typename"] == "LoginSuccess"


async def test_failed_login_sets_no_session_cookie(client: httpx.AsyncClient) -> None:
    await make_admin()

    response = await post_login(client, "admin@acme.example", WRONG_PASSWORD)

    assert response.json()["data"]["login"]["__typename"] == "InvalidLogin"
    assert not any(
        header.startswith(f"{SESSION_COOKIE}=pas_")
        for header in response.headers.get_list("set-cookie")
    )
    assert await AdminSession.all().count() == 0


async def test_login_email_is_case_insensitive(client: httpx.AsyncClient) -> None:
    await make_admin(email="admin@acme.example")

    result = await attempt(client, "  Admin@ACME.Example ", PASSWORD)

    assert result["__typename"] == "LoginSuccess"
    assert result["viewer"]["user"]["email"] == "admin@acme.example"


async def test_gq10_unknown_email_and_wrong_password_fail_identically(
    client: httpx.AsyncClient,
) -> None:
    await make_admin()
    # A user who belongs to no organisation must not be distinguishable either.
    await AdminUser.create(email="orphan@acme.example", password_hash=hash_password(PASSWORD))

    unknown = await attempt(client, "nobody@acme.example", PASSWORD)
    wrong = await attempt(client, "admin@acme.example", WRONG_PASSWORD)
    orphan = await attempt(client, "orphan@acme.example", PASSWORD)

    assert unknown["__typename"] == "InvalidLogin"
    assert unknown == wrong == orphan
    assert "e-mail or password" in unknown["message"]
    assert await AdminSession.all().count() == 0


async def test_gq10_unknown_email_still_runs_dummy_password_verification(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []

    def counting() -> None:
        calls.append(None)
        verify_dummy_password()

    monkeypatch.setattr(auth.admins.login, "verify_dummy_password", counting)

    result = await attempt(client, "nobody@acme.example", PASSWORD)

    assert result["__typename"] == "InvalidLogin"
    assert len(calls) == 1


async def test_gq10_account_is_throttled_even_for_the_right_password(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_admin(email="admin@acme.example")
    await make_admin(email="colleague@acme.example")
    for _ in range(settings.login_max_failures_per_account):
        failed = await attempt(client, "admin@acme.example", WRONG_PASSWORD)
        assert failed["__typename"] == "InvalidLogin"

    throttled = await attempt(client, "admin@acme.example", PASSWORD)

    assert throttled["__typename"] == "LoginThrottled"
    assert 0 < throttled["retryAfterSeconds"] <= settings.login_throttle_window_seconds
    assert throttled["message"]
    assert await AdminSession.all().count() == 0
    async with client_from(app, OTHER_ADDRESS) as other:
        # The lock is per account: the same account from elsewhere is blocked too…
        elsewhere = await attempt(other, "admin@acme.example", PASSWORD)
        assert elsewhere["__typename"] == "LoginThrottled"
        # …while another account from another address is not affected.
        colleague = await attempt(other, "colleague@acme.example", PASSWORD)
        assert colleague["__typename"] == "LoginSuccess"


async def test_gq10_unknown_email_is_throttled_like_a_real_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Throttling must not reveal which e-mails exist: unknown ones lock the same way."""
    await make_admin()
    for _ in range(settings.login_max_failures_per_account):
        await attempt(client, "nobody@acme.example", WRONG_PASSWORD)
        await attempt(client, "admin@acme.example", WRONG_PASSWORD)

    unknown = await attempt(client, "nobody@acme.example", WRONG_PASSWORD)
    known = await attempt(client, "admin@acme.example", WRONG_PASSWORD)

    assert unknown["__typename"] == known["__typename"] == "LoginThrottled"
    assert unknown["message"] == known["message"]


async def test_gq10_address_is_throttled_across_accounts(db: TortoiseContext) -> None:
    settings = Settings(
        secret_peppers=(TEST_PEPPER,),
        login_max_failures_per_address=3,
        login_max_failures_per_account=100,
    )
    app = create_app(settings, manage_database=False)
    await make_admin()

    async with (
        client_from(app, CLIENT_ADDRESS) as attacker,
        client_from(app, OTHER_ADDRESS) as admin,
    ):
        for number in range(3):
            failed = await attempt(attacker, f"guess{number}@acme.example", WRONG_PASSWORD)
            assert failed["__typename"] == "InvalidLogin"

        blocked = await attempt(attacker, "admin@acme.example", PASSWORD)
        from_elsewhere = await attempt(admin, "admin@acme.example", PASSWORD)

    assert blocked["__typename"] == "LoginThrottled"
    assert blocked["retryAfterSeconds"] > 0
    assert from_elsewhere["__typename"] == "LoginSuccess"


async def test_gq10_successful_login_resets_the_account_counter(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_admin()
    almost = settings.login_max_failures_per_account - 1

    for _ in range(2):
        for _ in range(almost):
            await attempt(client, "admin@acme.example", WRONG_PASSWORD)
        result = await attempt(client, "admin@acme.example", PASSWORD)
        # Without the reset, the second round would reach the limit and be throttled.
        assert result["__typename"] == "LoginSuccess", result


async def test_lg01_failed_and_successful_logins_are_audited(client: httpx.AsyncClient) -> None:
    user, organisation, _ = await make_admin()
    client.headers["User-Agent"] = "AdminSPA/1.0"

    failed = await attempt(client, "admin@acme.example", WRONG_PASSWORD)
    assert failed["__typename"] == "InvalidLogin"
    token = await login(client, email="admin@acme.example")

    rows = await AuditEvent.filter(organisation_id=organisation.id).order_by("occurred_at")
    assert [row.action for row in rows] == [
        AuditAction.ADMIN_LOGIN_FAILED,
        AuditAction.ADMIN_LOGIN,
    ]
    for row in rows:
        assert row.actor_user_id == user.id  # type: ignore[attr-defined]
        assert row.actor_label == "admin@acme.example"
        assert row.ip_address == CLIENT_ADDRESS
        assert row.user_agent == "AdminSPA/1.0"
        assert PASSWORD not in f"{row.before} {row.after}"
        assert WRONG_PASSWORD not in f"{row.before} {row.after}"

    # The admin sees both in their audit trail, newest first.
    body = await gql(client, operation("AuditEvents"), token=token)
    actions = [edge["node"]["action"] for edge in body["data"]["auditEvents"]["edges"]]
    assert actions == ["ADMIN_LOGIN", "ADMIN_LOGIN_FAILED"]


async def test_failed_login_for_unknown_email_writes_no_audit_event(
    client: httpx.AsyncClient,
) -> None:
    await make_admin()

    await attempt(client, "nobody@acme.example", WRONG_PASSWORD)

    assert await AuditEvent.all().count() == 0
