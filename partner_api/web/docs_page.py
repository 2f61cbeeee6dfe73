"""The developer documentation behind the admin page's "Documentation" link
(`partnerApi.documentationUrl` = `<issuer>/docs`), and `/openapi.json`.

Both are rendered once when the app is built (they depend only on `Settings`, the scope catalogue
and the OpenAPI document) and served from memory. The page uses no script and only our own
stylesheet, served from `/docs/assets`, so its Content-Security-Policy can be `default-src 'self'`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from partner_api.foundation.settings import Settings
from partner_api.web.docs_guide import guide
from partner_api.web.docs_html import esc, inline, slug
from partner_api.web.docs_reference import Reference, inline_paragraph
from partner_api.web.openapi import openapi_document

ASSETS_DIRECTORY = Path(__file__).resolve().parent.parent / "static" / "docs"
# Relative to /docs, so the page also works behind a proxy that adds a path prefix.
STYLESHEET = "docs/assets/docs.css"
ICON = "docs/assets/icon.svg"
PUBLIC_CACHE = "public, max-age=300"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "object-src 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": PUBLIC_CACHE,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _navigation(sections: list[tuple[str, str, str]], reference: Reference) -> str:
    guide_links = "".join(
        f'<li><a href="#{esc(anchor)}">{esc(title)}</a></li>' for anchor, title, _ in sections
    )
    tag_links = "".join(
        f'<li><a href="#tag-{esc(slug(tag["name"]))}">{esc(tag["name"])}</a></li>'
        for tag in reference.document.get("tags", [])
    )
    return (
        '<nav class="toc" aria-label="Contents">'
        f"<h2>Guide</h2><ol>{guide_links}</ol>"
        f'<h2><a href="#reference">API reference</a></h2>'
        f'<ol>{tag_links}<li><a href="#objects">Objects</a></li></ol></nav>'
    )


def render_page(settings: Settings, document: dict[str, Any]) -> str:
    """The whole documentation page as one HTML string, its reference rendered from `document`."""
    reference = Reference(document)
    sections = guide(settings, reference)
    info = document["info"]
    # The description's first paragraph; the rest (credentials limited to events) has its own
    # guide section.
    introduction = info["description"].split("\n\n")[0]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(info['title'])} documentation</title>"
        f'<link rel="stylesheet" href="{STYLESHEET}">'
        f'<link rel="icon" href="{ICON}" type="image/svg+xml"></head>'
        '<body><header class="top">'
        f'<a class="brand" href="#top">{esc(info["title"])}</a>'
        f'<span class="version">v{esc(info["version"])}</span>'
        '<a class="spec" href="openapi.json">OpenAPI 3.1 document</a></header>'
        f'<div class="layout">{_navigation(sections, reference)}<main id="top">'
        f"<h1>{esc(info['title'])} documentation</h1>"
        f'<p class="lead">{inline(info["summary"])} {inline(introduction)}</p>'
        f'<p class="lead">Base URL: <code>{esc(settings.issuer)}</code></p>'
        + "".join(html for _, _, html in sections)
        + '<section id="reference" class="reference"><h2>'
        '<a class="anchor" href="#reference">API reference</a></h2>'
        + inline_paragraph(
            "Generated from the OpenAPI 3.1 document at `/openapi.json`: load it into your HTTP "
            "client or code generator. Response objects may gain fields; ignore the ones you do "
            "not know."
        )
        + reference.html()
        + "</section></main></div></body></html>\n"
    )


def documentation_routes(settings: Settings) -> list[BaseRoute]:
    """`GET /docs`, `GET /openapi.json` and the page's own assets under `/docs/assets`."""
    document = openapi_document(settings)
    document_body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    page_body = render_page(settings, document).encode("utf-8")

    async def openapi_json(request: Request) -> Response:
        return Response(
            document_body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE}
        )

    async def documentation(request: Request) -> Response:
        return HTMLResponse(page_body, headers=PAGE_HEADERS)

    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", documentation, methods=["GET"]),
        Mount("/docs/assets", app=StaticFiles(directory=ASSETS_DIRECTORY), name="docs-assets"),
    ]
