"""Hostile input at the OAuth endpoints: a catalogue of malformed requests to
`/oauth/token`, `/oauth/introspect` and `/oauth/revoke`, each answered with its RFC 6749 §5.2 error
(SECURITY.md TE-01, TE-02, TE-03, TE-05, TE-08, TE-10, TE-11, TE-12, TE-14, TE-17, TE-18, IN-01,
RV-01) and never with a 500.

Requests are hand-built ASGI messages rather than httpx requests, so the catalogue can send what a
client library would normalise or refuse to send: repeated headers, CR/LF inside a header value,
a Content-Length that lies, bytes that are not UTF-8, a body in many chunks. (A real HTTP server in
front would reject some of these itself; the app must not depend on that.)

A few cases are controls that must succeed (e.g. `charset="UTF-8"`, a lowercase `basic` scheme), so
the strictness is shown not to refuse what RFC 6749 allows. Each case is built against a real
partner — a credential with its client ID, secret and a valid access token — so every refusal is
about the one malformed thing, not a missing credential.

Brute force (TE-20) is `test_te20_brute_force_is_throttled_while_the_partner_keeps_getting_tokens`
at the end of this file.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from auth.tokens import new_client_secret
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import make_admin, make_credential, wrong_secret_for

TOKEN = "/oauth/token"
INTROSPECT = "/oauth/introspect"
REVOKE = "/oauth/revoke"
FORM = b"application/x-www-form-urlencoded"
GRANT = b"grant_type=client_credentials"
MAX_BODY = 8 * 1024
# RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only.
ERROR_CHARSET = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")

Headers = tuple[tuple[bytes, bytes], ...]


# -- sending raw ASGI requests -----------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    """A real partner: its client credentials and a valid access token of its own."""

    client_id: str
    secret: str
    access_token: str

    @property
    def basic(self) -> bytes:
        return basic_header(f"{self.client_id}:{self.secret}".encode())


@dataclass(frozen=True)
class RawRequest:
    method: str = "POST"
    headers: Headers = ()
    chunks: tuple[bytes, ...] = ()
    query: bytes = b""


@dataclass
class RawResponse:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> list[str]:
        wanted = name.lower().encode("latin-1")
        return [value.decode("latin-1") for key, value in self.headers if key.lower() == wanted]

    def json(self) -> Any:
        return json.loads(self.body)


async def send_raw(
    app: Starlette, path: str, request: RawRequest, *, client: str = CLIENT_ADDRESS
) -> RawResponse:
    """Send `request` to `app` exactly as given: no header or body normalisation."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": request.query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *request.headers],
        "client": (client, 50000),
        "server": ("testserver", 80),
    }
    pending = list(request.chunks) or [b""]
    response = RawResponse()

    async def receive() -> Message:
        if not pending:
            # Only reached once the body was read in full: the client then waits for its answer.
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return response


def basic_header(decoded: bytes) -> bytes:
    return b"Basic " + base64.b64encode(decoded)


def post(
    *,
    body: bytes | None = None,
    auth: bytes | None = None,
    content_type: bytes | None = FORM,
    headers: Headers = (),
    chunks: tuple[bytes, ...] | None = None,
    length: bytes | None = None,
    query: bytes = b"",
    method: str = "POST",
) -> RawRequest:
    """A request with the usual framing unless overridden: form content type, Content-Length."""
    sent: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        sent.append((b"content-type", content_type))
    if auth is not None:
        sent.append((b"authorization", auth))
    parts = chunks if chunks is not None else ((body,) if body is not None else ())
    if length is not None:
        sent.append((b"content-length", length))
    elif chunks is None:
        sent.append((b"content-length", str(len(body or b"")).encode()))
    sent.extend(headers)
    return RawRequest(method=method, headers=tuple(sent), chunks=parts, query=query)


def token_form(partner: Partner, extra: bytes = b"") -> bytes:
    """A token request body with client_secret_post authentication."""
    return (
        GRANT
        + b"&client_id="
        + partner.client_id.encode()
        + b"&client_secret="
        + partner.secret.encode()
        + extra
    )


def with_token(partner: Partner, extra: bytes = b"") -> bytes:
    return b"token=" + partner.access_token.encode() + extra


# -- the catalogue -----------------------------------------------------------------------------

Build = Callable[[Partner], RawRequest]


@dataclass(frozen=True)
class Case:
    path: str
    build: Build
    status: int
    # The RFC error code; None for a control request that must succeed.
    error: str | None


def basic_token(body: bytes = GRANT, **kwargs: Any) -> Build:
    """A token request authenticated with the partner's own Basic credentials."""
    return lambda partner: post(body=body, auth=partner.basic, **kwargs)


def basic_with(body: Callable[[Partner], bytes], **kwargs: Any) -> Build:
    """A request to any endpoint, with the partner's Basic credentials and a body made for it."""
    return lambda partner: post(body=body(partner), auth=partner.basic, **kwargs)


def token_with_auth(auth: Callable[[Partner], bytes]) -> Build:
    """A token request with this Authorization header."""
    return lambda partner: post(body=GRANT, auth=auth(partner))


def grant(value: bytes) -> Build:
    return basic_token(b"grant_type=" + value)


def scope(value: bytes) -> Build:
    return basic_token(GRANT + b"&scope=" + value)


def method(name: str, path: str) -> Case:
    def build(partner: Partner) -> RawRequest:
        return post(body=GRANT, auth=partner.basic, method=name)

    return Case(path, build, 405, "invalid_request")


OVERSIZED = GRANT + b"&pad=" + b"a" * MAX_BODY
CASES: dict[str, Case] = {
    # TE-01: POST only, on every endpoint.
    "token-get": method("GET", TOKEN),
    "token-put": method("PUT", TOKEN),
    "token-delete": method("DELETE", TOKEN),
    "token-patch": method("PATCH", TOKEN),
    "token-options": method("OPTIONS", TOKEN),
    "token-head": method("HEAD", TOKEN),
    "token-trace": method("TRACE", TOKEN),
    "token-made-up-method": method("BREW", TOKEN),
    "introspect-get": method("GET", INTROSPECT),
    "introspect-put": method("PUT", INTROSPECT),
    "revoke-delete": method("DELETE", REVOKE),
    "revoke-patch": method("PATCH", REVOKE),
    # TE-02: an application/x-www-form-urlencoded body, UTF-8 only.
    "token-json-body": Case(
        TOKEN,
        basic_token(b'{"grant_type": "client_credentials"}', content_type=b"application/json"),
        400,
        "invalid_request",
    ),
    "token-multipart-body": Case(
        TOKEN,
        basic_token(
            b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n'
            b"client_credentials\r\n--b--\r\n",
            content_type=b"multipart/form-data; boundary=b",
        ),
        400,
        "invalid_request",
    ),
    "token-text-plain": Case(
        TOKEN, basic_token(content_type=b"text/plain"), 400, "invalid_request"
    ),
    "token-no-content-type": Case(TOKEN, basic_token(content_type=None), 400, "invalid_request"),
    "token-empty-content-type": Case(TOKEN, basic_token(content_type=b""), 400, "invalid_request"),
    "token-form-type-with-suffix": Case(
        TOKEN,
        basic_token(content_type=b"application/x-www-form-urlencoded-evil"),
        400,
        "invalid_request",
    ),
    "token-latin1-charset": Case(
        TOKEN, basic_token(content_type=FORM + b"; charset=iso-8859-1"), 400, "invalid_request"
    ),
    "token-utf16-charset": Case(
        TOKEN, basic_token(content_type=FORM + b"; charset=utf-16"), 400, "invalid_request"
    ),
    "token-unknown-content-type-parameter": Case(
        TOKEN, basic_token(content_type=FORM + b"; boundary=x"), 400, "invalid_request"
    ),
    "control-token-quoted-uppercase-utf8-charset": Case(
        TOKEN, basic_token(content_type=FORM + b'; charset="UTF-8"'), 200, None
    ),
    "control-token-uppercase-media-type": Case(
        TOKEN, basic_token(content_type=FORM.upper()), 200, None
    ),
    "introspect-json-body": Case(
        INTROSPECT,
        lambda partner: post(
            body=json.dumps({"token": partner.access_token}).encode(),
            auth=partner.basic,
            content_type=b"application/json",
        ),
        400,
        "invalid_request",
    ),
    "revoke-text-plain": Case(
        REVOKE, basic_with(with_token, content_type=b"text/plain"), 400, "invalid_request"
    ),
    # TE-12: a parameter (or a framing header) given twice.
    "token-grant-type-twice": Case(
        TOKEN, basic_token(GRANT + b"&" + GRANT), 400, "invalid_request"
    ),
    "token-grant-type-twice-once-percent-encoded": Case(
        TOKEN, basic_token(GRANT + b"&grant%5Ftype=client_credentials"), 400, "invalid_request"
    ),
    "token-scope-twice": Case(
        TOKEN, basic_token(GRANT + b"&scope=events:read&scope=orders:read"), 400, "invalid_request"
    ),
    "token-client-secret-twice": Case(
        TOKEN,
        lambda partner: post(
            body=token_form(partner, b"&client_secret=" + partner.secret.encode())
        ),
        400,
        "invalid_request",
    ),
    "token-client-id-twice": Case(
        TOKEN,
        lambda partner: post(body=token_form(partner, b"&client_id=" + partner.client_id.encode())),
        400,
        "invalid_request",
    ),
    "introspect-token-twice": Case(
        INTROSPECT,
        basic_with(lambda partner: with_token(partner, b"&" + with_token(partner))),
        400,
        "invalid_request",
    ),
    "revoke-token-twice": Case(
        REVOKE,
        basic_with(lambda partner: with_token(partner, b"&token=other")),
        400,
        "invalid_request",
    ),
    "token-content-type-header-twice": Case(
        TOKEN,
        basic_token(headers=((b"content-type", b"application/json"),)),
        400,
        "invalid_request",
    ),
    "token-authorization-header-twice": Case(
        TOKEN,
        lambda partner: post(
            body=GRANT,
            auth=partner.basic,
            headers=((b"authorization", basic_header(b"pcl_other:pcs_other")),),
        ),
        400,
        "invalid_request",
    ),
    "token-content-length-header-twice": Case(
        TOKEN,
        basic_token(headers=((b"content-length", b"999999"),)),
        400,
        "invalid_request",
    ),
    "token-too-many-fields": Case(
        TOKEN,
        basic_token(GRANT + b"".join(b"&f%d=1" % index for index in range(80))),
        400,
        "invalid_request",
    ),
    # TE-02: the body is bounded, however it is framed.
    "token-body-one-byte-over-the-limit": Case(
        TOKEN,
        basic_token(GRANT + b"&pad=" + b"a" * (MAX_BODY - len(GRANT) - 4)),
        400,
        "invalid_request",
    ),
    "token-huge-content-length-small-body": Case(
        TOKEN, basic_token(length=b"1000000000000"), 400, "invalid_request"
    ),
    "token-negative-content-length": Case(TOKEN, basic_token(length=b"-1"), 400, "invalid_request"),
    "token-non-numeric-content-length": Case(
        TOKEN, basic_token(length=b"29abc"), 400, "invalid_request"
    ),
    "token-superscript-digit-content-length": Case(
        TOKEN, basic_token(length="²".encode("latin-1")), 400, "invalid_request"
    ),
    "token-chunked-body-over-the-limit": Case(
        TOKEN,
        basic_token(
            chunks=tuple(OVERSIZED[i : i + 1000] for i in range(0, len(OVERSIZED), 1000)),
            headers=((b"transfer-encoding", b"chunked"),),
        ),
        400,
        "invalid_request",
    ),
    "token-content-length-understates-the-body": Case(
        TOKEN,
        basic_token(length=b"29", chunks=(OVERSIZED[:4096], OVERSIZED[4096:])),
        400,
        "invalid_request",
    ),
    "introspect-body-over-the-limit": Case(
        INTROSPECT,
        basic_with(lambda partner: with_token(partner, b"&pad=" + b"a" * MAX_BODY)),
        400,
        "invalid_request",
    ),
    "revoke-huge-content-length": Case(
        REVOKE, basic_with(with_token, length=b"99999999999999999999"), 400, "invalid_request"
    ),
    # TE-08/TE-14: Basic credentials that do not decode are a failed client authentication.
    "token-basic-without-colon": Case(
        TOKEN, token_with_auth(lambda p: basic_header(p.client_id.encode())), 401, "invalid_client"
    ),
    "token-basic-not-base64": Case(
        TOKEN, token_with_auth(lambda p: b"Basic !!not*base64!!"), 401, "invalid_client"
    ),
    "token-basic-missing-padding": Case(
        TOKEN,
        token_with_auth(lambda p: p.basic.rstrip(b"=") + (b"" if p.basic.endswith(b"=") else b"A")),
        401,
        "invalid_client",
    ),
    "token-basic-base64url-alphabet": Case(
        TOKEN,
        token_with_auth(lambda p: b"Basic " + base64.urlsafe_b64encode(b"\xfb\xff:\xfe")),
        401,
        "invalid_client",
    ),
    "token-basic-invalid-utf8": Case(
        TOKEN,
        token_with_auth(lambda p: basic_header(b"pcl_\xff\xfe:" + p.secret.encode())),
        401,
        "invalid_client",
    ),
    "token-basic-bad-percent-encoding": Case(
        TOKEN,
        token_with_auth(
            lambda p: basic_header(p.client_id.encode() + b"%ZZ:" + p.secret.encode() + b"%")
        ),
        401,
        "invalid_client",
    ),
    "token-basic-percent-encoded-invalid-utf8": Case(
        TOKEN,
        token_with_auth(
            lambda p: basic_header(p.client_id.encode() + b"%C0%AF:" + p.secret.encode())
        ),
        401,
        "invalid_client",
    ),
    "token-basic-empty-client-id": Case(
        TOKEN,
        token_with_auth(lambda p: basic_header(b":" + p.secret.encode())),
        401,
        "invalid_client",
    ),
    "token-basic-empty-secret": Case(
        TOKEN,
        token_with_auth(lambda p: basic_header(p.client_id.encode() + b":")),
        401,
        "invalid_client",
    ),
    "token-basic-scheme-only": Case(
        TOKEN, token_with_auth(lambda p: b"Basic"), 401, "invalid_client"
    ),
    "token-basic-spaces-inside-credentials": Case(
        TOKEN,
        token_with_auth(lambda p: p.basic[:12] + b" " + p.basic[12:]),
        401,
        "invalid_client",
    ),
    "token-basic-space-padded-client-id": Case(
        TOKEN,
        token_with_auth(
            lambda p: basic_header(b" " + p.client_id.encode() + b" :" + p.secret.encode())
        ),
        401,
        "invalid_client",
    ),
    "token-basic-overlong-client-id": Case(
        TOKEN,
        token_with_auth(lambda p: basic_header(b"pcl_" + b"a" * 400 + b":" + p.secret.encode())),
        401,
        "invalid_client",
    ),
    "token-bearer-scheme": Case(
        TOKEN,
        token_with_auth(lambda p: b"Bearer " + p.access_token.encode()),
        401,
        "invalid_client",
    ),
    "token-unknown-scheme": Case(
        TOKEN, token_with_auth(lambda p: b"Digest username=x"), 401, "invalid_client"
    ),
    "token-no-client-authentication": Case(
        TOKEN, lambda p: post(body=GRANT), 401, "invalid_client"
    ),
    "control-token-lowercase-basic-scheme": Case(
        TOKEN, token_with_auth(lambda p: b"basic" + p.basic[5:]), 200, None
    ),
    "control-token-client-secret-post": Case(TOKEN, lambda p: post(body=token_form(p)), 200, None),
    # TE-11: one client authentication method per request.
    "token-basic-and-body-secret": Case(
        TOKEN,
        lambda p: post(body=token_form(p), auth=p.basic),
        400,
        "invalid_request",
    ),
    "token-basic-and-other-body-client-id": Case(
        TOKEN, basic_token(GRANT + b"&client_id=pcl_someone_else"), 400, "invalid_request"
    ),
    # Unicode where only ASCII makes sense.
    "token-nul-in-grant-type": Case(
        TOKEN, grant(b"client_credentials%00"), 400, "unsupported_grant_type"
    ),
    "token-rtl-override-in-grant-type": Case(
        TOKEN, grant(b"%E2%80%AEclient_credentials"), 400, "unsupported_grant_type"
    ),
    "token-emoji-scope": Case(TOKEN, scope(b"%F0%9F%8E%9F"), 400, "invalid_scope"),
    "token-zero-width-space-in-scope": Case(
        TOKEN, scope(b"events:read%E2%80%8B"), 400, "invalid_scope"
    ),
    "token-overlong-utf8-percent-encoded": Case(
        TOKEN, basic_token(GRANT + b"&scope=%C0%AF"), 400, "invalid_request"
    ),
    "token-overlong-utf8-raw-bytes": Case(
        TOKEN, basic_token(GRANT + b"&scope=\xc0\xaf"), 400, "invalid_request"
    ),
    "token-utf16-surrogate-percent-encoded": Case(
        TOKEN, basic_token(GRANT + b"&scope=%ED%A0%80"), 400, "invalid_request"
    ),
    "token-latin1-byte-in-body": Case(
        TOKEN, basic_token(GRANT + b"&scope=caf\xe9"), 400, "invalid_request"
    ),
    "token-byte-order-mark-before-grant-type": Case(
        TOKEN, basic_token(b"\xef\xbb\xbf" + GRANT), 400, "invalid_request"
    ),
    "token-nul-in-post-client-id": Case(
        TOKEN,
        lambda p: post(body=GRANT + b"&client_id=pcl_%00&client_secret=" + p.secret.encode()),
        401,
        "invalid_client",
    ),
    "token-fullwidth-post-client-id": Case(
        TOKEN,
        lambda p: post(body=GRANT + b"&client_id=%EF%BD%90cl_x&client_secret=" + p.secret.encode()),
        401,
        "invalid_client",
    ),
    "introspect-nul-and-emoji-token": Case(
        INTROSPECT,
        basic_with(lambda p: b"token=%00%F0%9F%94%91" + p.access_token.encode()),
        200,
        None,
    ),
    # Header injection and very long headers: nothing is reflected, nothing breaks.
    "token-crlf-in-authorization": Case(
        TOKEN,
        token_with_auth(lambda p: p.basic + b"\r\nSet-Cookie: injected=1"),
        401,
        "invalid_client",
    ),
    "token-crlf-in-content-type": Case(
        TOKEN, basic_token(content_type=FORM + b"\r\nX-Injected: 1"), 400, "invalid_request"
    ),
    "token-crlf-in-post-client-id": Case(
        TOKEN,
        lambda p: post(
            body=GRANT + b"&client_id=pcl_x%0D%0ASet-Cookie:%20injected=1&client_secret=x"
        ),
        401,
        "invalid_client",
    ),
    "token-crlf-in-scope": Case(
        TOKEN, scope(b"events:read%0D%0ASet-Cookie:%20injected=1"), 400, "invalid_scope"
    ),
    "token-64-kib-authorization-header": Case(
        TOKEN, token_with_auth(lambda p: b"Basic " + b"A" * 65536), 401, "invalid_client"
    ),
    "control-token-64-kib-user-agent": Case(
        TOKEN, basic_token(headers=((b"user-agent", b"x" * 65536),)), 200, None
    ),
    # TE-10: nothing in the URL query.
    "token-grant-type-in-query": Case(
        TOKEN, lambda p: post(body=b"", auth=p.basic, query=GRANT), 400, "invalid_request"
    ),
    "token-secret-in-query": Case(
        TOKEN,
        lambda p: post(
            body=GRANT,
            query=b"client_id=" + p.client_id.encode() + b"&client_secret=" + p.secret.encode(),
        ),
        400,
        "invalid_request",
    ),
    "introspect-token-in-query": Case(
        INTROSPECT,
        lambda p: post(body=b"", auth=p.basic, query=with_token(p)),
        400,
        "invalid_request",
    ),
    "revoke-token-in-query": Case(
        REVOKE, lambda p: post(body=with_token(p), auth=p.basic, query=b"x"), 400, "invalid_request"
    ),
    # TE-03: grant types.
    "token-no-grant-type": Case(TOKEN, basic_token(b"scope=events:read"), 400, "invalid_request"),
    "token-empty-grant-type": Case(TOKEN, grant(b""), 400, "invalid_request"),
    "token-grant-type-without-value": Case(
        TOKEN, basic_token(b"grant_type"), 400, "invalid_request"
    ),
    "token-password-grant": Case(TOKEN, grant(b"password"), 400, "unsupported_grant_type"),
    "token-authorization-code-grant": Case(
        TOKEN, grant(b"authorization_code"), 400, "unsupported_grant_type"
    ),
    "token-refresh-token-grant": Case(
        TOKEN, grant(b"refresh_token"), 400, "unsupported_grant_type"
    ),
    "token-jwt-bearer-grant": Case(
        TOKEN,
        grant(b"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"),
        400,
        "unsupported_grant_type",
    ),
    "token-uppercase-grant-type": Case(
        TOKEN, grant(b"CLIENT_CREDENTIALS"), 400, "unsupported_grant_type"
    ),
    "token-grant-type-with-trailing-space": Case(
        TOKEN, grant(b"client_credentials+"), 400, "unsupported_grant_type"
    ),
    # TE-05: scope oddities (RFC 6749 §3.3: scope-tokens separated by single spaces).
    "token-unknown-scope": Case(TOKEN, scope(b"tickets:steal"), 400, "invalid_scope"),
    "token-scope-double-space": Case(
        TOKEN, scope(b"events:read++orders:read"), 400, "invalid_scope"
    ),
    "token-scope-tab-separated": Case(
        TOKEN, scope(b"events:read%09orders:read"), 400, "invalid_scope"
    ),
    "token-scope-comma-separated": Case(
        TOKEN, scope(b"events:read,orders:read"), 400, "invalid_scope"
    ),
    "token-scope-with-quote-and-backslash": Case(
        TOKEN, scope(b"%22events:read%5C"), 400, "invalid_scope"
    ),
    "token-scope-wildcard": Case(TOKEN, scope(b"*"), 400, "invalid_scope"),
    "token-very-long-scope": Case(TOKEN, scope(b"a" * 7000), 400, "invalid_scope"),
    "control-token-repeated-scope-name": Case(TOKEN, scope(b"events:read+events:read"), 200, None),
    # IN-01/RV-01: introspection and revocation authenticate the client first.
    "introspect-without-client-authentication": Case(
        INTROSPECT, lambda p: post(body=with_token(p)), 401, "invalid_client"
    ),
    "introspect-with-the-access-token-as-bearer": Case(
        INTROSPECT,
        lambda p: post(body=with_token(p), auth=b"Bearer " + p.access_token.encode()),
        401,
        "invalid_client",
    ),
    "introspect-without-token": Case(
        INTROSPECT,
        lambda p: post(body=b"token_type_hint=access_token", auth=p.basic),
        400,
        "invalid_request",
    ),
    "revoke-wrong-secret": Case(
        REVOKE,
        lambda p: post(
            body=with_token(p),
            auth=basic_header(f"{p.client_id}:{wrong_secret_for(p.secret)}".encode()),
        ),
        401,
        "invalid_client",
    ),
    "revoke-empty-token": Case(REVOKE, basic_with(lambda p: b"token="), 400, "invalid_request"),
    "control-revoke-unknown-token-type-hint": Case(
        REVOKE, basic_with(lambda p: with_token(p, b"&token_type_hint=id_token")), 200, None
    ),
    # The same framing rules hold at introspection and revocation.
    "introspect-delete": method("DELETE", INTROSPECT),
    "revoke-get": method("GET", REVOKE),
    "introspect-trace": method("TRACE", INTROSPECT),
    "revoke-connect": method("CONNECT", REVOKE),
    "introspect-multipart-body": Case(
        INTROSPECT,
        basic_with(with_token, content_type=b"multipart/form-data; boundary=b"),
        400,
        "invalid_request",
    ),
    "revoke-json-body": Case(
        REVOKE,
        lambda p: post(
            body=json.dumps({"token": p.access_token}).encode(),
            auth=p.basic,
            content_type=b"application/json",
        ),
        400,
        "invalid_request",
    ),
    "introspect-chunked-body-over-the-limit": Case(
        INTROSPECT,
        basic_with(lambda p: b"", chunks=(b"token=" + b"a" * 5000, b"b" * 5000)),
        400,
        "invalid_request",
    ),
    "revoke-basic-not-base64": Case(
        REVOKE, lambda p: post(body=with_token(p), auth=b"Basic %%%"), 401, "invalid_client"
    ),
    "introspect-basic-and-body-secret": Case(
        INTROSPECT,
        lambda p: post(
            body=with_token(p, b"&client_id=" + p.client_id.encode() + b"&client_secret=x"),
            auth=p.basic,
        ),
        400,
        "invalid_request",
    ),
    "revoke-secret-in-query": Case(
        REVOKE,
        lambda p: post(body=with_token(p), query=b"client_secret=" + p.secret.encode()),
        400,
        "invalid_request",
    ),
    "introspect-authorization-header-twice": Case(
        INTROSPECT,
        lambda p: post(
            body=with_token(p), auth=p.basic, headers=((b"authorization", b"Basic Og=="),)
        ),
        400,
        "invalid_request",
    ),
    "control-introspect-crlf-in-token": Case(
        INTROSPECT,
        basic_with(lambda p: b"token=" + p.access_token.encode() + b"%0D%0AX-Injected:%201"),
        200,
        None,
    ),
    "control-revoke-token-of-8-kib": Case(
        REVOKE, basic_with(lambda p: b"token=" + b"e" * (MAX_BODY - 6)), 200, None
    ),
}


# -- running the catalogue ---------------------------------------------------------------------


@pytest.fixture
async def partner(app: Starlette, client: httpx.AsyncClient) -> Partner:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    client_id, secret = issued.credential.client_id, issued.secret_value
    response = await client.post(
        TOKEN, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return Partner(client_id=client_id, secret=secret, access_token=response.json()["access_token"])


def assert_rfc_error(response: RawResponse, status: int, error: str) -> None:
    """RFC 6749 §5.2 (TE-17, TE-18): the status, a JSON body with the code, the error charset."""
    assert response.status == status, (response.status, response.body[:500])
    assert response.header("content-type") == ["application/json"], response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}, body
    for value in body.values():
        assert isinstance(value, str)
        assert ERROR_CHARSET.fullmatch(value), value
    if status == 401:
        assert response.header("www-authenticate") == ['Basic realm="partner-api", charset="UTF-8"']
    if status == 405:
        assert response.header("allow") == ["POST"]


def assert_success(path: str, response: RawResponse) -> None:
    assert response.status == 200, (response.status, response.body[:500])
    if path == TOKEN:
        body = response.json()
        assert body["token_type"] == "Bearer", body
        assert body["access_token"], body
    elif path == INTROSPECT:
        assert response.json() == {"active": False}
    else:
        assert response.body == b""


def check_answer(case: Case, partner: Partner, response: RawResponse) -> None:
    """TE-01/02/03/05/08/10/11/12/14/17/18, IN-01, RV-01: the error RFC 6749 §5.2 (or RFC
    7009/7662) names, uncacheable, reflecting nothing; a control succeeds."""
    assert response.status != 500, response.body
    if case.error is None:
        assert_success(case.path, response)
    else:
        assert_rfc_error(response, case.status, case.error)
        assert b"access_token" not in response.body
    assert response.header("cache-control") == ["no-store"], response.headers
    assert response.header("pragma") == ["no-cache"], response.headers
    # Header injection: nothing from the request became a header or a cookie of the answer.
    assert not response.header("set-cookie"), response.headers
    assert not response.header("x-injected"), response.headers
    assert b"injected" not in response.body
    assert partner.secret.encode() not in response.body


@pytest.mark.parametrize("path", [TOKEN, INTROSPECT, REVOKE])
async def test_te18_malformed_oauth_request_gets_its_rfc_error_never_a_500(
    app: Starlette, partner: Partner, path: str
) -> None:
    """TE-01/02/03/05/08/10/11/12/14/17/18, IN-01, RV-01: every catalogue case of one endpoint
    gets the error RFC 6749 §5.2 (or RFC 7009/7662) names, uncacheable, reflecting nothing.

    All cases of an endpoint share one database (a fresh one per case would cost a second each
    on PostgreSQL). Each case is sent from an address of its own, so the refusals of one do not
    add up to the brute-force limit (TE-20) of the next; a failure names its case."""
    failures: list[str] = []
    for number, (name, case) in enumerate(CASES.items()):
        if case.path != path:
            continue
        address = f"10.77.{number // 250}.{number % 250 + 1}"
        response = await send_raw(app, case.path, case.build(partner), client=address)
        try:
            check_answer(case, partner, response)
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    assert not failures, "\n\n".join(failures)


def test_the_catalogue_has_at_least_40_refusals_on_every_endpoint() -> None:
    """At least 40 malformed requests, spread over all three endpoints; controls do not count."""
    refusals = [case for case in CASES.values() if case.error is not None]
    assert len(refusals) >= 40
    assert {case.path for case in refusals} == {TOKEN, INTROSPECT, REVOKE}
    assert {case.status for case in refusals} >= {400, 401, 405}


# `str.isdigit()` accepts "²", which `int()` refuses: a Content-Length or a `limit` of "²" must be
# refused wherever a number is read from a header or the query, never turned into a 500.
async def test_lg03_non_ascii_digits_in_numbers_are_refused_not_a_500(
    app: Starlette, partner: Partner
) -> None:
    superscript = "²".encode("latin-1")
    graphql = await send_raw(
        app,
        "/graphql",
        RawRequest(
            headers=((b"content-type", b"application/json"), (b"content-length", superscript)),
            chunks=(b'{"query": "{ __typename }"}',),
        ),
    )
    assert graphql.status == 413, graphql.body
    assert graphql.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    bearer = ((b"authorization", b"Bearer " + partner.access_token.encode()),)
    for limit in (b"%C2%B2", b"%D9%A3"):  # superscript two; Arabic-Indic three
        listed = await send_raw(
            app,
            "/partner/v1/events",
            RawRequest(method="GET", headers=bearer, query=b"limit=" + limit),
        )
        assert listed.status == 400, listed.body
        assert listed.json()["error"] == "invalid_request", listed.body


# -- brute force (TE-20) -----------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


def random_address(network: str) -> str:
    """An address no other test uses, so shared Redis counters start from zero for it."""
    return f"{network}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture(params=["in-memory", "redis"])
async def throttled_app(
    request: pytest.FixtureRequest, app: Starlette, settings: Settings
) -> AsyncIterator[Starlette]:
    """An app with the documented failure limits, counting in process or in Redis (database 15,
    shared with other tests: the keys here hold random client IDs and addresses)."""
    redis_url = REDIS_URL if request.param == "redis" else None
    throttled = create_app(replace(settings, redis_url=redis_url), manage_database=False)
    yield throttled
    redis = throttled.state.services.redis
    if redis is not None:
        await redis.aclose()


async def test_te20_brute_force_is_throttled_while_the_partner_keeps_getting_tokens(
    throttled_app: Starlette, settings: Settings
) -> None:
    """TE-20: an attacker guessing the real partner's secret, then spraying other client IDs, is
    answered 429 with Retry-After once over the documented limits (10 failures per client ID and
    address, 100 per address); all the while the partner, asking from its own address at the same
    time, gets a token every time, and the right secret still works there afterwards."""
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    client_id, secret = issued.credential.client_id, issued.secret_value
    right = basic_header(f"{client_id}:{secret}".encode())
    attacker_address = random_address("198.18")
    partner_address = random_address("198.19")
    per_pair = settings.token_max_failures_per_client_address
    per_address = settings.token_max_failures_per_address
    aimed, sprayed = per_pair + 5, per_address - per_pair + 20

    attacker_statuses: list[int] = []
    partner_statuses: list[int] = []
    retry_after: list[str] = []

    async def attacker() -> None:
        for number in range(aimed + sprayed):
            if number < aimed:
                guess = basic_header(f"{client_id}:{wrong_secret_for(secret)}".encode())
            else:
                sprayed_id = f"pcl_{secrets.token_urlsafe(16)}"
                guess = basic_header(f"{sprayed_id}:{new_client_secret().value}".encode())
            response = await send_raw(
                throttled_app, TOKEN, post(body=GRANT, auth=guess), client=attacker_address
            )
            attacker_statuses.append(response.status)
            if response.status == 429:
                assert_rfc_error(response, 429, "temporarily_unavailable")
                retry_after.extend(response.header("retry-after"))
            await asyncio.sleep(0)

    async def real_partner() -> None:
        for _ in range(40):
            response = await send_raw(
                throttled_app, TOKEN, post(body=GRANT, auth=right), client=partner_address
            )
            partner_statuses.append(response.status)
            await asyncio.sleep(0)

    await asyncio.gather(attacker(), real_partner())

    assert partner_statuses == [200] * 40, partner_statuses
    assert attacker_statuses == (
        [401] * per_pair + [429] * 5 + [401] * (per_address - per_pair) + [429] * 20
    ), attacker_statuses
    window = settings.token_failure_window_seconds
    assert len(retry_after) == 25
    assert all(value.isdigit() and 0 < int(value) <= window for value in retry_after), retry_after
    # The right secret is refused from the attacker's address, and still works from the partner's.
    from_attacker = await send_raw(
        throttled_app, TOKEN, post(body=GRANT, auth=right), client=attacker_address
    )
    assert_rfc_error(from_attacker, 429, "temporarily_unavailable")
    from_partner = await send_raw(
        throttled_app, TOKEN, post(body=GRANT, auth=right), client=partner_address
    )
    assert from_partner.status == 200, from_partner.body
