"""Admin login throttling cannot be used to lock an admin out (GQ-15), on both counter backends:
in process (the default) and Redis (`REDIS_URL`, database 15 of the local server, flushed around
each test).

An attacker who knows an admin's e-mail fails as often as they like from their own addresses; the
admin, signing in from an address they signed in from before, is never refused for it. The
throttling GQ-10 asks for still holds: the attacker's address is refused, a known address that
keeps failing is refused for that account, and a new address is refused while the account is
under attack.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from auth.admins.known_addresses import InMemoryKnownAddresses
from models.admin import AdminSession
from partner_api.foundation.settings import Settings
from tests.conftest import AppFactory
from tests.helpers import PASSWORD, gql, make_admin, operation

ADMIN = "admin@acme.example"
COLLEAGUE = "colleague@acme.example"
ADMIN_ADDRESS = "203.0.113.10"
ADMIN_OTHER_ADDRESS = "203.0.113.11"
ATTACKER_ADDRESS = "192.0.2.66"
NEW_ADDRESS = "198.51.100.5"
WRONG_PASSWORD = "definitely not the password"


async def attempt(app: Starlette, address: str, email: str, password: str) -> dict[str, Any]:
    """One login from `address`; returns the `login` union member, whatever it is."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = await gql(client, operation("Login"), {"email": email, "password": password})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["login"]
    return result


async def signs_in(app: Starlette, address: str, email: str = ADMIN) -> None:
    result = await attempt(app, address, email, PASSWORD)
    assert result["__typename"] == "LoginSuccess", result


async def test_gq15_attackers_failures_do_not_stop_the_admin_from_their_own_address(
    make_app: AppFactory, settings: Settings
) -> None:
    app = make_app()
    await make_admin(email=ADMIN)
    await signs_in(app, ADMIN_ADDRESS)
    limit = settings.login_max_failures_per_account

    outcomes = [
        (await attempt(app, ATTACKER_ADDRESS, ADMIN, WRONG_PASSWORD))["__typename"]
        for _ in range(3 * limit)
    ]

    assert outcomes == ["InvalidLogin"] * limit + ["LoginThrottled"] * (2 * limit)
    # The attacker's address is refused even with the right password…
    refused = await attempt(app, ATTACKER_ADDRESS, ADMIN, PASSWORD)
    assert refused["__typename"] == "LoginThrottled"
    assert 0 < refused["retryAfterSeconds"] <= settings.login_throttle_window_seconds
    # …while the admin, from where they signed in before, is not.
    sessions_before = await AdminSession.all().count()
    result = await attempt(app, ADMIN_ADDRESS, ADMIN, PASSWORD)
    assert result["__typename"] == "LoginSuccess", result
    assert await AdminSession.all().count() == sessions_before + 1


async def test_gq15_an_attack_from_many_addresses_refuses_new_addresses_not_the_admins(
    make_app: AppFactory, settings: Settings
) -> None:
    """The per-account limit still stops spread-out guessing, without an oracle for e-mails."""
    app = make_app()
    await make_admin(email=ADMIN)
    await signs_in(app, ADMIN_ADDRESS)
    limit = settings.login_max_failures_per_account
    outcomes: dict[str, list[str]] = {ADMIN: [], "nobody@acme.example": []}
    for number in range(5):
        for _ in range(limit):
            for email, seen in outcomes.items():
                result = await attempt(app, f"192.0.2.{100 + number}", email, WRONG_PASSWORD)
                seen.append(result["__typename"])

    # The account's limit counts every address: after it, each new address is refused at once.
    for seen in outcomes.values():
        assert seen == ["InvalidLogin"] * limit + ["LoginThrottled"] * (4 * limit)
    new_address = await attempt(app, NEW_ADDRESS, ADMIN, PASSWORD)
    unknown_email = await attempt(app, NEW_ADDRESS, "nobody@acme.example", PASSWORD)
    admin = await attempt(app, ADMIN_ADDRESS, ADMIN, PASSWORD)

    assert new_address["__typename"] == "LoginThrottled"
    assert unknown_email["__typename"] == "LoginThrottled"
    assert unknown_email["message"] == new_address["message"]
    assert admin["__typename"] == "LoginSuccess", admin


async def test_gq15_a_known_address_that_keeps_failing_is_throttled_for_that_account_only(
    make_app: AppFactory, settings: Settings
) -> None:
    """Per (account, address): knowing the address exempts it from the account's limit only."""
    app = make_app()
    await make_admin(email=ADMIN)
    await make_admin(email=COLLEAGUE)
    await signs_in(app, ADMIN_ADDRESS)
    await signs_in(app, ADMIN_OTHER_ADDRESS)
    for _ in range(settings.login_max_failures_per_account):
        failed = await attempt(app, ADMIN_OTHER_ADDRESS, ADMIN, WRONG_PASSWORD)
        assert failed["__typename"] == "InvalidLogin"

    from_there = await attempt(app, ADMIN_OTHER_ADDRESS, ADMIN, PASSWORD)
    colleague_from_there = await attempt(app, ADMIN_OTHER_ADDRESS, COLLEAGUE, PASSWORD)
    from_the_admins_other_address = await attempt(app, ADMIN_ADDRESS, ADMIN, PASSWORD)

    assert from_there["__typename"] == "LoginThrottled"
    assert colleague_from_there["__typename"] == "LoginSuccess", colleague_from_there
    assert from_the_admins_other_address["__typename"] == "LoginSuccess"


async def test_gq15_an_address_spraying_accounts_is_refused_for_all_but_not_the_admin(
    make_app: AppFactory,
) -> None:
    app = make_app(login_max_failures_per_account=3, login_max_failures_per_address=5)
    await make_admin(email=ADMIN)
    await make_admin(email=COLLEAGUE)
    await signs_in(app, ADMIN_ADDRESS)
    for email in [ADMIN] * 3 + ["guess1@acme.example", "guess2@acme.example"]:
        failed = await attempt(app, ATTACKER_ADDRESS, email, WRONG_PASSWORD)
        assert failed["__typename"] == "InvalidLogin"

    # An account it never tried, with the right password, is refused from there now…
    colleague = await attempt(app, ATTACKER_ADDRESS, COLLEAGUE, PASSWORD)
    # …and neither that address nor the account's own limit stops the admin.
    admin = await attempt(app, ADMIN_ADDRESS, ADMIN, PASSWORD)

    assert colleague["__typename"] == "LoginThrottled"
    assert admin["__typename"] == "LoginSuccess", admin


async def test_gq15_a_successful_sign_in_does_not_give_the_attacker_a_fresh_budget(
    make_app: AppFactory,
) -> None:
    app = make_app(login_max_failures_per_account=3)
    await make_admin(email=ADMIN)
    await signs_in(app, ADMIN_ADDRESS)
    for number in range(3):
        await attempt(app, f"192.0.2.{100 + number}", ADMIN, WRONG_PASSWORD)

    await signs_in(app, ADMIN_ADDRESS)
    after = await attempt(app, "192.0.2.200", ADMIN, WRONG_PASSWORD)

    assert after["__typename"] == "LoginThrottled"


@pytest.mark.parametrize("redis_url", ["redis"], indirect=True)
async def test_gq15_redis_remembers_the_admins_address_for_every_process(
    make_app: AppFactory, settings: Settings
) -> None:
    first = make_app()
    second = make_app()
    await make_admin(email=ADMIN)
    await signs_in(first, ADMIN_ADDRESS)
    for number in range(2):
        for _ in range(settings.login_max_failures_per_account):
            await attempt(second, f"192.0.2.{100 + number}", ADMIN, WRONG_PASSWORD)

    # The failures seen by the second process count at the first (a new address is refused),
    # and the first process's sign-in is remembered by the second.
    assert (await attempt(first, NEW_ADDRESS, ADMIN, PASSWORD))["__typename"] == "LoginThrottled"
    result = await attempt(second, ADMIN_ADDRESS, ADMIN, PASSWORD)
    assert result["__typename"] == "LoginSuccess", result


async def test_known_addresses_are_forgotten_after_the_remember_period() -> None:
    now = [1000.0]
    known = InMemoryKnownAddresses(remember_seconds=60, monotonic=lambda: now[0], max_keys=2)
    await known.remember("a")
    now[0] += 59
    assert await known.recalls("a")
    now[0] += 1
    assert not await known.recalls("a")


async def test_known_addresses_in_memory_forget_the_oldest_beyond_their_bound() -> None:
    known = InMemoryKnownAddresses(remember_seconds=60, max_keys=2)
    for key in ("a", "b", "a", "c"):
        await known.remember(key)

    # Remembering "a" again made "b" the oldest.
    assert [await known.recalls(key) for key in ("a", "b", "c")] == [True, False, True]
