"""The API reference of the developer documentation, rendered from the OpenAPI document itself,
so the page can never describe an endpoint, parameter or field differently from `/openapi.json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from partner_api.web.docs_html import esc, inline, slug, table

JSON = dict[str, Any]
METHODS = ("get", "put", "post", "patch", "delete")
SCHEMA_PREFIX = "#/components/schemas/"
JSON_MEDIA_TYPE = "application/json"
MAX_FIELD_DEPTH = 4


class Reference:
    """Walks an OpenAPI 3.1 document and renders each tag's operations, then every schema."""

    def __init__(self, document: JSON) -> None:
        self.document = document
        self.schemas: JSON = document["components"]["schemas"]
        self.schemes: JSON = document["components"]["securitySchemes"]

    # --- walking the document -----------------------------------------------------------

    def operations(self) -> Iterator[tuple[str, str, JSON]]:
        for path, item in self.document["paths"].items():
            for method in METHODS:
                if method in item:
                    yield method, path, item[method]

    def scope_endpoints(self) -> dict[str, list[tuple[str, str]]]:
        """Scope name → the (METHOD, path) pairs that need it."""
        needs: dict[str, list[tuple[str, str]]] = {}
        for method, path, operation in self.operations():
            for requirement in operation.get("security", []):
                for scopes in requirement.values():
                    for scope in scopes:
                        needs.setdefault(scope, []).append((method.upper(), path))
        return needs

    def _resolve(self, schema: JSON) -> tuple[str | None, JSON]:
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith(SCHEMA_PREFIX):
            name = reference.removeprefix(SCHEMA_PREFIX)
            return name, self.schemas[name]
        return None, schema

    # --- describing schemas -------------------------------------------------------------

    def type_html(self, schema: JSON) -> str:
        """A short HTML description of a schema: type, format and constraints."""
        name, resolved = self._resolve(schema)
        if name is not None:
            return f'<a href="#schema-{esc(name)}"><code>{esc(name)}</code></a>'
        if "allOf" in schema:
            return " ".join(self.type_html(part) for part in schema["allOf"] if "$ref" in part)
        kinds = resolved.get("type", "any")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        words = []
        for kind in kinds:
            if kind == "array":
                words.append(f"array of {self.type_html(resolved.get('items', {}))}")
            else:
                words.append(esc(kind))
        text = " or ".join(words)
        details = self._constraints(resolved)
        return text + (f' <span class="constraint">{details}</span>' if details else "")

    def _constraints(self, schema: JSON) -> str:
        parts: list[str] = []
        if "format" in schema:
            parts.append(esc(schema["format"]))
        if "enum" in schema:
            parts.append("one of " + ", ".join(f"<code>{esc(v)}</code>" for v in schema["enum"]))
        for low, high, unit in (
            ("minimum", "maximum", ""),
            ("minLength", "maxLength", " character"),
            ("minItems", "maxItems", " item"),
        ):
            if low in schema and high in schema:
                parts.append(
                    f"{esc(schema[low])}&ndash;{esc(schema[high])}{unit}{'s' if unit else ''}"
                )
            elif low in schema:
                count = schema[low]
                parts.append(f"at least {esc(count)}{unit}{_plural(count) if unit else ''}")
            elif high in schema:
                count = schema[high]
                parts.append(f"at most {esc(count)}{unit}{_plural(count) if unit else ''}")
        if "pattern" in schema:
            parts.append(f"matching <code>{esc(schema['pattern'])}</code>")
        if "default" in schema:
            parts.append(f"default <code>{esc(schema['default'])}</code>")
        return "; ".join(parts)

    def fields(self, schema: JSON, prefix: str = "", depth: int = 0) -> list[list[str]]:
        """Rows (field, type, required, description) of an object, nested objects flattened:
        `customer.name`, `lines[].quantity`."""
        _, resolved = self._resolve(schema)
        required = set(resolved.get("required", []))
        rows: list[list[str]] = []
        for name, field in resolved.get("properties", {}).items():
            path = f"{prefix}{name}"
            _, target = self._resolve(field)
            description = field.get("description") or target.get("description", "")
            rows.append(
                [
                    f"<code>{esc(path)}</code>",
                    self.type_html(field),
                    "yes" if name in required else "no",
                    inline(description),
                ]
            )
            if depth < MAX_FIELD_DEPTH and "$ref" in field and _is_input(field):
                rows.extend(self.fields(field, f"{path}.", depth + 1))
            items = target.get("items", {})
            if depth < MAX_FIELD_DEPTH and "$ref" in items and _is_input(items):
                rows.extend(self.fields(items, f"{path}[].", depth + 1))
        return rows

    # --- rendering ----------------------------------------------------------------------

    def security_html(self, operation: JSON) -> str:
        alternatives: list[str] = []
        for requirement in operation.get("security", []):
            if not requirement:
                alternatives.append(
                    "<code>client_id</code> and <code>client_secret</code> in the body"
                )
            for scheme_name, scopes in requirement.items():
                scheme = self.schemes[scheme_name]
                if scheme["type"] == "http":
                    alternatives.append(f"HTTP {esc(scheme['scheme']).capitalize()}")
                elif scopes:
                    names = ", ".join(f'<code class="scope">{esc(s)}</code>' for s in scopes)
                    alternatives.append(f"Bearer token with scope {names}")
                else:
                    alternatives.append("Bearer token (any scope)")
        if not alternatives:
            return "No authentication."
        return "Authentication: " + " or ".join(alternatives) + "."

    def parameters_html(self, operation: JSON) -> str:
        parameters = operation.get("parameters", [])
        if not parameters:
            return ""
        rows = [
            [
                f"<code>{esc(p['name'])}</code>",
                esc(p["in"]),
                self.type_html(p["schema"]),
                "yes" if p.get("required") else "no",
                inline(p.get("description", "")),
            ]
            for p in parameters
        ]
        return "<h5>Parameters</h5>" + table(
            ["Name", "In", "Type", "Required", "Description"], rows, css="params"
        )

    def body_html(self, operation: JSON) -> str:
        body = operation.get("requestBody")
        if body is None:
            return ""
        parts = []
        for media_type, content in body["content"].items():
            rows = self.fields(content["schema"])
            parts.append(
                f"<h5>Request body <code>{esc(media_type)}</code></h5>"
                + table(["Field", "Type", "Required", "Description"], rows, css="fields")
            )
        return "".join(parts)

    def responses_html(self, operation: JSON) -> str:
        rows = []
        for status, response in operation["responses"].items():
            bodies = []
            for media_type, content in response.get("content", {}).items():
                kind = "" if media_type == JSON_MEDIA_TYPE else f"<code>{esc(media_type)}</code> "
                bodies.append(kind + self.type_html(content["schema"]))
                codes = _narrowed_codes(content["schema"])
                if codes:
                    bodies.append(
                        "<code>error</code>: " + ", ".join(f"<code>{esc(c)}</code>" for c in codes)
                    )
            headers = response.get("headers", {})
            always = [f"<code>{esc(name)}</code>" for name, h in headers.items() if h["required"]]
            sometimes = [f"<code>{esc(n)}</code>" for n, h in headers.items() if not h["required"]]
            if sometimes:
                always.append('<span class="optional">sometimes:</span> ' + " ".join(sometimes))
            rows.append(
                [
                    f'<span class="status status-{esc(status[0])}xx">{esc(status)}</span>',
                    inline(response["description"]),
                    "<br>".join(bodies) or "empty",
                    "<br>".join(always),
                ]
            )
        return "<h5>Responses</h5>" + table(
            ["Status", "Meaning", "Body", "Headers"], rows, css="responses"
        )

    def operation_html(self, method: str, path: str, operation: JSON) -> str:
        anchor = esc(operation["operationId"])
        return (
            f'<article class="operation" id="op-{anchor}">'
            f'<h4><span class="method method-{esc(method)}">{esc(method.upper())}</span> '
            f'<code class="path">{esc(path)}</code></h4>'
            f'<p class="summary">{esc(operation.get("summary", ""))}</p>'
            f"{inline_paragraph(operation.get('description', ''))}"
            f'<p class="auth">{self.security_html(operation)}</p>'
            f"{self.parameters_html(operation)}{self.body_html(operation)}"
            f"{self.responses_html(operation)}</article>"
        )

    def tags_html(self) -> str:
        parts = []
        for tag in self.document.get("tags", []):
            operations = [
                self.operation_html(method, path, operation)
                for method, path, operation in self.operations()
                if tag["name"] in operation.get("tags", [])
            ]
            parts.append(
                f'<section class="tag" id="tag-{esc(slug(tag["name"]))}">'
                f"<h3>{esc(tag['name'])}</h3>{inline_paragraph(tag.get('description', ''))}"
                + "".join(operations)
                + "</section>"
            )
        return "".join(parts)

    def schemas_html(self) -> str:
        parts = []
        for name, schema in self.schemas.items():
            rows = self.fields({"$ref": SCHEMA_PREFIX + name})
            closed = schema.get("additionalProperties") is False
            note = " Unknown fields are refused." if closed else ""
            parts.append(
                f'<section class="schema" id="schema-{esc(name)}"><h4>{esc(name)}</h4>'
                + (f'<p class="note">{esc(note.strip())}</p>' if note else "")
                + table(["Field", "Type", "Required", "Description"], rows, css="fields")
                + "</section>"
            )
        return f'<section class="tag" id="objects"><h3>Objects</h3>{"".join(parts)}</section>'

    def html(self) -> str:
        return self.tags_html() + self.schemas_html()


def inline_paragraph(text: str) -> str:
    return f"<p>{inline(text)}</p>" if text else ""


def _plural(count: object) -> str:
    return "" if count == 1 else "s"


def _is_input(schema: JSON) -> bool:
    """Request-body objects are flattened inline; response objects link to their own table."""
    reference = str(schema.get("$ref", ""))
    return reference.endswith("Input")


def _narrowed_codes(schema: JSON) -> list[str]:
    for part in schema.get("allOf", []):
        enum = part.get("properties", {}).get("error", {}).get("enum")
        if enum:
            return [str(code) for code in enum]
    return []
