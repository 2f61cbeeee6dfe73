"""Key-pair (private_key_jwt) credentials on the admin page, in Debian's Chromium driven by
Playwright against a live `partner-api serve` (the fixtures and helpers of
tests/test_admin_browser.py and tests/browser_support.py).

An admin creates a key credential by pasting a public JWK Set made with `cryptography`
(tests/key_clients.py), sees its client ID and no secret, gets a real token with a signed client
assertion (RFC 7523 §2.2) and sees the key's last use; a set with a private member is refused at
its field and creates nothing (PK-02); an admin replaces the keys; a viewer sees them without
controls. Each test works in its own organisation. `SCREENSHOTS=1` also saves
docs/screenshots/key-credential.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, expect
from tortoise.context import TortoiseContext

from models.credential import Credential, CredentialKey
from models.enums import Role
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from tests.browser_support import DESKTOP, PHONE, LiveServer, chromium, live_server, screenshot
from tests.key_clients import (
    KeyPair,
    assertion,
    assertion_form,
    jwks,
    key_pair,
    make_key_credential,
)
from tests.test_admin_browser import CLIENT_ID, Pages, _admin, _credential, log_in, open_detail, row

pytestmark = pytest.mark.asyncio(loop_scope="module")

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
KEY_PAIR = "Key pair (private_key_jwt)"
# The live server writes a key's first use at once; its usage flush runs every few seconds.
LAST_USE_SHOWN_WITHIN_SECONDS = 20


@dataclass(frozen=True)
class Environment:
    server: LiveServer
    # The key pairs of the seeded key credentials, by credential name.
    pairs: dict[str, KeyPair]


async def _seed(database_url: str, pairs: dict[str, KeyPair]) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _admin("admin@create-keys.example", "Create Keys")
        await _admin("admin@refuse-keys.example", "Refuse Keys")
        rotate = await _admin("admin@rotate-keys.example", "Rotate Keys")
        pairs["Signing feed"] = key_pair(kid="feed-2025-01")
        await make_key_credential(
            organisation=rotate.organisation, keys=(pairs["Signing feed"],), name="Signing feed"
        )
        owner = await _admin("owner@view-keys.example", "View Keys", Role.OWNER)
        await _admin("viewer@view-keys.example", "View Keys", Role.VIEWER)
        await _credential(owner, "Box office sync")
        pairs["current"] = key_pair(kid="reseller-2025-06")
        pairs["next"] = key_pair("EdDSA", kid="reseller-2026-01")
        reseller = await make_key_credential(
            organisation=owner.organisation,
            keys=(pairs["current"], pairs["next"]),
            name="Reseller gateway",
        )
        await CredentialKey.filter(credential=reseller, kid="reseller-2025-06").update(
            last_used_at=utcnow() - timedelta(minutes=12)
        )
        await Credential.filter(id=reseller.id).update(
            last_used_at=utcnow() - timedelta(minutes=12)
        )
        await make_key_credential(
            organisation=owner.organisation,
            jwks_uri="https://keys.partner.example/.well-known/jwks.json",
            name="Published keys",
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def environment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Environment]:
    pairs: dict[str, KeyPair] = {}

    async def seed(database_url: str) -> None:
        await _seed(database_url, pairs)

    async with live_server(tmp_path_factory.mktemp("admin-keys"), seed) as server:
        yield Environment(server=server, pairs=pairs)


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


def keys_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Keys", exact=True)


def key_row(page: Page, kid: str) -> Locator:
    return keys_card(page).locator(f'tr[data-kid="{kid}"]')


async def start_key_credential(page: Page, name: str) -> Locator:
    """Open Create, fill in the name and contact, choose the key pair; the dialog."""
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    await dialog.get_by_label("Name").fill(name)
    await dialog.get_by_label("Contact e-mail").fill("it@partner.example")
    await dialog.get_by_role("radio", name=re.compile(r"^Key pair \(private_key_jwt\)")).check()
    return dialog


async def signed_token(server: LiveServer, pair: KeyPair, client_id: str) -> httpx.Response:
    """A token from the live token endpoint, the client authenticated by a signed assertion."""
    token = assertion(pair, client_id, audience=f"{server.base_url}/oauth/token")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
        return await http.post("/oauth/token", data=assertion_form(token))


async def test_create_a_key_credential_by_pasting_a_public_jwk_set(
    pages: Pages, environment: Environment
) -> None:
    server = environment.server
    page, _ = await pages.open()
    await log_in(page, server, "admin@create-keys.example")
    dialog = await start_key_credential(page, "Venue gate")
    submit = dialog.get_by_role("button", name="Create credentials")
    await expect(submit).to_be_disabled()
    docs = dialog.get_by_role("link", name=re.compile("^How key-pair credentials work"))
    await expect(docs).to_have_attribute("href", f"{server.base_url}/docs#private-key-jwt")
    await expect(dialog).to_contain_text("ES256 (recommended)")
    await expect(dialog).to_contain_text("Paste public keys only")

    # The page checks the JSON itself, without quoting what was pasted.
    field = dialog.get_by_label("Public JWK Set")
    await field.fill('{"keys": [ nonsense')
    await field.blur()
    error = dialog.locator(".key-source .field-error").first
    await expect(error).to_have_text(
        "This is not valid JSON. Paste the JWK Set as it is, "
        'like {"keys": [{"kty": "EC", "kid": "…", …}]}.'
    )
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(submit).to_be_disabled()

    pair = key_pair(kid="gate-2026-01")
    await field.fill(json.dumps(jwks(pair)))
    await expect(field).to_have_attribute("aria-invalid", "false")
    await expect(submit).to_be_enabled()
    await submit.click()

    result = page.get_by_role("dialog", name="Credentials created for “Venue gate”")
    await expect(result).to_contain_text("There is no client secret")
    await expect(result.locator(".secret-value")).to_have_count(0)
    await expect(result).not_to_contain_text("will not be shown again")
    identifier = result.locator("dd", has=page.get_by_role("button", name="Copy Client ID"))
    identifier_text = await identifier.locator("code").inner_text()
    assert CLIENT_ID.match(identifier_text), identifier_text
    await expect(result).to_contain_text("gate-2026-01 (ES256)")
    await result.get_by_role("button", name="Done").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)

    created = row(page, "Venue gate")
    await expect(created.locator(".badge-keys")).to_have_text("Key pair")
    await open_detail(page, "Venue gate")
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text(KEY_PAIR)
    await expect(key_row(page, "gate-2026-01")).to_contain_text("ES256")
    await expect(key_row(page, "gate-2026-01")).to_contain_text("Never used")
    await expect(page.get_by_role("region", name="Secrets")).to_have_count(0)
    await expect(page.get_by_role("button", name="Regenerate secret")).to_have_count(0)
    await expect(page.get_by_role("button", name="Edit keys")).to_be_visible()
    await expect(page.locator(".audit")).to_contain_text("keys gate-2026-01 (ES256)")

    # The key the page registered authenticates a real client (RFC 7523 §2.2).
    token = await signed_token(server, pair, identifier_text)
    assert token.status_code == 200, token.text
    assert token.json()["token_type"].lower() == "bearer"

    # Its first use is written at once; the page shows it on the next load.
    deadline = utcnow() + timedelta(seconds=LAST_USE_SHOWN_WITHIN_SECONDS)
    while "Never used" in await key_row(page, "gate-2026-01").inner_text():
        assert utcnow() < deadline, "the key's last use was not shown"
        await page.wait_for_timeout(1000)
        await page.reload()
        await expect(keys_card(page)).to_be_visible()


async def test_pk02_a_private_member_is_refused_at_its_field_and_creates_nothing(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@refuse-keys.example")
    dialog = await start_key_credential(page, "Leaky gate")
    pair = key_pair(kid="leaky-1")
    private = pair.private_jwk()
    field = dialog.get_by_label("Public JWK Set")
    await field.fill(json.dumps({"keys": [private]}))
    await dialog.get_by_role("button", name="Create credentials").click()

    error = dialog.locator(".key-source .field-error").first
    await expect(error).to_contain_text("contains private key material")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_be_focused()
    # The refusal names the key's position, never its material.
    assert private["d"] not in await error.inner_text()
    await expect(page.get_by_role("dialog", name="Create credentials")).to_be_visible()

    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(page.get_by_role("heading", name="No API credentials yet")).to_be_visible()


async def test_an_admin_replaces_the_keys(pages: Pages, environment: Environment) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@rotate-keys.example")
    await open_detail(page, "Signing feed")
    await expect(key_row(page, "feed-2025-01")).to_be_visible()

    await keys_card(page).get_by_role("button", name="Edit keys").click()
    dialog = page.get_by_role("dialog", name="Keys of “Signing feed”")
    await expect(dialog).to_contain_text("replaces the current keys (feed-2025-01)")
    field = dialog.get_by_label("Public JWK Set")
    save = dialog.get_by_role("button", name="Save keys")
    await expect(save).to_be_disabled()

    # The server's refusal lands at the field, and nothing changes.
    leaked = key_pair(kid="feed-leaked")
    await field.fill(json.dumps({"keys": [leaked.private_jwk()]}))
    await save.click()
    await expect(dialog.locator(".key-source .field-error").first).to_contain_text(
        "private key material"
    )
    await expect(field).to_have_attribute("aria-invalid", "true")

    # Rotation: the current key and the new one, then the old one removed.
    new = key_pair(kid="feed-2026-01")
    await field.fill(json.dumps(jwks(environment.pairs["Signing feed"], new)))
    await save.click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(key_row(page, "feed-2026-01")).to_contain_text("ES256")
    await expect(key_row(page, "feed-2025-01")).to_be_visible()

    await keys_card(page).get_by_role("button", name="Edit keys").click()
    await field.fill(json.dumps(jwks(new)))
    await save.click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(key_row(page, "feed-2026-01")).to_be_visible()
    await expect(key_row(page, "feed-2025-01")).to_have_count(0)
    change = page.locator(".audit .audit-event", has_text="Access changed").first
    await expect(change).to_contain_text(
        "Keys: feed-2025-01 (ES256), feed-2026-01 (ES256) → feed-2026-01 (ES256)"
    )


async def test_a_viewer_sees_the_keys_without_controls(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "viewer@view-keys.example")
    await expect(row(page, "Reseller gateway").locator(".badge-keys")).to_have_text("Key pair")
    await expect(row(page, "Box office sync").locator(".badge-keys")).to_have_count(0)
    await open_detail(page, "Reseller gateway")
    await expect(page.locator("dl.facts")).to_contain_text(KEY_PAIR)
    await expect(key_row(page, "reseller-2025-06")).to_contain_text("ES256")
    await expect(key_row(page, "reseller-2025-06")).not_to_contain_text("Never used")
    await expect(key_row(page, "reseller-2026-01")).to_contain_text("EdDSA")
    await expect(key_row(page, "reseller-2026-01")).to_contain_text("Never used")
    await expect(page.get_by_role("button", name="Edit keys")).to_have_count(0)
    await expect(page.get_by_role("button", name="Regenerate secret")).to_have_count(0)

    await page.get_by_role("link", name="All credentials").click()
    await open_detail(page, "Published keys")
    card = keys_card(page)
    await expect(card).to_contain_text("https://keys.partner.example/.well-known/jwks.json")
    await expect(card).to_contain_text("No key used yet")

    await page.get_by_role("link", name="All credentials").click()
    await open_detail(page, "Box office sync")
    await expect(page.locator("dl.facts")).to_contain_text("Client secret")
    await expect(page.get_by_role("region", name="Secrets")).to_be_visible()
    await expect(keys_card(page)).to_have_count(0)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_phone_width_and_colour_schemes(
    pages: Pages, environment: Environment, color_scheme: str
) -> None:
    page, _ = await pages.open(viewport=PHONE, color_scheme=color_scheme)
    await log_in(page, environment.server, "owner@view-keys.example")
    await expect(row(page, "Reseller gateway").locator(".badge-keys")).to_be_visible()
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await open_detail(page, "Reseller gateway")
    await expect(key_row(page, "reseller-2026-01")).to_be_visible()
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    first = key_row(page, "reseller-2025-06")
    assert await first.evaluate("row => getComputedStyle(row).display") == "block"

    await page.get_by_role("link", name="All credentials").click()
    await page.locator(".page-actions").get_by_role("button", name="Create credentials").click()
    dialog = page.get_by_role("dialog", name="Create credentials")
    await dialog.get_by_role("radio", name=re.compile(r"^Key pair")).check()
    await expect(dialog.get_by_label("Public JWK Set")).to_be_visible()
    await dialog.get_by_role("radio", name=re.compile(r"^JWKS URL")).check()
    await expect(dialog.get_by_label("JWKS URL", exact=True)).to_be_visible()
    await expect(dialog.get_by_label("Public JWK Set")).to_be_hidden()
    box = await dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


async def test_key_credential_detail_screenshot(pages: Pages, environment: Environment) -> None:
    """The detail of a key credential on desktop; saved with SCREENSHOTS=1."""
    page, _ = await pages.open(viewport=DESKTOP)
    await log_in(page, environment.server, "owner@view-keys.example")
    await open_detail(page, "Reseller gateway")
    await expect(key_row(page, "reseller-2025-06")).to_be_visible()
    await expect(page.get_by_role("button", name="Edit keys")).to_be_visible()
    await page.mouse.move(0, 0)
    await screenshot(page, "key-credential", full_page=True)
