"""GraphiQL, served by the service itself: the page on `GET /graphql` and its files.

GraphiQL, React and the explorer plugin are release files vendored from the npm registry
(`partner_api/static/graphiql/vendor/`, re-fetched by `vendor.sh` beside it), so the page works
offline and behind a firewall and loads nothing from another origin. Its requests go to
`POST /graphql` on the same origin, where the admin page's HttpOnly session cookie authorises them.

Files are served under `/graphql/assets/<digest>/<name>`, next to the endpoint they belong to and
only when GraphiQL is enabled (no route otherwise: 404). The digest is the start of the file's
SHA-256, so each URL names one content forever and is cached as `immutable` for a year; an upgrade
changes the URL rather than waiting for caches to expire. (The admin page's assets are revalidated
on every load instead; these are large and change only with a release.)

The page runs under its own Content-Security-Policy: `default-src 'none'`, scripts and stylesheets
from this origin only (no inline script; the bootstrap is a file), requests to this origin only,
and `data:` images and fonts (GraphiQL's stylesheet embeds its icons and fonts that way). Inline
styles are not allowed either, with one exception: GraphiQL's dialogs (react-remove-scroll) add
one `<style>` element while open, which carries a nonce that is fresh for every response
(`style-src 'self' 'nonce-…'`). Style changes made through the CSSOM (`element.style`), which
React and CodeMirror use, are not subject to CSP. Trusted Types are not enforced here, unlike on
the admin page: GraphiQL renders schema descriptions (Markdown) through `innerHTML`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

ASSETS_DIRECTORY = Path(__file__).resolve().parent.parent / "static" / "graphiql"
ASSETS_PATH = "/graphql/assets"
IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_CHARACTERS = 16  # 64 bits of SHA-256: enough to tell one release of a file from another

# What the page loads, in order (deferred scripts run in document order), and where it lives.
STYLESHEETS = {
    "graphiql.min.css": "vendor/graphiql.min.css",
    "plugin-explorer.css": "vendor/plugin-explorer.css",
    "graphiql-page.css": "graphiql-page.css",
}
SCRIPTS = {
    "react.production.min.js": "vendor/react.production.min.js",
    "react-dom.production.min.js": "vendor/react-dom.production.min.js",
    "graphiql.min.js": "vendor/graphiql.min.js",
    "plugin-explorer.umd.js": "vendor/plugin-explorer.umd.js",
    "graphiql-page.js": "graphiql-page.js",
}
MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript"}


def content_security_policy(nonce: str) -> str:
    """The page's policy; `nonce` admits the one `<style>` element GraphiQL's dialogs add."""
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; font-src data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@dataclass(frozen=True)
class Asset:
    path: Path
    media_type: str
    digest: str


def _asset(directory: Path, relative: str) -> Asset:
    path = directory / relative
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARACTERS]
    return Asset(path=path, media_type=MEDIA_TYPES[path.suffix], digest=digest)


def _page(assets: Mapping[str, Asset]) -> str:
    # Relative URLs (from /graphql, "graphql/assets/…" is /graphql/assets/…), so the page also
    # works behind a proxy that adds a path prefix; the icon is the admin page's.
    def url(name: str) -> str:
        return f"graphql/assets/{assets[name].digest}/{name}"

    links = "".join(f'<link rel="stylesheet" href="{url(name)}">\n' for name in STYLESHEETS)
    scripts = "".join(f'<script src="{url(name)}" defer></script>\n' for name in SCRIPTS)
    # `{nonce}` is filled in per response; the page has no other braces.
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        # Where the bootstrap finds the style nonce (the convention Vite uses).
        '<meta property="csp-nonce" nonce="{nonce}">\n'
        "<title>GraphiQL · Partner API admin</title>\n"
        '<link rel="icon" href="settings/assets/icon.svg" type="image/svg+xml">\n'
        f"{links}{scripts}"
        "</head>\n<body>\n"
        '<div id="graphiql" class="graphiql-page"><p class="graphiql-loading">'
        "Loading GraphiQL…</p></div>\n"
        "<noscript><p>GraphiQL needs JavaScript.</p></noscript>\n"
        "</body>\n</html>\n"
    )


class GraphiQLPage:
    """The GraphiQL page and its files in `directory`, hashed on first use (not at start-up:
    ~1.7 MB to read, and most processes never serve the page)."""

    def __init__(self, directory: Path = ASSETS_DIRECTORY) -> None:
        self.directory = directory

    @cached_property
    def assets(self) -> dict[str, Asset]:
        files = {**STYLESHEETS, **SCRIPTS}
        return {name: _asset(self.directory, relative) for name, relative in files.items()}

    @cached_property
    def _template(self) -> str:
        return _page(self.assets)

    def response(self) -> HTMLResponse:
        """The page, with a nonce of its own; never stored by a cache (the nonce is single-use)."""
        nonce = secrets.token_urlsafe(18)
        return HTMLResponse(
            self._template.replace("{nonce}", nonce),
            headers={
                "Content-Security-Policy": content_security_policy(nonce),
                "Cache-Control": "no-store",
            },
        )

    async def asset(self, request: Request) -> Response:
        asset = self.assets.get(request.path_params["name"])
        # An old digest is a file this release no longer has: 404, never today's file under it.
        if asset is None or request.path_params["digest"] != asset.digest:
            raise HTTPException(404, "No such GraphiQL file.")
        return FileResponse(
            asset.path, media_type=asset.media_type, headers={"Cache-Control": IMMUTABLE}
        )

    def routes(self) -> list[BaseRoute]:
        return [Route(ASSETS_PATH + "/{digest}/{name}", self.asset, methods=["GET"])]
