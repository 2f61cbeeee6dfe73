"""GraphiQL in Debian's Chromium, driven by Playwright, against a live `partner-api serve` on
loopback (SQLite, or PostgreSQL with TEST_DATABASE_URL), with the rest of the network shut.

Every request of every page to an origin other than 127.0.0.1/localhost is aborted and recorded,
so GraphiQL has to work from the service's own files, as behind a firewall or offline. Console
messages, uncaught exceptions and `securitypolicyviolation` events of every page (including tabs
opened by links) are collected too; a test fails on any of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route, expect
from tortoise.context import TortoiseContext

from auth.admins.identity import SESSION_COOKIE
from models.enums import Role
from partner_api.foundation.database import tortoise_config
from tests.browser_support import ACTION_TIMEOUT_MS, DESKTOP, LiveServer, chromium, live_server
from tests.helpers import PASSWORD
from tests.test_admin_browser import _admin, log_in

pytestmark = pytest.mark.asyncio(loop_scope="module")

ORGANISATION = "GraphiQL Tickets"
DEVELOPER = "developer@graphiql-tickets.example"
VIEWER = "viewer@graphiql-tickets.example"
VIEWER_QUERY = "{ viewer { user { email } organisation { name } role } }"
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
# GraphiQL's own settings dialog (Radix UI) logs this accessibility warning when it opens.
DIALOG_WARNING = "Missing `Description` or `aria-describedby={undefined}` for {DialogContent}"
# Reports each CSP violation to the test (a binding, so it survives navigations and new tabs).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.violatedDirective} ${event.blockedURI} ${event.sample || ""}`);
});
"""
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response"


@dataclass
class Watched:
    """What the pages of one browser context did that the tests forbid, or look at."""

    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def console_message(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def problems(self, *, allowed: tuple[str, ...] = ()) -> list[str]:
        console = [text for text in self.console if not any(part in text for part in allowed)]
        return [*console, *(f"CSP: {violation}" for violation in self.violations)]


async def _seed(database_url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _admin(DEVELOPER, ORGANISATION, Role.DEVELOPER)
        await _admin(VIEWER, ORGANISATION, Role.VIEWER)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path_factory.mktemp("graphiql"), _seed) as live:
        yield live


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as instance:
        yield instance


@pytest_asyncio.fixture(loop_scope="module")
async def offline(browser: Browser) -> AsyncIterator[tuple[BrowserContext, Watched]]:
    """A fresh context (own cookies and storage) that reaches loopback only, and its record."""
    context = await browser.new_context(
        viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]}, locale="en-GB"
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    watched = Watched()

    async def only_loopback(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            watched.requests.append(url)
            await route.continue_()
        else:
            watched.blocked.append(url)
            await route.abort("blockedbyclient")

    await context.route("**/*", only_loopback)
    await context.expose_function("reportViolation", watched.violation)
    await context.add_init_script(REPORT_VIOLATIONS)
    context.on("console", watched.console_message)
    context.on("weberror", lambda error: watched.console.append(f"uncaught: {error.error}"))
    try:
        yield context, watched
    finally:
        await context.close()


def _assert_same_origin_only(watched: Watched, server: LiveServer) -> None:
    assert watched.blocked == [], f"requests to other origins: {watched.blocked}"
    foreign = [url for url in watched.requests if not url.startswith(server.base_url + "/")]
    assert foreign == [], foreign


async def _graphiql_ready(page: Page) -> None:
    await expect(page.locator(QUERY_EDITOR)).to_be_visible()
    await expect(page.locator(".graphiql-execute-button")).to_be_enabled()


async def _run(page: Page, query: str, *, headers: str | None = None) -> None:
    """Put `query` (and `headers`) into GraphiQL's editors and run it."""
    await page.evaluate(
        "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
        [QUERY_EDITOR, query],
    )
    if headers is not None:
        await page.get_by_role("button", name="Headers", exact=True).click()
        editor = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
        await page.evaluate(
            "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)",
            [editor, headers],
        )
    await page.locator(".graphiql-execute-button").click()


async def test_graphiql_from_the_admin_page_runs_the_viewer_query_with_the_session_cookie(
    server: LiveServer, offline: tuple[BrowserContext, Watched]
) -> None:
    """Signed in on the admin page, a developer follows "Explore the API" and runs `viewer`:
    the session cookie authorises the request, and nothing comes from another origin."""
    context, watched = offline
    page = await context.new_page()
    await log_in(page, server, DEVELOPER)
    explore = page.get_by_role("link", name="Explore the API")
    await expect(explore).to_have_attribute("target", "_blank")
    async with context.expect_page() as opened:
        await explore.click()
    graphiql = await opened.value
    await expect(graphiql).to_have_url(f"{server.base_url}/graphql")
    await _graphiql_ready(graphiql)

    async with graphiql.expect_request(
        lambda request: request.method == "POST" and "viewer" in (request.post_data or "")
    ) as sent:
        await _run(graphiql, VIEWER_QUERY)
    request = await sent.value
    response = graphiql.locator(RESPONSE)
    await expect(response).to_contain_text(f'"email": "{DEVELOPER}"')
    await expect(response).to_contain_text(f'"name": "{ORGANISATION}"')
    await expect(response).to_contain_text('"role": "DEVELOPER"')

    assert request.url == f"{server.base_url}/graphql"
    headers = await request.all_headers()
    assert "authorization" not in headers  # no token was copied anywhere: the cookie did it
    assert headers["content-type"] == "application/json"
    assert f"{SESSION_COOKIE}=" in headers.get("cookie", "")
    _assert_same_origin_only(watched, server)
    assert watched.problems() == []


async def test_signed_out_graphiql_logs_in_by_mutation_and_stores_no_headers(
    server: LiveServer, offline: tuple[BrowserContext, Watched]
) -> None:
    """Opened directly, signed out: the `login` mutation sets the session cookie and `viewer`
    then works. A request header typed into GraphiQL is sent, but written to no storage; and
    GraphiQL keeps nothing in localStorage at all (only this tab's sessionStorage)."""
    context, watched = offline
    page = await context.new_page()
    await page.goto(f"{server.base_url}/graphql")
    await _graphiql_ready(page)
    probe = "probe-header-value-7f3c"

    await _run(page, VIEWER_QUERY, headers=json.dumps({"X-Probe": probe}))
    await expect(page.locator(RESPONSE)).to_contain_text('"errors"')
    await expect(page.locator(RESPONSE)).not_to_contain_text(DEVELOPER)

    login = f'mutation {{ login(email: "{DEVELOPER}", password: "{PASSWORD}") {{ __typename }} }}'
    await _run(page, login)
    await expect(page.locator(RESPONSE)).to_contain_text('"__typename": "LoginSuccess"')
    async with page.expect_request(
        lambda request: request.method == "POST" and "viewer" in (request.post_data or "")
    ) as sent:
        await _run(page, VIEWER_QUERY)
    await expect(page.locator(RESPONSE)).to_contain_text('"role": "DEVELOPER"')
    assert (await (await sent.value).all_headers()).get("x-probe") == probe  # typed ones go out

    stored = await page.evaluate(
        "() => ({ session: JSON.stringify({ ...sessionStorage }), local: localStorage.length })"
    )
    assert stored["local"] == 0
    assert "graphiql:queries" in stored["session"]  # the history is kept, in this tab only
    assert probe not in stored["session"]
    assert "X-Probe" not in stored["session"]
    _assert_same_origin_only(watched, server)
    assert watched.problems() == []


async def test_graphiql_dialogs_style_is_admitted_by_the_nonce_alone(
    server: LiveServer, offline: tuple[BrowserContext, Watched]
) -> None:
    """GraphiQL's dialogs add a <style> element; it carries the response's nonce, so the policy
    admits it without 'unsafe-inline', and no violation is reported."""
    context, watched = offline
    page = await context.new_page()
    response = await page.goto(f"{server.base_url}/graphql")
    assert response is not None
    policy = (await response.all_headers())["content-security-policy"]
    await _graphiql_ready(page)

    await page.get_by_role("button", name="Open settings dialog").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    nonces = await page.evaluate("[...document.querySelectorAll('style')].map((s) => s.nonce)")
    assert nonces, "the dialog added no <style> element: nothing left to prove"
    assert all(f"'nonce-{nonce}'" in policy for nonce in nonces), (nonces, policy)
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)
    _assert_same_origin_only(watched, server)
    assert watched.problems(allowed=(DIALOG_WARNING,)) == []


async def test_the_explore_link_is_for_developers_and_up_not_viewers(
    server: LiveServer, offline: tuple[BrowserContext, Watched]
) -> None:
    context, watched = offline
    page = await context.new_page()
    await log_in(page, server, VIEWER)
    await expect(page.get_by_role("link", name="Documentation")).to_be_visible()
    await expect(page.get_by_role("link", name="Explore the API")).to_have_count(0)
    assert watched.problems() == []
