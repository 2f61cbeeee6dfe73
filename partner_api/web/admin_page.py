"""The reference admin page: Settings → Organisation → Partner API, on top of the GraphQL API.

`GET /settings/organisation/partner-api` answers a static HTML shell; everything else is done in
the browser by plain JavaScript modules under `/settings/assets/` (no build step, no CDN) that
talk only to `POST /graphql`, with the operation documents of `graphql/operations/` (served as one
JSON object at `/settings/assets/operations.json`). `GET /settings/organisation` is the minimal
overview the page's "Back to Settings" link returns to. Where GraphiQL is served, the shell says so
(`data-graphiql-url` on `#app`), and the page offers developers an "Explore the API" link to it.

The HTML runs under a strict Content-Security-Policy: only our own scripts, styles and `/graphql`
(`default-src 'self'`), no inline code, no framing, and Trusted Types enforced so that no HTML
string can ever reach an `innerHTML`-style sink — the page builds its DOM with `textContent`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from partner_api.foundation.settings import Settings

# partner_api/, the package this web layer belongs to (its static/ and graphql_documents/).
PACKAGE_DIRECTORY = Path(__file__).resolve().parent.parent
ASSETS_DIRECTORY = PACKAGE_DIRECTORY / "static" / "admin"
FRAGMENTS = "fragments.graphql"


def _operations_directory() -> Path:
    """The operation documents of `graphql/operations`, shared with the tests. `graphql/` is never
    a Python package (it would shadow graphql-core), so the wheel carries a copy inside this
    package; a checkout or an editable install reads the repository's own."""
    packaged = PACKAGE_DIRECTORY / "graphql_documents" / "operations"
    return packaged if packaged.is_dir() else PACKAGE_DIRECTORY.parent / "graphql" / "operations"


# Resolved once at import; where neither copy exists the page gets an empty set and says so.
OPERATIONS_DIRECTORY = _operations_directory()
logger = logging.getLogger("partner_api")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
# Assets are revalidated on every load (ETag), so a new release is picked up at once.
ASSET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# Relative URLs, so the pages also work behind a proxy that adds a path prefix.
PARTNER_API_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Partner API · Settings</title>
<link rel="stylesheet" href="../assets/admin.css">
<link rel="icon" href="../assets/icon.svg" type="image/svg+xml">
<script type="module" src="../assets/app.js"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<div id="app" class="app"{graphiql}>
<main id="main" class="page" tabindex="-1">
<p class="loading" role="status">Loading the Partner API settings…</p>
<noscript><p class="banner banner-error">This page needs JavaScript.</p></noscript>
</main>
</div>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
</body>
</html>
"""

# GraphiQL's page, relative to the Partner API page (/settings/organisation/partner-api).
GRAPHIQL_ATTRIBUTE = ' data-graphiql-url="../../graphql"'

OVERVIEW_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Organisation settings</title>
<link rel="stylesheet" href="assets/admin.css">
<link rel="icon" href="assets/icon.svg" type="image/svg+xml">
</head>
<body>
<div class="app">
<main id="main" class="page">
<header class="page-header"><div class="page-title">
<p class="eyebrow">Settings</p><h1>Organisation</h1></div></header>
<ul class="settings-list">
<li><a class="settings-link" href="organisation/partner-api">
<span class="settings-link-title">Partner API</span>
<span class="settings-link-text">Create and manage the API credentials that connect external
systems (box offices, CRMs, resellers) to the platform.</span></a></li>
</ul>
</main>
</div>
</body>
</html>
"""


def load_operations(directory: Path = OPERATIONS_DIRECTORY) -> dict[str, str]:
    """Every operation document by file name, with the shared fragments appended where used."""
    if not directory.is_dir():
        logger.warning("admin page: no GraphQL operation documents at %s", directory)
        return {}
    fragments_path = directory / FRAGMENTS
    fragments = fragments_path.read_text(encoding="utf-8") if fragments_path.exists() else ""
    operations: dict[str, str] = {}
    for path in sorted(directory.glob("*.graphql")):
        if path.name == FRAGMENTS:
            continue
        document = path.read_text(encoding="utf-8")
        if "...CredentialFields" in document:
            document += "\n" + fragments
        operations[path.stem] = document
    return operations


class _WithHeaders:
    """Adds fixed headers to every response of the wrapped ASGI app (here: StaticFiles)."""

    def __init__(self, app: StaticFiles, headers: dict[str, str]) -> None:
        self.app = app
        self.raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.raw]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def admin_page_routes(settings: Settings) -> list[BaseRoute]:
    """The Partner API settings page, the organisation overview, and their assets."""
    operations_body = json.dumps(load_operations(), ensure_ascii=False).encode("utf-8")
    page = PARTNER_API_PAGE.replace("{graphiql}", GRAPHIQL_ATTRIBUTE if settings.graphiql else "")

    async def partner_api_page(request: Request) -> Response:
        return HTMLResponse(page, headers=HTML_HEADERS)

    async def overview(request: Request) -> Response:
        return HTMLResponse(OVERVIEW_PAGE, headers=HTML_HEADERS)

    async def operations(request: Request) -> Response:
        return Response(operations_body, media_type="application/json", headers=ASSET_HEADERS)

    return [
        Route("/settings/organisation/partner-api", partner_api_page, methods=["GET"]),
        Route("/settings/organisation", overview, methods=["GET"]),
        Route("/settings/assets/operations.json", operations, methods=["GET"]),
        Mount(
            "/settings/assets",
            app=_WithHeaders(StaticFiles(directory=ASSETS_DIRECTORY), ASSET_HEADERS),
            name="admin-assets",
        ),
    ]
