"""The automation recipe (docs/automation.md): docs/examples/rotate_credential.py run as a CI job
would run it, in its own process, against the app served on a loopback port; and the `/docs`
section that shows its operations and core loop.

The server under test settles a rotation in seconds: `safeToEnd` waits one access-token lifetime
plus one last-used write interval (16 minutes by default), here `TOKEN_TTL_SECONDS` + 0. Those
two are not both settable from the environment (`PARTNER_API_ACCESS_TOKEN_TTL_SECONDS` is at
least 60 and the write interval is fixed), so the app is built from `Settings` and served by
uvicorn in the test's own event loop instead of a `partner-api serve` process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from graphql.type import GraphQLUnionType
from starlette.applications import Starlette

from graphql import build_schema, parse, print_ast, validate
from models.enums import Role
from partner_api.foundation.settings import Settings
from partner_api.web.docs_automation import (
    ANCHOR,
    CORE_LABEL,
    OPERATIONS_LABEL,
    SHOWN_FUNCTIONS,
    TITLE,
)
from tests.helpers import (
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    create_via_graphql,
    gql,
    login,
    make_admin,
    operation,
)
from tests.live_process import Run, free_port
from tests.local_server import serve_locally
from tests.test_docs_page import Page, code_blocks, fetch_page

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "examples" / "rotate_credential.py"
SCHEMA = ROOT / "graphql" / "schema.graphql"
TOKEN_TTL_SECONDS = 3
GRACE_MINUTES = 30
# The script's exit codes (its `Exit`) the tests expect, written out: CI jobs read them.
OK, NOT_AUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, NOT_ENDED, STORE_FAILED = 0, 3, 4, 5, 9, 10
EXIT_CODES = {
    "OK": OK,
    "NOT_AUTHENTICATED": NOT_AUTHENTICATED,
    "PERMISSION_DENIED": PERMISSION_DENIED,
    "NOT_FOUND": NOT_FOUND,
    "NOT_ENDED": NOT_ENDED,
    "STORE_FAILED": STORE_FAILED,
}


@dataclass(frozen=True)
class ScriptToken:
    value: str
    # How the audit trail names whoever acts with this token (`AuditEvent.actor`).
    actor: dict[str, str]


async def admin_token_for_script(
    http: httpx.AsyncClient, *, role: Role = Role.ADMIN, email: str = "ci@acme.example"
) -> ScriptToken:
    """The PARTNER_API_TOKEN the script runs with: an admin API token of `role`, created by an
    OWNER with `createApiToken` as docs/automation.md says; the audit trail names it as actor."""
    await make_admin(email=email, role=Role.OWNER)
    session = await login(http, email=email)
    expires_at = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    name = f"ci rotation {role.value.lower()}"
    body = await gql(
        http,
        operation("CreateApiToken"),
        {"input": {"name": name, "role": role.value, "expiresAt": expires_at}},
        token=session,
    )
    created = body["data"]["createApiToken"]
    assert created["__typename"] == "ApiTokenCreated", body
    token: str = created["token"]
    assert token.startswith("pat_")
    return ScriptToken(token, {"type": "API_TOKEN", "label": f"{name} (API token of {email})"})


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(port: int) -> Settings:
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        issuer=f"http://127.0.0.1:{port}",
        token_reuse_seconds=0,
        access_token_ttl_seconds=TOKEN_TTL_SECONDS,
        last_used_write_interval_seconds=0,
    )


@pytest.fixture
async def live(app: Starlette, port: int) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served on 127.0.0.1:`port`, where the script reaches it too."""
    async with (
        serve_locally(app, port=port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http,
    ):
        yield http


@dataclass(frozen=True)
class Rotatable:
    id: str
    client_id: str
    secret: str


async def credential(http: httpx.AsyncClient, token: ScriptToken) -> Rotatable:
    """A credential whose integration has used its secret, as one in production would have."""
    created = await create_via_graphql(http, token.value)
    assert created["__typename"] == "CredentialCreated", created
    node = created["credential"]
    made = Rotatable(node["id"], node["clientId"], created["clientSecret"])
    assert await token_status(http, made, made.secret) == 200
    return made


async def token_status(http: httpx.AsyncClient, made: Rotatable, secret: str) -> int:
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(made.client_id, secret)
    )
    return response.status_code


async def start_script(
    http: httpx.AsyncClient, token: str, *args: str, stdout: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PARTNER_API_URL": str(http.base_url).rstrip("/"),
        "PARTNER_API_TOKEN": token,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        *args,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )


async def finish(process: asyncio.subprocess.Process, stdout: bytes = b"") -> Run:
    try:
        rest, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("the script did not exit in 60 s") from None
    assert process.returncode is not None
    return Run(process.returncode, (stdout + (rest or b"")).decode(), stderr.decode())


async def run_script(http: httpx.AsyncClient, token: str, *args: str) -> Run:
    return await finish(await start_script(http, token, *args))


def waits(*, max_wait: float = 30) -> list[str]:
    return [
        f"--grace-minutes={GRACE_MINUTES}",
        "--poll-seconds=0.25",
        f"--max-wait-seconds={max_wait:g}",
    ]


async def audit_trail(
    http: httpx.AsyncClient, token: ScriptToken, credential_id: str
) -> list[dict[str, Any]]:
    body = await gql(
        http, operation("AuditEvents"), {"credentialId": credential_id}, token=token.value
    )
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["auditEvents"]["edges"]]


def assert_nothing_secret_in(run: Run, *secrets: str) -> None:
    """Neither these values nor anything shaped like a client secret, session or API token."""
    for value in secrets:
        assert value not in run.stderr, "a secret or token reached stderr"
    assert re.search(r"\bp(cs|as|at)_", run.stderr) is None, run.stderr


async def test_the_script_rotates_hands_over_waits_until_safe_and_ends_the_previous_secret(
    live: httpx.AsyncClient,
) -> None:
    token = await admin_token_for_script(live)
    made = await credential(live, token)

    run = await run_script(live, token.value, made.id, *waits())

    assert run.code == OK, run.stderr
    new_secret = run.stdout.removesuffix("\n")
    assert run.stdout == f"{new_secret}\n", "stdout must be the new secret and nothing else"
    assert re.fullmatch(r"pcs_[0-9A-Za-z]{61}", new_secret)
    assert new_secret != made.secret
    assert_nothing_secret_in(run, new_secret, made.secret, token.value)
    assert "ended" in run.stderr
    assert await token_status(live, made, new_secret) == 200
    assert await token_status(live, made, made.secret) == 401
    events = await audit_trail(live, token, made.id)
    by_action = {event["action"]: event for event in events}
    rotated = by_action["CREDENTIAL_SECRET_REGENERATED"]
    ended = by_action["CREDENTIAL_PREVIOUS_SECRET_ENDED"]
    for event in (rotated, ended):
        assert event["actor"] == token.actor
    assert rotated["after"]["gracePeriodMinutes"] == GRACE_MINUTES
    assert rotated["after"]["previousSecretIds"] == [ended["after"]["secretId"]]
    assert ended["after"]["safeToEnd"] is True, "the script ended it before it was safe"
    trail = json.dumps(events)
    assert new_secret not in trail
    assert made.secret not in trail


async def test_the_handover_comes_before_the_wait_and_a_secret_used_after_rotation_is_kept(
    live: httpx.AsyncClient,
) -> None:
    """stdout closes as soon as the secret is on it, so a store reading the pipe has it while the
    script waits; a use of the previous secret after the rotation means it can never be safe to
    end, and the script stops without ending it."""
    token = await admin_token_for_script(live)
    made = await credential(live, token)
    process = await start_script(live, token.value, made.id, *waits())
    assert process.stdout is not None

    handed_over = await asyncio.wait_for(process.stdout.read(), timeout=30)

    assert process.returncode is None, "the secret must reach the store before the wait"
    assert await token_status(live, made, made.secret) == 200  # a client not yet moved
    run = await finish(process, handed_over)
    assert run.code == NOT_ENDED, run.stderr
    assert "used after the rotation" in run.stderr
    assert "keeps working until" in run.stderr
    new_secret = handed_over.decode().removesuffix("\n")
    assert_nothing_secret_in(run, new_secret, made.secret, token.value)
    assert await token_status(live, made, made.secret) == 200
    assert await token_status(live, made, new_secret) == 200
    actions = [event["action"] for event in await audit_trail(live, token, made.id)]
    assert "CREDENTIAL_SECRET_REGENERATED" in actions
    assert "CREDENTIAL_PREVIOUS_SECRET_ENDED" not in actions


async def test_the_wait_gives_up_at_its_deadline_without_ending_anything(
    live: httpx.AsyncClient,
) -> None:
    token = await admin_token_for_script(live)
    made = await credential(live, token)

    # The deadline comes before the rotation settles (TOKEN_TTL_SECONDS).
    run = await run_script(live, token.value, made.id, *waits(max_wait=0.5))

    assert run.code == NOT_ENDED, run.stderr
    assert "not safe to end within 0.5 s" in run.stderr
    new_secret = run.stdout.removesuffix("\n")
    assert run.stdout == f"{new_secret}\n"
    assert await token_status(live, made, made.secret) == 200
    assert await token_status(live, made, new_secret) == 200
    actions = [event["action"] for event in await audit_trail(live, token, made.id)]
    assert "CREDENTIAL_PREVIOUS_SECRET_ENDED" not in actions


async def test_a_secret_that_cannot_be_handed_over_is_reported_and_nothing_is_ended(
    live: httpx.AsyncClient,
) -> None:
    """The store's end of the pipe is gone before the secret is written."""
    token = await admin_token_for_script(live)
    made = await credential(live, token)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = await start_script(live, token.value, made.id, *waits(), stdout=write_end)
    finally:
        os.close(write_end)

    run = await finish(process)

    assert run.code == STORE_FAILED, run.stderr
    assert "the new secret to stdout: it is lost" in run.stderr
    assert "Traceback" not in run.stderr
    assert_nothing_secret_in(run, made.secret, token.value)
    assert await token_status(live, made, made.secret) == 200
    actions = [event["action"] for event in await audit_trail(live, token, made.id)]
    assert "CREDENTIAL_PREVIOUS_SECRET_ENDED" not in actions


async def test_an_unknown_credential_exits_non_zero_with_one_clear_line_and_no_stdout(
    live: httpx.AsyncClient,
) -> None:
    token = await admin_token_for_script(live)

    run = await run_script(live, token.value, str(uuid.uuid4()), *waits())

    assert run.code == NOT_FOUND
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("rotate_credential: error: regenerateCredentialSecret refused")
    assert "NotFound" in lines[0]
    assert "not its client ID" in lines[0]
    assert_nothing_secret_in(run, token.value)


async def test_a_read_only_role_cannot_rotate_and_the_secret_stays(
    live: httpx.AsyncClient,
) -> None:
    owner = await admin_token_for_script(live)
    made = await credential(live, owner)
    developer = await admin_token_for_script(
        live, role=Role.DEVELOPER, email="developer@acme.example"
    )

    run = await run_script(live, developer.value, made.id, *waits())

    assert run.code == PERMISSION_DENIED
    assert run.stdout == ""
    assert "PermissionDenied" in run.stderr
    assert "ADMIN role" in run.stderr
    assert_nothing_secret_in(run, made.secret, developer.value)
    assert await token_status(live, made, made.secret) == 200


async def test_a_refused_token_exits_non_zero_without_echoing_it(
    live: httpx.AsyncClient,
) -> None:
    refused = "pat_" + "x" * 40

    run = await run_script(live, refused, str(uuid.uuid4()), *waits())

    assert run.code == NOT_AUTHENTICATED
    assert run.stdout == ""
    assert "the API token was refused" in run.stderr
    assert_nothing_secret_in(run, refused)


def load_script() -> ModuleType:
    """The script as a module (it is no package's): its documents, outcomes and exit codes."""
    name = "docs_examples_rotate_credential"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up while the file runs.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_script_knows_every_outcome_of_its_mutations_and_its_documents_are_valid() -> None:
    """A union member added to either mutation's result fails here until the script handles it
    with its own exit code; a renamed field fails the validation."""
    script = load_script()
    schema = build_schema(SCHEMA.read_text(encoding="utf-8"))
    outcomes: set[str] = set()
    for name in ("RegenerateCredentialSecretResult", "EndPreviousSecretResult"):
        union = schema.get_type(name)
        assert isinstance(union, GraphQLUnionType)
        outcomes |= {member.name for member in union.types}

    assert outcomes - {script.ROTATED, script.ENDED} == set(script.REFUSALS)
    codes = [code for code, _ in script.REFUSALS.values()]
    assert len(set(codes)) == len(codes), "each refusal needs its own exit code"
    assert {name: int(script.Exit[name]) for name in EXIT_CODES} == EXIT_CODES
    for document in (script.ROTATE, script.SECRETS, script.END):
        assert validate(schema, parse(document)) == []


async def test_the_guide_shows_the_scripts_own_operations_and_loop(
    client: httpx.AsyncClient,
) -> None:
    script = load_script()
    response, page = await fetch_page(client)
    match = re.search(rf'<section id="{ANCHOR}" class="guide">.*?</section>', response.text, re.S)
    assert match is not None
    blocks = code_blocks(match.group(0))
    text = Page(match.group(0)).plain_text

    assert page.headings[ANCHOR] == TITLE
    shown = parse(blocks[OPERATIONS_LABEL])
    scripts = [parse(document) for document in (script.ROTATE, script.SECRETS, script.END)]
    assert print_ast(shown) == "\n\n".join(print_ast(document) for document in scripts)
    assert blocks[CORE_LABEL] in SCRIPT.read_text(encoding="utf-8"), (
        "the loop shown is not the script's"
    )
    for name in SHOWN_FUNCTIONS:
        assert f"def {name}(" in blocks[CORE_LABEL]
    for name in ("createApiToken", "safeToEnd", "endPreviousSecret", "docs/automation.md"):
        assert name in text
    assert f"{TOKEN_TTL_SECONDS} seconds here" in text
