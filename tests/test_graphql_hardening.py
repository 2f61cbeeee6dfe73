"""Hardening of the admin GraphQL endpoint (GQ-01..09, LG-03) and the health probes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import httpx
import pytest
from starlette.requests import HTTPConnection
from tortoise import connections
from tortoise.context import TortoiseContext

import resolvers.credentials
import resolvers.session
from auth.admins.identity import SESSION_COOKIE, AdminIdentity
from auth.admins.sessions import SessionAuthenticator
from models.admin import AdminSession
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from partner_api.web.graphql_endpoint import MAX_BODY_BYTES
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import (
    PASSWORD,
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    admin_token,
    gql,
    make_admin,
    make_credential,
    operation,
)

LOGIN_VARIABLES = {"email": "admin@acme.example", "password": PASSWORD}
LEAKY_MESSAGE = (
    "SELECT * FROM credential WHERE organisation_id = 42 "
    "(File /srv/partner-api/secret_module.py, line 7)"
)
LEAK_MARKERS = ("SELECT", "FROM credential", "/srv/partner-api", "secret_module", "Traceback")


@asynccontextmanager
async def client_for(
    settings: Settings, *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app built from `settings`, over ASGI (the caller holds the `db` fixture)."""
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(
        app=app, client=(CLIENT_ADDRESS, 40002), raise_app_exceptions=raise_app_exceptions
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def production_settings() -> Settings:
    """Production exactly as an operator configures it: the env, the issuer and the keys."""
    return Settings.from_env(
        {
            "PARTNER_API_ENV": "production",
            "PARTNER_API_ISSUER": "https://partners.example.com",
            "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
            "PARTNER_API_KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY.decode(),
        }
    )


def login_body() -> dict[str, Any]:
    return {"query": operation("Login"), "variables": LOGIN_VARIABLES}


async def assert_nothing_executed() -> None:
    """No login mutation ran: no session was started and nothing was audited."""
    assert await AdminSession.all().count() == 0
    assert await AuditEvent.all().count() == 0


def assert_no_session_cookie(response: httpx.Response) -> None:
    assert not any(
        header.startswith(f"{SESSION_COOKIE}=pas_")
        for header in response.headers.get_list("set-cookie")
    )


def error_messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors") or []]


# --- Authentication on every field -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "needs_id"),
    [
        ("Viewer", False),
        ("PartnerApi", False),
        ("Credentials", False),
        ("Credential", True),
        ("AuditEvents", False),
    ],
)
async def test_every_query_field_requires_authentication(
    client: httpx.AsyncClient, name: str, needs_id: bool
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    variables = {"id": str(issued.credential.id)} if needs_id else {}

    body = await gql(client, operation(name), variables)

    assert body["errors"], body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}
    # Nothing is returned: the field is null (or the whole data is, for non-null fields).
    assert body["data"] is None or all(value is None for value in body["data"].values()), body
    assert issued.credential.client_id not in json.dumps(body)


@pytest.mark.parametrize(
    ("name", "input_fields"),
    [
        (
            "CreateCredential",
            {"name": "Sneaky", "contactEmail": "x@example.com", "accessLevel": "FULL"},
        ),
        ("RegenerateCredentialSecret", {"gracePeriodMinutes": 0}),
        ("RevokeCredential", {"reason": "sneaky"}),
        ("UpdateCredential", {"name": "Renamed"}),
    ],
)
async def test_every_credential_mutation_requires_authentication(
    client: httpx.AsyncClient, name: str, input_fields: dict[str, Any]
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    if name != "CreateCredential":
        input_fields = {"id": str(issued.credential.id), **input_fields}

    body = await gql(client, operation(name), {"input": input_fields})

    assert body["data"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}
    credential = await Credential.get()
    assert (credential.name, credential.revoked_at) == ("Box office", None)
    assert await CredentialSecret.all().count() == 1


# --- Query cost limits (GQ-01) -----------------------------------------------------------------


async def test_gq01_query_deeper_than_the_limit_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    depth = settings.graphql_max_depth + 1
    query = "{ viewer " + "{ user " * (depth - 1) + "{ email" + " }" * (depth + 1)

    body = await gql(client, query, token=token)

    assert body["data"] is None
    assert any(
        f"exceeds maximum operation depth of {settings.graphql_max_depth}" in message
        for message in error_messages(body)
    )


async def test_gq01_configured_depth_limit_applies_to_real_operations(
    db: TortoiseContext,
) -> None:
    # Depth counts the levels below the root field.
    settings = Settings(secret_peppers=(TEST_PEPPER,), graphql_max_depth=3)
    async with client_for(settings) as client:
        token = await admin_token(client)
        # viewer > user > email: depth 2, allowed.
        shallow = await gql(client, operation("Viewer"), token=token)
        # credentials > edges > node > secrets > id: depth 4, refused.
        deep = await gql(client, operation("Credentials"), token=token)

    assert shallow["data"]["viewer"]["role"] == "ADMIN"
    assert deep["data"] is None
    assert any("maximum operation depth of 3" in message for message in error_messages(deep))


async def test_gq01_aliases_up_to_the_limit_are_allowed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    fields = " ".join(f"a{n}: viewer {{ role }}" for n in range(settings.graphql_max_aliases))

    body = await gql(client, "{ " + fields + " }", token=token)

    assert "errors" not in body, body
    assert len(body["data"]) == settings.graphql_max_aliases


async def test_gq01_more_aliases_than_the_limit_are_refused_before_execution(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Aliased logins are a classic way around per-request throttling: none may run."""
    await make_admin()
    count = settings.graphql_max_aliases + 1
    fields = " ".join(
        f'a{n}: login(email: "admin@acme.example", password: "{PASSWORD}") {{ __typename }}'
        for n in range(count)
    )

    body = await gql(client, "mutation { " + fields + " }")

    assert body["data"] is None
    assert any(f"{count} aliases" in message for message in error_messages(body))
    await assert_nothing_executed()


async def test_gq01_more_tokens_than_the_limit_are_refused_before_execution(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_admin()
    padding = " __typename" * settings.graphql_max_tokens
    query = operation("Login").replace("__typename", "__typename" + padding, 1)

    body = await gql(client, query, LOGIN_VARIABLES)

    assert body["data"] is None
    assert any(
        f"more than {settings.graphql_max_tokens} tokens" in message
        for message in error_messages(body)
    )
    await assert_nothing_executed()


async def test_gq01_page_size_is_capped(db: TortoiseContext) -> None:
    settings = Settings(secret_peppers=(TEST_PEPPER,), page_size_max=2)
    async with client_for(settings) as client:
        token = await admin_token(client)
        for number in range(3):
            body = await gql(
                client,
                operation("CreateCredential"),
                {
                    "input": {
                        "name": f"Integration {number}",
                        "contactEmail": "it@partner.example",
                        "accessLevel": "FULL",
                    }
                },
                token=token,
            )
            assert body["data"]["createCredential"]["__typename"] == "CredentialCreated"

        page = await gql(client, operation("Credentials"), {"first": 50}, token=token)

    connection = page["data"]["credentials"]
    assert len(connection["edges"]) == 2
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 3


# --- Batching (GQ-04) --------------------------------------------------------------------------


async def test_gq04_batched_operations_are_refused(client: httpx.AsyncClient) -> None:
    await make_admin()

    response = await client.post("/graphql", json=[login_body(), login_body()])

    assert 400 <= response.status_code < 500
    assert "LoginSuccess" not in response.text
    assert_no_session_cookie(response)
    await assert_nothing_executed()


# --- GET, GraphiQL and introspection (GQ-02/03, GQ-09) -----------------------------------------


async def test_gq09_query_via_get_is_not_executed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    response = await client.get(
        "/graphql",
        params={"query": "{viewer{role}}"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )

    assert response.status_code == 405
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "ADMIN" not in response.text


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*"])
async def test_gq09_mutation_via_get_is_never_executed(
    client: httpx.AsyncClient, accept: str
) -> None:
    await make_admin()
    mutation = (
        f'mutation {{ login(email: "admin@acme.example", password: "{PASSWORD}") '
        "{ __typename } }"
    )

    response = await client.get("/graphql", params={"query": mutation}, headers={"Accept": accept})

    assert response.status_code >= 400
    assert "LoginSuccess" not in response.text
    assert_no_session_cookie(response)
    await assert_nothing_executed()


async def test_gq03_graphiql_is_served_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_gq03_graphiql_is_off_in_production(db: TortoiseContext) -> None:
    async with client_for(production_settings()) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code in {404, 405}
    assert not response.headers["content-type"].startswith("text/html")
    assert "graphiql" not in response.text.lower()


INTROSPECTION = '{ __schema { queryType { name } } __type(name: "Credential") { name } }'


async def test_gq02_introspection_works_in_development(client: httpx.AsyncClient) -> None:
    body = await gql(client, INTROSPECTION)

    assert "errors" not in body, body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert body["data"]["__type"]["name"] == "Credential"


async def test_gq02_introspection_is_off_in_production(db: TortoiseContext) -> None:
    async with client_for(production_settings()) as client:
        token = await admin_token(client)
        body = await gql(client, INTROSPECTION, token=token)

    assert body["data"] is None
    assert any("introspection" in message.lower() for message in error_messages(body))


async def test_gq02_introspection_can_be_switched_off_explicitly(db: TortoiseContext) -> None:
    settings = Settings(secret_peppers=(TEST_PEPPER,), introspection=False)
    async with client_for(settings) as client:
        body = await gql(client, INTROSPECTION)

    assert body["data"] is None
    assert body["errors"]


# --- JSON-only POST, body size, methods (GQ-09) ------------------------------------------------


def _form(client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request(
        "POST",
        "/graphql",
        data={"query": operation("Login"), "variables": json.dumps(LOGIN_VARIABLES)},
    )


def _multipart(client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request(
        "POST",
        "/graphql",
        files={"operations": (None, json.dumps(login_body())), "map": (None, "{}")},
    )


def _text_plain(client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request(
        "POST",
        "/graphql",
        content=json.dumps(login_body()),
        headers={"Content-Type": "text/plain"},
    )


def _no_content_type(client: httpx.AsyncClient) -> httpx.Request:
    return client.build_request("POST", "/graphql", content=json.dumps(login_body()))


@pytest.mark.parametrize(
    ("expected_media_type", "build"),
    [
        ("application/x-www-form-urlencoded", _form),
        ("multipart/form-data", _multipart),
        ("text/plain", _text_plain),
        (None, _no_content_type),
    ],
)
async def test_gq09_post_accepts_json_only(
    client: httpx.AsyncClient,
    expected_media_type: str | None,
    build: Callable[[httpx.AsyncClient], httpx.Request],
) -> None:
    """A cross-site form (urlencoded, multipart, text/plain) cannot log in or act (CSRF)."""
    await make_admin()
    request = build(client)
    content_type = request.headers.get("content-type")
    if expected_media_type is None:
        assert content_type is None
    else:
        assert content_type is not None
        assert content_type.startswith(expected_media_type)

    response = await client.send(request)

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert_no_session_cookie(response)
    await assert_nothing_executed()


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ viewer { role } }", "variables": {"\\ud800": 1}}',
        b'{"query": "{ viewer { role } }\\udfff"}',
        b'{"query": "{ viewer { role } }", "variables": {"n": NaN}}',
        b"{not json",
    ],
)
async def test_a_body_that_is_not_rfc_8259_json_is_400_not_500(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400, response.text


async def test_gq09_body_over_64_kib_is_refused(client: httpx.AsyncClient) -> None:
    await make_admin()
    body = login_body()
    body["variables"] = {**LOGIN_VARIABLES, "padding": "x" * MAX_BODY_BYTES}

    response = await client.post("/graphql", json=body)

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    await assert_nothing_executed()


async def test_gq09_body_just_under_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    await make_admin()
    body = login_body()
    body["variables"] = {**LOGIN_VARIABLES, "padding": ""}
    room = MAX_BODY_BYTES - len(json.dumps(body).encode()) - 100
    body["variables"]["padding"] = "x" * room

    response = await client.post("/graphql", json=body)

    assert response.status_code == 200
    assert response.json()["data"]["login"]["__typename"] == "LoginSuccess"


async def test_gq09_chunked_body_over_64_kib_is_refused(client: httpx.AsyncClient) -> None:
    """Without a Content-Length (chunked upload) the size bound must still hold."""
    await make_admin()
    body = login_body()
    body["variables"] = {**LOGIN_VARIABLES, "padding": "x" * (2 * MAX_BODY_BYTES)}
    encoded = json.dumps(body).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(encoded), 16 * 1024):
            yield encoded[start : start + 16 * 1024]

    response = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    await assert_nothing_executed()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_gq09_other_methods_are_refused(client: httpx.AsyncClient, method: str) -> None:
    await make_admin()

    response = await client.request(method, "/graphql", json=login_body())

    assert response.status_code == 405
    assert "LoginSuccess" not in response.text
    await assert_nothing_executed()


# --- Error masking (GQ-07, LG-03) --------------------------------------------------------------


def _leaky_failure(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError(LEAKY_MESSAGE)


def assert_masked(response: httpx.Response) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in response.text, response.text
    body = response.json()
    assert body["data"] is None
    assert error_messages(body) == ["Unexpected error."]


async def test_gq07_unexpected_query_fault_is_masked(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    monkeypatch.setattr(resolvers.credentials, "paginate", _leaky_failure)

    response = await client.post(
        "/graphql",
        json={"query": operation("Credentials")},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert_masked(response)


async def test_lg03_unexpected_mutation_fault_is_masked_and_fails_closed(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_admin()
    monkeypatch.setattr(resolvers.session, "log_in", _leaky_failure)

    response = await client.post("/graphql", json=login_body())

    assert response.status_code == 200
    assert_masked(response)
    assert_no_session_cookie(response)
    assert await AdminSession.all().count() == 0


async def test_lg03_fault_while_authenticating_fails_closed(
    db: TortoiseContext, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: SessionAuthenticator, connection: HTTPConnection) -> AdminIdentity:
        raise RuntimeError(LEAKY_MESSAGE)

    monkeypatch.setattr(SessionAuthenticator, "authenticate", broken)
    async with client_for(settings, raise_app_exceptions=False) as client:
        response = await client.post("/graphql", json={"query": operation("Viewer")})

    assert response.status_code == 500
    for marker in LEAK_MARKERS:
        assert marker not in response.text
    assert "viewer" not in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ viewer { role }", "Syntax Error"),
        ("{ viewer { favouriteColour } }", "Cannot query field 'favouriteColour'"),
    ],
)
async def test_gq07_client_errors_are_reported_not_masked(
    client: httpx.AsyncClient, query: str, expected: str
) -> None:
    response = await client.post("/graphql", json={"query": query})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    messages = error_messages(body)
    assert any(expected in message for message in messages), messages
    assert "Unexpected error." not in messages


# --- Health probes -----------------------------------------------------------------------------


async def test_healthz_reports_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_is_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readyz_is_unavailable_when_the_database_is_not(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*args: object, **kwargs: object) -> NoReturn:
        raise ConnectionRefusedError(LEAKY_MESSAGE)

    monkeypatch.setattr(connections.get("default"), "execute_query", unreachable)

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert "SELECT" not in response.text
