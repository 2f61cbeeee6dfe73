"""Production configuration: what `PARTNER_API_ENV=production` refuses and turns on.

Refusals (CR-08): missing, short or placeholder keys and peppers, one value reused as pepper and
key-encryption key, an http issuer. Turned on: HSTS, Secure session cookies, GraphiQL and
introspection off (GQ-02/03). Everywhere: nosniff, frame denial and a no-op CSP on API answers, and
the client address taken from `X-Forwarded-For` only behind a configured trusted proxy (TE-22).
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.signing_keys import rotate_signing_key
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import ConfigurationError, Settings
from partner_api.web.app import create_app
from tests.helpers import admin_token, create_via_graphql, gql, make_admin, operation

ISSUER = "https://partners.example.com"
PEPPER = "pepper-Zq7wN2xK9vB4mT6yR1sD8fG3hJ5kL0pA"
KEK = "kek-Hs8dF2gJ4kL6zX1cV3bN5mQ7wE9rT0yU"
PROXY_NETWORK = "10.0.0.0/8"
PROXY_ADDRESS = "10.1.2.3"
PARTNER_ADDRESS = "198.51.100.7"


def production(**overrides: str) -> dict[str, str]:
    return {
        "PARTNER_API_ENV": "production",
        "PARTNER_API_ISSUER": ISSUER,
        "PARTNER_API_SECRET_PEPPER": PEPPER,
        "PARTNER_API_KEY_ENCRYPTION_KEY": KEK,
        **overrides,
    }


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(environ)
    return str(raised.value)


def test_cr08_production_accepts_a_complete_configuration() -> None:
    settings = Settings.from_env(production())
    assert settings.production
    assert settings.issuer == ISSUER
    assert settings.log_format == "json"


def test_production_requires_an_https_issuer() -> None:
    message = refusal(production(PARTNER_API_ISSUER="http://partners.example.com"))
    assert "PARTNER_API_ISSUER" in message
    assert "https" in message
    # The default issuer (http on loopback) is a development value.
    without_issuer = production()
    del without_issuer["PARTNER_API_ISSUER"]
    assert "PARTNER_API_ISSUER" in refusal(without_issuer)
    # Development keeps its http default.
    assert Settings.from_env({"PARTNER_API_SECRET_PEPPER": PEPPER}).issuer.startswith("http://")


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("PARTNER_API_SECRET_PEPPER", "PARTNER_API_SECRET_PEPPER"),
        ("PARTNER_API_KEY_ENCRYPTION_KEY", "PARTNER_API_KEY_ENCRYPTION_KEY"),
    ],
)
def test_cr08_production_refuses_missing_keys(missing: str, named: str, tmp_path: Any) -> None:
    environ = production(PARTNER_API_DATA_DIR=str(tmp_path / "data"))
    del environ[missing]
    assert named in refusal(environ)
    assert not (tmp_path / "data").exists(), "production must never generate a key"


@pytest.mark.parametrize(
    "variable", ["PARTNER_API_SECRET_PEPPER", "PARTNER_API_KEY_ENCRYPTION_KEY"]
)
@pytest.mark.parametrize("placeholder", ["x" * 40, "0" * 48, "abababababababababababababababab"])
def test_cr08_production_refuses_placeholder_keys(variable: str, placeholder: str) -> None:
    message = refusal(production(**{variable: placeholder}))
    assert variable in message
    assert "placeholder" in message
    assert placeholder not in message, "a refused key is never echoed"


def test_cr08_placeholder_keys_are_allowed_in_development_only() -> None:
    settings = Settings.from_env(
        {"PARTNER_API_SECRET_PEPPER": "x" * 40, "PARTNER_API_KEY_ENCRYPTION_KEY": "y" * 40}
    )
    assert not settings.production


def test_cr08_production_refuses_the_pepper_as_key_encryption_key() -> None:
    message = refusal(production(PARTNER_API_KEY_ENCRYPTION_KEY=PEPPER))
    assert "PARTNER_API_KEY_ENCRYPTION_KEY" in message
    assert PEPPER not in message


def test_gq02_gq03_production_turns_graphiql_and_introspection_off() -> None:
    settings = Settings.from_env(production())
    assert settings.graphiql is False
    assert settings.introspection is False


def test_production_settings_repr_shows_no_key_material() -> None:
    text = repr(Settings.from_env(production(PARTNER_API_METRICS_TOKEN="metrics-token-0123456789")))
    for secret in (PEPPER, KEK, "metrics-token-0123456789"):
        assert secret not in text


# -- the running app ----------------------------------------------------------------------------


def production_settings(**changes: Any) -> Settings:
    return replace(Settings.from_env(production()), **changes)


async def app_for(settings: Settings) -> Starlette:
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    return create_app(settings, manage_database=False)


def http_client(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 51234))
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


@pytest.fixture
async def production_client(db: TortoiseContext) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(await app_for(production_settings()), "203.0.113.10") as client:
        yield client


async def test_production_sends_hsts_and_the_security_headers_on_every_kind_of_answer(
    production_client: httpx.AsyncClient,
) -> None:
    answers = [
        await production_client.get("/healthz"),
        await production_client.get("/partner/v1/me"),  # 401
        await production_client.post("/oauth/token", data={"grant_type": "client_credentials"}),
        await production_client.get("/no-such-path"),  # 404
        await production_client.post("/graphql", json={"query": "{ __typename }"}),
        await production_client.get("/.well-known/jwks.json"),
    ]
    for answer in answers:
        headers = answer.headers
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_pages_keep_their_own_strict_content_security_policy(
    production_client: httpx.AsyncClient,
) -> None:
    page = await production_client.get("/settings/organisation/partner-api")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "require-trusted-types-for 'script'" in policy
    assert page.headers.get_list("content-security-policy") == [policy], "one policy, not two"
    assert page.headers["strict-transport-security"].startswith("max-age=")
    docs = await production_client.get("/docs")
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"


async def test_development_sends_no_hsts(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert "strict-transport-security" not in answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_hsts_can_be_turned_off_for_a_proxy_that_adds_its_own(db: TortoiseContext) -> None:
    app = await app_for(production_settings(hsts_seconds=0))
    async with http_client(app, "203.0.113.10") as client:
        assert "strict-transport-security" not in (await client.get("/healthz")).headers


async def test_gq09_production_session_cookie_is_secure_httponly_and_strict(
    production_client: httpx.AsyncClient,
) -> None:
    await make_admin(email="owner@acme.example")
    response = await production_client.post(
        "/graphql",
        json={
            "query": operation("Login"),
            "variables": {
                "email": "owner@acme.example",
                "password": "correct horse battery staple",
            },
        },
    )
    assert response.json()["data"]["login"]["__typename"] == "LoginSuccess"
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


async def test_gq02_gq03_production_app_serves_no_graphiql_and_no_introspection(
    production_client: httpx.AsyncClient,
) -> None:
    ide = await production_client.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code != 200 or "graphiql" not in ide.text.lower()
    body = (
        await production_client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    ).json()
    assert body.get("data") is None
    assert body["errors"]


# -- client address behind proxies (TE-22) -------------------------------------------------------


async def partner_behind_allowlist(client: httpx.AsyncClient) -> tuple[str, str]:
    session = await admin_token(client)
    created = await create_via_graphql(client, session, ipAllowlist=[f"{PARTNER_ADDRESS}/32"])
    assert created["__typename"] == "CredentialCreated", created
    return created["credential"]["clientId"], created["clientSecret"]


async def token_status(
    client: httpx.AsyncClient, client_id: str, secret: str, **headers: str
) -> int:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        headers=headers,
    )
    return response.status_code


async def test_te22_forwarded_for_is_honoured_only_from_a_trusted_proxy(
    db: TortoiseContext,
) -> None:
    proxies = (ipaddress.ip_network(PROXY_NETWORK),)
    settings = replace(production_settings(trusted_proxies=proxies), token_reuse_seconds=0)
    app = await app_for(settings)
    forwarded = {"X-Forwarded-For": PARTNER_ADDRESS}
    async with http_client(app, PROXY_ADDRESS) as via_proxy:
        client_id, secret = await partner_behind_allowlist(via_proxy)
        # Through the trusted proxy, the forwarded address is the partner's: allowed.
        assert await token_status(via_proxy, client_id, secret, **forwarded) == 200
        # The proxy's own address is not on the allowlist.
        assert await token_status(via_proxy, client_id, secret) == 401
    async with http_client(app, "192.0.2.50") as direct:
        # A caller that is not a trusted proxy cannot claim the partner's address.
        assert await token_status(direct, client_id, secret, **forwarded) == 401


async def test_te22_without_trusted_proxies_forwarded_for_is_ignored(db: TortoiseContext) -> None:
    app = await app_for(replace(production_settings(), token_reuse_seconds=0))
    async with http_client(app, PROXY_ADDRESS) as client:
        client_id, secret = await partner_behind_allowlist(client)
        headers = {"X-Forwarded-For": PARTNER_ADDRESS}
        assert await token_status(client, client_id, secret, **headers) == 401
    async with http_client(app, PARTNER_ADDRESS) as partner:
        assert await token_status(partner, client_id, secret) == 200


async def test_viewer_works_in_production(production_client: httpx.AsyncClient) -> None:
    session = await admin_token(production_client)
    body = await gql(production_client, operation("Viewer"), token=session)
    assert body["data"]["viewer"]["role"] == "ADMIN"
