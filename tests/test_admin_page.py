"""The admin page's server side, without a browser: routes, security headers, local
assets only, no inline code, and the GraphQL documents the page runs. The browser suite is
tests/test_admin_browser.py.
"""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from auth.admins.identity import SESSION_COOKIE
from graphql import parse, validate
from partner_api.web.admin_page import ASSETS_DIRECTORY, OPERATIONS_DIRECTORY
from schema.root import schema
from tests.helpers import PASSWORD, make_admin

PAGE = "/settings/organisation/partner-api"
OVERVIEW = "/settings/organisation"
ASSETS = "/settings/assets/"
ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(ASSETS_DIRECTORY.glob("*.js"))
# Ways to turn a string into markup or code; the page builds its DOM with textContent only.
FORBIDDEN_IN_SCRIPTS = (
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "new Function",
    'setAttribute("style"',
    "localStorage",
    "sessionStorage",
    "indexedDB",
)


class _Markup(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' cares about."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.event_handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls.extend(value for name, value in attrs if name in ("src", "href") and value)
        self.style_attributes += "style" in values
        self.event_handlers.extend(name for name, _ in attrs if name.startswith("on"))
        self.style_elements += tag == "style"
        self._in_script = tag == "script"
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _markup(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    return parser


def _resolve(page_path: str, url: str) -> str:
    return httpx.URL(f"http://testserver{page_path}").join(url).path


@pytest.mark.parametrize("path", [PAGE, OVERVIEW])
async def test_pages_answer_with_a_strict_content_security_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["require-trusted-types-for"] == ["'script'"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "script-src" not in directives  # default-src 'self' covers scripts and styles
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", [PAGE, OVERVIEW])
async def test_pages_have_no_inline_code_and_only_local_urls(
    client: httpx.AsyncClient, path: str
) -> None:
    markup = _markup((await client.get(path)).text)

    assert markup.inline_scripts == 0
    assert markup.style_elements == 0
    assert markup.style_attributes == 0
    assert markup.event_handlers == []
    for url in markup.urls:
        assert not re.match(r"^([a-z]+:)?//", url), f"not a local URL: {url}"
        if url.startswith("#"):
            continue
        response = await client.get(_resolve(path, url))
        assert response.status_code == 200, url


async def test_page_loads_its_module_and_stylesheet_from_the_assets(
    client: httpx.AsyncClient,
) -> None:
    markup = _markup((await client.get(PAGE)).text)
    resolved = {_resolve(PAGE, url) for url in markup.urls}

    assert f"{ASSETS}app.js" in resolved
    assert f"{ASSETS}admin.css" in resolved


async def test_every_script_module_and_its_imports_are_served_locally(
    client: httpx.AsyncClient,
) -> None:
    """No CDN and no build step: the modules the browser loads are the files in the repo."""
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = await client.get(ASSETS + name)
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.text == (ASSETS_DIRECTORY / name).read_text(encoding="utf-8")
        for imported in re.findall(r'from "\./([\w.]+\.js)"', response.text):
            if imported not in seen:
                pending.append(imported)
    assert seen == {path.name for path in SCRIPTS}  # every module is reachable from app.js

    stylesheet = await client.get(ASSETS + "admin.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_never_parse_strings_as_markup_or_store_anything(script: Path) -> None:
    source = script.read_text(encoding="utf-8")
    for forbidden in FORBIDDEN_IN_SCRIPTS:
        assert forbidden not in source, f"{script.name} uses {forbidden}"
    # The SVG namespace (usage_chart.js) is an identifier that loads nothing.
    without_namespaces = source.replace('"http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://", without_namespaces), f"{script.name} names an external URL"


def test_stylesheet_loads_nothing_from_elsewhere() -> None:
    css = (ASSETS_DIRECTORY / "admin.css").read_text(encoding="utf-8")
    assert "@import" not in css
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert not re.match(r"""^["']?([a-z]+:)?//""", url), url


async def test_operations_are_the_repository_documents_and_valid(
    client: httpx.AsyncClient,
) -> None:
    """The page's GraphQL is exactly graphql/operations/*.graphql, valid against the schema."""
    response = await client.get(ASSETS + "operations.json")
    assert response.status_code == 200
    operations: dict[str, str] = response.json()

    files = {path.stem for path in OPERATIONS_DIRECTORY.glob("*.graphql")} - {"fragments"}
    assert set(operations) == files
    for name, document in operations.items():
        own = (OPERATIONS_DIRECTORY / f"{name}.graphql").read_text(encoding="utf-8")
        assert document.startswith(own)
        errors = validate(schema._schema, parse(document))
        assert errors == [], f"{name}: {errors}"

    used = {
        name
        for script in SCRIPTS
        for name in re.findall(r'run\("(\w+)"', script.read_text(encoding="utf-8"))
    }
    assert used, "the page runs no operation at all?"
    assert used <= set(operations), used - set(operations)
    inline = re.compile(r"\b(query|mutation|fragment)\s+\w+\s*[({]")
    for script in SCRIPTS:  # no inline GraphQL
        assert not inline.search(script.read_text(encoding="utf-8")), script.name


async def test_page_login_never_hands_the_session_token_to_script(
    client: httpx.AsyncClient, db: TortoiseContext
) -> None:
    """GQ-09: SessionLogin relies on the HttpOnly, SameSite=Strict cookie alone."""
    await make_admin(email="page@acme.example")
    operations = (await client.get(ASSETS + "operations.json")).json()

    response = await client.post(
        "/graphql",
        json={
            "query": operations["SessionLogin"],
            "variables": {"email": "page@acme.example", "password": PASSWORD},
        },
    )

    result = response.json()["data"]["login"]
    assert result["__typename"] == "LoginSuccess"
    assert "token" not in result
    token = response.cookies[SESSION_COOKIE]
    assert token not in response.text
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


@pytest.mark.parametrize("path", [PAGE, OVERVIEW])
async def test_pages_only_answer_get(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.post(path)).status_code == 405


def test_assets_are_package_data() -> None:
    """An installed package carries the page's scripts, stylesheet and icon: the wheel ships every
    file under partner_api (tests/test_wheel.py serves them from an installed wheel)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    assert "partner_api" in shipped
    assert ASSETS_DIRECTORY == ROOT / "partner_api" / "static" / "admin"
