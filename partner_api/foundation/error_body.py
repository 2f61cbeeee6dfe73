"""The one error body every JSON endpoint outside GraphQL answers with: `{"error",
"error_description"}` (RFC 6749 §5.2, RFC 6750 §3), plus the members an endpoint adds after them
(the Partner API's `field`, a scope refusal's `scope`). Members that are None are left out, so
each answer names only what applies; the key order is the order written here."""

from __future__ import annotations


def error_body(error: str, description: str | None = None, **more: str | None) -> dict[str, str]:
    """`error` (a stable code), `error_description` (for people) unless None, then `more`."""
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    for name, value in more.items():
        if value is not None:
            body[name] = value
    return body
