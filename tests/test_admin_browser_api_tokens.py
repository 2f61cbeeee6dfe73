"""The admin page's API tokens card, in Debian's Chromium driven by Playwright against a live
`partner-api serve` (the fixtures and helpers of tests/test_admin_browser.py and
tests/browser_support.py).

The token the page shows once is proven to be the real one: it answers `viewer` on the same live
server with `Authorization: Bearer`, and stops doing so once the page has revoked it. Developers
and viewers get no card, and their page never asks for `apiTokens`. Each test works in its own
organisation. `SCREENSHOTS=1` also saves docs/screenshots/api-tokens.png and
api-tokens-phone-dark.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, Request, Route, expect
from tortoise.context import TortoiseContext

from auth.partners.keyed_hash import KeyedHasher
from models.admin import Membership
from models.api_token import ApiToken
from models.enums import Role
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.operations.admins import AdminAccount
from partner_api.operations.api_tokens import ApiTokenDraft, create_api_token, revoke_api_token
from tests.browser_support import (
    PEPPER,
    PHONE,
    LiveServer,
    chromium,
    live_server,
    screenshot,
    secret_traces,
)
from tests.helpers import operation
from tests.test_admin_browser import Pages, _actor, _admin, assert_secret_gone, log_in
from tests.test_admin_browser_notifications import page_box

pytestmark = pytest.mark.asyncio(loop_scope="module")

API_TOKEN = re.compile(r"^pat_[0-9A-Za-z]{61}$")
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
READ_ONLY_EMAILS = ["developer@read-tokens.example", "viewer@read-tokens.example"]
SHOWN_OWNER = "owner@shown-tokens.example"
DEMOTED_ADMIN = "release@shown-tokens.example"


async def _token(
    account: AdminAccount, name: str, role: Role, *, days: int = 90
) -> tuple[ApiToken, str]:
    issued = await create_api_token(
        TenantScope(account.organisation.id),
        _actor(account),
        ApiTokenDraft(name=name, role=role, expires_at=utcnow() + timedelta(days=days)),
        hasher=KeyedHasher((PEPPER.encode(),)),
        now=utcnow(),
    )
    return issued.api_token, issued.value


async def _seed_shown_organisation() -> None:
    """The screenshots' organisation: a token in use, one capped by its creator's demotion, one
    expired and one revoked."""
    owner = await _admin(SHOWN_OWNER, "Shown Tickets", Role.OWNER)
    release = await _admin(DEMOTED_ADMIN, "Shown Tickets", Role.ADMIN)
    terraform, _ = await _token(owner, "Terraform (infrastructure repo)", Role.ADMIN, days=365)
    await ApiToken.filter(id=terraform.id).update(
        last_used_at=utcnow() - timedelta(minutes=42), last_used_ip="203.0.113.24"
    )
    await _token(release, "Release pipeline", Role.ADMIN, days=30)
    await Membership.filter(id=release.membership.id).update(role=Role.DEVELOPER)
    nightly, _ = await _token(owner, "Nightly report", Role.VIEWER, days=7)
    await ApiToken.filter(id=nightly.id).update(expires_at=utcnow() - timedelta(days=2))
    leaked, _ = await _token(owner, "Old CI runner", Role.DEVELOPER, days=90)
    await revoke_api_token(
        TenantScope(owner.organisation.id), _actor(owner), str(leaked.id), now=utcnow()
    )


async def _seed(database_url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _admin("admin@token-tickets.example", "Token Tickets")
        await _admin("admin@field-tokens.example", "Field Tokens")
        owner = await _admin("owner@read-tokens.example", "Read Tokens", Role.OWNER)
        await _token(owner, "Reporting script", Role.VIEWER)
        await _admin(READ_ONLY_EMAILS[0], "Read Tokens", Role.DEVELOPER)
        await _admin(READ_ONLY_EMAILS[1], "Read Tokens", Role.VIEWER)
        await _seed_shown_organisation()


@dataclass(frozen=True)
class Environment:
    server: LiveServer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def environment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Environment]:
    async with live_server(tmp_path_factory.mktemp("admin-api-tokens"), _seed) as server:
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
    return page.get_by_role("region", name="API tokens")


def token_row(page: Page, name: str) -> Locator:
    return card(page).get_by_role("row").filter(has=page.get_by_text(name, exact=True))


async def viewer_answer(server: LiveServer, token: str) -> httpx.Response:
    """`viewer` on the live server's POST /graphql, as the page's token would ask it."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
        return await http.post(
            "/graphql",
            json={"query": operation("Viewer"), "operationName": "Viewer"},
            headers={"Authorization": f"Bearer {token}"},
        )


async def shown_token(dialog: Locator) -> str:
    await expect(dialog.get_by_text("this token will not be shown again")).to_be_visible()
    value = await dialog.locator("dd.secret-value code").inner_text()
    assert API_TOKEN.match(value), "the result does not show a pat_ token"
    return value


# -- create, use, revoke -----------------------------------------------------------------------


async def test_an_admin_creates_a_token_uses_it_and_revokes_it(
    pages: Pages,
    environment: Environment,
) -> None:
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "admin@token-tickets.example")
    await expect(card(page)).to_contain_text("No API tokens yet.")
    create = card(page).get_by_role("button", name="Create API token")
    await create.click()

    dialog = page.get_by_role("dialog", name="Create API token")
    await expect(dialog.get_by_label("Name")).to_be_focused()
    role = dialog.get_by_label("Role")
    # At most ADMIN, never OWNER, and least privilege unless chosen otherwise.
    await expect(role.locator("option")).to_have_text(["Admin", "Developer", "Viewer"])
    await expect(role).to_have_value("VIEWER")
    expiry = dialog.get_by_label("Expires after")
    await expect(expiry.locator("option")).to_have_text(
        ["7 days", "30 days", "90 days", "365 days"]
    )
    await expect(expiry).to_have_value("90")
    await dialog.get_by_label("Name").fill("Rotate partner secrets (CI)")
    await role.select_option("ADMIN")
    await expiry.select_option("30")
    await dialog.get_by_role("button", name="Create token").click()

    result = page.get_by_role("dialog", name="API token “Rotate partner secrets (CI)” created")
    token = await shown_token(result)
    copy = result.get_by_role("button", name="Copy API token")
    await expect(copy).to_be_focused()  # an early Enter copies rather than dismisses
    assert await secret_traces(page, token) == ["DOM"]  # the detector sees it while shown
    await copy.click()
    assert await page.evaluate("navigator.clipboard.readText()") == token
    await expect(copy).to_have_text("Copied")
    await expect(result).to_contain_text("Admin")

    answer = await viewer_answer(server, token)  # the page showed the real token
    assert answer.status_code == 200, answer.text
    viewer = answer.json()["data"]["viewer"]
    assert viewer["role"] == "ADMIN"
    assert viewer["user"]["email"] == "admin@token-tickets.example"
    assert viewer["organisation"]["name"] == "Token Tickets"

    await result.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(create).to_be_focused()
    await assert_secret_gone(page, token)
    row = token_row(page, "Rotate partner secrets (CI)")
    await expect(row).to_have_class(re.compile(r"\bis-new\b"))
    await expect(row.locator("code")).to_have_text(f"pat_…{token[-4:]}")
    await expect(row.locator('td[data-label="Role"]')).to_have_text("Admin")
    await expect(row.locator('td[data-label="Status"]')).to_have_text("Active")
    await expect(row.locator('td[data-label="Created"]')).to_contain_text(
        "by admin@token-tickets.example"
    )
    expires = await row.locator('td[data-label="Expires"] time').get_attribute("datetime")
    assert expires is not None
    # "30 days" from when it was sent, not the default 90.
    lifetime = datetime.fromisoformat(expires) - utcnow()
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30), expires
    # The viewer query above is its first use: time and address are shown.
    await expect(row.locator('td[data-label="Last used"]')).to_contain_text("from 127.0.0.1")

    revoke = row.get_by_role("button", name="Revoke")
    await revoke.click()
    confirm = page.get_by_role("dialog", name="Revoke “Rotate partner secrets (CI)”?")
    await expect(confirm).to_contain_text(f"pat_…{token[-4:]}")
    await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    await confirm.get_by_role("button", name="Revoke token").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(row.locator('td[data-label="Status"]')).to_have_text("Revoked")
    await expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    await expect(card(page).get_by_role("heading", name="API tokens")).to_be_focused()

    refused = await viewer_answer(server, token)  # a GraphQL refusal, in the body
    errors = refused.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"], errors
    assert refused.json().get("data") is None

    await page.reload()
    await expect(token_row(page, "Rotate partner secrets (CI)").locator(".badge")).to_have_text(
        "Revoked"
    )
    await assert_secret_gone(page, token)


async def test_validation_errors_appear_at_the_name_field(
    pages: Pages,
    environment: Environment,
) -> None:
    """An empty name is caught in the page; a name with an invisible character is refused by
    the server (ValidationError), and both land at the Name field."""
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@field-tokens.example")
    create = card(page).get_by_role("button", name="Create API token")
    await create.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create API token")
    name = dialog.get_by_label("Name")
    error = dialog.locator(".field", has=page.get_by_role("textbox", name="Name")).locator(
        ".field-error"
    )
    submit = dialog.get_by_role("button", name="Create token")

    await submit.click()
    await expect(error).to_have_text("Enter a name: what the token is for.")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()

    await name.fill("CI\u200bdeploy")
    await expect(error).to_be_hidden()
    await submit.click()
    await expect(error).to_have_text(
        "Name must not contain control or invisible formatting characters (found U+200B)."
    )
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(dialog.get_by_role("alert")).to_have_count(0)  # at the field, not a banner

    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(create).to_be_focused()
    await expect(card(page)).to_contain_text("No API tokens yet.")


# -- who sees the card -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "shown"),
    [("owner@read-tokens.example", True), *((email, False) for email in READ_ONLY_EMAILS)],
)
async def test_only_owners_and_admins_get_the_card_and_its_query(
    pages: Pages,
    environment: Environment,
    email: str,
    shown: bool,
) -> None:
    page, _ = await pages.open()
    bodies: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql"):
            bodies.append(request.post_data or "")

    page.on("request", record)
    await log_in(page, environment.server, email)
    notifications = page.get_by_role("region", name="Notifications")
    await expect(notifications.get_by_role("heading", name="Security contacts")).to_be_visible()
    if shown:
        await expect(token_row(page, "Reporting script")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    asked = [body for body in bodies if "apiTokens" in body]
    if shown:
        assert len(asked) == 1, bodies  # the recorder sees the query when it is sent
    else:
        assert asked == [], asked
        await expect(card(page)).to_have_count(0)
        await expect(page.get_by_role("button", name="Create API token")).to_have_count(0)
        await expect(page.get_by_text("Reporting script")).to_have_count(0)


# -- the owner's view, phone width, dark mode --------------------------------------------------


async def test_the_list_shows_roles_statuses_and_last_use(
    pages: Pages,
    environment: Environment,
) -> None:
    """docs/screenshots/api-tokens.png: a token in use, one capped by its creator's demotion, an
    expired and a revoked one (newest first), and the status filter."""
    page, _ = await pages.open()
    await log_in(page, environment.server, SHOWN_OWNER)
    rows = card(page).locator("tbody tr")
    await expect(rows.locator("th .api-token-name")).to_have_text(
        ["Old CI runner", "Nightly report", "Release pipeline", "Terraform (infrastructure repo)"]
    )
    terraform = token_row(page, "Terraform (infrastructure repo)")
    await expect(terraform.locator('td[data-label="Last used"]')).to_contain_text(
        "from 203.0.113.24"
    )
    await expect(terraform.locator('td[data-label="Role"]')).to_have_text("Admin")
    release = token_row(page, "Release pipeline")
    await expect(release.locator('td[data-label="Role"]')).to_have_text(
        "AdminActs as Developer: its creator's role now"
    )
    await expect(release.locator('td[data-label="Created"]')).to_contain_text(DEMOTED_ADMIN)
    await expect(release.locator('td[data-label="Last used"]')).to_have_text("Never used")
    nightly = token_row(page, "Nightly report")
    await expect(nightly.locator(".badge")).to_have_text("Expired")
    await expect(nightly.get_by_role("button", name="Revoke")).to_have_count(0)
    old = token_row(page, "Old CI runner")
    await expect(old.locator(".badge")).to_have_text("Revoked")
    await expect(old.locator('td[data-label="Expires"]')).to_contain_text("Revoked")
    await expect(card(page).get_by_role("button", name="Revoke")).to_have_count(2)
    table = card(page).locator(".table-wrap")
    assert await table.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
    await page.mouse.move(0, 0)
    await screenshot(page, "api-tokens", full_page=True, clip=await page_box(card(page)))

    status = card(page).get_by_label("Status of API tokens")
    await status.focus()
    await status.select_option("REVOKED")
    await expect(rows).to_have_count(1)
    await expect(status).to_be_focused()
    await status.select_option("")
    await expect(rows).to_have_count(4)


async def test_a_failed_load_of_the_card_is_shown_and_can_be_retried(
    pages: Pages,
    environment: Environment,
) -> None:
    """The card's load failure goes through the page's shared handling (mutations.js
    `showLoadFailure`): the error in the card's alerts with a "Try again" that loads it again."""
    page, problems = await pages.open()
    problems.allowed = ("Failed to load resource: net::ERR_INTERNET_DISCONNECTED",)
    await log_in(page, environment.server, SHOWN_OWNER)
    rows = card(page).locator("tbody tr")
    await expect(rows).to_have_count(4)

    async def offline(route: Route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/graphql", offline)
    await card(page).get_by_label("Status of API tokens").select_option("REVOKED")
    alert = card(page).get_by_role("alert")
    await expect(alert).to_contain_text("Could not reach the server")
    await page.unroute("**/graphql", offline)
    await alert.get_by_role("button", name="Try again").click()
    await expect(card(page).get_by_role("alert")).to_have_count(0)
    await expect(rows).to_have_count(1)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_phone_width_and_colour_schemes(
    pages: Pages,
    environment: Environment,
    color_scheme: str,
) -> None:
    page, _ = await pages.open(viewport=PHONE, color_scheme=color_scheme)
    await log_in(page, environment.server, SHOWN_OWNER)
    rows = card(page).locator("tbody tr")
    await expect(rows).to_have_count(4)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    # One card per token, each cell labelled by its column.
    assert await rows.first.evaluate("row => getComputedStyle(row).display") == "block"
    label = await rows.first.locator('td[data-label="Status"]').evaluate(
        "cell => getComputedStyle(cell, '::before').content"
    )
    assert label == '"Status"', label
    surface = await card(page).evaluate("element => getComputedStyle(element).backgroundColor")
    red, green, blue = (int(part) for part in re.findall(r"\d+", surface)[:3])
    brightness = (red + green + blue) / 3
    assert brightness < 60 if color_scheme == "dark" else brightness > 200, surface
    if color_scheme == "dark":
        await page.mouse.move(0, 0)
        await screenshot(
            page, "api-tokens-phone-dark", full_page=True, clip=await page_box(card(page))
        )

    await card(page).get_by_role("button", name="Create API token").click()
    dialog = page.get_by_role("dialog", name="Create API token")
    box = await dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
