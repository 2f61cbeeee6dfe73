"""Signing keys: rotation end to end (AT-06), shared by every process, refused when missing in
production, and encrypted at rest (CR-08).

Rotation is exercised twice: in-process with `rotate_signing_key`, and with the real console
script `partner-api rotate-signing-key` run as another process against a database file, so the
running app can only learn of the new key through the change feed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.access_tokens import InvalidAccessToken, verify_access_token
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.signing_keys import (
    SigningKeyError,
    decrypt_private_key,
    ensure_signing_key,
    load_key_ring,
    rotate_signing_key,
)
from models.oauth import SigningKey
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.settings import ConfigurationError, Settings
from partner_api.web.app import create_app
from tests.database import empty_database
from tests.helpers import (
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    Partner,
    make_admin,
    make_credential,
)

CLI = Path(sys.executable).parent / "partner-api"
CLIENT_ADDRESS = ("203.0.113.10", 51234)
LEEWAY_SECONDS = 30


def authorization_server(app: Starlette) -> AuthorizationServer:
    server: AuthorizationServer = app.state.services.authorization_server
    return server


async def new_partner() -> Partner:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    return Partner(issued.credential.client_id, issued.secret_value)


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


async def published_kids(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return [key["kid"] for key in response.json()["keys"]]


async def verifies(server: AuthorizationServer, token: str) -> bool:
    return await server.check_access_token(token) is not None


async def verifies_with_pyjwt_against_jwks(
    client: httpx.AsyncClient, token: str, settings: Settings
) -> None:
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    (jwk,) = [key for key in keys if key["kid"] == kid_of(token)]
    jwt.decode(
        token,
        jwt.PyJWK(jwk),
        algorithms=[jwk["alg"]],
        audience=settings.audience,
        issuer=settings.issuer,
    )


async def retire_long_ago(server: AuthorizationServer, kid: str, seconds: int) -> None:
    """Pretend the key was retired `seconds` ago, and let the server re-read its keys."""
    await SigningKey.filter(kid=kid).update(retired_at=utcnow() - timedelta(seconds=seconds))
    await server.reload_keys()


async def test_at06_rotation_keeps_old_tokens_valid_until_they_have_all_expired(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    server = authorization_server(app)
    partner = await new_partner()
    token_a = await partner.token(client)
    old_kid = kid_of(token_a)
    assert await published_kids(client) == [old_kid]

    new_key = await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    token_b = await partner.token(client)
    assert kid_of(token_b) == new_key.kid != old_kid
    assert sorted(await published_kids(client)) == sorted([old_kid, new_key.kid])
    # Token A, signed by the retired key, is still good everywhere it is checked.
    assert await verifies(server, token_a)
    assert (await partner.introspect(client, token_a))["active"] is True
    await verifies_with_pyjwt_against_jwks(client, token_a, settings)
    await verifies_with_pyjwt_against_jwks(client, token_b, settings)

    ttl = settings.access_token_ttl_seconds
    # Retired recently enough that a token it signed may still be within exp + leeway: kept.
    await retire_long_ago(server, old_kid, ttl + LEEWAY_SECONDS - 5)
    assert sorted(await published_kids(client)) == sorted([old_kid, new_key.kid])
    assert await verifies(server, token_a)

    # Every token it signed has expired (plus leeway): the old key drops out, and with it token A.
    await retire_long_ago(server, old_kid, ttl + LEEWAY_SECONDS + 1)
    assert await published_kids(client) == [new_key.kid]
    assert not await verifies(server, token_a)
    with pytest.raises(InvalidAccessToken):
        verify_access_token(
            token_a, key_ring=server.key_ring, issuer=settings.issuer, audience=settings.audience
        )
    assert await partner.introspect(client, token_a) == {"active": False}
    assert (await partner.introspect(client, token_b))["active"] is True


async def test_at06_a_second_process_uses_the_same_keys(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    """Several processes share the keys: a token from one verifies on another, and both
    publish the same JWKS."""
    other = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=other, client=CLIENT_ADDRESS)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as second:
        partner = await new_partner()
        token = await partner.token(client)
        assert await verifies(authorization_server(other), token)
        assert (await partner.introspect(second, token))["active"] is True
        assert await published_kids(second) == await published_kids(client)
        assert kid_of(await partner.token(second)) == kid_of(token)


# -- the console script, as another process ------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


async def run_cli(*args: str, env: dict[str, str], cwd: Path, seconds: float = 60) -> Run:
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"partner-api {' '.join(args)} did not exit in {seconds} s") from None
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


@asynccontextmanager
async def cli_database(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    async with empty_database(tmp_path / "keys.sqlite3") as url:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": url,
            "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
            "PARTNER_API_KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY.decode(),
            "PARTNER_API_DATA_DIR": str(tmp_path / "data"),
        }
        yield url, env


def printed_kid(run: Run) -> str:
    assert run.code == 0, run
    assert run.stderr == "", run.stderr
    words = run.stdout.split()
    kid = words[words.index("key") + 1]
    assert "PRIVATE" not in run.stdout
    return kid


@asynccontextmanager
async def app_on(
    url: str, settings: Settings
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """A running app (one process) on the database at `url`."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        app = create_app(settings, manage_database=False)
        transport = httpx.ASGITransport(app=app, client=CLIENT_ADDRESS)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


async def test_at06_rotate_signing_key_cli_end_to_end(tmp_path: Path) -> None:
    async with cli_database(tmp_path) as (url, env):
        first_kid = printed_kid(await run_cli("rotate-signing-key", env=env, cwd=tmp_path))
        settings = Settings(
            secret_peppers=(TEST_PEPPER,),
            key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
            database_url=url,
        )
        async with app_on(url, settings) as (app, client):
            server = authorization_server(app)
            partner = await new_partner()
            token_a = await partner.token(client)
            assert kid_of(token_a) == first_kid

            second_kid = printed_kid(await run_cli("rotate-signing-key", env=env, cwd=tmp_path))
            assert second_kid != first_kid
            # The app hears of the new key only through the change feed: poll for it.
            started = time.monotonic()
            while kid_of(token_b := await partner.token(client)) != second_kid:
                assert time.monotonic() - started < 1.0, "new key not picked up within 1 s"
                await asyncio.sleep(0.05)

            assert sorted(await published_kids(client)) == sorted([first_kid, second_kid])
            assert await verifies(server, token_a)
            assert (await partner.introspect(client, token_a))["active"] is True
            await verifies_with_pyjwt_against_jwks(client, token_a, settings)
            await verifies_with_pyjwt_against_jwks(client, token_b, settings)

            ttl = settings.access_token_ttl_seconds
            await retire_long_ago(server, first_kid, ttl + LEEWAY_SECONDS + 1)
            assert await published_kids(client) == [second_kid]
            assert not await verifies(server, token_a)
            assert await partner.introspect(client, token_a) == {"active": False}
            assert (await partner.introspect(client, token_b))["active"] is True


async def test_at06_cr08_production_serve_refuses_to_start_without_a_signing_key(
    tmp_path: Path,
) -> None:
    async with cli_database(tmp_path) as (url, env):
        production = {
            **env,
            "PARTNER_API_ENV": "production",
            "PARTNER_API_ISSUER": "https://partners.example.com",
        }
        run = await run_cli("serve", "--port", "0", env=production, cwd=tmp_path, seconds=30)
        assert run.code == 1, run
        assert "Traceback" not in run.stderr
        assert run.stderr.startswith("partner-api: error:"), run.stderr
        assert "rotate-signing-key" in run.stderr
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            assert await SigningKey.all().count() == 0


async def test_cr08_serve_refuses_to_start_when_the_key_encryption_key_cannot_open_the_keys(
    tmp_path: Path,
) -> None:
    async with cli_database(tmp_path) as (_, env):
        printed_kid(await run_cli("rotate-signing-key", env=env, cwd=tmp_path))
        other_key = {
            **env,
            "PARTNER_API_ENV": "production",
            "PARTNER_API_ISSUER": "https://partners.example.com",
            "PARTNER_API_KEY_ENCRYPTION_KEY": "a-different-key-encryption-key-0123456789",
        }
        run = await run_cli("serve", "--port", "0", env=other_key, cwd=tmp_path, seconds=30)
        assert run.code == 1, run
        assert "Traceback" not in run.stderr
        assert run.stderr.startswith("partner-api: error:"), run.stderr
        assert "PARTNER_API_KEY_ENCRYPTION_KEY" in run.stderr


# -- production refusals and encryption at rest --------------------------------------------------


def test_cr08_production_without_a_key_encryption_key_is_refused(tmp_path: Path) -> None:
    environ = {
        "PARTNER_API_ENV": "production",
        "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
        "PARTNER_API_DATA_DIR": str(tmp_path / "data"),
    }
    with pytest.raises(ConfigurationError, match="PARTNER_API_KEY_ENCRYPTION_KEY"):
        Settings.from_env(environ)
    # No development key was quietly generated in its place.
    assert not (tmp_path / "data").exists()


def test_cr08_development_keeps_one_generated_key_encryption_key(tmp_path: Path) -> None:
    environ = {
        "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
        "PARTNER_API_DATA_DIR": str(tmp_path / "data"),
    }
    first = Settings.from_env(environ).key_encryption_key
    assert len(first) >= 32
    assert Settings.from_env(environ).key_encryption_key == first


async def test_at06_without_a_key_production_start_fails_and_development_creates_one(
    db: TortoiseContext, settings: Settings
) -> None:
    with pytest.raises(SigningKeyError, match="rotate-signing-key"):
        await ensure_signing_key(
            algorithm="ES256",
            key_encryption_key=settings.key_encryption_key,
            now=utcnow(),
            create=False,
        )
    assert await SigningKey.all().count() == 0
    for _ in range(2):
        await ensure_signing_key(
            algorithm="ES256",
            key_encryption_key=settings.key_encryption_key,
            now=utcnow(),
            create=True,
        )
    # Created once; the second call (another process starting) finds it.
    assert await SigningKey.all().count() == 1
    await ensure_signing_key(
        algorithm="ES256",
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
        create=False,
    )


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
async def test_cr08_private_keys_are_stored_encrypted(
    db: TortoiseContext, settings: Settings, algorithm: str
) -> None:
    row = await rotate_signing_key(
        algorithm=algorithm, key_encryption_key=settings.key_encryption_key, now=utcnow()
    )
    ring = await load_key_ring(
        key_encryption_key=settings.key_encryption_key,
        token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        now=utcnow(),
    )
    assert ring.active is not None
    assert ring.active.kid == row.kid
    private = ring.active.private_key
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stored = (await SigningKey.get(kid=row.kid)).encrypted_private_key
    assert "PRIVATE KEY" not in stored
    assert pem.decode() not in stored
    assert base64.b64encode(der).decode() not in stored
    assert der.hex() not in stored
    assert "d" not in row.public_jwk

    with pytest.raises(SigningKeyError):
        decrypt_private_key(
            stored, kid=row.kid, key_encryption_key=b"another-key-encryption-key-0123456789abc"
        )
    with pytest.raises(SigningKeyError):
        # The ciphertext is bound to its kid: it cannot be moved to another key's row.
        decrypt_private_key(
            stored, kid="another-kid", key_encryption_key=settings.key_encryption_key
        )
    with pytest.raises(SigningKeyError):
        await load_key_ring(
            key_encryption_key=b"another-key-encryption-key-0123456789abc",
            token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            now=utcnow(),
        )
    opened = decrypt_private_key(
        stored, kid=row.kid, key_encryption_key=settings.key_encryption_key
    )
    assert (
        opened.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        == der
    )


# -- changing the key-encryption key -------------------------------------------------------------

NEW_KEY_ENCRYPTION_KEY = "a-new-key-encryption-key-Zq7wN2xK9vB4mT6yR1sD8f"


async def test_cr08_key_encryption_key_change_with_previous_keys_and_reencryption(
    tmp_path: Path,
) -> None:
    """A new key-encryption key with the old one listed as previous keeps every process able to
    open the stored keys; `reencrypt-signing-keys` then seals them with the new key, after which
    the previous key can be dropped. Without the previous key, serving refuses to start."""
    async with cli_database(tmp_path) as (url, env):
        first_kid = printed_kid(await run_cli("rotate-signing-key", env=env, cwd=tmp_path))
        second_kid = printed_kid(await run_cli("rotate-signing-key", env=env, cwd=tmp_path))
        changed = {**env, "PARTNER_API_KEY_ENCRYPTION_KEY": NEW_KEY_ENCRYPTION_KEY}

        settings_new_only = Settings.from_env(changed)
        with_previous = {
            **changed,
            "PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS": TEST_KEY_ENCRYPTION_KEY.decode(),
        }
        settings_with_previous = Settings.from_env(with_previous)
        ttl = timedelta(seconds=settings_new_only.access_token_ttl_seconds)
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            with pytest.raises(SigningKeyError):
                await load_key_ring(
                    key_encryption_key=settings_new_only.key_encryption_key,
                    token_ttl=ttl,
                    now=utcnow(),
                )
            ring = await load_key_ring(
                key_encryption_key=settings_with_previous.key_encryption_key,
                previous_key_encryption_keys=settings_with_previous.previous_key_encryption_keys,
                token_ttl=ttl,
                now=utcnow(),
            )
            assert ring.active is not None
            assert ring.active.kid == second_kid
            assert {key.kid for key in ring.published} == {first_kid, second_kid}

        run = await run_cli("reencrypt-signing-keys", env=with_previous, cwd=tmp_path)
        assert run.code == 0, run
        assert "Re-encrypted 2 signing key(s)" in run.stdout
        again = await run_cli("reencrypt-signing-keys", env=with_previous, cwd=tmp_path)
        assert "Re-encrypted 0 signing key(s)" in again.stdout

        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            ring = await load_key_ring(
                key_encryption_key=settings_new_only.key_encryption_key,
                token_ttl=ttl,
                now=utcnow(),
            )
            assert {key.kid for key in ring.published} == {first_kid, second_kid}
            with pytest.raises(SigningKeyError):
                await load_key_ring(
                    key_encryption_key=TEST_KEY_ENCRYPTION_KEY, token_ttl=ttl, now=utcnow()
                )


def test_cr08_previous_key_encryption_keys_are_parsed_and_not_shown() -> None:
    settings = Settings.from_env(
        {
            "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
            "PARTNER_API_KEY_ENCRYPTION_KEY": NEW_KEY_ENCRYPTION_KEY,
            "PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS": TEST_KEY_ENCRYPTION_KEY.decode(),
        }
    )
    assert settings.previous_key_encryption_keys == (TEST_KEY_ENCRYPTION_KEY,)
    assert TEST_KEY_ENCRYPTION_KEY.decode() not in repr(settings)
    with pytest.raises(ConfigurationError, match="previous key-encryption keys"):
        Settings.from_env(
            {
                "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
                "PARTNER_API_KEY_ENCRYPTION_KEY": NEW_KEY_ENCRYPTION_KEY,
                "PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS": "short",
            }
        )


async def test_at06_concurrent_rotations_leave_exactly_one_active_key(db: TortoiseContext) -> None:
    """Rotations from several processes at once (an operator's command during a deploy) never
    leave two active keys (meaningful on PostgreSQL, where they run truly concurrently)."""
    await asyncio.gather(
        *(
            rotate_signing_key(
                algorithm="ES256", key_encryption_key=TEST_KEY_ENCRYPTION_KEY, now=utcnow()
            )
            for _ in range(6)
        )
    )
    assert await SigningKey.filter(retired_at__isnull=True).count() == 1
    assert await SigningKey.all().count() == 6
