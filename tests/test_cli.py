"""The `partner-api` console script, run as a subprocess (PRODUCT.md §3.4).

Each test gets its own database: an SQLite file under tmp_path, or a freshly created PostgreSQL
database when `TEST_DATABASE_URL` points at PostgreSQL. Errors must be one line on stderr.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from auth.admins.passwords import verify_password
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import CLIENT_SECRET_PATTERN
from models.admin import AdminUser, Membership
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.database import empty_database
from tests.helpers import gql, operation, verify_client_secret

CLI = Path(sys.executable).parent / "partner-api"
PEPPER = "cli-test-pepper-0123456789abcdefghijklmnop"
GOOD_PASSWORD = "a long enough password"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Cli:
    env: dict[str, str]
    cwd: Path
    database_url: str

    async def run(self, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Run:
        process = await asyncio.create_subprocess_exec(
            str(CLI),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env if env is None else env,
            cwd=self.cwd,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
        assert process.returncode is not None
        return Run(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[Cli]:
    async with empty_database(tmp_path / "cli.sqlite3") as url:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": url,
            "PARTNER_API_DATA_DIR": str(tmp_path / "data"),
            "PARTNER_API_SECRET_PEPPER": PEPPER,
        }
        yield Cli(env=env, cwd=tmp_path, database_url=url)


def _assert_one_line_error(run: Run, code: int = 1) -> str:
    assert run.code == code, run
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("partner-api: error:"), run.stderr
    return lines[0]


async def _login(email: str, password: str) -> dict[str, object]:
    """Log in through the real app's GraphQL `login` against the CLI's database."""
    app = create_app(Settings(secret_peppers=(PEPPER.encode(),)), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = await gql(client, operation("Login"), {"email": email, "password": password})
    result: dict[str, object] = body["data"]["login"]
    return result


async def test_migrate_exits_zero(cli: Cli) -> None:
    run = await cli.run("migrate")
    assert run.code == 0, run
    assert "up to date" in run.stdout
    assert run.stderr == ""


async def test_create_admin_then_log_in(cli: Cli) -> None:
    run = await cli.run(
        "create-admin",
        "--email",
        "Ops@Acme.example",
        "--organisation",
        "Acme Tickets",
        "--role",
        "OWNER",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\n",
    )
    assert run.code == 0, run
    assert "OWNER" in run.stdout
    assert "Acme Tickets" in run.stdout
    assert GOOD_PASSWORD not in run.stdout + run.stderr

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(cli.database_url))
        user = await AdminUser.get(email="ops@acme.example")
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, GOOD_PASSWORD)
        membership = await Membership.get(user=user).select_related("organisation")
        assert membership.role.value == "OWNER"
        assert membership.organisation.name == "Acme Tickets"

        result = await _login("ops@acme.example", GOOD_PASSWORD)
        assert result["__typename"] == "LoginSuccess", result
        assert result["viewer"] == {
            "user": {"email": "ops@acme.example"},
            "organisation": {"id": str(membership.organisation.id), "name": "Acme Tickets"},
            "role": "OWNER",
        }


async def test_create_admin_with_a_short_password_is_a_one_line_error(cli: Cli) -> None:
    run = await cli.run(
        "create-admin",
        "--email",
        "ops@acme.example",
        "--organisation",
        "Acme Tickets",
        "--password-stdin",
        stdin="short\n",
    )
    line = _assert_one_line_error(run)
    assert "password" in line
    assert run.stdout == ""


async def test_create_admin_with_an_invalid_email_names_the_admin_email(cli: Cli) -> None:
    run = await cli.run(
        "create-admin",
        "--email",
        "not-an-email",
        "--organisation",
        "Acme Tickets",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\n",
    )
    line = _assert_one_line_error(run)
    assert "e-mail" in line
    # This is the administrator's e-mail, not a credential's contact e-mail.
    assert "contact" not in line.lower(), line


async def test_create_admin_with_an_unknown_role_is_a_usage_error(cli: Cli) -> None:
    run = await cli.run(
        "create-admin",
        "--email",
        "ops@acme.example",
        "--organisation",
        "Acme Tickets",
        "--role",
        "SUPERUSER",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\n",
    )
    assert run.code == 2, run
    assert "Traceback" not in run.stderr
    assert "SUPERUSER" in run.stderr
    assert run.stdout == ""


async def test_seed_demo_prints_login_and_secret_once_and_can_reset_the_password(
    cli: Cli,
) -> None:
    first = await cli.run("seed-demo")
    assert first.code == 0, first
    login = re.search(r"(owner@demo\.example) / (\S+)", first.stdout)
    assert login is not None, first.stdout
    email, password = login.groups()
    client_id = re.search(r"client_id=(pcl_\w+)", first.stdout)
    assert client_id is not None, first.stdout
    printed_secrets = CLIENT_SECRET_PATTERN.findall(first.stdout)
    assert len(printed_secrets) == 1, first.stdout

    second = await cli.run("seed-demo")
    assert second.code == 0, second
    assert "already" in second.stdout
    assert "owner@demo.example" in second.stdout
    assert CLIENT_SECRET_PATTERN.search(second.stdout) is None
    assert password not in second.stdout

    reset = await cli.run("seed-demo", "--reset-password")
    assert reset.code == 0, reset
    new_login = re.search(r"owner@demo\.example / (\S+)", reset.stdout)
    assert new_login is not None, reset.stdout
    new_password = new_login.group(1)
    assert new_password != password
    assert CLIENT_SECRET_PATTERN.search(reset.stdout) is None

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(cli.database_url))
        # The printed secret is real: it verifies for the printed client ID.
        verified = await verify_client_secret(
            client_id.group(1),
            printed_secrets[0],
            hasher=KeyedHasher((PEPPER.encode(),)),
            now=utcnow(),
        )
        assert verified is not None
        assert verified.credential.name == "Box office sync"

        refused = await _login(email, password)
        assert refused["__typename"] != "LoginSuccess", refused
        accepted = await _login(email, new_password)
        assert accepted["__typename"] == "LoginSuccess", accepted


async def test_cr08_production_without_a_pepper_is_a_one_line_error(
    cli: Cli, tmp_path: Path
) -> None:
    env = {key: value for key, value in cli.env.items() if key != "PARTNER_API_SECRET_PEPPER"}
    env["PARTNER_API_ENV"] = "production"
    run = await cli.run("migrate", env=env)
    line = _assert_one_line_error(run)
    assert "PARTNER_API_SECRET_PEPPER" in line
    assert not (tmp_path / "data" / "secret-pepper").exists()


async def test_unreachable_database_is_a_one_line_error(cli: Cli) -> None:
    env = {**cli.env, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/partner_api"}
    run = await cli.run("migrate", env=env)
    line = _assert_one_line_error(run)
    assert "database" in line


async def test_unsupported_database_url_is_a_one_line_error(cli: Cli) -> None:
    """A DATABASE_URL for a backend whose driver is not installed (MySQL) must not crash."""
    env = {**cli.env, "DATABASE_URL": "mysql://app@127.0.0.1:3306/partner_api"}
    run = await cli.run("migrate", env=env)
    _assert_one_line_error(run)
