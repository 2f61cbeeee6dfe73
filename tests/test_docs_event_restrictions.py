"""The partner-facing documentation of credentials limited to events (RFC 9396): the guide's
section on /docs, its worked example run unmodified against a live `partner-api serve`, and the
OpenAPI document's pieces for restricted tokens held against the service's real answers (the
schemathesis run uses an unrestricted token, so it never sees them)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import schemathesis
from openapi_spec_validator import validate
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from tortoise.context import TortoiseContext

from auth.partners.keyed_hash import KeyedHasher
from models.organisation import Organisation
from models.ticketing import Order
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.openapi import openapi_document
from tests.database import empty_database
from tests.helpers import make_credential
from tests.live_process import free_port, run_cli, start_serve, stop, wait_until_ready
from tests.test_docs_page import Page, code_blocks, fetch_page, run_snippet
from tests.test_partner_events import (
    BASE_TIME,
    access_token,
    make_event,
    make_product,
    organisation,
)

PEPPER = "restricted-docs-pepper-0123456789abcdefghijklm"
KEY_ENCRYPTION_KEY = "restricted-docs-key-encryption-key-0123456789ab"
ALL_SCOPES = [scope.name for scope in CATALOGUE]
TYPE = "ticketing_events"
SHELL = "Shell (curl): a token for one event"
PYTHON = "Python (requests-oauthlib): a token for one event"
# The one line a reader replaces with their own values, as the quickstart test does.
PLACEHOLDERS = "export CLIENT_ID='pcl_…' CLIENT_SECRET='pcs_…'"


@dataclass(frozen=True)
class RestrictedServer:
    """A live server whose organisation has three events; the credential reaches two."""

    issuer: str
    client_id: str
    client_secret: str
    event_ids: list[str]  # the credential's events, soonest first
    other_event_id: str  # an event of the organisation outside them


async def _seed(database_url: str) -> tuple[str, str, list[str], str]:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        org = await Organisation.create(name="Live Tickets")
        summer = await make_event(org, name="Summer Night", starts_at=BASE_TIME)
        autumn = await make_event(org, name="Autumn Jazz", starts_at=BASE_TIME + timedelta(days=90))
        winter = await make_event(
            org, name="Winter Gala", starts_at=BASE_TIME + timedelta(days=180)
        )
        chosen = [str(summer.id), str(autumn.id)]
        issued = await make_credential(
            organisation=org,
            name="Harbour box office",
            event_ids=chosen,
            hasher=KeyedHasher((PEPPER.encode(),)),
        )
    return issued.credential.client_id, issued.secret_value, chosen, str(winter.id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def restricted_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RestrictedServer]:
    directory = tmp_path_factory.mktemp("restricted-docs")
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
        client_id, secret, event_ids, other = await _seed(database_url)
        log = directory / "serve.log"
        process = await start_serve(env, directory, port, log)
        try:
            await wait_until_ready(process, issuer, log)
            yield RestrictedServer(issuer, client_id, secret, event_ids, other)
        finally:
            await stop(process)


async def _live_blocks(server: RestrictedServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.issuer, trust_env=False) as http:
        page = await http.get("/docs")
    assert page.status_code == 200, page.text
    return code_blocks(page.text)


def _environment(server: RestrictedServer) -> dict[str, str]:
    """Only what the quickstart test gives its snippets: no proxy, no OAuth library settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLIENT_ID": server.client_id,
        "CLIENT_SECRET": server.client_secret,
    }


def _details(actions: list[str], event_ids: list[str]) -> list[dict[str, Any]]:
    return [{"type": TYPE, "actions": actions, "event_ids": event_ids}]


def _json_values(output: str) -> list[Any]:
    """Every JSON value curl printed, in order, however they are separated."""
    decoder, text = json.JSONDecoder(), output.strip()
    values, position = [], 0
    while position < len(text):
        value, end = decoder.raw_decode(text, position)
        values.append(value)
        position = len(text) - len(text[end:].lstrip())
    return values


@pytest.mark.asyncio(loop_scope="module")
async def test_the_worked_example_in_python_narrows_a_token_to_one_event(
    restricted_server: RestrictedServer,
) -> None:
    """Copy, paste, run: the requests-oauthlib example against `partner-api serve`."""
    blocks = await _live_blocks(restricted_server)
    first, second = restricted_server.event_ids

    printed = await asyncio.to_thread(
        run_snippet, [sys.executable, "-c", blocks[PYTHON]], _environment(restricted_server)
    )

    lines = printed.splitlines()
    assert json.loads(lines[0]) == _details(ALL_SCOPES, [first, second])
    assert json.loads(lines[1]) == _details(["events:read"], [first])
    assert lines[2:] == [f"{first} 200", f"{second} 404", f"{[first]} ['events:read']"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_worked_example_in_curl_narrows_a_token_to_one_event(
    restricted_server: RestrictedServer,
) -> None:
    """Copy, paste, run: the curl example, with only the client ID and secret filled in."""
    assert shutil.which("curl"), "the documented example needs curl"
    shell = (await _live_blocks(restricted_server))[SHELL]
    assert PLACEHOLDERS in shell
    first, second = restricted_server.event_ids

    output = await asyncio.to_thread(
        run_snippet,
        ["bash", "-euo", "pipefail", "-c", shell.replace(PLACEHOLDERS, "")],
        _environment(restricted_server),
    )

    token, narrowed, me = _json_values(output)
    assert token["authorization_details"] == _details(ALL_SCOPES, [first, second])
    assert narrowed["scope"] == "events:read"
    assert narrowed["authorization_details"] == _details(["events:read"], [first])
    assert me["event_ids"] == [first]
    assert me["scopes"] == ["events:read"]
    assert restricted_server.other_event_id not in output


async def test_the_guide_explains_credentials_limited_to_events(
    client: httpx.AsyncClient,
) -> None:
    response, page = await fetch_page(client)
    match = re.search(
        r'<section id="event-restrictions" class="guide">.*?</section>', response.text, re.S
    )
    assert match is not None
    text = Page(match.group(0)).plain_text
    blocks = code_blocks(match.group(0))

    assert page.headings["event-restrictions"] == "Credentials limited to events"
    assert "event-restrictions" in page.fragment_links  # the contents and Authentication link it
    assert {
        "event-restrictions-narrowing",
        "event-restrictions-outside",
        "event-restrictions-example",
    } <= page.ids
    claim = json.loads(blocks["Token response of a limited credential"])
    assert claim["authorization_details"][0]["type"] == TYPE
    assert claim["authorization_details"][0]["actions"] == claim["scope"].split()
    assert "no members but type , event_ids and actions" in text
    assert "1 to 100 different events the credential may reach" in text
    assert "actions (optional): scopes the token would get anyway" in text
    assert "it narrows, it never widens" in text
    assert "404 not_found , exactly like another organisation's event" in text
    assert "403 insufficient_authorization with field event_id ; nothing is reserved" in text
    assert "tokens already issued follow within a second" in text
    assert "event_ids lists its events, or is null when it reaches every event" in text
    assert "fetch_token" in blocks[PYTHON]
    assert "authorization_details=json.dumps(" in blocks[PYTHON]
    assert '--data-urlencode "authorization_details=$DETAILS"' in blocks[SHELL]
    error_codes = {row[1]: row[0] for row in page.rows_by_section["errors"][1:]}
    assert error_codes["insufficient_authorization"] == "403"
    assert error_codes["invalid_authorization_details"] == "400"
    token_operation = re.search(r'id="op-requestToken">.*?</article>', response.text, re.S)
    assert token_operation is not None
    assert "<code>authorization_details</code>" in token_operation.group(0)


async def test_the_error_answers_the_guide_shows_are_the_services(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    inside = await make_event(org, name="Summer Night")
    outside = await make_event(org, name="Winter Gala", starts_at=BASE_TIME + timedelta(days=180))
    product = await make_product(outside, sold=3)
    issued = await make_credential(organisation=org, event_ids=[str(inside.id)])
    blocks = code_blocks((await client.get("/docs")).text)
    wider = json.dumps([{"type": TYPE, "event_ids": [str(outside.id)]}])

    refused = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "authorization_details": wider},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    token = await access_token(client, issued)
    reserved = await client.post(
        "/partner/v1/reservations",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "event_id": str(outside.id),
            "lines": [{"product_id": str(product.id), "quantity": 1}],
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        },
    )

    assert refused.status_code == 400
    assert refused.json() == json.loads(blocks["Token error response (400)"])
    assert reserved.status_code == 403
    assert reserved.json() == json.loads(blocks["A 403 reservation response"])
    await product.refresh_from_db()
    assert product.sold == 3
    assert not await Order.filter(event_id=outside.id).exists()


def test_the_openapi_document_describes_restricted_tokens(settings: Settings) -> None:
    document = openapi_document(settings)
    validate(document)
    schemas = document["components"]["schemas"]
    paths = document["paths"]

    me = schemas["Me"]
    assert "event_ids" in me["required"]
    assert me["properties"]["event_ids"]["type"] == ["array", "null"]
    assert me["properties"]["event_ids"]["items"] == {"type": "string", "format": "uuid"}
    forbidden = paths["/partner/v1/reservations"]["post"]["responses"]["403"]
    assert forbidden["content"]["application/json"]["schema"]["allOf"][1] == {
        "properties": {"error": {"enum": ["insufficient_scope", "insufficient_authorization"]}}
    }
    assert "insufficient_authorization" in schemas["Error"]["properties"]["error"]["enum"]
    parameter = schemas["TokenRequest"]["properties"]["authorization_details"]
    assert parameter["type"] == "string"
    assert parameter["contentMediaType"] == "application/json"
    assert parameter["contentSchema"]["maxItems"] == 1
    entry = schemas["AuthorizationDetailInput"]
    assert entry["required"] == ["type", "event_ids"]
    assert entry["additionalProperties"] is False
    assert entry["properties"]["type"]["enum"] == [TYPE]
    assert (
        entry["properties"]["event_ids"]["minItems"],
        entry["properties"]["event_ids"]["maxItems"],
    ) == (1, 100)
    assert set(entry["properties"]["actions"]["items"]["enum"]) == set(ALL_SCOPES)
    token_400 = paths["/oauth/token"]["post"]["responses"]["400"]["content"]["application/json"]
    assert (
        "invalid_authorization_details"
        in token_400["schema"]["allOf"][1]["properties"]["error"]["enum"]
    )
    for name in ("TokenResponse", "IntrospectionResponse"):
        member = schemas[name]["properties"]["authorization_details"]
        assert member["items"] == {"$ref": "#/components/schemas/AuthorizationDetail"}
        assert "authorization_details" not in schemas[name]["required"]
    assert "authorization_details_types_supported" in schemas["ServerMetadata"]["properties"]
    description = document["info"]["description"]
    for words in ("limit a credential to chosen events", "404", "insufficient_authorization"):
        assert words in description


def _conformance_failure(document: dict[str, Any], response: httpx.Response) -> str | None:
    """What schemathesis finds wrong with `response` against the operation of its request."""
    request = response.request
    operation = schemathesis.openapi.from_dict(document)[request.url.path][request.method]
    case = operation.Case()
    try:
        case.validate_response(
            response,
            checks=[
                checks.status_code_conformance,
                checks.content_type_conformance,
                checks.response_headers_conformance,
                checks.response_schema_conformance,
            ],
        )
    except (FailureGroup, AssertionError) as error:
        return f"{request.method} {request.url.path}: {error}"
    return None


async def test_restricted_answers_are_the_documented_ones(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    org = await organisation()
    inside = await make_event(org, name="Summer Night")
    outside = await make_event(org, name="Winter Gala", starts_at=BASE_TIME + timedelta(days=180))
    product = await make_product(outside)
    issued = await make_credential(organisation=org, event_ids=[str(inside.id)])
    basic = (issued.credential.client_id, issued.secret_value)
    grant = {"grant_type": "client_credentials"}
    token_response = await client.post("/oauth/token", data=grant, auth=basic)
    token = token_response.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    wider = json.dumps([{"type": TYPE, "event_ids": [str(outside.id)]}])

    answers = [
        token_response,
        await client.post(
            "/oauth/token", data={**grant, "authorization_details": wider}, auth=basic
        ),
        await client.post("/oauth/introspect", data={"token": token}, auth=basic),
        await client.get("/.well-known/oauth-authorization-server"),
        await client.get("/partner/v1/me", headers=bearer),
        await client.post(
            "/partner/v1/reservations",
            headers=bearer,
            json={
                "event_id": str(outside.id),
                "lines": [{"product_id": str(product.id), "quantity": 1}],
                "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
            },
        ),
    ]

    assert [answer.status_code for answer in answers] == [200, 400, 200, 200, 200, 403]
    assert token_response.json()["authorization_details"] == [
        {"type": TYPE, "actions": ALL_SCOPES, "event_ids": [str(inside.id)]}
    ]
    assert (
        answers[2].json()["authorization_details"] == token_response.json()["authorization_details"]
    )
    assert answers[3].json()["authorization_details_types_supported"] == [TYPE]
    assert answers[4].json()["event_ids"] == [str(inside.id)]
    document = openapi_document(settings)
    failures = [
        failure for answer in answers if (failure := _conformance_failure(document, answer))
    ]
    assert not failures, "\n\n".join(failures)
