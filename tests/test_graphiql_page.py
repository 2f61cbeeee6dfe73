"""GraphiQL's page and files without a browser: the policy, same-origin URLs only, immutable
versioned assets, the vendored files as published, and nothing at all where GraphiQL is off.
The browser suite is tests/test_graphiql_browser.py."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from partner_api.web.graphiql_page import ASSETS_DIRECTORY, SCRIPTS, STYLESHEETS
from tests.test_admin_page import _markup
from tests.test_graphql_hardening import production_settings

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
VENDOR = ASSETS_DIRECTORY / "vendor"
OWN_FILES = ("graphiql-page.js", "graphiql-page.css")
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def _asset_urls(html: str) -> list[str]:
    """The URLs of the page's own files, resolved against /graphql as a browser does."""
    return [
        httpx.URL("http://testserver/graphql").join(url).path
        for url in _markup(html).urls
        if url.startswith("graphql/")
    ]


def _versions() -> dict[str, tuple[str, str]]:
    """vendor/VERSIONS: file name → (package@version, sha256)."""
    rows = {}
    for line in (VENDOR / "VERSIONS").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, package, _, digest = line.split()
        rows[name] = (package, digest)
    return rows


@asynccontextmanager
async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def page(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    return response


async def test_graphiql_page_has_a_strict_policy_with_a_fresh_style_nonce(
    client: httpx.AsyncClient, page: httpx.Response
) -> None:
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    directives = _directives(policy)
    nonce = re.search(r'<meta property="csp-nonce" nonce="([^"]+)">', page.text)
    assert nonce is not None
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", f"'nonce-{nonce.group(1)}'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["font-src"] == ["data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "http" not in policy

    again = await client.get("/graphql", headers=HTML)
    assert again.headers["content-security-policy"] != policy  # a nonce is never reused
    assert nonce.group(1) not in again.text


async def test_graphiql_page_has_no_inline_code_and_no_url_of_another_origin(
    client: httpx.AsyncClient, page: httpx.Response
) -> None:
    markup = _markup(page.text)
    assert markup.inline_scripts == 0
    assert markup.style_elements == 0
    assert markup.style_attributes == 0
    assert markup.event_handlers == []
    assert not re.search(r"https?:|//", page.text), "the page names another origin"
    for url in markup.urls:
        assert not url.startswith("/"), f"{url}: relative URLs keep working under a path prefix"
        response = await client.get(httpx.URL("http://testserver/graphql").join(url).path)
        assert response.status_code == 200, url


async def test_graphiql_page_loads_every_file_from_its_versioned_immutable_urls(
    client: httpx.AsyncClient, page: httpx.Response
) -> None:
    urls = _asset_urls(page.text)
    expected = {**STYLESHEETS, **SCRIPTS}
    assert [url.rsplit("/", 1)[1] for url in urls] == list(expected)
    for url in urls:
        name = url.rsplit("/", 1)[1]
        content = (ASSETS_DIRECTORY / expected[name]).read_bytes()
        assert url == f"/graphql/assets/{hashlib.sha256(content).hexdigest()[:16]}/{name}"

        response = await client.get(url)

        assert response.status_code == 200, url
        assert response.content == content, url
        assert response.headers["content-type"] == MEDIA_TYPES[Path(name).suffix], url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert response.headers["x-content-type-options"] == "nosniff", url


async def test_graphiql_assets_answer_404_for_other_digests_names_and_paths(
    client: httpx.AsyncClient, page: httpx.Response
) -> None:
    url = next(url for url in _asset_urls(page.text) if url.endswith("/graphiql.min.js"))
    digest = url.split("/")[3]
    stale = "0" * len(digest)
    for path in (
        f"/graphql/assets/{stale}/graphiql.min.js",  # an earlier release's URL
        f"/graphql/assets/{digest}/react.production.min.js",  # another file's digest
        f"/graphql/assets/{digest}/VERSIONS",
        f"/graphql/assets/{digest}/LICENSE-graphiql",
        f"/graphql/assets/{digest}/..%2Fvendor.sh",
        "/graphql/assets/graphiql.min.js",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found", path


@pytest.mark.parametrize(
    ("accept", "query"),
    [("application/json", ""), ("*/*", ""), (HTML["Accept"], "?query=%7Bviewer%7Brole%7D%7D")],
)
async def test_graphiql_page_is_only_for_browsers_asking_for_html_without_an_operation(
    client: httpx.AsyncClient, accept: str, query: str
) -> None:
    response = await client.get(f"/graphql{query}", headers={"Accept": accept})
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("where", ["production", "switched off"])
async def test_without_graphiql_get_is_405_and_its_files_are_404(
    db: TortoiseContext, settings: Settings, where: str
) -> None:
    async with _client_for(settings) as enabled:
        url = _asset_urls((await enabled.get("/graphql", headers=HTML)).text)[0]
    off = production_settings() if where == "production" else replace(settings, graphiql=False)
    assert off.graphiql is False

    async with _client_for(off) as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get(url)
        admin = await client.get("/settings/organisation/partner-api")

    assert page.status_code == 405
    assert page.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "graphiql" not in page.text.lower()
    assert asset.status_code == 404
    assert "data-graphiql-url" not in admin.text  # so the admin page offers no link either


async def test_the_admin_page_says_where_graphiql_is(client: httpx.AsyncClient) -> None:
    page = await client.get("/settings/organisation/partner-api")
    found = re.search(r'<div id="app" class="app" data-graphiql-url="([^"]+)">', page.text)
    assert found is not None
    assert httpx.URL(str(page.url)).join(found.group(1)).path == "/graphql"


def test_vendored_files_are_the_published_ones_with_their_licences() -> None:
    """vendor/VERSIONS (written by vendor.sh) names each file's package and SHA-256; a file
    edited by hand, or added without its line, fails here."""
    versions = _versions()
    on_disk = {path.name for path in VENDOR.iterdir()} - {"VERSIONS"}
    assert set(versions) == on_disk
    for name, (_, digest) in versions.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    packages = {package for package, _ in versions.values()}
    licensed = {package for name, (package, _) in versions.items() if name.startswith("LICENSE")}
    # @graphiql/plugin-explorer ships no licence file; LICENSE-graphiql (same repository) covers it.
    assert packages - licensed == {"@graphiql/plugin-explorer@4.0.6"}
    served = {Path(relative).name for relative in {**STYLESHEETS, **SCRIPTS}.values()}
    assert served - set(versions) == set(OWN_FILES)


@pytest.mark.parametrize("name", [*STYLESHEETS, *OWN_FILES])
def test_stylesheets_and_our_script_load_nothing_from_elsewhere(name: str) -> None:
    relative = {**STYLESHEETS, **SCRIPTS}[name]
    text = (ASSETS_DIRECTORY / relative).read_text(encoding="utf-8")
    assert "@import" not in text
    for url in re.findall(r"url\(([^)]*)\)", text):
        assert re.match(r"""^["']?data:""", url), url
    if name in OWN_FILES:
        assert not re.search(r"https?://", text), name
