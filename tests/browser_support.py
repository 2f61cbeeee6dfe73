"""Driving the admin page in Debian's Chromium with Playwright, against a live server.

One `partner-api serve` subprocess per test module, on 127.0.0.1 and a free port, over an SQLite
file in a temporary directory or a fresh PostgreSQL database (tests.database.empty_database). The
module seeds organisations, admins and credentials into that database (same pepper as the server)
before the server starts. Chromium is the system's (`apt-get install chromium`): Playwright's own
browser download (`playwright install`) is never used.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.database import empty_database
from tests.live_process import free_port, run_cli, start_serve, stop, wait_until_ready

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PEPPER = "admin-browser-pepper-0123456789abcdefghijklmn"
KEY_ENCRYPTION_KEY = "admin-browser-key-encryption-key-0123456789ab"
ACTION_TIMEOUT_MS = 10_000
PAGE_PATH = "/settings/organisation/partner-api"
SCREENSHOT_DIRECTORY = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

# Records every history entry and storage write a page makes, so a test can prove that a secret
# never went there (run before the page's own scripts, in every document).
RECORDER = """
(() => {
  const recorded = [];
  Object.defineProperty(window, "__recorded", { value: recorded });
  for (const name of ["pushState", "replaceState"]) {
    const original = History.prototype[name];
    History.prototype[name] = function (state, title, url) {
      recorded.push(`${name}: ${JSON.stringify(state)} ${url ?? ""}`);
      return original.apply(this, arguments);
    };
  }
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    recorded.push(`storage: ${key}=${value}`);
    return setItem.apply(this, arguments);
  };
})();
"""

# Where a value can be found in the page: the DOM (markup and form values), storage, the URL,
# history, the title, script-visible cookies, IndexedDB, Cache Storage and the recorder above.
SECRET_TRACES = """
async (secret) => {
  const found = [];
  if (document.documentElement.outerHTML.includes(secret)) found.push("DOM");
  for (const element of document.querySelectorAll("input, textarea")) {
    if (element.value.includes(secret)) found.push("form field");
  }
  const stores = [["localStorage", localStorage], ["sessionStorage", sessionStorage]];
  for (const [name, store] of stores) {
    for (let index = 0; index < store.length; index += 1) {
      const key = store.key(index);
      if (key.includes(secret) || (store.getItem(key) || "").includes(secret)) found.push(name);
    }
  }
  if (location.href.includes(secret)) found.push("URL");
  if (JSON.stringify(history.state ?? null).includes(secret)) found.push("history.state");
  if (document.title.includes(secret)) found.push("title");
  if (document.cookie.includes(secret)) found.push("cookie");
  if ((await indexedDB.databases()).length > 0) found.push("IndexedDB");
  if ((await caches.keys()).length > 0) found.push("Cache Storage");
  for (const entry of window.__recorded || []) {
    if (entry.includes(secret)) found.push(`recorded ${entry.split(":")[0]}`);
  }
  return found;
}
"""


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    database_url: str

    @property
    def page_url(self) -> str:
        return self.base_url + PAGE_PATH


@dataclass
class PageProblems:
    """Console errors (CSP violations are logged there), and uncaught exceptions, of one page."""

    messages: list[str] = field(default_factory=list)
    allowed: tuple[str, ...] = ()

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.messages.append(f"{message.type}: {message.text}")

    def unexpected(self) -> list[str]:
        return [text for text in self.messages if not any(part in text for part in self.allowed)]


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")


@asynccontextmanager
async def live_server(
    directory: Path, seed: Callable[[str], Awaitable[None]]
) -> AsyncIterator[LiveServer]:
    """Migrate an empty database with the CLI, `seed(database_url)` it, then serve it."""
    async with empty_database(directory / "admin-page.sqlite3") as database_url:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(directory),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            "PARTNER_API_DATA_DIR": str(directory),
            "PARTNER_API_ISSUER": base_url,
            "PARTNER_API_TOKEN_REUSE_SECONDS": "0",
        }
        await run_cli(env, directory, "migrate")
        await seed(database_url)
        log = directory / "serve.log"
        process = await start_serve(env, directory, port, log)
        try:
            await wait_until_ready(process, base_url, log)
            yield LiveServer(base_url=base_url, database_url=database_url)
        finally:
            await stop(process)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    _require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()


async def secret_traces(page: Page, secret: str) -> list[str]:
    """Every place in the page where `secret` can be found (see SECRET_TRACES)."""
    found: list[str] = await page.evaluate(SECRET_TRACES, secret)
    return found


async def request_token(server: LiveServer, client_id: str, secret: str) -> httpx.Response:
    """Ask the live token endpoint for a token with these client credentials."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
        return await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )


def screenshots_wanted() -> bool:
    return os.environ.get("SCREENSHOTS") == "1"


async def screenshot(page: Page, name: str, *, height: int | None = None, **options: Any) -> None:
    """Save docs/screenshots/<name>.png when SCREENSHOTS=1 (the README's command); `height`
    makes the viewport that tall for this one picture."""
    if not screenshots_wanted():
        return
    size = page.viewport_size
    if height is not None and size is not None:
        await page.set_viewport_size({"width": size["width"], "height": height})
    await page.screenshot(
        path=SCREENSHOT_DIRECTORY / f"{name}.png", animations="disabled", caret="hide", **options
    )
    if height is not None and size is not None:
        await page.set_viewport_size(size)
