"""CR-10 through the real console script: keys that do not match the database stop `serve`,
`seed-demo` and `create-admin` with one line naming the setting; a pepper rotation that still lists
the original serves; and development keys do not depend on the working directory.

Each test gets its own database: an SQLite file under tmp_path, or a freshly created PostgreSQL
database when `TEST_DATABASE_URL` points at PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from auth.tokens import CLIENT_SECRET_PATTERN
from tests.database import empty_database
from tests.live_process import CLI, Run, free_port, run_command, stop, wait_until_ready

PEPPER = "cr10-original-pepper-0123456789abcdefghijkl"
NEW_PEPPER = "cr10-new-pepper-Zq7wN2xK9vB4mT6yR1sD8fG3hJ"
KEY_ENCRYPTION_KEY = "cr10-original-kek-0123456789abcdefghijklmn"
OTHER_KEY_ENCRYPTION_KEY = "cr10-other-kek-Hs8dF2gJ4kL6zX1cV3bN5mQ7wE9"
PASSWORD = "a long enough password"


def refused_naming(result: Run, setting: str) -> None:
    assert result.code == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"partner-api: error: {setting} does not match"), result.stderr
    for key in (PEPPER, NEW_PEPPER, KEY_ENCRYPTION_KEY, OTHER_KEY_ENCRYPTION_KEY):
        assert key not in result.stderr


def base_environment(home: Path, database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
    }


def seeded_client(result: Run) -> tuple[str, str]:
    assert result.code == 0, result
    client_id = re.search(r"client_id=(pcl_\w+)", result.stdout)
    secret = CLIENT_SECRET_PATTERN.search(result.stdout)
    assert client_id is not None, result.stdout
    assert secret is not None, result.stdout
    return client_id.group(1), secret.group(0)


@asynccontextmanager
async def serving(env: dict[str, str], cwd: Path) -> AsyncIterator[str]:
    """`partner-api serve` on a free loopback port, run in `cwd`; yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = cwd / "serve.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(CLI),
            "serve",
            "--port",
            str(port),
            stdout=output,
            stderr=output,
            env={**env, "PARTNER_API_ISSUER": base_url},
            cwd=cwd,
        )
    try:
        await wait_until_ready(process, base_url, log)
        yield base_url
    finally:
        await stop(process)


async def token_status(base_url: str, client_id: str, secret: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0, trust_env=False) as http:
        response = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    return response.status_code


async def test_cr10_a_different_key_encryption_key_stops_seed_demo_create_admin_and_serve(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path / "cr10.sqlite3") as url:
        env = {
            **base_environment(tmp_path, url),
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        }
        seeded_client(await run_command(env, tmp_path, "seed-demo"))
        other = {**env, "PARTNER_API_KEY_ENCRYPTION_KEY": OTHER_KEY_ENCRYPTION_KEY}
        setting = "PARTNER_API_KEY_ENCRYPTION_KEY"
        refused_naming(await run_command(other, tmp_path, "seed-demo"), setting)
        admin = ("create-admin", "--email", "ops@acme.example", "--organisation", "Acme")
        refused_naming(
            await run_command(other, tmp_path, *admin, "--password-stdin", stdin=PASSWORD + "\n"),
            setting,
        )
        refused_naming(await run_command(other, tmp_path, "serve", "--port", "0"), setting)


async def test_cr10_serve_refuses_a_different_pepper_and_serves_a_rotation_listing_the_original(
    tmp_path: Path,
) -> None:
    async with empty_database(tmp_path / "cr10.sqlite3") as url:
        env = {
            **base_environment(tmp_path, url),
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        }
        client_id, secret = seeded_client(await run_command(env, tmp_path, "seed-demo"))

        changed = {**env, "PARTNER_API_SECRET_PEPPER": NEW_PEPPER}
        refused_naming(
            await run_command(changed, tmp_path, "serve", "--port", "0"),
            "PARTNER_API_SECRET_PEPPER",
        )

        rotated = {**changed, "PARTNER_API_PREVIOUS_SECRET_PEPPERS": PEPPER}
        async with serving(rotated, tmp_path) as base_url:
            assert await token_status(base_url, client_id, secret) == 200


async def test_cr10_seed_demo_in_one_directory_and_serve_in_another_agree(tmp_path: Path) -> None:
    """No key in the environment and no PARTNER_API_DATA_DIR: the generated development keys
    must not depend on the working directory, or the secret printed by `seed-demo` is refused
    by a server started elsewhere."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    async with empty_database(tmp_path / "db" / "partner-api.sqlite3") as url:
        env = base_environment(tmp_path / "home", url)
        client_id, secret = seeded_client(await run_command(env, first, "seed-demo"))
        async with serving(env, second) as base_url:
            assert await token_status(base_url, client_id, secret) == 200
