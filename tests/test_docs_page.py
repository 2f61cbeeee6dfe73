"""The developer documentation behind the admin page's "Documentation" link:
reachable from `partnerApi.documentationUrl`, complete, rendered from the OpenAPI document, and
self-contained (our own assets, no CDN, a strict Content-Security-Policy)."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from partner_api.web.docs_reference import Reference
from partner_api.web.openapi import openapi_document
from tests.helpers import admin_token, gql, operation

# The real server the third-party client tests start (`partner-api serve` on a loopback port):
# the quickstart is run against it exactly as a partner would run it.
from tests.test_third_party_clients import LiveServer
from tests.test_third_party_clients import live_server as partner_server  # noqa: F401 - fixture

DOCS_URL = "http://testserver/docs"
GUIDE_SECTIONS = {
    "quickstart": "Quickstart",
    "authentication": "Authentication and token lifetime",
    "private-key-jwt": "Key-pair credentials (private_key_jwt)",
    "scopes": "Scopes",
    "event-restrictions": "Credentials limited to events",
    "errors": "Errors",
    "rate-limits": "Rate limits",
    "pagination": "Pagination",
    "idempotency": "Idempotency",
    "secrets": "Secret format and rotation",
    "automating-rotation": "Automating rotation",
    "reference": "API reference",
}


class Page(HTMLParser):
    """What a browser would see: element ids and headings, links, resource URLs, table rows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.headings: dict[str, str] = {}
        self.fragment_links: set[str] = set()
        self.resources: list[str] = []
        self.rows_by_section: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._section: str | None = None
        self._heading: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.open_tags: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag not in {"meta", "link", "br", "img", "input"}:
            self.open_tags.append(tag)
        if "id" in attributes:
            self.ids.add(attributes["id"])
            if tag == "section" and "guide" in attributes.get("class", "").split():
                self._section = attributes["id"]
        if tag == "section" and attributes.get("id") == "reference":
            self._section = "reference"
        if tag == "h2" and self._section:
            self._heading = ""
        href = attributes.get("href", "")
        if tag == "a" and href.startswith("#"):
            self.fragment_links.add(href[1:])
        if tag in {"link", "script", "img", "iframe", "source"}:
            self.resources.append(attributes.get("href") or attributes.get("src") or "")
        if tag == "tr":
            self._row = []
        if tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        assert self.open_tags[-1:] == [tag], (tag, self.open_tags[-5:])
        self.open_tags.pop()
        if tag == "h2" and self._section and self._heading is not None:
            self.headings[self._section] = self._heading.strip()
            self._heading = None
        if tag in {"td", "th"} and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None and self._section:
            self.rows_by_section.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)

    @property
    def plain_text(self) -> str:
        return " ".join(" ".join(self.text).split())


async def fetch_page(client: httpx.AsyncClient) -> tuple[httpx.Response, Page]:
    response = await client.get("/docs")
    assert response.status_code == 200, response.text
    return response, Page(response.text)


async def test_the_documentation_link_from_graphql_opens_the_page(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    body = await gql(client, operation("PartnerApi"), token=token)

    url = body["data"]["partnerApi"]["documentationUrl"]
    assert url == f"{settings.issuer}/docs"
    response = await client.get(urlsplit(url).path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Partner API documentation</title>" in response.text


async def test_the_page_has_every_section_of_the_guide(client: httpx.AsyncClient) -> None:
    _, page = await fetch_page(client)

    assert page.headings == GUIDE_SECTIONS
    assert not page.open_tags, f"unclosed elements: {page.open_tags}"
    broken = page.fragment_links - page.ids
    assert not broken, f"links to missing anchors: {sorted(broken)}"


async def test_the_quickstart_shows_curl_and_a_standard_oauth_client(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, page = await fetch_page(client)
    text = page.plain_text

    assert f"export TOKEN_URL={settings.token_endpoint}" in text
    assert "-d grant_type=client_credentials" in text
    assert 'curl -s -H "Authorization: Bearer $TOKEN" "$API/me"' in text
    assert "from oauthlib.oauth2 import BackendApplicationClient" in text
    assert "session.fetch_token(" in text
    assert f'token_url="{settings.token_endpoint}"' in text


async def test_the_scopes_table_is_the_catalogue(client: httpx.AsyncClient) -> None:
    _, page = await fetch_page(client)

    header, *rows = page.rows_by_section["scopes"]

    assert header == ["Scope", "Allows", "Endpoints"]
    assert [row[:2] for row in rows] == [[scope.name, scope.description] for scope in CATALOGUE]
    events_read = rows[[scope.name for scope in CATALOGUE].index("events:read")]
    assert "GET /partner/v1/events/{event_id}" in events_read[2]


async def test_errors_rate_limits_pagination_idempotency_and_secrets_are_explained(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, page = await fetch_page(client)
    text = page.plain_text
    error_codes = {row[1] for row in page.rows_by_section["errors"][1:]}

    assert {"invalid_request", "invalid_token", "insufficient_scope", "not_found"} <= error_codes
    assert {
        "conflict",
        "sold_out",
        "invalid_state",
        "rate_limited",
        "invalid_client",
    } <= error_codes
    assert '"error_description"' in text
    for header in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"):
        assert header in text
    assert f"{settings.partner_rate_limit_per_minute} Partner API requests per minute" in text
    assert 'page["next_cursor"]' in text
    assert "Idempotency-Key" in text
    assert "pcs_ + 61 base62" in text
    assert r"\bpcs_[0-9A-Za-z]{61}\b" in text
    assert "grace period (default 1 day, at most 7 days)" in text


async def test_the_page_follows_the_configuration(settings: Settings) -> None:
    custom = Settings(
        issuer="https://partners.tickets.example",
        access_token_ttl_seconds=600,
        secret_peppers=settings.secret_peppers,
        key_encryption_key=settings.key_encryption_key,
    )
    transport = httpx.ASGITransport(app=create_app(custom, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        _, page = await fetch_page(client)

    text = page.plain_text
    assert "Access tokens are valid for 10 minutes ( expires_in : 600 seconds)" in text
    assert "https://partners.tickets.example/oauth/token" in text
    assert "Base URL: https://partners.tickets.example" in text


async def test_the_reference_shows_every_documented_operation(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response, _ = await fetch_page(client)
    document = openapi_document(settings)
    articles = {
        match.group(1): match.group(2)
        for match in re.finditer(
            r'<article class="operation" id="op-([^"]+)">(.*?)</article>', response.text, re.S
        )
    }

    for method, path, item in Reference(document).operations():
        article = articles[item["operationId"]]
        assert f'<span class="method method-{method}">{method.upper()}</span>' in article
        assert f'<code class="path">{path}</code>' in article
        for requirement in item["security"]:
            for scope in requirement.get("partnerOAuth", []):
                assert f'Bearer token with scope <code class="scope">{scope}</code>' in article
        for parameter in item.get("parameters", []):
            assert f"<code>{parameter['name']}</code>" in article
        for status in item["responses"]:
            assert f">{status}</span>" in article
    assert len(articles) == len(list(Reference(document).operations()))
    reservation = articles["createReservation"]
    for field in ("event_id", "lines[].product_id", "lines[].quantity", "customer.email"):
        assert f"<code>{field}</code>" in reservation


async def test_the_page_is_cached_briefly_and_locked_down(client: httpx.AsyncClient) -> None:
    response, _ = await fetch_page(client)

    assert response.headers["cache-control"] == "public, max-age=300"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script" not in response.text
    assert " style=" not in response.text  # inline styles would be blocked by the policy


async def test_assets_are_served_by_us_and_nothing_is_loaded_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    response, page = await fetch_page(client)

    assert page.resources, "the page should link its stylesheet"
    for reference in page.resources:
        url = urljoin(DOCS_URL, reference)
        assert url.startswith("http://testserver/docs/assets/"), reference
        asset = await client.get(url)
        assert asset.status_code == 200, reference
        if url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css")
            assert "@import" not in asset.text
            assert not re.search(r"url\(\s*['\"]?(https?:)?//", asset.text)
    assert not re.search(r'(src|href)="(https?:)?//', response.text)


async def test_assets_do_not_reach_outside_their_directory(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/assets/%2E%2E/%2E%2E/docs_page.py")

    assert response.status_code == 404
    assert "documentation_routes" not in response.text


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_text_from_the_document_is_escaped(settings: Settings, hostile: str) -> None:
    document: dict[str, Any] = openapi_document(settings)
    document["paths"]["/partner/v1/me"]["get"]["summary"] = hostile
    document["paths"]["/partner/v1/me"]["get"]["description"] = f"`{hostile}`"

    html = Reference(document).html()

    assert hostile not in html
    assert "&lt;" in html


def code_blocks(page_html: str) -> dict[str, str]:
    """Caption → code of every code block on the page, as a reader would copy it."""
    return {
        html.unescape(caption): html.unescape(code)
        for caption, code in re.findall(
            r"<figcaption>(.*?)</figcaption><pre><code>(.*?)</code></pre>", page_html, re.S
        )
    }


def run_snippet(command: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own snippet, run like a partner would
        command, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.asyncio(loop_scope="module")
async def test_the_quickstart_runs_unmodified_against_a_real_server(
    partner_server: LiveServer,  # noqa: F811 - the fixture imported above
) -> None:
    """Copy, paste, run: the Python and curl quickstarts work against `partner-api serve`."""
    async with httpx.AsyncClient(base_url=partner_server.issuer, trust_env=False) as http:
        page = await http.get("/docs")
    blocks = code_blocks(page.text)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLIENT_ID": partner_server.full.client_id,
        "CLIENT_SECRET": partner_server.full.client_secret,
    }
    python = (
        blocks["Python (requests-oauthlib)"] + "\n" + blocks["Python: every order, page by page"]
    )
    python += "\nprint(len(list(all_orders(session))))\n"

    printed = await asyncio.to_thread(run_snippet, [sys.executable, "-c", python], environment)

    scopes = [scope.name for scope in CATALOGUE]
    assert printed.splitlines() == [f"Live Tickets {scopes}", "0"]
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    shell = blocks["Shell (curl)"].replace("export CLIENT_ID='pcl_…' CLIENT_SECRET='pcs_…'", "")
    output = await asyncio.to_thread(
        run_snippet, ["bash", "-euo", "pipefail", "-c", shell], environment
    )
    assert f'"client_id":"{partner_server.full.client_id}"' in output
