"""Tiny HTML building blocks for the developer documentation.

Every piece of text goes through `html.escape` here, once; callers pass plain text to `esc`,
`inline` and `code_block`, and only the HTML these functions return to `table` and `section`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_CODE_SPAN = re.compile(r"`([^`]+)`")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def inline(text: str) -> str:
    """Escaped text in which `backticked` spans become <code>."""
    return _CODE_SPAN.sub(r"<code>\1</code>", esc(text))


def paragraph(text: str) -> str:
    return f"<p>{inline(text)}</p>"


def code_block(code: str, *, label: str) -> str:
    return (
        f'<figure class="code"><figcaption>{esc(label)}</figcaption>'
        f"<pre><code>{esc(code.strip())}</code></pre></figure>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css: str = "") -> str:
    """`rows` hold HTML (already escaped) cells; headers are plain text."""
    head = "".join(f'<th scope="col">{esc(name)}</th>' for name in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    class_attribute = f' class="{esc(css)}"' if css else ""
    return (
        f'<div class="table-wrap"><table{class_attribute}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def bullet_list(items: Iterable[str]) -> str:
    """`items` hold HTML."""
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def section(anchor: str, title: str, body: str) -> str:
    return (
        f'<section id="{esc(anchor)}" class="guide">'
        f'<h2><a class="anchor" href="#{esc(anchor)}">{esc(title)}</a></h2>{body}</section>'
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
