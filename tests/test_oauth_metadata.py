"""Authorization server metadata (RFC 8414) and the JWKS (RFC 7517): SECURITY.md MD-01..05."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.signing_keys import rotate_signing_key
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.helpers import make_admin, make_credential

METADATA_PATH = "/.well-known/oauth-authorization-server"
CUSTOM_ISSUER = "https://auth.tickets.example"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
PUBLIC_MEMBERS = {
    "EC": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "OKP": {"kty", "crv", "x", "kid", "alg", "use"},
    "RSA": {"kty", "n", "e", "kid", "alg", "use"},
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def metadata_of(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(METADATA_PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def issued_token(client: httpx.AsyncClient) -> str:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize("issuer", [None, CUSTOM_ISSUER])
async def test_md01_issuer_is_identical_to_the_tokens_iss(
    app: Starlette, settings: Settings, issuer: str | None
) -> None:
    configured = settings if issuer is None else replace(settings, issuer=issuer)
    async with serving(configured) as client:
        metadata = await metadata_of(client)
        token = await issued_token(client)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert metadata["issuer"] == claims["iss"] == configured.issuer
    if issuer is not None:
        assert metadata["issuer"] == CUSTOM_ISSUER


async def test_md02_endpoints_are_derived_from_the_issuer(
    app: Starlette, settings: Settings
) -> None:
    async with serving(replace(settings, issuer=CUSTOM_ISSUER)) as client:
        metadata = await metadata_of(client)
    assert metadata["token_endpoint"] == f"{CUSTOM_ISSUER}/oauth/token"
    assert metadata["jwks_uri"] == f"{CUSTOM_ISSUER}/.well-known/jwks.json"
    assert metadata["introspection_endpoint"] == f"{CUSTOM_ISSUER}/oauth/introspect"
    assert metadata["revocation_endpoint"] == f"{CUSTOM_ISSUER}/oauth/revoke"


async def test_md02_advertised_endpoints_are_the_ones_that_answer(
    client: httpx.AsyncClient,
) -> None:
    """A client library that follows the metadata reaches real endpoints, not 404s."""
    metadata = await metadata_of(client)
    token = await issued_token(client)
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        path = urlsplit(metadata[name]).path
        # Unauthenticated: the OAuth endpoint answers with an OAuth error, not a 404.
        response = await client.post(path, data={"token": token, "grant_type": "x"})
        assert response.status_code in {400, 401}, (name, response.status_code)
        assert "error" in response.json(), (name, response.text)
    jwks = await client.get(urlsplit(metadata["jwks_uri"]).path)
    assert jwks.status_code == 200
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid in [key["kid"] for key in jwks.json()["keys"]]


async def test_md03_only_the_client_credentials_grant_is_advertised(
    client: httpx.AsyncClient,
) -> None:
    metadata = await metadata_of(client)
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert "authorization_endpoint" not in metadata


async def test_md04_client_auth_methods_and_scopes_are_listed(client: httpx.AsyncClient) -> None:
    metadata = await metadata_of(client)
    assert metadata["token_endpoint_auth_methods_supported"] == AUTH_METHODS
    assert metadata["introspection_endpoint_auth_methods_supported"] == AUTH_METHODS
    assert metadata["revocation_endpoint_auth_methods_supported"] == AUTH_METHODS
    for endpoint in ("token", "introspection", "revocation"):
        algorithms = metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert algorithms == ["ES256", "EdDSA", "RS256", "PS256"]
    assert metadata["scopes_supported"] == [scope.name for scope in CATALOGUE]


@pytest.mark.parametrize(
    ("algorithm", "kty"), [("ES256", "EC"), ("EdDSA", "OKP"), ("RS256", "RSA")]
)
async def test_md05_jwks_holds_public_members_only(
    db: TortoiseContext, settings: Settings, algorithm: str, kty: str
) -> None:
    await rotate_signing_key(
        algorithm=algorithm, key_encryption_key=settings.key_encryption_key, now=utcnow()
    )
    async with serving(settings) as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"keys"}
    (key,) = body["keys"]
    assert key["kty"] == kty
    assert key["alg"] == algorithm
    assert key["use"] == "sig"
    assert not PRIVATE_MEMBERS & set(key), key
    # Nothing but public members (`key_ops` is public too; see the RFC 7517 §4.3 test below).
    assert PUBLIC_MEMBERS[kty] <= set(key) <= PUBLIC_MEMBERS[kty] | {"key_ops"}, key
    # The published members are a usable verification key of the advertised algorithm.
    assert jwt.PyJWK(key).algorithm_name == algorithm


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
async def test_md05_jwk_does_not_combine_use_with_key_ops(
    db: TortoiseContext, settings: Settings, algorithm: str
) -> None:
    """RFC 7517 §4.3: `use` and `key_ops` SHOULD NOT be used together; every key type is
    published with the same members (`use: sig`) so strict JOSE libraries accept all of them."""
    await rotate_signing_key(
        algorithm=algorithm, key_encryption_key=settings.key_encryption_key, now=utcnow()
    )
    async with serving(settings) as client:
        (key,) = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert key["use"] == "sig"
    assert "key_ops" not in key, key


async def test_md05_jwks_after_rotation_still_publishes_public_members_only(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await rotate_signing_key(
        algorithm="RS256", key_encryption_key=settings.key_encryption_key, now=utcnow()
    )
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert sorted(key["kty"] for key in keys) == ["EC", "RSA"]
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert set(key) <= PUBLIC_MEMBERS[key["kty"]] | {"key_ops"}, key
