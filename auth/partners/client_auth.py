"""Client authentication methods for the token, introspection and revocation endpoints.

A registry from method name to extractor, as RFC 8414 names them in the metadata:
`client_secret_basic` (RFC 6749 §2.3.1: HTTP Basic, with id and secret form-urlencoded before
base64, Appendix B), `client_secret_post` (id and secret in the body) and `private_key_jwt`
(RFC 7523 §2.2: a signed assertion in `client_assertion`, verified by
auth/partners/client_assertions.py). Using two in one request is refused (TE-11; RFC 7521 §4.2
allows one mechanism per request). Authentication failures all become the same
`InvalidClient` (TE-14, CR-05, PK-03), whatever the reason.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import unquote_plus

from auth.partners.client_assertions import JWT_BEARER
from auth.partners.oauth_errors import InvalidClient, InvalidRequest

CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name)
CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 (a method name)
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_CREDENTIAL_LENGTH = 256


class PresentedClient(NamedTuple):
    # Immutable; a NamedTuple because one is built per token request, where a frozen dataclass
    # costs several times as much.
    client_id: str
    client_secret: str
    method: str
    # private_key_jwt only: the assertion as sent; `client_id` is then the body's, or empty
    # until the assertion's `sub` names the client.
    assertion: str = ""


def _from_basic(headers: Mapping[str, str], form: Mapping[str, str]) -> PresentedClient | None:
    header = headers.get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient from None
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise InvalidClient
    return PresentedClient(
        client_id=_form_decoded(client_id),
        client_secret=_form_decoded(client_secret),
        method=CLIENT_SECRET_BASIC,
    )


def _form_decoded(text: str) -> str:
    """`unquote_plus(text)`, skipped for the usual client ID or secret with nothing to decode."""
    return unquote_plus(text) if "%" in text or "+" in text else text


def _from_body(headers: Mapping[str, str], form: Mapping[str, str]) -> PresentedClient | None:
    if "client_secret" not in form:
        return None
    return PresentedClient(
        client_id=form.get("client_id", ""),
        client_secret=form["client_secret"],
        method=CLIENT_SECRET_POST,
    )


def _from_assertion(headers: Mapping[str, str], form: Mapping[str, str]) -> PresentedClient | None:
    if "client_assertion" not in form and "client_assertion_type" not in form:
        return None
    # RFC 7521 §4.2: the type says how to read the assertion; we read one type only.
    if form.get("client_assertion_type") != JWT_BEARER:
        raise InvalidRequest(f"client_assertion_type must be {JWT_BEARER}.")
    assertion = form.get("client_assertion")
    if not assertion:
        raise InvalidRequest("client_assertion is missing.")
    return PresentedClient(
        client_id=form.get("client_id", ""),
        client_secret="",
        method=PRIVATE_KEY_JWT,
        assertion=assertion,
    )


AUTH_METHODS: dict[
    str, Callable[[Mapping[str, str], Mapping[str, str]], PresentedClient | None]
] = {
    CLIENT_SECRET_BASIC: _from_basic,
    CLIENT_SECRET_POST: _from_body,
    PRIVATE_KEY_JWT: _from_assertion,
}


def presented_client(headers: Mapping[str, str], form: Mapping[str, str]) -> PresentedClient:
    """The one client authentication in the request; InvalidClient when there is none."""
    found = [
        client
        for extract in AUTH_METHODS.values()
        if (client := extract(headers, form)) is not None
    ]
    if len(found) > 1:
        raise InvalidRequest("Use one client authentication method, not several.")
    if not found:
        raise InvalidClient
    client = found[0]
    # Many client libraries repeat client_id in the body next to Basic auth; it must then agree.
    body_id = form.get("client_id")
    if (
        client.method == CLIENT_SECRET_BASIC
        and body_id is not None
        and not hmac.compare_digest(body_id.encode(), client.client_id.encode())
    ):
        raise InvalidRequest("client_id in the body does not match the Authorization header.")
    if client.method == PRIVATE_KEY_JWT and not client.client_id:
        return client  # named by the assertion's `sub`, checked with it
    if not client.client_id or len(client.client_id) > MAX_CREDENTIAL_LENGTH:
        raise InvalidClient
    if not client.client_id.isprintable():
        raise InvalidClient  # control characters never occur in a client ID
    if len(client.client_secret) > MAX_CREDENTIAL_LENGTH:
        raise InvalidClient
    return client
