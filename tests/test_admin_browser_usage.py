"""Usage and limits on the admin page, in Debian's Chromium driven by Playwright against a live
`partner-api serve` (the fixtures and helpers of tests/test_admin_browser.py and
tests/browser_support.py).

Most counts are written into the server's database as the counting flush writes them (minute and
day rows of UsageCount, UsageAddress and UsageError), so every total, bar and row the page shows is
known exactly; one test makes real Partner API calls and waits for the server's own flush. Each
test works in its own organisation. `SCREENSHOTS=1` also saves docs/screenshots/usage.png,
usage-phone-dark.png and usage-list.png.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, Request, Route, expect
from tortoise.context import TortoiseContext

from models.credential import Credential
from models.enums import LimitMode, Role
from models.usage import Granularity, UsageAddress, UsageCount, UsageError, UsageMetric
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.operations.admins import AdminAccount
from tests.browser_support import DESKTOP, PHONE, LiveServer, chromium, live_server, screenshot
from tests.browser_support import request_token as token_response
from tests.test_admin_browser import Issued, Pages, _admin, _credential, log_in, row
from tests.test_admin_browser_notifications import page_box

pytestmark = pytest.mark.asyncio(loop_scope="module")

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
EVENTS = "GET /partner/v1/events"
ORDER = "GET /partner/v1/orders/{order_id}"
RESERVE = "POST /partner/v1/reservations"
# Calls seen by each range for "Box office sync" (see _seed_usage_organisation).
CALLS = {"LAST_HOUR": 55, "LAST_DAY": 77, "LAST_7_DAYS": 177, "LAST_30_DAYS": 677}
BUCKETS = {"Last hour": 60, "24 hours": 24, "7 days": 7, "30 days": 30}
# How long the live server may take to count real calls: its flush interval (5 s) and a margin.
COUNTED_WITHIN_SECONDS = 20


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class UsageRows:
    """Counts for one credential, added as the flush adds them: each to its minute row (for
    moments within 48 hours) and to its day row."""

    organisation_id: uuid.UUID
    credential_id: uuid.UUID
    counts: Counter[tuple[str, datetime, str, str, str, str]]
    addresses: set[tuple[str, datetime, str]]

    @classmethod
    async def of(cls, account: AdminAccount, issued: Issued) -> UsageRows:
        credential = await Credential.get(client_id=issued.client_id)
        return cls(account.organisation.id, credential.id, Counter(), set())

    def _buckets(self, at: datetime) -> list[tuple[str, datetime]]:
        day = [(Granularity.DAY.value, _day(at))]
        recent = utcnow() - at < timedelta(hours=47)
        return [(Granularity.MINUTE.value, _minute(at)), *day] if recent else day

    def add(
        self,
        at: datetime,
        metric: UsageMetric,
        count: int,
        *,
        operation: str = "",
        status_class: str = "",
        reason: str = "",
    ) -> None:
        for granularity, start in self._buckets(at):
            key = (granularity, start, metric.value, operation, status_class, reason)
            self.counts[key] += count

    def address(self, at: datetime, address: str) -> None:
        for granularity, start in self._buckets(at):
            self.addresses.add((granularity, start, address))

    async def save(self) -> None:
        for key, count in self.counts.items():
            granularity, start, metric, operation, status_class, reason = key
            await UsageCount.create(
                organisation_id=self.organisation_id,
                credential_id=self.credential_id,
                granularity=granularity,
                bucket_start=start,
                metric=metric,
                operation=operation,
                status_class=status_class,
                reason=reason,
                count=count,
            )
        for granularity, start, address in self.addresses:
            await UsageAddress.create(
                organisation_id=self.organisation_id,
                credential_id=self.credential_id,
                granularity=granularity,
                bucket_start=start,
                address=address,
            )

    async def error(self, at: datetime, operation: str, status: int, code: str) -> None:
        await UsageError.create(
            organisation_id=self.organisation_id,
            credential_id=self.credential_id,
            occurred_at=at,
            operation=operation,
            status=status,
            error_code=code,
        )


def _calls(rows: UsageRows, at: datetime, operation: str, by_class: dict[str, int]) -> None:
    for status_class, count in by_class.items():
        rows.add(at, UsageMetric.CALL, count, operation=operation, status_class=status_class)


async def _seed_usage_organisation() -> None:
    """Box office sync: 55 calls in the last hour (3 failed), 77 in the last day (5 failed), 177
    in 7 days and 677 in 30; CRM export: 11 calls, 1 failed; Quiet feed: nothing."""
    admin = await _admin("admin@usage-tickets.example", "Usage Tickets")
    box_office = await UsageRows.of(admin, await _credential(admin, "Box office sync"))
    crm = await UsageRows.of(admin, await _credential(admin, "CRM export"))
    await _credential(admin, "Quiet feed")
    now = utcnow()
    recent, earlier = now - timedelta(minutes=5), now - timedelta(hours=3)

    _calls(box_office, recent, EVENTS, {"2xx": 40})
    _calls(box_office, recent, ORDER, {"2xx": 12, "4xx": 3})
    _calls(box_office, earlier, EVENTS, {"2xx": 20})
    _calls(box_office, earlier, RESERVE, {"5xx": 2})
    _calls(box_office, now - timedelta(days=3), EVENTS, {"2xx": 100})
    _calls(box_office, now - timedelta(days=20), EVENTS, {"2xx": 500})
    box_office.add(recent, UsageMetric.RATE_LIMITED, 4, operation=ORDER)
    box_office.add(recent, UsageMetric.TOKEN_ISSUED, 5)
    box_office.add(recent, UsageMetric.TOKEN_REFUSED, 2, reason="invalid_client")
    box_office.address(recent, "198.51.100.7")
    box_office.address(recent, "198.51.100.8")
    await box_office.save()
    for seconds in (10, 20, 30):
        await box_office.error(recent + timedelta(seconds=seconds), ORDER, 404, "not_found")
    for seconds in (10, 20):
        await box_office.error(earlier + timedelta(seconds=seconds), RESERVE, 503, "unavailable")

    _calls(crm, recent, EVENTS, {"2xx": 10, "5xx": 1})
    await crm.save()
    await crm.error(recent, EVENTS, 500, "internal_error")


# The screenshots' organisation: an on-sale afternoon, calls per hour of the last 24 (oldest first).
ON_SALE = [12, 9, 7, 5, 4, 6, 14, 28, 45, 60, 72, 80, 95, 120, 160, 210, 260, 240, 190, 150, 110]
ON_SALE += [80, 50, 30]


async def _seed_screenshot_organisation() -> None:
    """Realistic usage for the README's screenshots: a busy box office in Monitor mode, a CRM
    with server errors, a reseller with client errors, and a tool that has not called yet."""
    owner = await _admin("owner@demo-usage.example", "Demo Usage", Role.OWNER)
    box_office = await _credential(owner, "Box office sync")
    await Credential.filter(client_id=box_office.client_id).update(
        limit_mode=LimitMode.MONITOR, rate_limit_per_minute=200
    )
    rows = {
        name: await UsageRows.of(owner, await _credential(owner, name))
        for name in ("CRM export", "Reseller feed")
    }
    rows["Box office sync"] = await UsageRows.of(owner, box_office)
    await _credential(owner, "Marketing tool")
    now = utcnow()
    for hours_ago, calls in enumerate(reversed(ON_SALE)):
        at = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)
        _calls(rows["Box office sync"], at, EVENTS, {"2xx": calls * 6, "4xx": calls // 40})
        _calls(rows["Box office sync"], at, ORDER, {"2xx": calls * 2, "4xx": calls // 25})
        _calls(rows["Box office sync"], at, RESERVE, {"2xx": calls, "5xx": 1 if calls > 200 else 0})
        rows["Box office sync"].add(at, UsageMetric.TOKEN_ISSUED, 1 + calls // 100)
        rows["Box office sync"].address(at, f"203.0.113.{10 + hours_ago % 3}")
        _calls(rows["CRM export"], at, ORDER, {"2xx": 20, "5xx": 2 if hours_ago in (2, 3) else 0})
        _calls(rows["Reseller feed"], at, EVENTS, {"2xx": 8, "4xx": 3 if hours_ago < 6 else 0})
    rows["Box office sync"].add(now, UsageMetric.WOULD_LIMIT, 37, operation=EVENTS)
    rows["Box office sync"].add(now, UsageMetric.TOKEN_REFUSED, 3, reason="invalid_client")
    for days_ago in range(1, 30):
        _calls(rows["Box office sync"], now - timedelta(days=days_ago), EVENTS, {"2xx": 900})
    for item in rows.values():
        await item.save()
        await Credential.filter(id=item.credential_id).update(last_used_at=now)
    errors = [
        (EVENTS, 429, "rate_limited"),
        (ORDER, 404, "not_found"),
        (RESERVE, 409, "sold_out"),
        (RESERVE, 503, "unavailable"),
    ]
    for minutes, (operation, status, code) in enumerate(errors * 2):
        await rows["Box office sync"].error(
            now - timedelta(minutes=7 * minutes + 2), operation, status, code
        )
    await rows["CRM export"].error(now - timedelta(hours=2), ORDER, 500, "internal_error")


async def _seed(database_url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await _seed_usage_organisation()
        await _seed_screenshot_organisation()
        await _admin("viewer@usage-tickets.example", "Usage Tickets", Role.VIEWER)
        admin = await _admin("admin@limit-tickets.example", "Limit Tickets")
        await _credential(admin, "Reseller feed")
        owner = await _admin("owner@monitor-tickets.example", "Monitor Tickets", Role.OWNER)
        await _admin("viewer@monitor-tickets.example", "Monitor Tickets", Role.VIEWER)
        monitored = await _credential(owner, "Monitored feed")
        await Credential.filter(client_id=monitored.client_id).update(
            limit_mode=LimitMode.MONITOR, rate_limit_per_minute=250
        )


@dataclass(frozen=True)
class Environment:
    server: LiveServer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def environment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Environment]:
    async with live_server(tmp_path_factory.mktemp("admin-usage"), _seed) as server:
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


async def open_detail(page: Page, name: str) -> None:
    """From the list's table (the Top credentials card links to the same credentials)."""
    await page.locator("table.credentials").get_by_role("link", name=name, exact=True).click()
    await expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()


def usage_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Usage")


def limits_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Limits")


def total(card: Locator, key: str) -> Locator:
    return card.locator(f'.usage-total[data-total="{key}"] .usage-total-value')


async def bars_with_calls(card: Locator) -> list[int]:
    """The calls of every bucket the chart draws, oldest first."""
    values: list[int] = await card.locator("svg .usage-bucket").evaluate_all(
        "groups => groups.map((group) => Number(group.dataset.calls))"
    )
    return values


async def choose_range(card: Locator, name: str, *, drawn: bool = True) -> None:
    """Press a range's button; `drawn`: wait for the chart of that range's buckets."""
    button = card.get_by_role("group", name="Range").get_by_role("button", name=name, exact=True)
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")
    if drawn:
        await expect(card.locator("svg .usage-bucket")).to_have_count(BUCKETS[name])


# -- the usage panel ---------------------------------------------------------------------------


async def test_usage_panel_shows_the_chart_totals_operations_and_errors(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open(viewport=DESKTOP)
    await log_in(page, environment.server, "admin@usage-tickets.example")
    await open_detail(page, "Box office sync")
    card = usage_card(page)
    await expect(card.get_by_role("button", name="24 hours")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(card.locator("svg .usage-bucket")).to_have_count(24)
    bars = await bars_with_calls(card)
    assert sum(bars) == 77
    assert sorted(value for value in bars if value) == [22, 55]
    # The stacked segments: 2xx, 4xx and 5xx of the two busy hours.
    await expect(card.locator("rect.usage-bar-2xx")).to_have_count(2)
    await expect(card.locator("rect.usage-bar-4xx")).to_have_count(1)
    await expect(card.locator("rect.usage-bar-5xx")).to_have_count(1)
    chart = card.get_by_role("img")
    await expect(chart).to_have_attribute(
        "aria-label", re.compile(r"^Calls by status class over the last 24 hours.*77 calls")
    )
    await expect(chart).to_have_attribute("aria-label", re.compile(r"72 2xx, 3 4xx, 2 5xx"))
    legend = card.locator(".usage-legend")
    await expect(legend).to_contain_text("2xx successful72")
    await expect(legend).to_contain_text("5xx server errors2")

    expected = {
        "calls": "77",
        "errors": "5",
        "rateLimited": "4",
        "tokensIssued": "5",
        "tokensRefused": "2",
        "distinctAddresses": "2",
    }
    for key, value in expected.items():
        await expect(total(card, key)).to_have_text(value)
    await expect(card.locator('[data-total="tokensRefused"]')).to_contain_text("invalid_client: 2")
    await expect(card.locator('[data-total="wouldHaveBeenLimited"]')).to_have_count(0)

    operations = card.locator("table.usage-operations tbody tr")
    await expect(operations).to_have_count(3)
    await expect(operations.nth(0)).to_contain_text(EVENTS)
    await expect(operations.nth(0).locator('td[data-label="Calls"]')).to_have_text("60")
    await expect(operations.nth(1)).to_contain_text(ORDER)
    await expect(operations.nth(1).locator('td[data-label="Errors"]')).to_have_text("3")
    errors = card.locator("table.usage-errors tbody tr")
    await expect(errors).to_have_count(5)  # newest first
    await expect(errors.nth(0).locator('td[data-label="Status"]')).to_have_text("404")
    await expect(errors.nth(0).locator('td[data-label="Error code"]')).to_have_text("not_found")
    await expect(errors.nth(0).locator('td[data-label="Operation"]')).to_have_text(ORDER)
    await expect(errors.nth(4).locator('td[data-label="Status"]')).to_have_text("503")


async def test_the_range_selector_changes_the_series_and_the_totals(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "viewer@usage-tickets.example")
    await open_detail(page, "Box office sync")
    card = usage_card(page)
    await expect(total(card, "calls")).to_have_text("77")
    for name, usage_range in [
        ("Last hour", "LAST_HOUR"),
        ("7 days", "LAST_7_DAYS"),
        ("30 days", "LAST_30_DAYS"),
    ]:
        await choose_range(card, name)
        calls = CALLS[usage_range]
        await expect(total(card, "calls")).to_have_text(f"{calls:,}")
        bars = await bars_with_calls(card)
        assert sum(bars) == calls, (name, bars)
    hour = card.get_by_role("button", name="Last hour", exact=True)
    await hour.click()
    await expect(card.locator("table.usage-errors tbody tr")).to_have_count(3)
    assert [value for value in await bars_with_calls(card) if value] == [55]
    await expect(hour).to_be_focused()

    # The range chosen stays while the page is open.
    await page.get_by_role("link", name="All credentials").click()
    await open_detail(page, "Quiet feed")
    card = usage_card(page)
    await expect(hour).to_have_attribute("aria-pressed", "true")
    await expect(card).to_contain_text("No calls or token requests in the last hour.")
    await expect(card.locator("svg")).to_have_count(0)


async def test_real_calls_are_counted_and_shown(pages: Pages, environment: Environment) -> None:
    """Through the live server's own counting: a token, three calls and one 404."""
    server = environment.server
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(server.database_url))
        admin = await _admin("admin@live-tickets.example", "Live Tickets")
        live = await _credential(admin, "Live feed")
    token = await token_response(server, live.client_id, live.secret)
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10, trust_env=False) as http:
        for _ in range(3):
            assert (await http.get("/partner/v1/events", headers=headers)).status_code == 200
        missing = await http.get(f"/partner/v1/orders/{uuid.uuid4()}", headers=headers)
        assert missing.status_code == 404

    page, _ = await pages.open()
    await log_in(page, server, "admin@live-tickets.example")
    await open_detail(page, "Live feed")
    card = usage_card(page)
    await choose_range(card, "Last hour", drawn=False)  # nothing may be counted yet
    refresh = card.get_by_role("button", name="Refresh usage")
    deadline = utcnow() + timedelta(seconds=COUNTED_WITHIN_SECONDS)
    while await card.locator('[data-total="calls"]').count() == 0 or (
        await total(card, "calls").inner_text() != "4"
    ):
        assert utcnow() < deadline, "the calls were not counted within the flush interval"
        await page.wait_for_timeout(1000)
        await refresh.click()
    await expect(total(card, "errors")).to_have_text("1")
    await expect(total(card, "tokensIssued")).to_have_text("1")
    await expect(total(card, "distinctAddresses")).to_have_text("1")
    error = card.locator("table.usage-errors tbody tr")
    await expect(error).to_have_count(1)
    await expect(error.locator('td[data-label="Operation"]')).to_have_text(ORDER)
    await expect(error.locator('td[data-label="Status"]')).to_have_text("404")
    await expect(error.locator('td[data-label="Error code"]')).to_have_text("not_found")
    await expect(card.locator("svg .usage-bucket")).to_have_count(60)
    assert sum(await bars_with_calls(card)) == 4


# -- the list and the overview -----------------------------------------------------------------


async def test_list_column_errors_badge_and_top_credentials(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open(viewport=DESKTOP)
    await log_in(page, environment.server, "admin@usage-tickets.example")
    header = page.locator("table.credentials thead th").last
    await expect(header).to_have_text("Calls (24 h)")
    calls = row(page, "Box office sync").locator('td[data-label="Calls (24 h)"]')
    await expect(calls.locator(".calls-count")).to_have_text("77")
    await expect(calls.locator(".badge-errors")).to_have_text("5 errors")
    crm = row(page, "CRM export").locator('td[data-label="Calls (24 h)"]')
    await expect(crm.locator(".badge-errors")).to_have_text("1 error")
    quiet = row(page, "Quiet feed").locator('td[data-label="Calls (24 h)"]')
    await expect(quiet.locator(".calls-count")).to_have_text("0")
    await expect(quiet.locator(".badge-errors")).to_have_count(0)

    top = page.get_by_role("region", name="Top credentials (24 h)")
    await expect(top).to_contain_text("88 calls and 6 errors in the last 24 hours")
    by_calls = top.locator('[data-ranking="calls"] li')
    await expect(by_calls.nth(0)).to_contain_text("Box office sync")
    await expect(by_calls.nth(0)).to_contain_text("77 calls")
    await expect(by_calls.nth(1)).to_contain_text("CRM export")
    by_errors = top.locator('[data-ranking="errors"] li')
    await expect(by_errors).to_have_count(2)
    await expect(by_errors.nth(0)).to_contain_text("5 errors")
    await expect(by_errors.nth(1)).to_contain_text("CRM export")

    await by_errors.nth(1).get_by_role("link", name="CRM export").click()
    await expect(page.get_by_role("heading", level=2, name="CRM export")).to_be_visible()
    await expect(total(usage_card(page), "calls")).to_have_text("11")
    await page.go_back()
    await expect(top).to_contain_text("88 calls")


# -- limits ------------------------------------------------------------------------------------


async def test_an_admin_edits_the_limits_and_sees_the_effective_values(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "admin@limit-tickets.example")
    await open_detail(page, "Reseller feed")
    limits = limits_card(page)
    rate = limits.locator('dd[data-limit="rate"]')
    await expect(rate).to_contain_text("1,200 calls per minute")
    await expect(rate).to_contain_text("Service setting")
    await expect(limits.locator('dd[data-limit="tokens"]')).to_contain_text(
        "600 access tokens per minute"
    )
    await expect(limits.locator('dd[data-limit="mode"] .badge')).to_have_text("Enforce")

    await limits.get_by_role("button", name="Edit limits").click()
    dialog = page.get_by_role("dialog", name="Limits of “Reseller feed”")
    rate_part = dialog.get_by_role("group", name="Rate limit")
    calls = rate_part.get_by_label("Calls per minute", exact=True)
    await calls.fill("100001")
    await expect(rate_part.get_by_label("Own limit for these credentials")).to_be_checked()
    await dialog.get_by_role("button", name="Save limits").click()
    await expect(rate_part.locator(".field-error")).to_contain_text("from 1 to 100,000")
    await expect(calls).to_be_focused()

    # The server's own ValidationError lands at the field too (the request is altered on its
    # way, since the page refuses the value itself).
    async def zero(route: Route, request: Request) -> None:
        body = json.loads(request.post_data or "{}")
        if body.get("operationName") == "UpdateCredential":
            body["variables"]["input"]["rateLimitPerMinute"] = 0
        await route.continue_(post_data=json.dumps(body))

    await page.route("**/graphql", zero)
    await calls.fill("50")
    await dialog.get_by_role("button", name="Save limits").click()
    await expect(rate_part.locator(".field-error")).to_be_visible()
    await expect(calls).to_have_attribute("aria-invalid", "true")
    await page.unroute("**/graphql", zero)

    await calls.fill("50")
    await dialog.get_by_role("radio", name=re.compile("^Monitor")).check()
    await dialog.get_by_role("button", name="Save limits").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(rate).to_contain_text("50 calls per minute")
    await expect(rate).to_contain_text("Set for these credentials")
    await expect(limits.locator('dd[data-limit="mode"] .badge')).to_have_text("Monitor")
    await expect(limits.locator('dd[data-limit="mode"]')).to_contain_text("Nothing is refused")
    change = page.locator(".audit .audit-event", has_text="Access changed").first
    await expect(change).to_contain_text("Rate limit: organisation default → 50")
    await expect(change).to_contain_text("Limit mode: Enforce → Monitor")

    # Back to the organisation default, after the organisation has set one.
    await page.get_by_role("link", name="All credentials").click()
    defaults = page.get_by_role("group", name="Default limits")
    await defaults.get_by_label("Default rate limit (calls per minute)").fill("3000")
    await defaults.get_by_role("button", name="Save default limits").click()
    await expect(defaults.get_by_text("Default limits saved.")).to_be_visible()
    await expect(defaults).to_contain_text("Rate limit: 3,000 calls per minute")
    await open_detail(page, "Reseller feed")
    await limits.get_by_role("button", name="Edit limits").click()
    await rate_part.get_by_role("radio", name=re.compile("^Organisation default")).check()
    await dialog.get_by_role("button", name="Save limits").click()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await expect(rate).to_contain_text("3,000 calls per minute")
    await expect(rate).to_contain_text("Organisation default")
    await expect(limits.locator('dd[data-limit="tokens"]')).to_contain_text("Service setting")


async def test_a_viewer_sees_the_limits_and_the_monitor_mode_without_controls(
    pages: Pages, environment: Environment
) -> None:
    page, _ = await pages.open()
    await log_in(page, environment.server, "viewer@monitor-tickets.example")
    defaults = page.get_by_role("group", name="Default limits")
    await expect(defaults).to_contain_text("Rate limit: 1,200 calls per minute")
    await expect(defaults.get_by_role("button")).to_have_count(0)
    await expect(defaults.locator("input")).to_have_count(0)
    await open_detail(page, "Monitored feed")
    limits = limits_card(page)
    await expect(limits.locator('dd[data-limit="rate"]')).to_contain_text("250 calls per minute")
    await expect(limits.locator('dd[data-limit="rate"]')).to_contain_text(
        "Set for these credentials"
    )
    await expect(limits.locator('dd[data-limit="mode"] .badge')).to_have_text("Monitor")
    await expect(limits.get_by_role("button", name="Edit limits")).to_have_count(0)


# -- phone and dark mode -----------------------------------------------------------------------


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_phone_width_and_colour_schemes(
    pages: Pages, environment: Environment, color_scheme: str
) -> None:
    page, _ = await pages.open(viewport=PHONE, color_scheme=color_scheme)
    await log_in(page, environment.server, "admin@usage-tickets.example")
    await expect(row(page, "Box office sync").locator(".badge-errors")).to_be_visible()
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    await open_detail(page, "Box office sync")
    card = usage_card(page)
    await expect(card.locator("svg .usage-bucket")).to_have_count(24)
    await expect(card.locator("table.usage-errors tbody tr")).to_have_count(5)
    assert await page.evaluate(NO_SIDEWAYS_SCROLL)
    # The tables become one card per row, each cell labelled.
    first = card.locator("table.usage-errors tbody tr").first
    assert await first.evaluate("row => getComputedStyle(row).display") == "block"
    fill = await card.locator("rect.usage-bar-2xx").first.evaluate(
        "bar => getComputedStyle(bar).fill"
    )
    red, green, blue = (int(part) for part in re.findall(r"\d+", fill)[:3])
    brightness = (red + green + blue) / 3
    # The bars follow the scheme: a deep blue on white, a light blue on the dark surface.
    assert brightness > 150 if color_scheme == "dark" else brightness < 120, fill


# -- the README's screenshots ------------------------------------------------------------------


async def test_a_busy_organisation_on_desktop_and_phone(
    pages: Pages, environment: Environment
) -> None:
    """The views the README shows, on an on-sale day; saved with SCREENSHOTS=1."""
    page, _ = await pages.open(viewport=DESKTOP)
    await log_in(page, environment.server, "owner@demo-usage.example")
    top = page.get_by_role("region", name="Top credentials (24 h)")
    await expect(top.locator('[data-ranking="calls"] li').first).to_contain_text("Box office sync")
    await expect(top.locator('[data-ranking="errors"] li')).to_have_count(3)
    # The calls column fits beside the others on a laptop: the table does not scroll sideways.
    table = page.locator(".list .table-wrap")
    assert await table.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
    await page.mouse.move(0, 0)
    await screenshot(page, "usage-list", height=1250)  # tall enough for the four credentials

    await open_detail(page, "Box office sync")
    card = usage_card(page)
    await expect(card.locator("svg .usage-bucket")).to_have_count(24)
    assert sum(await bars_with_calls(card)) == sum(ON_SALE) * 9 + sum(
        calls // 40 + calls // 25 + (calls > 200) for calls in ON_SALE
    )
    await expect(card.locator('[data-total="wouldHaveBeenLimited"]')).to_contain_text("37")
    await expect(limits_card(page).locator('dd[data-limit="mode"] .badge')).to_have_text("Monitor")
    await page.mouse.move(0, 0)
    await screenshot(page, "usage", full_page=True)

    phone, _ = await pages.open(viewport=PHONE, color_scheme="dark")
    await log_in(phone, environment.server, "owner@demo-usage.example")
    await open_detail(phone, "Box office sync")
    await expect(usage_card(phone).locator("svg .usage-bucket")).to_have_count(24)
    assert await phone.evaluate(NO_SIDEWAYS_SCROLL)
    await phone.mouse.move(0, 0)
    await screenshot(
        phone, "usage-phone-dark", full_page=True, clip=await page_box(usage_card(phone))
    )
