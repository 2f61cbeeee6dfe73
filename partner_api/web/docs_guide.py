"""The narrative sections of the developer documentation: quickstart, authentication, scopes and
secrets, plus (from partner_api/web/docs_conventions.py) errors, rate limits, pagination and
idempotency. Values that depend on the deployment (URLs, token lifetime, limits) come from
`Settings`; the scopes and endpoint lists from the catalogue and the OpenAPI document, so the
guide cannot drift from the service.
"""

from __future__ import annotations

import json

from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.docs_automation import ANCHOR as AUTOMATION_ANCHOR
from partner_api.web.docs_automation import TITLE as AUTOMATION_TITLE
from partner_api.web.docs_automation import automating_rotation
from partner_api.web.docs_conventions import errors, idempotency, pagination, rate_limits
from partner_api.web.docs_html import (
    bullet_list,
    code_block,
    esc,
    inline,
    paragraph,
    section,
    table,
)
from partner_api.web.docs_keys import ANCHOR as KEYS_ANCHOR
from partner_api.web.docs_keys import key_pairs
from partner_api.web.docs_reference import Reference
from partner_api.web.docs_restrictions import ANCHOR as RESTRICTIONS_ANCHOR
from partner_api.web.docs_restrictions import TITLE as RESTRICTIONS_TITLE
from partner_api.web.docs_restrictions import event_restrictions


def duration(seconds: int) -> str:
    """900 → "15 minutes"; 604800 → "7 days"; 1 → "1 second"."""
    unit, count = "second", seconds
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            unit, count = name, seconds // size
            break
    return f"{count} {unit}{'' if count == 1 else 's'}"


def quickstart(settings: Settings) -> str:
    token_url, api = settings.token_endpoint, f"{settings.issuer}/partner/v1"
    token_example = {
        "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9…",
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "scope": " ".join(scope.name for scope in CATALOGUE),
    }
    shell = f"""
export CLIENT_ID='pcl_…' CLIENT_SECRET='pcs_…'
export TOKEN_URL={token_url} API={api}

# 1. Exchange the client ID and secret for an access token (HTTP Basic authentication).
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$TOKEN_URL"

# 2. Call the API with the token.
TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$TOKEN_URL" \\
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
curl -s -H "Authorization: Bearer $TOKEN" "$API/me"
"""
    # requests-oauthlib refuses plain http unless told otherwise: say so on a trial setup only.
    insecure = (
        '\nos.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # this server is plain http (a trial)'
        if settings.issuer.startswith("http://")
        else ""
    )
    python = f"""
import os

from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
API = "{api}"{insecure}

session = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID))
session.fetch_token(  # client credentials grant; the secret goes in HTTP Basic
    token_url="{token_url}",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
)
me = session.get(f"{{API}}/me", timeout=10)
me.raise_for_status()
print(me.json()["organisation"]["name"], me.json()["scopes"])
"""
    return section(
        "quickstart",
        "Quickstart",
        paragraph(
            "An administrator of your organisation creates a credential under Settings → "
            "Organisation → Partner API and gives you its client ID and secret. The secret is "
            "shown once: keep it in your secret store."
        )
        + code_block(shell, label="Shell (curl)")
        + code_block(
            json.dumps(token_example, indent=2, ensure_ascii=False), label="Token response"
        )
        + paragraph(
            "The same in Python with a standard OAuth 2.0 client, requests-oauthlib "
            "(`pip install requests-oauthlib`). Any RFC 6749 client library works, e.g. "
            "Authlib's `OAuth2Session`, which also fetches a new token when the old one expires."
        )
        + code_block(python, label="Python (requests-oauthlib)")
        + paragraph(
            "`/me` answers who you are: the credential, its organisation and the scopes your "
            "token carries. requests-oauthlib raises `oauthlib.oauth2.TokenExpiredError` once "
            "the token has expired: call `fetch_token` again and retry. Then continue with the "
            "API reference below."
        ),
    )


def authentication(settings: Settings) -> str:
    ttl = settings.access_token_ttl_seconds
    endpoints = [
        ("Token", settings.token_endpoint, "RFC 6749 §4.4 client credentials grant"),
        ("Introspection", settings.introspection_endpoint, "RFC 7662, your own tokens only"),
        ("Revocation", settings.revocation_endpoint, "RFC 7009"),
        ("Signing keys (JWKS)", settings.jwks_uri, "RFC 7517"),
        (
            "Server metadata",
            f"{settings.issuer}/.well-known/oauth-authorization-server",
            "RFC 8414",
        ),
    ]
    rows = [[esc(name), f"<code>{esc(url)}</code>", esc(note)] for name, url, note in endpoints]
    reuse = (
        f"Within {duration(settings.token_reuse_seconds)}, the same request gets the token it "
        "was just given, with `expires_in` counting down. "
        if settings.token_reuse_seconds
        else ""
    )
    points = [
        "Authenticate to the token endpoint with HTTP Basic (`client_secret_basic`, "
        "recommended) or with `client_id` and `client_secret` in the form body "
        "(`client_secret_post`), never both at once.",
        "Send parameters only in an `application/x-www-form-urlencoded` body (at most 8 KiB): "
        "never in the URL, never twice.",
        "Without `scope` you get every scope the credential holds; pass a space-separated "
        "`scope` to narrow it (it can never widen).",
        f"Access tokens are valid for {duration(ttl)} (`expires_in`: {ttl} seconds). There are "
        f"no refresh tokens: ask for a new token shortly before the old one expires. {reuse}",
        "Send the token only in the header `Authorization: Bearer <token>`; a token in the URL "
        "query is refused.",
        "Tokens are signed JWTs (RFC 9068, `typ: at+jwt`). Treat them as opaque; if you do "
        "verify them, use the keys of the JWKS.",
        "Revoking the credential, ending its secret or revoking the token (RFC 7009) stops the "
        "token at once: the next call is a 401 `invalid_token`.",
        f"Failed authentications are throttled: after "
        f"{settings.token_max_failures_per_client_address} failures per client ID and address "
        f"within {duration(settings.token_failure_window_seconds)} the token endpoint answers "
        f"429 with `Retry-After`. A credential may get {settings.token_quota_per_minute} tokens "
        "per minute, unless its organisation set another quota (see Rate limits): reuse a token "
        "until it expires.",
    ]
    items = [inline(point) for point in points]
    items.insert(
        3,
        inline("Pass `authorization_details` (RFC 9396) to limit a token to some events: see ")
        + f'<a href="#{esc(RESTRICTIONS_ANCHOR)}">{esc(RESTRICTIONS_TITLE)}</a>.',
    )
    return section(
        "authentication",
        "Authentication and token lifetime",
        table(["Endpoint", "URL", "Standard"], rows) + bullet_list(items),
    )


def scopes(reference: Reference) -> str:
    needs = reference.scope_endpoints()
    rows = [
        [
            f'<code class="scope">{esc(scope.name)}</code>',
            esc(scope.description),
            "<br>".join(
                f"<code>{esc(method)} {esc(path)}</code>"
                for method, path in needs.get(scope.name, [])
            ),
        ]
        for scope in CATALOGUE
    ]
    return section(
        "scopes",
        "Scopes",
        paragraph(
            "A credential with Full access holds every scope below, including scopes added "
            "later; a Fine-grained credential holds the ones its administrator chose. Each "
            "endpoint needs one scope; `GET /partner/v1/me` works with any valid token."
        )
        + table(["Scope", "Allows", "Endpoints"], rows, css="scopes"),
    )


def secrets(settings: Settings) -> str:
    formats = [
        ["Client ID", "<code>pcl_</code> + 22 base62", "Identifies the credential; not secret."],
        [
            "Client secret",
            "<code>pcs_</code> + 61 base62",
            "256 random bits and a checksum; shown once.",
        ],
    ]
    steps = [
        "Keep the secret in a secret manager or environment variable, never in source code, "
        "logs or tickets. Secret scanners can find leaked ones with "
        r"`\bpcs_[0-9A-Za-z]{61}\b`.",
        "The last characters carry a checksum, so a mistyped or truncated secret fails at once.",
        "To rotate, your administrator regenerates the secret with a grace period (default "
        f"{duration(settings.rotation_grace_default_minutes * 60)}, at most "
        f"{duration(settings.rotation_grace_max_minutes * 60)}): the new secret is shown once and "
        "the previous one keeps working until the grace period ends.",
        "Deploy the new secret everywhere your integration runs. The admin page shows when each "
        "secret was last used: once the old one is no longer used, it can be ended early.",
        "Tokens obtained with a secret stop working when that secret ends.",
        "If a secret leaks, have it regenerated with no grace period (the old one stops at once) "
        "or the credential revoked. Rotate routinely, e.g. every few months.",
    ]
    return section(
        "secrets",
        "Secret format and rotation",
        table(["Value", "Format", "Notes"], [[esc(a), b, esc(c)] for a, b, c in formats])
        + bullet_list(inline(step) for step in steps),
    )


def guide(settings: Settings, reference: Reference) -> list[tuple[str, str, str]]:
    """(anchor, title, HTML) of every guide section, in page order."""
    parts = [
        ("quickstart", "Quickstart", quickstart(settings)),
        ("authentication", "Authentication", authentication(settings)),
        (KEYS_ANCHOR, "Key pairs", key_pairs(settings)),
        ("scopes", "Scopes", scopes(reference)),
        (RESTRICTIONS_ANCHOR, "Event restrictions", event_restrictions(settings)),
        ("errors", "Errors", errors()),
        ("rate-limits", "Rate limits", rate_limits(settings)),
        ("pagination", "Pagination", pagination(settings, reference)),
        ("idempotency", "Idempotency", idempotency(settings, reference)),
        ("secrets", "Secrets and rotation", secrets(settings)),
        (AUTOMATION_ANCHOR, AUTOMATION_TITLE, automating_rotation(settings)),
    ]
    return parts
