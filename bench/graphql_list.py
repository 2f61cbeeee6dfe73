"""Benchmark pieces for the admin GraphQL list: the real `Credentials` operation (the page's own
query, `first: 20`, every field of `CredentialFields`) with an admin session token, against the
plain-Strawberry baseline in bench/bare_graphql.py. Used by bench/run_all.py."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bench.common import ROOT, add_credentials
from models.credential_tally import credentials_added
from models.enums import Role
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config
from partner_api.operations.admins import create_admin

OPERATIONS = ROOT / "graphql" / "operations"
PAGE_SIZE = 20


def list_query_body(*, first: int = PAGE_SIZE, after: str | None = None) -> str:
    """The JSON body the admin page sends for a page of credentials (its first, by default)."""
    query = (OPERATIONS / "Credentials.graphql").read_text() + (
        OPERATIONS / "fragments.graphql"
    ).read_text()
    variables: dict[str, object] = {"first": first}
    if after is not None:
        variables["after"] = after
    return json.dumps({"query": query, "operationName": "Credentials", "variables": variables})


async def seed_organisation(database_url: str, count: int) -> str:
    """A fresh organisation with `count` credentials (created by its admin) and an admin session;
    returns the session token.

    The credentials are inserted in bulk, in one transaction (one commit instead of two per
    batch of 2,000), and `bulk_create` sends no signals: the organisation's credential count
    (models/credential_tally.py) is added in the same transaction, as the list reads it."""
    from auth.admins.sessions import start_session

    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        account = await create_admin(
            email=f"admin-{secrets.token_hex(3)}@bench.example",
            organisation_name=f"Bench {secrets.token_hex(3)}",
            role=Role.ADMIN,
            password=secrets.token_urlsafe(16),
        )
        organisation_id = account.organisation.id
        async with in_transaction():
            await add_credentials(organisation_id, count, created_by_id=account.user.id)
            await credentials_added(organisation_id, count)
        issued = await start_session(
            account.membership,
            now=utcnow(),
            ttl=timedelta(hours=12),
            ip_address=None,
            user_agent=None,
        )
        return issued.token
    finally:
        await Tortoise.close_connections()


def check_answer(port: int, body: str, token: str | None, *, expected_edges: int) -> int:
    """One request before the load: the answer must be data, not errors (GraphQL errors come
    with status 200, which wrk would count as success). Returns the body's length."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", content=body, headers=headers)
    response.raise_for_status()
    answer = response.json()
    if answer.get("errors") or answer.get("data") is None:
        raise RuntimeError(f"GraphQL answered errors: {answer.get('errors')}")
    edges = answer["data"]["credentials"]["edges"]
    if len(edges) != expected_edges:
        raise RuntimeError(f"expected {expected_edges} edges, got {len(edges)}")
    return len(response.content)


def wrk_script(body: str, token: str | None, directory: Path, name: str) -> Path:
    headers = '["Content-Type"] = "application/json"'
    if token is not None:
        headers += f', ["Authorization"] = "Bearer {token}"'
    lua_body = json.dumps(body)  # a JSON string literal is a valid Lua string literal here
    lines = [
        f'local request_text = wrk.format("POST", "/graphql", {{{headers}}}, {lua_body})',
        "request = function()",
        "  return request_text",
        "end",
    ]
    path = directory / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path
