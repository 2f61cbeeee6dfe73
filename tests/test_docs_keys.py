"""The guide's private_key_jwt section: its key generation and its Authlib example run unmodified
against a live `partner-api serve`, with the public JWK Set the example prints registered through
the same code path as the admin page."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext

from auth.admins.identity import Actor
from auth.partners.client_keys import ALLOWED_ALGORITHMS
from models.enums import AccessLevel, ClientAuthMethod
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.scopes import CATALOGUE
from partner_api.operations.client_key_registration import clean_registration
from partner_api.operations.credentials import CredentialDraft, create_key_credential
from partner_api.web.docs_keys import ANCHOR, AUTHLIB, GENERATE, PUBLIC_JWKS
from tests.database import empty_database
from tests.live_process import free_port, run_cli, start_serve, stop, wait_until_ready
from tests.test_docs_page import Page, code_blocks, fetch_page

PEPPER = "keys-docs-pepper-0123456789abcdefghijklmnopqr"
KEY_ENCRYPTION_KEY = "keys-docs-key-encryption-key-0123456789abcdef"


@dataclass(frozen=True)
class KeysServer:
    issuer: str
    database_url: str
    directory: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def keys_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeysServer]:
    directory = tmp_path_factory.mktemp("keys-docs")
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
        log = directory / "serve.log"
        process = await start_serve(env, directory, port, log)
        try:
            await wait_until_ready(process, issuer, log)
            yield KeysServer(issuer, database_url, directory)
        finally:
            await stop(process)


def run_in(directory: Path, command: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - our own snippet, run like a partner would
        command,
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def register(database_url: str, public_jwks: object) -> str:
    """A key credential with `public_jwks`, as `createCredential` makes one; its client ID."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        organisation = await Organisation.create(name="Key Tickets")
        keys = clean_registration(
            ClientAuthMethod.PRIVATE_KEY_JWT, public_jwks, None, OutboundPolicy(production=False)
        )
        assert keys is not None
        credential = await create_key_credential(
            TenantScope(organisation.id),
            Actor(identity=None, ip_address=None, user_agent="tests"),
            CredentialDraft(
                name="Key box office",
                contact_email="ops@keys.example",
                access_level=AccessLevel.FULL,
            ),
            keys,
            now=utcnow(),
        )
        return credential.client_id


@pytest.mark.asyncio(loop_scope="module")
async def test_the_private_key_jwt_example_runs_unmodified_against_a_real_server(
    keys_server: KeysServer,
) -> None:
    """Copy, paste, run: make a key with openssl, print its public JWK Set, register it, get a
    token with Authlib's PrivateKeyJWT and call the API."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    async with httpx.AsyncClient(base_url=keys_server.issuer, trust_env=False) as http:
        page = await http.get("/docs")
    blocks = code_blocks(page.text)
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    directory = keys_server.directory / "partner"
    directory.mkdir()

    await asyncio.to_thread(
        run_in, directory, ["bash", "-euo", "pipefail", "-c", blocks[GENERATE]], environment
    )
    printed = await asyncio.to_thread(
        run_in, directory, [sys.executable, "-c", blocks[PUBLIC_JWKS]], environment
    )
    public_jwks = json.loads(printed)
    assert "d" not in public_jwks["keys"][0], "the printed set must hold the public key only"
    client_id = await register(keys_server.database_url, public_jwks)

    output = await asyncio.to_thread(
        run_in,
        directory,
        [sys.executable, "-c", blocks[AUTHLIB]],
        {**environment, "CLIENT_ID": client_id},
    )

    scopes = [scope.name for scope in CATALOGUE]
    assert output.splitlines() == [f"Key Tickets {scopes}"]


async def test_the_guide_explains_key_pair_credentials(client: httpx.AsyncClient) -> None:
    response, _ = await fetch_page(client)
    match = re.search(rf'<section id="{ANCHOR}" class="guide">.*?</section>', response.text, re.S)
    assert match is not None
    text = Page(match.group(0)).plain_text
    for algorithm in ALLOWED_ALGORITHMS:
        assert algorithm in text
    assert "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" in text
    assert "invalid_client" in text
    assert {GENERATE, PUBLIC_JWKS, AUTHLIB} <= set(code_blocks(match.group(0)))
