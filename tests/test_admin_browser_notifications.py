"""The Notifications card and the credential detail's notices, in Debian's Chromium driven by
Playwright against a live `partner-api serve` (the fixtures and helpers of
tests/test_admin_browser.py and tests/browser_support.py).

Webhook endpoints point at a receiver on loopback that checks every request with the Standard
Webhooks library (tests/webhook_receiver.py), so the signing secret the page shows once is proven
to be the one that signs. Each test works in its own organisation. `SCREENSHOTS=1` also saves
docs/screenshots/notifications.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect
from tortoise.context import TortoiseContext

from auth.admins.identity import Actor
from auth.partners.keyed_hash import KeyedHasher
from models.admin import Membership
from models.credential import Credential
from models.enums import Role
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.operations.leak_reports import act_on, judge, parse_report, report_digest
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.notification_scan import scan
from tests.browser_support import (
    DESKTOP,
    PEPPER,
    PHONE,
    LiveServer,
    chromium,
    live_server,
    screenshot,
)
from tests.helpers import PASSWORD, gql, operation
from tests.test_admin_browser import (
    Pages,
    _admin,
    _credential,
    assert_secret_gone,
    log_in,
    open_detail,
)
from tests.webhook_receiver import Receiver, serve_receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIGNING_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
LEAK_URL = "https://github.com/ticket-shop/storefront/blob/main/.env"
# A name that never resolves (RFC 6761), so its deliveries fail and are retried.
UNREACHABLE_URL = "https://crm.watch-tickets.invalid/hooks/partner-api"
LEAK_EVENTS = ["credential.revoked", "credential.secret_leaked"]
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
READ_ONLY_EMAILS = ["developer@watch-tickets.example", "viewer@watch-tickets.example"]
CONTROLS = (
    "Add endpoint",
    "Send test",
    "Rotate secret",
    "Disable",
    "Enable",
    "Delete",
    "Save contacts",
    "Save",
)


async def _seed_leak_organisation() -> None:
    """A credential with a leak report (through the real report handling, as GitHub's would be
    after its signature check) and an expiry reminder (through the real scan)."""
    admin = await _admin("admin@leak-tickets.example", "Leak Tickets")
    shop = await _credential(admin, "Ticket shop")
    await Credential.filter(client_id=shop.client_id).update(
        expires_at=utcnow() + timedelta(days=5)
    )
    body = json.dumps(
        [
            {
                "token": shop.secret,
                "type": "partner_api_client_secret",
                "url": LEAK_URL,
                "source": "content",
            }
        ]
    ).encode()
    hasher = KeyedHasher((PEPPER.encode(),))
    verdicts = await judge(hasher, parse_report(body))
    github = Actor(
        identity=None, ip_address="192.30.252.40", user_agent="GitHub-Hookshot/secret-scanning"
    )
    await act_on(verdicts, digest=report_digest(body), actor=github, now=utcnow())
    windows = LifecycleWindows(
        expires_soon=timedelta(days=14), stale_after=timedelta(days=90), settle=timedelta(minutes=5)
    )
    await scan(now=utcnow(), windows=windows)


async def _seed(database_url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _admin("owner@hook-tickets.example", "Hook Tickets", Role.OWNER)
        await _admin("owner@signed-tickets.example", "Signed Tickets", Role.OWNER)
        await _admin("admin@contact-tickets.example", "Contact Tickets")
        await _admin("admin@keys-tickets.example", "Keys Tickets")
        await _admin("admin@demoted-hooks.example", "Demoted Hooks")
        await _admin("owner@watch-tickets.example", "Watch Tickets", Role.OWNER)
        await _admin(READ_ONLY_EMAILS[0], "Watch Tickets", Role.DEVELOPER)
        await _admin(READ_ONLY_EMAILS[1], "Watch Tickets", Role.VIEWER)
        await _seed_leak_organisation()


async def _seed_watch_organisation(server: LiveServer, receiver: Receiver) -> None:
    """Through the GraphQL API as its owner: an endpoint at the receiver and one that cannot be
    reached, security contacts, a credential (an event for the first) and a test message each."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
        login = await gql(
            http, operation("Login"), {"email": "owner@watch-tickets.example", "password": PASSWORD}
        )
        token = login["data"]["login"]["token"]

        async def mutate(name: str, values: dict[str, object]) -> dict[str, Any]:
            body = await gql(http, operation(name), {"input": values}, token=token)
            [result] = body["data"].values()
            assert "message" not in result, result
            return cast(dict[str, Any], result)

        crm = await mutate(
            "CreateWebhookEndpoint",
            {"url": UNREACHABLE_URL, "description": "CRM sync", "eventTypes": LEAK_EVENTS},
        )
        box_office = await mutate(
            "CreateWebhookEndpoint",
            {
                "url": receiver.url,
                "description": "Box office alerts",
                "eventTypes": ["credential.created", "credential.expiring", *LEAK_EVENTS],
            },
        )
        receiver.secret = box_office["signingSecret"]
        contacts = ["security@watch-tickets.example", "ops@watch-tickets.example"]
        await mutate("UpdateNotificationSettings", {"securityContacts": contacts})
        await mutate(
            "CreateCredential",
            {"name": "Reseller feed", "contactEmail": "it@reseller.example", "accessLevel": "FULL"},
        )
        for created in (box_office, crm):
            await mutate("SendTestWebhook", {"id": created["endpoint"]["id"]})


@dataclass(frozen=True)
class Environment:
    server: LiveServer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def watch_receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as receiver:
        yield receiver


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def environment(
    tmp_path_factory: pytest.TempPathFactory, watch_receiver: Receiver
) -> AsyncIterator[Environment]:
    async with live_server(tmp_path_factory.mktemp("admin-notifications"), _seed) as server:
        await _seed_watch_organisation(server, watch_receiver)
        yield Environment(server=server)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as instance:
        yield instance


@pytest_asyncio.fixture(loop_scope="module")
async def pages(browser: Browser, environment: Environment) -> AsyncIterator[Pages]:
    opened = Pages(browser, environment.server)
    yield opened
    problems = await opened.close()
    assert problems == [], f"console errors, CSP violations or uncaught exceptions: {problems}"


def card(page: Page) -> Locator:
    return page.get_by_role("region", name="Notifications")


def endpoint(page: Page, url: str) -> Locator:
    return (
        card(page)
        .locator("li.endpoint")
        .filter(has=page.get_by_role("heading", name=url, exact=True))
    )


async def page_box(element: Locator, margin: int = 12) -> dict[str, float]:
    """Where `element` is on the whole page (not the viewport), with a margin: a full-page
    screenshot's clip."""
    box: dict[str, float] = await element.evaluate(
        """(element, margin) => {
          const rect = element.getBoundingClientRect();
          return {
            x: Math.max(0, rect.x + scrollX - margin), y: Math.max(0, rect.y + scrollY - margin),
            width: rect.width + 2 * margin, height: rect.height + 2 * margin,
          };
        }""",
        margin,
    )
    return box


async def shown_signing_secret(dialog: Locator) -> str:
    await expect(dialog.get_by_text("this secret will not be shown again")).to_be_visible()
    secret = await dialog.locator("dd.secret-value code").inner_text()
    assert SIGNING_SECRET.match(secret), "the result does not show a whsec_ signing secret"
    return secret


async def add_endpoint(page: Page, url: str, description: str) -> str:
    """Add an endpoint for every event type through the dialog; its signing secret, shown once."""
    await card(page).get_by_role("button", name="Add endpoint").click()
    dialog = page.get_by_role("dialog", name="Add webhook endpoint")
    await dialog.get_by_label("Endpoint URL").fill(url)
    await dialog.get_by_label("Description (optional)").fill(description)
    await dialog.get_by_role("button", name="Add endpoint").click()
    result = page.get_by_role("dialog", name="Webhook endpoint added")
    secret = await shown_signing_secret(result)
    await result.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    return secret


# -- webhook endpoints -------------------------------------------------------------------------


async def test_add_an_endpoint_test_it_disable_enable_rotate_and_delete(
    pages: Pages, environment: Environment
) -> None:
    """WH in the page: the signing secret shown once, a test delivery, every endpoint action."""
    page, _ = await pages.open()
    await log_in(page, environment.server, "owner@hook-tickets.example")
    await expect(card(page).get_by_text("No webhook endpoints yet.")).to_be_visible()
    await card(page).get_by_role("button", name="Add endpoint").click()
    dialog = page.get_by_role("dialog", name="Add webhook endpoint")
    url = dialog.get_by_label("Endpoint URL")
    await expect(url).to_be_focused()
    await expect(dialog.get_by_role("checkbox")).to_have_count(9)  # notificationEventTypes

    # The server's refusal lands at its field, and so does the page's own check.
    await url.fill("https://user:password@hooks.hook-tickets.example/partner")
    await dialog.get_by_role("button", name="Add endpoint").click()
    await expect(url).to_have_attribute("aria-invalid", "true")
    url_error = dialog.locator(".field", has=page.get_by_label("Endpoint URL")).locator(
        ".field-error"
    )
    await expect(url_error).to_have_text("URL must not contain a user name or password.")
    await expect(url).to_be_focused()
    await url.fill("http://127.0.0.1:9/partner-events")
    await expect(url_error).to_be_hidden()
    for box in await dialog.get_by_role("checkbox").all():
        await box.uncheck()
    await dialog.get_by_role("button", name="Add endpoint").click()
    types = dialog.get_by_role("group", name="Event types")
    await expect(types.locator(".field-error")).to_have_text("Choose at least one event type.")
    await expect(types).to_have_attribute("aria-invalid", "true")
    await dialog.get_by_label("Credentials revoked").check()
    await dialog.get_by_label("Secret reported leaked").check()
    await expect(types.locator(".field-error")).to_be_hidden()
    await dialog.get_by_label("Description (optional)").fill("Security desk")
    await dialog.get_by_role("button", name="Add endpoint").click()

    result = page.get_by_role("dialog", name="Webhook endpoint added")
    secret = await shown_signing_secret(result)
    await expect(result).to_contain_text("http://127.0.0.1:9/partner-events")
    await result.get_by_role("button", name="Copy Signing secret").click()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await result.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await assert_secret_gone(page, secret)

    item = endpoint(page, "http://127.0.0.1:9/partner-events")
    await expect(item).to_contain_text("Security desk")
    await expect(item).to_contain_text("Events: credential.revoked, credential.secret_leaked")
    await expect(item.locator(".badge")).to_have_text("Enabled")
    await expect(item).to_contain_text(f"Signing secret ending in …{secret[-4:]}")
    await expect(item).to_contain_text("No deliveries yet.")

    # Nothing listens on port 9: the delivery shows whatever state the worker has it in.
    await item.get_by_role("button", name="Send test").click()
    deliveries = item.locator("table.deliveries-table tbody tr")
    await expect(deliveries).to_have_count(1)
    await expect(deliveries.first.locator("th")).to_contain_text("Test message")
    await expect(deliveries.first.locator("td[data-label='Status'] .badge")).to_have_text(
        re.compile("^(Pending|Delivered|Failed)$")
    )

    await item.get_by_role("button", name="Disable").click()
    await expect(item.locator(".badge").first).to_have_text("Disabled")
    await expect(item).to_contain_text("Disabled by an administrator.")
    await expect(item.get_by_role("button", name="Enable")).to_be_focused()
    await item.get_by_role("button", name="Enable").click()
    await expect(item.locator(".badge").first).to_have_text("Enabled")
    await expect(item).not_to_contain_text("Disabled by an administrator.")

    await item.get_by_role("button", name="Rotate secret").click()
    confirm = page.get_by_role("dialog", name="Rotate the signing secret?")
    await expect(confirm).to_contain_text(f"ending in …{secret[-4:]}")
    await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    await confirm.get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_role("dialog", name="New signing secret")
    new_secret = await shown_signing_secret(rotated)
    assert new_secret != secret
    await page.keyboard.press("Escape")  # Escape, like Done, takes the secret away
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await assert_secret_gone(page, new_secret)
    await expect(item).to_contain_text(f"Signing secret ending in …{new_secret[-4:]}")

    await item.get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete this webhook endpoint?")
    await expect(confirm).to_contain_text("http://127.0.0.1:9/partner-events")
    await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    await confirm.get_by_role("button", name="Delete endpoint").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(card(page).locator("li.endpoint")).to_have_count(0)
    await expect(card(page).get_by_text("No webhook endpoints yet.")).to_be_visible()
    await expect(card(page).get_by_role("heading", name="Webhook endpoints")).to_be_focused()

    await page.reload()
    await expect(card(page).get_by_text("No webhook endpoints yet.")).to_be_visible()
    await assert_secret_gone(page, secret)


async def test_the_secret_shown_once_signs_the_test_message(
    pages: Pages, environment: Environment
) -> None:
    """The page's secret is the real one: a receiver verifying with the Standard Webhooks
    library accepts the test message, and the page shows it delivered."""
    page, _ = await pages.open()
    await log_in(page, environment.server, "owner@signed-tickets.example")
    async with serve_receiver() as receiver:
        receiver.secret = await add_endpoint(page, receiver.url, "Signature check")
        item = endpoint(page, receiver.url)
        await item.get_by_role("button", name="Send test").click()
        row = item.locator("table.deliveries-table tbody tr").first
        await expect(row.locator("th")).to_contain_text("Test message")
        await expect(row.locator("td[data-label='Status']")).to_have_text("Delivered")
        await expect(row.locator("td[data-label='Response']")).to_have_text("204")
        await expect(row.locator("td[data-label='Attempts']")).to_have_text("1")
        assert receiver.unverified == []
        assert [item.message["type"] for item in receiver.received] == ["webhook.test"]


async def test_keyboard_only_add_and_cancel(pages: Pages, environment: Environment) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@keys-tickets.example")
    add = card(page).get_by_role("button", name="Add endpoint")
    await add.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Add webhook endpoint")
    await expect(dialog.get_by_label("Endpoint URL")).to_be_focused()
    await page.keyboard.type("http://127.0.0.1:9/keyboard")
    await page.keyboard.press("Tab")
    await expect(dialog.get_by_label("Description (optional)")).to_be_focused()
    await page.keyboard.press("Tab")
    first_type = dialog.get_by_role("checkbox").first
    await expect(first_type).to_be_focused()
    await page.keyboard.press("Space")
    await expect(first_type).not_to_be_checked()
    await dialog.get_by_label("Endpoint URL").focus()
    await page.keyboard.press("Enter")  # submits the form
    result = page.get_by_role("dialog", name="Webhook endpoint added")
    secret = await shown_signing_secret(result)
    await expect(result.get_by_role("button", name="Copy Signing secret")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(result.get_by_role("button", name="Done")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(add).to_be_focused()
    await assert_secret_gone(page, secret)
    item = endpoint(page, "http://127.0.0.1:9/keyboard")
    await expect(item).not_to_contain_text("credential.created")  # the unchecked first type

    delete = item.get_by_role("button", name="Delete")
    await delete.focus()
    await page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Delete this webhook endpoint?")
    await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(delete).to_be_focused()
    await expect(item).to_be_visible()


async def test_permission_denied_from_the_server_is_shown(
    pages: Pages, environment: Environment
) -> None:
    """An admin demoted while the page is open sees the server's PermissionDenied."""
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "admin@demoted-hooks.example")
    await card(page).get_by_role("button", name="Add endpoint").click()
    dialog = page.get_by_role("dialog", name="Add webhook endpoint")
    await dialog.get_by_label("Endpoint URL").fill("https://hooks.demoted.example/partner")
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(server.database_url))
        demoted = await Membership.filter(user__email="admin@demoted-hooks.example").update(
            role=Role.VIEWER
        )
    assert demoted == 1
    await dialog.get_by_role("button", name="Add endpoint").click()
    alert = dialog.get_by_role("alert")
    await expect(alert).to_contain_text("Permission denied")
    await expect(alert).to_contain_text(
        "Only organisation owners and admins can change webhook endpoints"
    )
    await page.keyboard.press("Escape")

    contacts = card(page).get_by_role("textbox", name="Security contacts")
    await contacts.fill("late@demoted.example")
    await card(page).get_by_role("button", name="Save contacts").click()
    await expect(card(page).get_by_role("alert")).to_contain_text("Permission denied")
    await page.reload()
    await expect(card(page).get_by_role("button", name="Add endpoint")).to_have_count(0)


# -- security contacts and the leaked-secret policy --------------------------------------------


async def test_security_contacts_and_the_leaked_secret_policy(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@contact-tickets.example")
    notifications = card(page)
    await expect(notifications).to_contain_text("No security contacts")
    contacts = notifications.get_by_role("textbox", name="Security contacts")
    save = notifications.get_by_role("button", name="Save contacts")
    error = notifications.locator(
        ".field", has=page.get_by_role("textbox", name="Security contacts")
    ).locator(".field-error")

    await contacts.fill("security@contact-tickets.example\nnot-an-address")
    await save.click()
    await expect(error).to_have_text('"not-an-address" is not a valid e-mail address.')
    await expect(contacts).to_have_attribute("aria-invalid", "true")
    await expect(contacts).to_be_focused()

    await contacts.fill(
        "\n".join(f"person{number}@contact-tickets.example" for number in range(11))
    )
    await save.click()
    await expect(error).to_contain_text("At most 10 security contacts")

    await contacts.fill(
        "security@contact-tickets.example\nOps@Contact-Tickets.example, ops@contact-tickets.example"
    )
    await expect(error).to_be_hidden()
    await save.click()
    await expect(notifications.get_by_text("Security contacts saved.")).to_be_visible()
    await expect(notifications).to_contain_text(
        "also go to: security@contact-tickets.example, Ops@Contact-Tickets.example."
    )
    await expect(contacts).to_have_value(
        "security@contact-tickets.example\nOps@Contact-Tickets.example"
    )

    leaks = notifications.get_by_role("group", name="When a secret is reported leaked")
    await expect(leaks.get_by_label("End the leaked secret at once (recommended)")).to_be_checked()
    await leaks.get_by_label("Only notify").check()
    await notifications.get_by_role("button", name="Save", exact=True).click()
    await expect(notifications.get_by_text("Leaked-secret policy saved.")).to_be_visible()
    await expect(notifications).to_contain_text(
        "the contacts are told and the secret keeps working"
    )

    await page.reload()
    await expect(card(page).get_by_role("textbox", name="Security contacts")).to_have_value(
        "security@contact-tickets.example\nOps@Contact-Tickets.example"
    )
    await expect(card(page).get_by_label("Only notify")).to_be_checked()


# -- read-only roles, the owner's view ---------------------------------------------------------


@pytest.mark.parametrize("email", READ_ONLY_EMAILS)
async def test_read_only_roles_see_the_card_without_controls(
    pages: Pages, environment: Environment, watch_receiver: Receiver, email: str
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, email)
    notifications = card(page)
    await expect(notifications).to_contain_text(
        "also go to: security@watch-tickets.example, ops@watch-tickets.example."
    )
    await expect(notifications).to_contain_text("that secret stops working at once")
    await expect(notifications.locator("li.endpoint")).to_have_count(2)
    box_office = endpoint(page, watch_receiver.url)
    await expect(box_office).to_contain_text("Box office alerts")
    await expect(box_office.locator("table.deliveries-table tbody tr")).to_have_count(2)
    await expect(
        endpoint(page, UNREACHABLE_URL).locator("table.deliveries-table tbody tr")
    ).to_have_count(1)
    for name in CONTROLS:
        await expect(notifications.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await expect(notifications.locator("textarea, input")).to_have_count(0)
    await expect(
        notifications.get_by_role("button", name="Refresh webhook deliveries")
    ).to_be_visible()


async def test_the_owner_sees_deliveries_with_their_outcome(
    pages: Pages, environment: Environment, watch_receiver: Receiver
) -> None:
    """The README's screenshot: a delivered endpoint and one that cannot be reached."""
    page, _ = await pages.open()
    await log_in(page, environment.server, "owner@watch-tickets.example")
    box_office = endpoint(page, watch_receiver.url)
    delivered = box_office.locator("td[data-label='Status']", has_text="Delivered")
    refresh = card(page).get_by_role("button", name="Refresh webhook deliveries")
    for _ in range(20):
        if await delivered.count() == 2:
            break
        await page.wait_for_timeout(500)
        await refresh.click()
    await expect(delivered).to_have_count(2)
    assert sorted(item.message["type"] for item in watch_receiver.received) == [
        "credential.created",
        "webhook.test",
    ]
    crm = endpoint(page, UNREACHABLE_URL)
    await expect(crm.locator("tbody tr")).to_have_count(1)  # it subscribed to neither
    for name in ("Send test", "Rotate secret", "Disable", "Delete"):
        await expect(crm.get_by_role("button", name=name, exact=True)).to_be_visible()
    await page.mouse.move(0, 0)
    await screenshot(page, "notifications", full_page=True, clip=await page_box(card(page)))


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_phone_width_and_colour_schemes(
    pages: Pages, environment: Environment, watch_receiver: Receiver, color_scheme: str
) -> None:
    page, _ = await pages.open(viewport=PHONE, color_scheme=color_scheme)
    await log_in(page, environment.server, "owner@watch-tickets.example")
    rows = endpoint(page, watch_receiver.url).locator("table.deliveries-table tbody tr")
    await expect(rows).to_have_count(2)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    # The deliveries table becomes one card per delivery, each cell labelled.
    assert await rows.first.evaluate("row => getComputedStyle(row).display") == "block"
    surface = await card(page).evaluate("element => getComputedStyle(element).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", surface)[:3])
    brightness = (red + green + blue) / 3
    assert brightness < 60 if color_scheme == "dark" else brightness > 200, surface

    await card(page).get_by_role("button", name="Add endpoint").click()
    dialog = page.get_by_role("dialog", name="Add webhook endpoint")
    box = await dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    await page.keyboard.press("Escape")


# -- the credential detail: reminders and leak reports -----------------------------------------


async def test_detail_shows_reminders_sent_and_the_leak_report(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open(viewport=DESKTOP)
    await log_in(page, environment.server, "admin@leak-tickets.example")
    await open_detail(page, "Ticket shop")

    notice = page.locator(".leak-notice")
    await expect(notice).to_contain_text("Secret reported leaked")
    await expect(notice).to_contain_text(f"was reported published at {LEAK_URL}")
    await expect(notice).to_contain_text("The secret was ended at once")
    audit = page.get_by_role("region", name="Audit trail")
    leak = audit.locator(".audit-event", has_text="Secret reported leaked")
    await expect(leak).to_have_count(1)
    await expect(leak).to_contain_text(f"Published at: {LEAK_URL}")
    await expect(leak).to_contain_text("By GitHub secret scanning")
    # An address on someone else's site is shown, never linked.
    await expect(page.locator(f'a[href="{LEAK_URL}"]')).to_have_count(0)
    await expect(page.locator("table.secrets")).to_have_count(0)  # END_SECRET ended the only one

    reminders = page.get_by_role("region", name="Reminders sent")
    mails = reminders.locator("li.mail")
    await expect(mails).to_have_count(2)
    await expect(reminders).to_contain_text('Credential "Ticket shop" expires in 5 days')
    await expect(reminders).to_contain_text(
        'Security notice: a secret of credential "Ticket shop" was published'
    )
    await expect(reminders).to_contain_text("To ticket.shop@partner.example")
    await expect(mails.first.locator(".badge")).to_have_text(re.compile("^(Pending|Sent|Failed)$"))
