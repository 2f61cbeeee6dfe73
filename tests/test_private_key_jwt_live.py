"""private_key_jwt against live `partner-api serve` processes on loopback: Authlib's own
`PrivateKeyJWT` client authentication and a requests + PyJWT client obtain tokens, and one
assertion cannot be spent twice across two processes sharing a PostgreSQL database (PK-01).

The credentials (with their public keys) are written in this process before the servers start;
the private keys stay here. Like tests/test_third_party_clients.py the clients are synchronous
(requests) and run in worker threads.

Authlib signs every assertion with `exp` = `iat` + 3600 s and offers no way to change that
through `PrivateKeyJWT`, so the single-process server accepts assertions up to an hour ahead
(PARTNER_API_ASSERTION_MAX_SECONDS=3600); the default, 300 s, refuses Authlib's assertions.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
import requests
from authlib.integrations.requests_client import (  # type: ignore[import-untyped]
    OAuth2Session as AuthlibSession,
)
from authlib.oauth2.rfc7523 import PrivateKeyJWT  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey
from tortoise.context import TortoiseContext

from auth.partners.client_assertions import JWT_BEARER
from models.organisation import Organisation
from partner_api.foundation.database import tortoise_config
from tests.database import empty_database, on_postgres
from tests.key_clients import KeyPair, assertion, key_pair, make_key_credential
from tests.live_process import (
    free_port,
    run_cli,
    server_base_environment,
    start_serve,
    stop,
    wait_until_ready,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POSTGRES_ONLY = pytest.mark.skipif(
    not on_postgres(),
    reason="needs PostgreSQL: several instances share a database server, not a SQLite file "
    "(set TEST_DATABASE_URL)",
)
HTTP_TIMEOUT_SECONDS = 10.0
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@dataclass(frozen=True)
class KeyClient:
    client_id: str
    pair: KeyPair


@dataclass(frozen=True)
class Instance:
    issuer: str

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth/token"


async def _seed(database_url: str) -> KeyClient:
    pair = key_pair("ES256")
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        organisation = await Organisation.create(name="Key Tickets")
        credential = await make_key_credential(organisation=organisation, keys=(pair,))
    return KeyClient(credential.client_id, pair)


def _environment(directory: Path, database_url: str, issuer: str, **extra: str) -> dict[str, str]:
    env = server_base_environment(
        directory,
        database_url,
        redis_url="",
        pepper="key-clients-pepper-0123456789abcdefghijklmnop",
        key_encryption_key="key-clients-key-encryption-key-0123456789abcd",
        issuer=issuer,
    )
    # No Redis: the replay check is the database's unique key, shared by every process.
    del env["REDIS_URL"]
    return {**env, **extra}


async def _started(
    env: dict[str, str], directory: Path, port: int, name: str
) -> asyncio.subprocess.Process:
    log = directory / f"{name}.log"
    process = await start_serve(env, directory, port, log)
    await wait_until_ready(process, f"http://127.0.0.1:{port}", log)
    return process


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def single(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Instance, KeyClient]]:
    directory = tmp_path_factory.mktemp("key-clients")
    async with empty_database(directory / "live.sqlite3") as database_url:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = _environment(
            directory, database_url, issuer, PARTNER_API_ASSERTION_MAX_SECONDS="3600"
        )
        await run_cli(env, directory, "migrate")
        client = await _seed(database_url)
        process = await _started(env, directory, port, "serve")
        try:
            yield Instance(issuer), client
        finally:
            await stop(process)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _joserfc_key(pair: KeyPair) -> ECKey:
    pem = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ECKey.import_key(pem, {"kid": pair.kid})


async def test_pk01_authlib_private_key_jwt_gets_a_token_and_revokes_it(
    single: tuple[Instance, KeyClient],
) -> None:
    """Authlib's PrivateKeyJWT, ES256 (Authlib's default is RS256, so `alg` is passed), with the
    key's `kid` in the header; each request signs a new assertion with a fresh `jti`."""
    instance, client = single
    sent: list[str] = []

    def fetch() -> tuple[dict[str, Any], int]:
        with AuthlibSession(
            client.client_id,
            _joserfc_key(client.pair),
            token_endpoint_auth_method="private_key_jwt",
            revocation_endpoint_auth_method="private_key_jwt",
            default_timeout=HTTP_TIMEOUT_SECONDS,
        ) as session:
            session.register_client_auth_method(
                PrivateKeyJWT(instance.token_url, alg="ES256", headers={"kid": client.pair.kid})
            )
            session.hooks["response"].append(
                lambda response, *args, **kwargs: sent.append(str(response.request.body))
            )
            token: dict[str, Any] = dict(
                session.fetch_token(instance.token_url, grant_type="client_credentials")
            )
            again = dict(session.fetch_token(instance.token_url, grant_type="client_credentials"))
            assert again["access_token"]
            revoked = session.revoke_token(
                f"{instance.issuer}/oauth/revoke", token=token["access_token"]
            )
        return token, revoked.status_code

    token, revoked_status = await asyncio.to_thread(fetch)
    assert token["token_type"] == "Bearer"
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == client.client_id
    assert revoked_status == 200
    assert all("client_assertion_type=" in body for body in sent), sent
    async with httpx.AsyncClient(base_url=instance.issuer, trust_env=False) as http:
        me = await http.get(
            "/partner/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert me.status_code == 401  # revoked with an assertion, too


async def test_pk01_requests_with_a_pyjwt_assertion_gets_a_token(
    single: tuple[Instance, KeyClient],
) -> None:
    instance, client = single

    def fetch() -> requests.Response:
        token = assertion(client.pair, client.client_id, audience=instance.token_url)
        return requests.post(
            instance.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": token,
            },
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    response = await asyncio.to_thread(fetch)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@POSTGRES_ONLY
async def test_pk01_an_assertion_spent_in_one_process_is_refused_by_another(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("key-replay")
    async with empty_database(directory / "unused.sqlite3") as database_url:
        ports = [free_port(), free_port()]
        # One public name for both instances, as behind a load balancer: the assertion's
        # audience is the same token endpoint whichever instance receives it.
        issuer = "http://partner-api.key-replay.test"
        env = _environment(directory, database_url, issuer)
        await run_cli(env, directory, "migrate")
        client = await _seed(database_url)
        processes = [
            await _started(env, directory, port, f"serve-{index}")
            for index, port in enumerate(ports)
        ]
        try:
            token = assertion(
                client.pair,
                client.client_id,
                audience=f"{issuer}/oauth/token",
                jti=f"once-{uuid.uuid4()}",
                exp=int(time.time()) + 120,
            )
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": JWT_BEARER,
                "client_assertion": token,
            }
            answers = []
            for port in (*ports, ports[0]):
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", trust_env=False
                ) as http:
                    answers.append(await http.post("/oauth/token", data=form))
        finally:
            for process in processes:
                await stop(process)
    assert answers[0].status_code == 200, answers[0].text
    for refused in answers[1:]:
        assert refused.status_code == 401, refused.text
        assert refused.json() == {
            "error": "invalid_client",
            "error_description": "Client authentication failed.",
        }
