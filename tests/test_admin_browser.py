"""The admin page end to end: Debian's Chromium, driven by Playwright, against a live
`partner-api serve` on loopback (SQLite, or PostgreSQL with TEST_DATABASE_URL).

Each test works in its own organisation, seeded before the server starts, so the tests do not
depend on one another's order. Every page is watched for console errors, CSP violations and
uncaught exceptions; any of them fails the test. `SCREENSHOTS=1` also saves the README's
screenshots under docs/screenshots/.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, Route, expect
from tortoise.context import TortoiseContext

from auth.admins.identity import Actor, AdminIdentity
from auth.partners.keyed_hash import KeyedHasher
from models.admin import Membership
from models.credential import Credential, CredentialSecret
from models.enums import AccessLevel, Role
from models.tenancy import TenantScope
from models.ticketing import Event
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.operations.admins import AdminAccount, create_admin
from partner_api.operations.credential_changes import revoke_credential
from partner_api.operations.credentials import (
    CredentialDraft,
    create_credential,
    regenerate_secret,
)
from tests.browser_support import (
    ACTION_TIMEOUT_MS,
    DESKTOP,
    PEPPER,
    PHONE,
    RECORDER,
    LiveServer,
    PageProblems,
    chromium,
    live_server,
    request_token,
    screenshot,
    secret_traces,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = re.compile(r"^pcs_[0-9A-Za-z]{61}$")
CLIENT_ID = re.compile(r"^pcl_[0-9A-Za-z]{22}$")
READ_ONLY_CREDENTIALS = 12
# Festival Tickets' upcoming events: five by name and the workshops, one picker page (20) and more.
WORKSHOPS = 19
UPCOMING_FESTIVAL_EVENTS = 5 + WORKSHOPS
EN_DASH = "\N{EN DASH}"  # the pager writes ranges with an en dash
expect.set_options(timeout=ACTION_TIMEOUT_MS)


@dataclass(frozen=True)
class Issued:
    name: str
    client_id: str
    secret: str


@dataclass(frozen=True)
class Seeded:
    rotate: Issued
    revoke: Issued
    edit: Issued
    venue_feed: Issued
    # Festival Tickets' events by name: their ids, as tokens carry them.
    events: dict[str, str]


def _actor(account: AdminAccount) -> Actor:
    identity = AdminIdentity(
        user_id=account.user.id,
        email=account.user.email,
        organisation_id=account.organisation.id,
        organisation_name=account.organisation.name,
        role=account.membership.role,
    )
    return Actor(identity=identity, ip_address="198.51.100.7", user_agent="seed")


async def _admin(email: str, organisation: str, role: Role = Role.ADMIN) -> AdminAccount:
    return await create_admin(
        email=email, organisation_name=organisation, role=role, password=PASSWORD
    )


async def _credential(
    account: AdminAccount,
    name: str,
    *,
    scopes: list[str] | None = None,
    ip_allowlist: list[str] | None = None,
    event_ids: list[str] | None = None,
) -> Issued:
    issued = await create_credential(
        TenantScope(account.organisation.id),
        _actor(account),
        CredentialDraft(
            name=name,
            contact_email=f"{name.lower().replace(' ', '.')}@partner.example",
            access_level=AccessLevel.FINE_GRAINED if scopes else AccessLevel.FULL,
            scopes=scopes,
            ip_allowlist=ip_allowlist,
            event_ids=event_ids,
        ),
        hasher=KeyedHasher((PEPPER.encode(),)),
        now=utcnow(),
    )
    return Issued(name=name, client_id=issued.credential.client_id, secret=issued.secret_value)


async def _event(account: AdminAccount, name: str, venue: str, *, in_days: int) -> str:
    """An evening event of the account's organisation `in_days` from today (negative: over);
    17:00 to 21:00 UTC stays within one day in the browser's Europe/Amsterdam."""
    day = utcnow().replace(hour=17, minute=0, second=0, microsecond=0) + timedelta(days=in_days)
    event = await Event.create(
        organisation_id=account.organisation.id,
        name=name,
        venue=venue,
        starts_at=day,
        ends_at=day + timedelta(hours=4),
    )
    return str(event.id)


async def _expire(account: AdminAccount, issued: Issued) -> None:
    await Credential.filter(client_id=issued.client_id).update(
        expires_at=utcnow() - timedelta(days=3)
    )


async def _revoke(account: AdminAccount, issued: Issued, reason: str) -> None:
    credential = await Credential.get(client_id=issued.client_id)
    await revoke_credential(
        TenantScope(account.organisation.id),
        _actor(account),
        str(credential.id),
        reason,
        now=utcnow(),
    )


async def _seed_screenshot_organisation() -> None:
    """Realistic data for the README's screenshots: every status, both access levels, usage,
    credentials for all events and for chosen ones."""
    owner = await _admin("owner@demo-tickets.example", "Demo Tickets", Role.OWNER)
    summer = await _event(owner, "Summer Festival", "City Park", in_days=30)
    jazz = await _event(owner, "Jazz Night", "Blue Note Hall", in_days=9)
    comedy = await _event(owner, "Comedy Gala", "Royal Theatre", in_days=45)
    await _event(owner, "Autumn Fair", "Expo Centre", in_days=75)
    await _event(owner, "Festival Afterparty", "Harbour Club", in_days=31)
    await _revoke(owner, await _credential(owner, "Old reseller feed"), "Contract ended")
    await _expire(owner, await _credential(owner, "Marketing tool", scopes=["events:read"]))
    await _credential(
        owner,
        "CRM export",
        scopes=["events:read", "orders:read"],
        ip_allowlist=["198.51.100.0/24"],
    )
    box_office = await _credential(owner, "Box office sync", event_ids=[summer, jazz, comedy])
    credential = await Credential.get(client_id=box_office.client_id)
    await regenerate_secret(
        TenantScope(owner.organisation.id),
        _actor(owner),
        str(credential.id),
        timedelta(hours=24),
        hasher=KeyedHasher((PEPPER.encode(),)),
        now=utcnow(),
    )
    used = utcnow()
    await Credential.filter(id=credential.id).update(last_used_at=used)
    await CredentialSecret.filter(credential_id=credential.id).update(last_used_at=used)


async def _seed_lifecycle_organisation() -> None:
    """Credentials showing each lifecycle signal, and an owner and a developer."""
    owner = await _admin("owner@lifecycle-tickets.example", "Lifecycle Tickets", Role.OWNER)
    await _admin("developer@lifecycle-tickets.example", "Lifecycle Tickets", Role.DEVELOPER)
    now = utcnow()
    expiring = await _credential(owner, "Expiring feed")
    await Credential.filter(client_id=expiring.client_id).update(expires_at=now + timedelta(days=2))
    dormant = await _credential(owner, "Dormant export")
    await Credential.filter(client_id=dormant.client_id).update(
        created_at=now - timedelta(days=120)
    )
    rotated = await _credential(owner, "Rotated sync")
    credential = await Credential.get(client_id=rotated.client_id)
    await regenerate_secret(
        TenantScope(owner.organisation.id),
        _actor(owner),
        str(credential.id),
        timedelta(hours=24),
        hasher=KeyedHasher((PEPPER.encode(),)),
        now=now,
    )
    # The rotation happened two hours ago and the previous secret has not been used since.
    await CredentialSecret.filter(credential_id=credential.id, expires_at__isnull=False).update(
        created_at=now - timedelta(days=10)
    )
    await CredentialSecret.filter(credential_id=credential.id, expires_at__isnull=True).update(
        created_at=now - timedelta(hours=2)
    )


async def _seed_festival_organisation() -> tuple[Issued, dict[str, str]]:
    """Events to choose from (more than one page of the picker, one of them over) and
    credentials for all of them, for chosen ones and for ended ones only."""
    admin = await _admin("admin@festival-tickets.example", "Festival Tickets")
    events = {
        "Jazz Night": await _event(admin, "Jazz Night", "Blue Note Hall", in_days=10),
        "Jazz Brunch": await _event(admin, "Jazz Brunch", "Riverside Café", in_days=12),
        "Pop-up Show": await _event(admin, "Pop-up Show", "Market Square", in_days=20),
        "Summer Festival": await _event(admin, "Summer Festival", "City Park", in_days=30),
        "Autumn Fair": await _event(admin, "Autumn Fair", "Expo Centre", in_days=60),
        "Spring Gala": await _event(admin, "Spring Gala", "Opera House", in_days=-10),
    }
    for number in range(1, WORKSHOPS + 1):
        await _event(admin, f"Workshop {number:02d}", "Studio B", in_days=70 + number)
    venue_feed = await _credential(
        admin, "Venue feed", event_ids=[events["Jazz Night"], events["Autumn Fair"]]
    )
    await _credential(admin, "Box office feed")
    await _credential(admin, "Spring presale", event_ids=[events["Spring Gala"]])
    chosen = [events[name] for name in ("Summer Festival", "Jazz Brunch", "Autumn Fair")]
    await _credential(admin, "Season reseller", event_ids=chosen)
    return venue_feed, events


async def _seed(database_url: str) -> Seeded:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _admin("empty@empty-tickets.example", "Empty Tickets")
        await _admin("owner@create-tickets.example", "Create Tickets", Role.OWNER)
        await _admin("admin@fine-tickets.example", "Fine Tickets")
        await _admin("admin@keyboard-tickets.example", "Keyboard Tickets")
        await _admin("admin@demoted-tickets.example", "Demoted Tickets")
        rotate = await _credential(
            await _admin("admin@rotate-tickets.example", "Rotate Tickets"), "Box office sync"
        )
        revoke = await _credential(
            await _admin("admin@revoke-tickets.example", "Revoke Tickets"), "Reseller feed"
        )
        edit = await _credential(
            await _admin("admin@edit-tickets.example", "Edit Tickets"),
            "CRM export",
            scopes=["events:read"],
        )
        owner = await _admin("owner@read-tickets.example", "Read Tickets", Role.OWNER)
        await _admin("developer@read-tickets.example", "Read Tickets", Role.DEVELOPER)
        await _admin("viewer@read-tickets.example", "Read Tickets", Role.VIEWER)
        for number in range(1, READ_ONLY_CREDENTIALS + 1):
            issued = await _credential(owner, f"Integration {number:02d}")
            if number == 3:
                await _revoke(owner, issued, "Replaced")
            if number == 5:
                await _expire(owner, issued)
        await _seed_screenshot_organisation()
        await _seed_lifecycle_organisation()
        venue_feed, events = await _seed_festival_organisation()
    return Seeded(rotate=rotate, revoke=revoke, edit=edit, venue_feed=venue_feed, events=events)


@dataclass(frozen=True)
class Environment:
    server: LiveServer
    seeded: Seeded


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def environment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Environment]:
    holder: list[Seeded] = []

    async def seed(database_url: str) -> None:
        holder.append(await _seed(database_url))

    async with live_server(tmp_path_factory.mktemp("admin-page"), seed) as server:
        yield Environment(server=server, seeded=holder[0])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as instance:
        yield instance


class Pages:
    """Fresh browser contexts (own cookies and storage) for one test; each page is watched."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        self.problems: list[PageProblems] = []

    async def open(
        self, *, viewport: dict[str, int] = DESKTOP, color_scheme: str = "light"
    ) -> tuple[Page, PageProblems]:
        context = await self.browser.new_context(
            viewport={"width": viewport["width"], "height": viewport["height"]},
            locale="en-GB",
            timezone_id="Europe/Amsterdam",
            color_scheme="dark" if color_scheme == "dark" else "light",
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        await context.add_init_script(RECORDER)
        self.contexts.append(context)
        page = await context.new_page()
        problems = PageProblems()
        problems.watch(page)
        self.problems.append(problems)
        return page, problems

    async def close(self) -> list[str]:
        for context in self.contexts:
            await context.close()
        return [message for problems in self.problems for message in problems.unexpected()]


@pytest_asyncio.fixture(loop_scope="module")
async def pages(browser: Browser, environment: Environment) -> AsyncIterator[Pages]:
    opened = Pages(browser, environment.server)
    yield opened
    problems = await opened.close()
    assert problems == [], f"console errors, CSP violations or uncaught exceptions: {problems}"


async def log_in(page: Page, server: LiveServer, email: str) -> None:
    await page.goto(server.page_url)
    await log_in_here(page, email)


async def log_in_here(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill in the login screen the page is showing."""
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", level=1, name="Partner API")).to_be_visible()


async def open_detail(page: Page, name: str) -> None:
    await page.get_by_role("link", name=name, exact=True).click()
    await expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()


def row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


async def expect_access(credential_row: Locator, level: str, scopes: str) -> None:
    cell = credential_row.locator('td[data-label="Access"]')
    await expect(cell).to_contain_text(level)
    await expect(cell.locator(".cell-sub").first).to_have_text(scopes)


async def shown_secret(dialog: Locator) -> tuple[str, str]:
    """The client ID and secret of a show-once result, checked for their formats."""
    await expect(dialog.get_by_text("this secret will not be shown again")).to_be_visible()
    cell = dialog.locator("dd", has=dialog.page.get_by_role("button", name="Copy Client ID"))
    identifier = await cell.locator("code").inner_text()
    secret = await dialog.locator("dd.secret-value code").inner_text()
    assert CLIENT_ID.match(identifier), identifier
    assert SECRET.match(secret), "the result does not show a client secret"
    return identifier, secret


async def assert_secret_gone(page: Page, secret: str) -> None:
    assert await secret_traces(page, secret) == []


async def expect_events(credential_row: Locator, events: str) -> None:
    """The events line of the Access column, as a screen reader reads it (with the names of
    several events, which sighted users get in a tooltip)."""
    line = credential_row.locator('td[data-label="Access"] .access-events')
    await expect(line).to_have_text(events)


def chip_labels(events: Locator) -> Locator:
    """The chosen events of an Events field, as their chips name them."""
    chosen = events.get_by_role("list", name=re.compile("^Chosen events"))
    return chosen.get_by_role("listitem").locator(".chip-label")


def token_event_ids(token: httpx.Response) -> list[str] | None:
    """The events an access token is limited to (its RFC 9396 `authorization_details`), sorted;
    None when it carries no such claim (all events)."""
    assert token.status_code == 200, token.text
    payload = token.json()["access_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    if "authorization_details" not in claims:
        return None
    [detail] = claims["authorization_details"]
    assert detail["type"] == "ticketing_events"
    return sorted(detail["event_ids"])


# -- login, empty state ------------------------------------------------------------------------


async def test_login_empty_state_header_links_and_logout(
    pages: Pages, environment: Environment
) -> None:
    server = environment.server
    page, _ = await pages.open()
    await page.goto(server.page_url)
    await expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()

    await page.get_by_label("E-mail").fill("empty@empty-tickets.example")
    await page.get_by_label("Password").fill("not the password at all")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid e-mail or password.")

    await log_in(page, server, "empty@empty-tickets.example")
    empty = page.locator(".empty-state")
    await expect(empty.get_by_role("heading", name="No API credentials yet")).to_be_visible()
    await expect(empty).to_contain_text("No API keys have been created yet")
    await expect(empty).to_contain_text("no external system is connected")
    await expect(empty.get_by_role("button", name="Create credentials")).to_be_visible()
    header_create = page.locator(".page-actions").get_by_role("button", name="Create credentials")
    await expect(header_create).to_be_visible()
    documentation = page.get_by_role("link", name="Documentation")
    await expect(documentation).to_have_attribute("href", f"{server.base_url}/docs")
    await expect(documentation).to_have_attribute("target", "_blank")
    await screenshot(page, "empty-state")

    await page.get_by_role("link", name="Back to Settings").click()
    await expect(page).to_have_url(f"{server.base_url}/settings/organisation")
    await page.get_by_role("link", name=re.compile("Partner API")).click()
    await expect(page.get_by_role("heading", name="No API credentials yet")).to_be_visible()

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    await expect(page.get_by_text("You have logged out.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    assert await page.context.cookies() == []


# -- create ------------------------------------------------------------------------------------


async def test_create_full_credentials_shows_the_secret_once(
    pages: Pages, environment: Environment
) -> None:
    """CR-02 in the page: the secret appears once, then is gone from DOM, storage, URL, history."""
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "owner@create-tickets.example")
    await page.locator(".empty-state").get_by_role("button", name="Create credentials").click()

    dialog = page.get_by_role("dialog", name="Create credentials")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Keep these credentials safe")
    submit = dialog.get_by_role("button", name="Create credentials")
    await expect(submit).to_be_disabled()
    await dialog.get_by_label("Name").fill("Box office sync")
    await expect(submit).to_be_disabled()
    await dialog.get_by_label("Contact e-mail").fill("it@boxoffice.example")
    await expect(dialog.get_by_label("Full")).to_be_checked()
    await expect(submit).to_be_enabled()
    await submit.click()

    result = page.get_by_role("dialog", name="Credentials created for “Box office sync”")
    client_id, secret = await shown_secret(result)
    assert await secret_traces(page, secret) == ["DOM"]  # the detector sees it while shown
    await result.get_by_role("button", name="Copy Client secret").click()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await expect(result.get_by_role("button", name="Copy Client secret")).to_have_text("Copied")
    token = await request_token(server, client_id, secret)
    assert token.status_code == 200, token.text  # the page showed the real secret

    await result.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await assert_secret_gone(page, secret)
    created = row(page, "Box office sync")
    await expect(created).to_contain_text(client_id)
    await expect_access(created, "Full access", "All scopes")
    await expect(created).to_contain_text("Active")
    await expect(created).not_to_contain_text("Never used")  # the token request above used it
    await expect(page.locator(".empty-state")).to_have_count(0)

    await page.reload()
    await expect(row(page, "Box office sync")).to_be_visible()
    await assert_secret_gone(page, secret)
    await open_detail(page, "Box office sync")
    await expect(page.get_by_text("Credentials created", exact=True)).to_be_visible()
    await assert_secret_gone(page, secret)


async def test_create_fine_grained_credentials_with_a_server_error_at_its_field(
    pages: Pages, environment: Environment
) -> None:
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "admin@fine-tickets.example")
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    submit = dialog.get_by_role("button", name="Create credentials")

    await dialog.get_by_label("Name").fill("CRM export")
    await dialog.get_by_label("Contact e-mail").fill("crm@partner.example")
    await dialog.get_by_label("Fine-grained").check()
    scopes = dialog.get_by_role("group", name="Scopes")
    await expect(scopes).to_contain_text("Read orders and their tickets.")  # descriptions shown
    await expect(submit).to_be_disabled()  # fine-grained needs a scope
    await scopes.get_by_label("events:read").check()
    await scopes.get_by_label("orders:read").check()
    await expect(submit).to_be_enabled()
    allowlist = dialog.get_by_label("IP allowlist (optional)")
    await allowlist.fill("198.51.100.7/24")  # host bits set: the server refuses it
    await submit.click()

    await expect(allowlist).to_have_attribute("aria-invalid", "true")
    await expect(allowlist).to_be_focused()
    error = dialog.locator(".field-error:visible")
    await expect(error).to_have_count(1)
    await expect(error).to_contain_text("'198.51.100.7/24' is not an IP address or CIDR network.")
    described_by = await allowlist.get_attribute("aria-describedby") or ""
    assert await error.get_attribute("id") in described_by.split()

    await allowlist.fill("198.51.100.0/24\n127.0.0.1")
    await expect(allowlist).not_to_have_attribute("aria-invalid", "true")
    await submit.click()
    result = page.get_by_role("dialog", name="Credentials created for “CRM export”")
    client_id, secret = await shown_secret(result)
    await page.keyboard.press("Escape")  # closing by Escape removes the secret as well
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await assert_secret_gone(page, secret)

    await expect_access(row(page, "CRM export"), "Fine-grained", "2 scopes")
    await open_detail(page, "CRM export")
    await expect(page.locator(".scope-list")).to_have_text(
        re.compile(r"events:read.*orders:read", re.DOTALL)
    )
    await expect(page.locator(".facts")).to_contain_text("198.51.100.0/24")
    await expect(page.locator(".facts")).to_contain_text("127.0.0.1/32")
    await page.reload()
    await expect(page.get_by_role("heading", level=2, name="CRM export")).to_be_visible()
    await assert_secret_gone(page, secret)
    token = await request_token(server, client_id, secret)
    assert token.json()["scope"] == "events:read orders:read"


async def test_keyboard_only_create_with_focus_trapped_and_returned(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@keyboard-tickets.example")
    keyboard = page.keyboard

    for _ in range(10):
        await keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent") == "Create credentials":
            break
    opener = page.locator(".page-actions").get_by_role("button", name="Create credentials")
    await expect(opener).to_be_focused()
    await keyboard.press("Enter")

    dialog = page.get_by_role("dialog", name="Create credentials")
    await expect(dialog.get_by_label("Name")).to_be_focused()
    await keyboard.type("Keyboard sync")
    await keyboard.press("Tab")
    await keyboard.type("keys@partner.example")
    await keyboard.press("Tab")  # the access-level radio group, on "Full"
    await keyboard.press("ArrowDown")  # → "Fine-grained"
    await expect(dialog.get_by_label("Fine-grained")).to_be_checked()
    await keyboard.press("Tab")
    await expect(dialog.get_by_label("events:read")).to_be_focused()
    await keyboard.press("Space")
    await keyboard.press("Tab")
    await keyboard.press("Space")
    await expect(dialog.get_by_label("orders:read")).to_be_checked()

    submit = dialog.get_by_role("button", name="Create credentials")
    in_dialog = "document.querySelector('dialog').contains(document.activeElement)"
    for _ in range(20):  # Tab through the rest: focus never leaves the dialog
        await keyboard.press("Tab")
        assert await page.evaluate(in_dialog)
        if await page.evaluate("document.activeElement.textContent") == "Create credentials":
            break
    await expect(submit).to_be_focused()
    await keyboard.press("Tab")  # past the last control: back to the first
    await expect(dialog.get_by_label("Name")).to_be_focused()
    await keyboard.press("Shift+Tab")  # and back again
    await expect(submit).to_be_focused()
    await keyboard.press("Enter")

    result = page.get_by_role("dialog", name="Credentials created for “Keyboard sync”")
    _, secret = await shown_secret(result)
    await expect(result.get_by_role("button", name="Copy Client secret")).to_be_focused()
    await keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(opener).to_be_focused()  # focus returns to the control that opened the dialog
    await expect_access(row(page, "Keyboard sync"), "Fine-grained", "2 scopes")
    await expect(row(page, "Keyboard sync")).to_contain_text("Never used")
    await assert_secret_gone(page, secret)


# -- events ------------------------------------------------------------------------------------


async def test_create_credentials_for_two_events_chosen_with_the_keyboard(
    pages: Pages, environment: Environment
) -> None:
    """ "Only these events" by keyboard alone: paging, search by name and by venue, choosing and
    removing; an event deleted meanwhile is refused at the field; the token carries the two."""
    server, ids = environment.server, environment.seeded.events
    page, _ = await pages.open()
    keyboard = page.keyboard
    await log_in(page, server, "admin@festival-tickets.example")
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    submit = dialog.get_by_role("button", name="Create credentials")
    await dialog.get_by_label("Name").fill("Jazz and summer sync")
    await dialog.get_by_label("Contact e-mail").fill("sync@partner.example")
    events = dialog.get_by_role("group", name="Events")
    search = events.get_by_label("Find events")
    listbox = events.get_by_role("listbox", name="Upcoming events")
    options = listbox.get_by_role("option")
    status = events.get_by_role("status")
    await expect(events.get_by_label("All events")).to_be_checked()
    await expect(search).to_be_hidden()

    await events.get_by_label("All events").focus()
    await keyboard.press("ArrowDown")
    await expect(events.get_by_label("Only these events")).to_be_checked()
    await expect(status).to_have_text(f"Showing 20 of {UPCOMING_FESTIVAL_EVENTS} events.")
    await expect(listbox).not_to_contain_text("Spring Gala")  # over: not offered
    await expect(submit).to_be_disabled()  # no event chosen yet
    await keyboard.press("Tab")
    await expect(search).to_be_focused()
    await keyboard.press("Tab")
    await expect(listbox).to_be_focused()
    await keyboard.press("Tab")
    await expect(events.get_by_role("button", name="Show more events")).to_be_focused()
    await keyboard.press("Enter")
    total = UPCOMING_FESTIVAL_EVENTS
    await expect(status).to_have_text(f"Showing {total} of {total} events.")
    await expect(events.get_by_role("button", name="Show more events")).to_be_hidden()
    await expect(listbox).to_be_focused()  # on the first event of the new page
    active = await listbox.get_attribute("aria-activedescendant")
    await expect(page.locator(f"#{active}")).to_contain_text("Workshop 16")

    await keyboard.press("Escape")  # from the list back to the search box, the dialog stays
    await expect(search).to_be_focused()
    await keyboard.type("jazz")
    await expect(options).to_have_count(2)
    await expect(options.first).to_contain_text("Jazz Night")
    await expect(options.first).to_contain_text("Blue Note Hall · ")  # venue and date
    await keyboard.press("ArrowDown")
    await expect(listbox).to_be_focused()
    await keyboard.press("Space")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await keyboard.press("Escape")
    await keyboard.press("Escape")  # in the search box: clears it
    await expect(search).to_have_value("")
    await expect(dialog).to_be_visible()
    await keyboard.type("city park")  # venues match as well
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("Summer Festival")
    await keyboard.press("ArrowDown")
    await keyboard.press("Enter")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await keyboard.press("Escape")
    await keyboard.press("Escape")
    await keyboard.type("pop-up")
    await keyboard.press("ArrowDown")  # at once: into the list as soon as the results are in
    await expect(listbox).to_be_focused()
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("Pop-up Show")
    await keyboard.press("Space")
    await expect(chip_labels(events)).to_have_text(["Jazz Night", "Pop-up Show", "Summer Festival"])
    await expect(submit).to_be_enabled()

    async with TortoiseContext() as context:  # someone deletes the event meanwhile
        await context.init(config=tortoise_config(server.database_url))
        assert await Event.filter(id=ids["Pop-up Show"]).delete() == 1
    await submit.click()
    error = events.locator(".field-error")
    await expect(error).to_contain_text("Choose events of your organisation")
    await expect(search).to_be_focused()
    await expect(search).to_have_attribute("aria-invalid", "true")
    described_by = await search.get_attribute("aria-describedby") or ""
    assert await error.get_attribute("id") in described_by.split()
    await events.get_by_role("button", name="Remove Pop-up Show").focus()
    await keyboard.press("Enter")
    await expect(events.get_by_role("button", name="Remove Summer Festival")).to_be_focused()
    await expect(chip_labels(events)).to_have_text(["Jazz Night", "Summer Festival"])
    await expect(error).to_be_hidden()
    await submit.click()

    result = page.get_by_role("dialog", name="Credentials created for “Jazz and summer sync”")
    client_id, secret = await shown_secret(result)
    await result.get_by_role("button", name="Done").click()
    await expect_events(
        row(page, "Jazz and summer sync"), "Only 2 events: Jazz Night, Summer Festival"
    )
    token = await request_token(server, client_id, secret)
    assert token_event_ids(token) == sorted([ids["Jazz Night"], ids["Summer Festival"]])
    await open_detail(page, "Jazz and summer sync")
    await expect(page.locator(".event-list li")).to_have_count(2)
    await expect(page.locator(".event-list")).to_contain_text("City Park")
    await expect(page.locator(".audit")).to_contain_text("Events: Jazz Night, Summer Festival")


async def test_edit_access_from_chosen_events_to_all_and_to_another(
    pages: Pages, environment: Environment
) -> None:
    server, ids = environment.server, environment.seeded.events
    credential = environment.seeded.venue_feed
    page, _ = await pages.open()
    await log_in(page, server, "admin@festival-tickets.example")
    await expect_events(row(page, "Venue feed"), "Only 2 events: Jazz Night, Autumn Fair")
    await open_detail(page, "Venue feed")
    await expect(page.locator(".event-list li")).to_have_count(2)
    token = await request_token(server, credential.client_id, credential.secret)
    assert token_event_ids(token) == sorted([ids["Jazz Night"], ids["Autumn Fair"]])

    await page.get_by_role("button", name="Edit access").click()
    dialog = page.get_by_role("dialog", name="Edit access of “Venue feed”")
    events = dialog.get_by_role("group", name="Events")
    save = dialog.get_by_role("button", name="Save changes")
    await expect(events.get_by_label("Only these events")).to_be_checked()
    await expect(chip_labels(events)).to_have_text(["Jazz Night", "Autumn Fair"])
    await expect(save).to_be_disabled()  # nothing changed yet
    await events.get_by_label("All events").check()
    await expect(save).to_be_enabled()
    await save.click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(page.locator(".facts")).to_contain_text("All events: every event")
    await expect(page.locator(".event-list")).to_have_count(0)
    await expect(page.locator(".audit")).to_contain_text("Events: 2 events → all events")
    token = await request_token(server, credential.client_id, credential.secret)
    assert token_event_ids(token) is None

    await page.get_by_role("button", name="Edit access").click()
    await expect(events.get_by_label("All events")).to_be_checked()
    await events.get_by_label("Only these events").check()
    await expect(save).to_be_disabled()  # no event chosen yet
    await events.get_by_label("Find events").fill("expo")
    options = events.get_by_role("listbox", name="Upcoming events").get_by_role("option")
    await expect(options).to_have_count(1)
    await options.first.click()
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await save.click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(page.locator(".event-list li")).to_have_count(1)
    await expect(page.locator(".event-list")).to_contain_text("Autumn Fair")
    await expect(page.locator(".audit")).to_contain_text("Events: all events → Autumn Fair")
    token = await request_token(server, credential.client_id, credential.secret)
    assert token_event_ids(token) == [ids["Autumn Fair"]]
    await page.get_by_role("link", name="All credentials").click()
    await expect_events(row(page, "Venue feed"), "Only Autumn Fair")


async def test_list_and_detail_show_all_events_chosen_events_and_ended_ones(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@festival-tickets.example")
    await expect_events(row(page, "Box office feed"), "All events")
    season = row(page, "Season reseller")
    await expect_events(season, "Only 3 events: Jazz Brunch, Summer Festival, Autumn Fair")
    await expect(season.locator(".access-events")).to_have_attribute(
        "title", "Jazz Brunch, Summer Festival, Autumn Fair"
    )
    await expect(season.locator(".badge-lapsed")).to_have_count(0)
    spring = row(page, "Spring presale")
    await expect_events(spring, "Only Spring Gala")
    await expect(spring.locator(".badge-lapsed")).to_have_text("Events ended")

    await open_detail(page, "Spring presale")
    await expect(page.locator(".detail-title .badge-lapsed")).to_have_text("Events ended")
    await expect(page.locator(".event-list")).to_contain_text("Opera House")
    await expect(page.locator(".event-list")).to_contain_text("ended")
    await expect(page.locator(".facts")).to_contain_text("these credentials reach nothing upcoming")
    await page.get_by_role("button", name="Edit access").click()
    dialog = page.get_by_role("dialog", name="Edit access of “Spring presale”")
    events = dialog.get_by_role("group", name="Events")
    await expect(chip_labels(events)).to_have_text(["Spring Gala (ended)"])
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    await page.get_by_role("link", name="All credentials").click()
    await open_detail(page, "Box office feed")
    await expect(page.locator(".facts")).to_contain_text("All events: every event")
    await expect(page.locator(".badge-lapsed")).to_have_count(0)


async def test_event_picker_at_phone_width(pages: Pages, environment: Environment) -> None:
    page, _ = await pages.open(viewport=PHONE)
    await log_in(page, environment.server, "admin@festival-tickets.example")
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    events = dialog.get_by_role("group", name="Events")
    await events.get_by_label("Only these events").check()
    listbox = events.get_by_role("listbox", name="Upcoming events")
    await listbox.get_by_role("option", name=re.compile("^Jazz Night")).click()
    await listbox.get_by_role("option", name=re.compile("^Summer Festival")).click()
    await expect(chip_labels(events)).to_have_text(["Jazz Night", "Summer Festival"])

    for part in (dialog, events, listbox, events.get_by_label("Find events")):
        box = await part.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    assert await dialog.evaluate("element => element.scrollWidth <= element.clientWidth")
    remove = await events.get_by_role("button", name="Remove Jazz Night").bounding_box()
    assert remove is not None
    assert min(remove["width"], remove["height"]) >= 24  # WCAG 2.5.8 target size
    await events.get_by_role("button", name="Remove Jazz Night").click()
    await expect(chip_labels(events)).to_have_text(["Summer Festival"])
    selected = listbox.locator('[aria-selected="true"]')
    await expect(selected).to_have_count(1)
    await expect(selected).to_contain_text("Summer Festival")


# -- detail actions ----------------------------------------------------------------------------


async def test_regenerate_with_and_without_grace_period(
    pages: Pages, environment: Environment
) -> None:
    """CR-06 in the page: a grace period keeps the old secret working; none ends it at once."""
    server, original = environment.server, environment.seeded.rotate
    page, _ = await pages.open()
    await log_in(page, server, "admin@rotate-tickets.example")
    await open_detail(page, "Box office sync")
    secrets = page.locator("table.secrets tbody tr")
    await expect(secrets).to_have_count(1)

    await page.get_by_role("button", name="Regenerate secret").click()
    dialog = page.get_by_role("dialog", name="Regenerate the secret of “Box office sync”?")
    await expect(dialog.get_by_label("After 24 hours")).to_be_checked()  # the default
    await dialog.get_by_label("After 1 hour").check()
    await dialog.get_by_role("button", name="Regenerate secret").click()
    result = page.get_by_role("dialog", name="New secret for “Box office sync”")
    client_id, with_grace = await shown_secret(result)
    assert client_id == original.client_id
    await expect(result).to_contain_text("The previous secret")
    await expect(result).to_contain_text("keeps working until")
    await result.get_by_role("button", name="Done").click()
    await assert_secret_gone(page, with_grace)
    await expect(secrets).to_have_count(2)
    await expect(secrets.nth(1)).to_contain_text("Previous (grace period)")
    await expect(page.locator(".audit")).to_contain_text("Grace period: 1 hour")
    assert (await request_token(server, client_id, original.secret)).status_code == 200
    assert (await request_token(server, client_id, with_grace)).status_code == 200

    await page.get_by_role("button", name="Regenerate secret").click()
    dialog = page.get_by_role("dialog", name="Regenerate the secret of “Box office sync”?")
    await expect(dialog).to_contain_text("still in its grace period")
    await dialog.get_by_label("Immediately").check()
    await dialog.get_by_role("button", name="Regenerate secret").click()
    result = page.get_by_role("dialog", name="New secret for “Box office sync”")
    _, without_grace = await shown_secret(result)
    await expect(result).to_contain_text("The previous secret no longer works.")
    await result.get_by_role("button", name="Done").click()
    await expect(secrets).to_have_count(1)
    await expect(page.locator(".audit")).to_contain_text("No grace period")
    await assert_secret_gone(page, without_grace)
    assert (await request_token(server, client_id, without_grace)).status_code == 200
    assert (await request_token(server, client_id, with_grace)).status_code == 401
    assert (await request_token(server, client_id, original.secret)).status_code == 401


async def test_revoke_confirms_with_the_credential_name(
    pages: Pages, environment: Environment
) -> None:
    server, credential = environment.server, environment.seeded.revoke
    page, _ = await pages.open()
    await log_in(page, server, "admin@revoke-tickets.example")
    await open_detail(page, "Reseller feed")
    revoke = page.get_by_role("button", name="Revoke", exact=True)

    await revoke.click()
    dialog = page.get_by_role("dialog", name="Revoke “Reseller feed”?")
    await expect(dialog).to_contain_text(credential.client_id)
    await expect(dialog).to_contain_text("cannot be undone")
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(revoke).to_be_focused()
    assert (await request_token(server, credential.client_id, credential.secret)).status_code == 200

    await revoke.click()
    dialog = page.get_by_role("dialog", name="Revoke “Reseller feed”?")
    await dialog.get_by_label("Reason (optional)").fill("Partner contract ended")
    await dialog.get_by_role("button", name="Revoke “Reseller feed”").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    title = page.locator(".detail-title")
    await expect(title).to_contain_text("Revoked")
    await expect(page.locator(".facts")).to_contain_text("Partner contract ended")
    await expect(page.locator(".audit")).to_contain_text("Credentials revoked")
    for action in ("Edit access", "Regenerate secret", "Revoke"):
        await expect(page.get_by_role("button", name=action, exact=True)).to_have_count(0)
    assert (await request_token(server, credential.client_id, credential.secret)).status_code == 401

    await page.get_by_role("link", name="All credentials").click()
    await expect(row(page, "Reseller feed")).to_contain_text("Revoked")


async def test_edit_access_changes_the_scopes(pages: Pages, environment: Environment) -> None:
    server, credential = environment.server, environment.seeded.edit
    page, _ = await pages.open()
    await log_in(page, server, "admin@edit-tickets.example")
    await open_detail(page, "CRM export")

    await page.get_by_role("button", name="Edit access").click()
    dialog = page.get_by_role("dialog", name="Edit access of “CRM export”")
    save = dialog.get_by_role("button", name="Save changes")
    await expect(dialog.get_by_label("Name")).to_have_value("CRM export")
    await expect(dialog.get_by_label("Fine-grained")).to_be_checked()
    await expect(dialog.get_by_label("events:read")).to_be_checked()
    await expect(save).to_be_disabled()  # nothing changed yet
    await dialog.get_by_label("events:read").uncheck()
    await expect(save).to_be_disabled()  # no scope left
    await dialog.get_by_label("orders:read").check()
    await dialog.get_by_label("barcodes:read").check()
    await expect(save).to_be_enabled()
    await save.click()

    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(page.locator(".scope-list li")).to_have_count(2)
    await expect(page.locator(".scope-list")).to_contain_text("orders:read")
    await expect(page.locator(".scope-list")).to_contain_text("barcodes:read")
    await expect(page.locator(".audit")).to_contain_text(
        "Scopes: events:read → orders:read, barcodes:read"
    )
    token = await request_token(server, credential.client_id, credential.secret)
    assert token.json()["scope"] == "orders:read barcodes:read"


# -- roles, errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["developer@read-tickets.example", "viewer@read-tickets.example"])
async def test_read_only_roles_see_no_mutating_controls(
    pages: Pages, environment: Environment, email: str
) -> None:
    """CR-09 in the page: DEVELOPER and VIEWER read everything and can change nothing."""
    page, _ = await pages.open()
    await log_in(page, environment.server, email)
    await expect(page.get_by_text("You have read-only access")).to_be_visible()
    rows = page.locator("table.credentials tbody tr")
    await expect(rows).to_have_count(10)
    await expect(page.locator(".pager")).to_contain_text(f"1{EN_DASH}10 of 12")
    await page.get_by_role("button", name="Next").click()
    await expect(rows).to_have_count(2)
    await expect(page.locator(".pager")).to_contain_text(f"11{EN_DASH}12 of 12")
    await page.get_by_role("button", name="Previous").click()
    await expect(rows).to_have_count(10)
    await page.get_by_label("Status").select_option("REVOKED")
    await expect(rows).to_have_count(1)
    await expect(row(page, "Integration 03")).to_contain_text("Revoked")
    await page.get_by_label("Status").select_option("EXPIRED")
    await expect(row(page, "Integration 05")).to_contain_text("Expired")
    await page.get_by_label("Status").select_option("")
    await expect(rows).to_have_count(10)

    await open_detail(page, "Integration 12")
    await expect(page.locator("table.secrets tbody tr")).to_have_count(1)
    await expect(page.locator(".audit")).to_contain_text("Credentials created")
    for action in ("Create credentials", "Edit access", "Regenerate secret", "Revoke"):
        await expect(page.get_by_role("button", name=action, exact=True)).to_have_count(0)


async def test_permission_denied_from_the_server_is_shown(
    pages: Pages, environment: Environment
) -> None:
    """An admin demoted while the page is open sees the server's PermissionDenied (CR-09)."""
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "admin@demoted-tickets.example")
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    await dialog.get_by_label("Name").fill("Too late")
    await dialog.get_by_label("Contact e-mail").fill("late@partner.example")

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(server.database_url))
        demoted = await Membership.filter(user__email="admin@demoted-tickets.example").update(
            role=Role.DEVELOPER
        )
    assert demoted == 1
    await dialog.get_by_role("button", name="Create credentials").click()
    alert = dialog.get_by_role("alert")
    await expect(alert).to_contain_text("Permission denied")
    await expect(alert).to_contain_text("Only organisation owners and admins")
    await page.keyboard.press("Escape")
    await page.reload()
    await expect(page.get_by_text("You have read-only access as Developer")).to_be_visible()
    await expect(page.get_by_role("button", name="Create credentials")).to_have_count(0)


async def test_network_errors_are_shown_and_can_be_retried(
    pages: Pages, environment: Environment
) -> None:
    page, problems = await pages.open()
    # Chromium logs the aborted request itself.
    problems.allowed = ("Failed to load resource: net::ERR_INTERNET_DISCONNECTED",)
    await log_in(page, environment.server, "developer@read-tickets.example")

    async def offline(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/graphql", offline)
    await page.get_by_label("Status").select_option("ACTIVE")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Could not reach the server")
    await page.unroute("**/graphql", offline)
    await alert.get_by_role("button", name="Try again").click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(page.locator("table.credentials tbody tr")).to_have_count(10)


async def test_an_ended_session_leads_back_to_the_login_and_the_same_view(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "viewer@read-tickets.example")
    await open_detail(page, "Integration 07")
    detail_url = page.url

    await page.context.clear_cookies()  # the session cookie is gone (expired, or logged out)
    await page.get_by_role("link", name="All credentials").click()
    await expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    await expect(page.get_by_text("Your session has ended. Log in again.")).to_be_visible()

    await page.goto(detail_url)  # a link to one credential survives the login
    await log_in_here(page, "viewer@read-tickets.example")
    await expect(page.get_by_role("heading", level=2, name="Integration 07")).to_be_visible()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_phone_width_and_colour_schemes(
    pages: Pages, environment: Environment, color_scheme: str
) -> None:
    page, _ = await pages.open(viewport=PHONE, color_scheme=color_scheme)
    await log_in(page, environment.server, "owner@read-tickets.example")
    no_sideways_scroll = "document.documentElement.scrollWidth <= window.innerWidth"
    await expect(page.locator("table.credentials tbody tr")).to_have_count(10)
    assert await page.evaluate(no_sideways_scroll)
    background = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", background)[:3])
    brightness = (red + green + blue) / 3
    assert brightness < 60 if color_scheme == "dark" else brightness > 200, background
    if color_scheme == "dark":
        await screenshot(page, "list-phone-dark")

    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    box = await dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    await page.keyboard.press("Escape")
    await open_detail(page, "Integration 12")
    assert await page.evaluate(no_sideways_scroll)


# -- lifecycle signals and the credential policy -----------------------------------------------


async def test_lifecycle_badges_policy_and_ending_a_previous_secret(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "owner@lifecycle-tickets.example")
    await expect(row(page, "Expiring feed").locator(".badge-soon")).to_have_text("Expires soon")
    await expect(row(page, "Dormant export").locator(".badge-stale")).to_have_text(
        "Stale (unused 90+ days)"
    )
    await expect(row(page, "Rotated sync").locator(".badge-soon, .badge-stale")).to_have_count(0)

    policy = page.get_by_role("region", name="Credential policy")
    await expect(policy).to_contain_text("no limit")
    await policy.get_by_label("Maximum lifetime (days)").fill("4000")
    await policy.get_by_role("button", name="Save policy").click()
    lifetime = policy.locator(".field", has=page.get_by_label("Maximum lifetime (days)"))
    await expect(lifetime.locator(".field-error")).to_contain_text("1 to 3650")
    await policy.get_by_label("Maximum lifetime (days)").fill("30")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.get_by_text("Policy saved.")).to_be_visible()
    await expect(policy).to_contain_text("Maximum credential lifetime: 30 days")
    await page.mouse.move(0, 0)
    await screenshot(page, "lifecycle-list", full_page=True)

    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    expiry = dialog.get_by_label("Expiry date (optional)")
    await expect(dialog).to_contain_text("Your organisation's policy allows at most 30 days")
    latest = await expiry.get_attribute("max")
    assert latest is not None
    assert date.fromisoformat(latest) <= date.today() + timedelta(days=30)
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    await open_detail(page, "Rotated sync")
    secrets = page.locator("table.secrets tbody tr")
    await expect(secrets).to_have_count(2)
    await expect(secrets.nth(1).locator(".badge-safe")).to_have_text("Safe to end")
    await page.mouse.move(0, 0)
    await screenshot(page, "lifecycle-detail", full_page=True)
    await secrets.nth(1).get_by_role("button", name=re.compile("End the previous secret")).click()
    confirm = page.get_by_role("dialog", name="End the previous secret of “Rotated sync” now?")
    await expect(confirm).to_contain_text("Safe to end: it has not been used since the rotation")
    await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    await confirm.get_by_role("button", name=re.compile("^End secret")).click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(secrets).to_have_count(1)
    await expect(page.locator(".audit")).to_contain_text("Previous secret ended early")

    await page.get_by_role("link", name="All credentials").click()
    await open_detail(page, "Expiring feed")
    await expect(page.locator(".detail-title .badge-soon")).to_have_text("Expires soon")
    await expect(page.locator(".facts")).to_contain_text("Within 14 days")

    reader, _ = await pages.open()
    await log_in(reader, environment.server, "developer@lifecycle-tickets.example")
    read_only_policy = reader.get_by_role("region", name="Credential policy")
    await expect(read_only_policy).to_contain_text("Maximum credential lifetime: 30 days")
    await expect(read_only_policy.get_by_role("button", name="Save policy")).to_have_count(0)
    await expect(read_only_policy.get_by_label("Maximum lifetime (days)")).to_have_count(0)


# -- the README's screenshots ------------------------------------------------------------------


async def test_list_create_result_and_detail_views(pages: Pages, environment: Environment) -> None:
    """The views the README shows, on data with every status; saved with SCREENSHOTS=1."""
    page, _ = await pages.open()
    await log_in(page, environment.server, "owner@demo-tickets.example")
    await expect_access(row(page, "Box office sync"), "Full access", "All scopes")
    await expect_access(row(page, "CRM export"), "Fine-grained", "2 scopes")
    await expect_events(row(page, "CRM export"), "All events")
    await expect_events(
        row(page, "Box office sync"), "Only 3 events: Jazz Night, Summer Festival, Comedy Gala"
    )
    await expect(row(page, "Marketing tool")).to_contain_text("Expired")
    await expect(row(page, "Old reseller feed")).to_contain_text("Revoked")
    await expect(row(page, "Box office sync")).not_to_contain_text("Never used")
    await page.mouse.move(0, 0)
    await screenshot(page, "list")

    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    await dialog.get_by_label("Name").fill("Ticket scanner sync")
    await dialog.get_by_label("Contact e-mail").fill("scanner@partner.example")
    await dialog.get_by_label("Fine-grained").check()
    await dialog.get_by_label("barcodes:read").check()
    events = dialog.get_by_role("group", name="Events")
    await events.get_by_label("Only these events").check()
    await events.get_by_label("Find events").fill("fest")
    options = events.get_by_role("listbox", name="Upcoming events").get_by_role("option")
    await expect(options).to_have_count(2)  # by name: Summer Festival, Festival Afterparty
    await options.first.click()
    await expect(chip_labels(events)).to_have_text(["Summer Festival"])
    await dialog.evaluate("element => { element.scrollTop = 0; }")
    await screenshot(page, "create-dialog", height=1900)  # tall enough for the whole dialog
    await dialog.get_by_role("button", name="Create credentials").click()
    result = page.get_by_role("dialog", name="Credentials created for “Ticket scanner sync”")
    _, secret = await shown_secret(result)
    await screenshot(page, "create-result")
    await result.get_by_role("button", name="Done").click()
    await assert_secret_gone(page, secret)

    await open_detail(page, "Box office sync")
    await expect(page.locator("table.secrets tbody tr")).to_have_count(2)
    await expect(page.locator(".audit")).to_contain_text("Secret regenerated")
    await expect(page.locator(".facts")).to_contain_text("by owner@demo-tickets.example")
    await expect(page.locator(".event-list li")).to_have_count(3)
    await page.mouse.move(0, 0)
    await screenshot(page, "detail", full_page=True)
    assert Path(page.url).name.startswith("partner-api?credential=")
