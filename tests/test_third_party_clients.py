"""Real, unmodified third-party OAuth 2.0 clients against a live server on loopback.

One `partner-api serve` subprocess per module, on 127.0.0.1 and a free port, over an SQLite file
under a temporary directory or a fresh PostgreSQL database (tests.database.empty_database). The
organisation and credentials are created in this process, on the same database and with the same
pepper as the server, before the server starts; their secrets are kept in memory.

The clients are synchronous (requests); every call runs in a worker thread. oauthlib refuses plain
http unless OAUTHLIB_INSECURE_TRANSPORT is set: that is the one concession to loopback, the client
code is used as its documentation shows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import pytest_asyncio
import requests
from authlib.integrations.base_client.errors import (  # type: ignore[import-untyped]
    OAuthError,
)
from authlib.integrations.requests_client import (  # type: ignore[import-untyped]
    OAuth2Session as AuthlibSession,
)
from oauthlib.oauth2 import BackendApplicationClient  # type: ignore[import-untyped]
from oauthlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InvalidClientError,
    InvalidScopeError,
)
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]
from tortoise.context import TortoiseContext

from auth.partners.keyed_hash import KeyedHasher
from models.enums import AccessLevel
from models.organisation import Organisation
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.scopes import CATALOGUE
from tests.database import empty_database
from tests.helpers import make_credential, wrong_secret_for
from tests.live_process import CLI, free_port, run_cli, stop, wait_until_ready

pytestmark = pytest.mark.asyncio(loop_scope="module")

PEPPER = "live-server-pepper-0123456789abcdefghijklmnop"
KEY_ENCRYPTION_KEY = "live-server-key-encryption-key-0123456789abcdef"
HTTP_TIMEOUT_SECONDS = 10.0
ALL_SCOPES = [scope.name for scope in CATALOGUE]
FINE_GRAINED_SCOPES = ["events:read", "orders:read"]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    credential_id: str


@dataclass(frozen=True)
class LiveServer:
    issuer: str
    full: Client
    fine_grained: Client
    other: Client

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.issuer}/oauth/introspect"

    @property
    def revocation_url(self) -> str:
        return f"{self.issuer}/oauth/revoke"

    @property
    def audience(self) -> str:
        return f"{self.issuer}/partner/v1"


async def _seed(database_url: str) -> tuple[Client, Client, Client]:
    """The credentials the tests use, created with the server's pepper."""
    hasher = KeyedHasher((PEPPER.encode(),))
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        organisation = await Organisation.create(name="Live Tickets")
        issued = [
            await make_credential(organisation=organisation, name="Full sync", hasher=hasher),
            await make_credential(
                organisation=organisation,
                name="Read only",
                access_level=AccessLevel.FINE_GRAINED,
                scopes=FINE_GRAINED_SCOPES,
                hasher=hasher,
            ),
            await make_credential(organisation=organisation, name="Other", hasher=hasher),
        ]
    full, fine_grained, other = (
        Client(
            client_id=item.credential.client_id,
            client_secret=item.secret_value,
            credential_id=str(item.credential.id),
        )
        for item in issued
    )
    return full, fine_grained, other


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-server")
    async with empty_database(directory / "live.sqlite3") as database_url:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(directory),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            "PARTNER_API_DATA_DIR": str(directory),
            "PARTNER_API_ISSUER": issuer,
        }
        await run_cli(env, directory, "migrate")
        full, fine_grained, other = await _seed(database_url)

        stdout_path = directory / "serve.stdout"
        stderr_path = directory / "serve.stderr"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                str(CLI),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                stdout=stdout,
                stderr=stderr,
                env=env,
                cwd=directory,
            )
        try:
            await wait_until_ready(process, issuer, stderr_path)
            yield LiveServer(issuer=issuer, full=full, fine_grained=fine_grained, other=other)
        finally:
            await stop(process)


@pytest.fixture(autouse=True)
def _loopback_client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain http on loopback for oauthlib; no proxy between the clients and 127.0.0.1."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class RecordedRequests:
    """Keeps the last request a requests session sent, to show which auth method was used."""

    def __init__(self) -> None:
        self.last: requests.PreparedRequest | None = None
        self.last_response: requests.Response | None = None

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last = response.request
        self.last_response = response


def _unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


# -- requests-oauthlib ------------------------------------------------------------------------


def _oauthlib_fetch(
    server: LiveServer, client: Client, *, secret: str | None = None, scope: list[str] | None = None
) -> tuple[dict[str, Any], RecordedRequests]:
    recorded = RecordedRequests()
    backend = BackendApplicationClient(client_id=client.client_id, scope=scope)
    with OAuth2Session(client=backend) as session:
        session.hooks["response"].append(recorded.hook)
        token: dict[str, Any] = session.fetch_token(
            token_url=server.token_url,
            client_id=client.client_id,
            client_secret=client.client_secret if secret is None else secret,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
    return token, recorded


async def test_te15_requests_oauthlib_backend_application_client_gets_a_token(
    live_server: LiveServer,
) -> None:
    """TE-08/TE-15: requests-oauthlib's documented client-credentials flow works unmodified."""
    token, recorded = await asyncio.to_thread(_oauthlib_fetch, live_server, live_server.full)

    assert token["token_type"] == "Bearer"
    # 900 s, or a second less when the token was reused within the 1 s reuse window.
    assert 899 <= token["expires_in"] <= 900
    assert isinstance(token["access_token"], str)
    assert token["scope"] == ALL_SCOPES  # oauthlib splits the scope string into a list
    assert "refresh_token" not in token
    assert recorded.last is not None
    assert recorded.last.headers["Authorization"].startswith("Basic ")  # client_secret_basic
    claims = _unverified_claims(token["access_token"])
    assert claims["client_id"] == live_server.full.client_id
    assert claims["scope"] == " ".join(ALL_SCOPES)


async def test_te05_requests_oauthlib_scope_narrowing(live_server: LiveServer) -> None:
    """TE-05/TE-07: a requested subset is granted exactly, and oauthlib sees no scope change."""
    token, _ = await asyncio.to_thread(
        _oauthlib_fetch, live_server, live_server.full, scope=["orders:read", "events:read"]
    )

    assert token["token_type"] == "Bearer"
    assert sorted(token["scope"]) == ["events:read", "orders:read"]
    claims = _unverified_claims(token["access_token"])
    assert sorted(claims["scope"].split(" ")) == ["events:read", "orders:read"]


async def test_te05_requests_oauthlib_fine_grained_credential_gets_its_own_scopes(
    live_server: LiveServer,
) -> None:
    """TE-06: no scope → exactly what a fine-grained credential holds; narrowing still works."""
    token, _ = await asyncio.to_thread(_oauthlib_fetch, live_server, live_server.fine_grained)
    assert token["scope"] == FINE_GRAINED_SCOPES

    narrowed, _ = await asyncio.to_thread(
        _oauthlib_fetch, live_server, live_server.fine_grained, scope=["orders:read"]
    )
    assert narrowed["scope"] == ["orders:read"]
    assert _unverified_claims(narrowed["access_token"])["scope"] == "orders:read"


async def test_te05_requests_oauthlib_widening_raises_invalid_scope(
    live_server: LiveServer,
) -> None:
    """TE-05: asking for a scope the credential lacks is an error oauthlib understands."""
    with pytest.raises(InvalidScopeError) as raised:
        await asyncio.to_thread(
            _oauthlib_fetch, live_server, live_server.fine_grained, scope=["orders:write"]
        )
    assert raised.value.error == "invalid_scope"


async def test_te14_requests_oauthlib_wrong_secret_raises_invalid_client(
    live_server: LiveServer,
) -> None:
    """TE-14/TE-18: our error body is parsed by a standard client as `invalid_client`."""
    wrong = wrong_secret_for(live_server.full.client_secret)
    with pytest.raises(InvalidClientError) as raised:
        await asyncio.to_thread(_oauthlib_fetch, live_server, live_server.full, secret=wrong)
    assert raised.value.error == "invalid_client"


async def test_te14_requests_oauthlib_unknown_client_raises_the_same_error(
    live_server: LiveServer,
) -> None:
    """TE-14: an unknown client ID and secret are refused as `invalid_client`, 401 + Basic."""
    stranger = Client(
        client_id="pk_live_unknown_client",
        client_secret=live_server.other.client_secret[::-1],
        credential_id="",
    )
    recorded = RecordedRequests()

    def fetch() -> None:
        backend = BackendApplicationClient(client_id=stranger.client_id)
        with OAuth2Session(client=backend) as session:
            session.hooks["response"].append(recorded.hook)
            session.fetch_token(
                token_url=live_server.token_url,
                client_id=stranger.client_id,
                client_secret=stranger.client_secret,
                timeout=HTTP_TIMEOUT_SECONDS,
            )

    with pytest.raises(InvalidClientError):
        await asyncio.to_thread(fetch)
    response = recorded.last_response
    assert response is not None
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["error"] == "invalid_client"


# -- Authlib ----------------------------------------------------------------------------------


def _authlib_session(client: Client, method: str) -> Any:
    return AuthlibSession(
        client.client_id,
        client.client_secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        default_timeout=HTTP_TIMEOUT_SECONDS,
    )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_te08_te09_authlib_fetches_a_token(live_server: LiveServer, method: str) -> None:
    """TE-08/TE-09: Authlib's OAuth2Session works with either client authentication method."""
    recorded = RecordedRequests()

    def fetch() -> dict[str, Any]:
        with _authlib_session(live_server.full, method) as session:
            session.hooks["response"].append(recorded.hook)
            token: dict[str, Any] = dict(
                session.fetch_token(live_server.token_url, grant_type="client_credentials")
            )
        return token

    token = await asyncio.to_thread(fetch)

    assert token["token_type"] == "Bearer"
    # 900 s, or a second less when the token was reused within the 1 s reuse window.
    assert 899 <= token["expires_in"] <= 900
    assert token["scope"] == " ".join(ALL_SCOPES)
    assert "refresh_token" not in token
    assert _unverified_claims(token["access_token"])["client_id"] == live_server.full.client_id
    sent = recorded.last
    assert sent is not None
    body = sent.body.decode() if isinstance(sent.body, bytes) else str(sent.body)
    if method == "client_secret_basic":
        assert sent.headers["Authorization"].startswith("Basic ")
        assert "client_secret" not in body
    else:
        assert "Authorization" not in sent.headers
        assert "client_secret=" in body


async def test_te14_authlib_wrong_secret_raises_invalid_client(live_server: LiveServer) -> None:
    """TE-14: Authlib reports our refusal as the OAuth error `invalid_client`."""
    wrong = Client(
        client_id=live_server.other.client_id,
        client_secret=live_server.full.client_secret,
        credential_id=live_server.other.credential_id,
    )

    def fetch() -> None:
        with _authlib_session(wrong, "client_secret_post") as session:
            session.fetch_token(live_server.token_url, grant_type="client_credentials")

    with pytest.raises(OAuthError) as raised:
        await asyncio.to_thread(fetch)
    assert raised.value.error == "invalid_client"


def _introspect(session: Any, server: LiveServer, token: str) -> dict[str, Any]:
    response = session.introspect_token(server.introspection_url, token=token)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_in01_rv01_authlib_introspect_then_revoke(
    live_server: LiveServer, method: str
) -> None:
    """IN-01/RV-01: Authlib's introspect_token sees the token active, revoke_token revokes it,
    and introspection then answers `{"active": false}` only."""

    def round_trip() -> tuple[dict[str, Any], int, dict[str, Any]]:
        with _authlib_session(live_server.full, method) as session:
            token = session.fetch_token(live_server.token_url, grant_type="client_credentials")
            access_token: str = token["access_token"]
            before = _introspect(session, live_server, access_token)
            revoked = session.revoke_token(live_server.revocation_url, token=access_token)
            after = _introspect(session, live_server, access_token)
        return before, revoked.status_code, after

    before, revoke_status, after = await asyncio.to_thread(round_trip)

    assert before["active"] is True
    assert before["client_id"] == live_server.full.client_id
    assert before["token_type"] == "Bearer"
    assert before["scope"] == " ".join(ALL_SCOPES)
    assert before["iss"] == live_server.issuer
    assert revoke_status == 200
    assert after == {"active": False}


async def test_in04_rv03_authlib_other_client_can_neither_see_nor_revoke_a_token(
    live_server: LiveServer,
) -> None:
    """IN-04/RV-03: another client's introspection says inactive, its revocation is a no-op."""

    def scenario() -> tuple[dict[str, Any], int, dict[str, Any]]:
        with (
            _authlib_session(live_server.full, "client_secret_basic") as owner,
            _authlib_session(live_server.other, "client_secret_basic") as intruder,
        ):
            token = owner.fetch_token(live_server.token_url, grant_type="client_credentials")
            access_token: str = token["access_token"]
            seen_by_intruder = _introspect(intruder, live_server, access_token)
            revoked = intruder.revoke_token(live_server.revocation_url, token=access_token)
            seen_by_owner = _introspect(owner, live_server, access_token)
        return seen_by_intruder, revoked.status_code, seen_by_owner

    seen_by_intruder, revoke_status, seen_by_owner = await asyncio.to_thread(scenario)

    assert seen_by_intruder == {"active": False}
    assert revoke_status == 200
    assert seen_by_owner["active"] is True


# -- PyJWT ------------------------------------------------------------------------------------


async def test_md01_at01_pyjwt_verifies_the_token_from_the_metadata_jwks_uri(
    live_server: LiveServer,
) -> None:
    """MD-01/AT-01/AT-02: the metadata's jwks_uri lets PyJWKClient verify an access token."""
    token, _ = await asyncio.to_thread(_oauthlib_fetch, live_server, live_server.full)
    access_token: str = token["access_token"]

    def verify() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str | None]:
        with requests.Session() as http:
            http.trust_env = False
            response = http.get(
                f"{live_server.issuer}/.well-known/oauth-authorization-server",
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            metadata: dict[str, Any] = response.json()
        jwks_client = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=False, timeout=10)
        signing_key = jwks_client.get_signing_key_from_jwt(access_token)
        claims: dict[str, Any] = jwt.decode(
            access_token,
            signing_key.key,
            algorithms=["ES256"],
            audience=live_server.audience,
            issuer=metadata["issuer"],
        )
        header: dict[str, Any] = jwt.get_unverified_header(access_token)
        return metadata, claims, header, signing_key.key_id

    metadata, claims, header, key_id = await asyncio.to_thread(verify)

    assert metadata["issuer"] == live_server.issuer
    assert metadata["jwks_uri"] == f"{live_server.issuer}/.well-known/jwks.json"
    assert metadata["token_endpoint"] == live_server.token_url
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] == key_id
    assert claims["iss"] == live_server.issuer
    assert claims["aud"] == live_server.audience
    assert claims["client_id"] == live_server.full.client_id
    assert claims["sub"] != live_server.full.client_id  # a credential namespace (AT-04)
    assert claims["sub"].endswith(live_server.full.client_id)
    assert claims["credential_id"] == live_server.full.credential_id
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


async def test_at01_pyjwt_rejects_a_token_from_another_issuer(live_server: LiveServer) -> None:
    """AT-01: verification is real — the wrong expected issuer makes PyJWT refuse the token."""
    token, _ = await asyncio.to_thread(_oauthlib_fetch, live_server, live_server.full)
    access_token: str = token["access_token"]

    def verify_with_wrong_issuer() -> None:
        jwks_client = jwt.PyJWKClient(
            f"{live_server.issuer}/.well-known/jwks.json", cache_keys=False, timeout=10
        )
        signing_key = jwks_client.get_signing_key_from_jwt(access_token)
        jwt.decode(
            access_token,
            signing_key.key,
            algorithms=["ES256"],
            audience=live_server.audience,
            issuer="http://127.0.0.1:1",
        )

    with pytest.raises(jwt.InvalidIssuerError):
        await asyncio.to_thread(verify_with_wrong_issuer)
