"""The database goes away: requests get 503 (never a 500, never a hang) and the service recovers by
itself when it returns (docs/faults.md).

The first tests inject the faults PostgreSQL really raises into the app in process (both
databases): each surface answers 503 with its stable body. The last one is the real thing: a live
`partner-api serve` on PostgreSQL under load from several clients while the cluster behind
TEST_DATABASE_URL is stopped for a few seconds and started again. Other tests share that cluster,
so it runs in a step of its own (`make test-postgres-outage`, after `make test-postgres`, which
leaves it out) and skips itself in a run that holds tests of other modules.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.exceptions import OperationalError

from auth.partners.authorization_server import AuthorizationServer
from auth.partners.resource_server import ResourceServer
from models.tenancy import TenantScope
from partner_api.foundation.database_unavailable import MESSAGE, is_database_unavailable
from tests.database import empty_database, on_postgres
from tests.faults_support import (
    Server,
    cluster_of_test_database,
    create_admin,
    gql_response,
    http_client,
    login,
    new_server,
    server_environment,
)
from tests.helpers import admin_token, gql, make_admin, make_credential, operation

OAUTH_BODY = {"error": "temporarily_unavailable", "error_description": MESSAGE}
GRAPHQL_BODY = {"errors": [{"message": MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}


async def refuse_connection(*args: object, **kwargs: object) -> None:
    raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


async def shut_down(*args: object, **kwargs: object) -> None:
    raise asyncpg.AdminShutdownError("terminating connection due to administrator command")


def assert_unavailable(response: httpx.Response, body: dict[str, Any]) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == body
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    assert "5432" not in response.text  # nothing about the fault itself (LG-03)


# -- which faults count as "the database is unavailable" ------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),  # asyncpg's command_timeout / connect timeout, when configured
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_faults_that_mean_the_database_is_unreachable(error: Exception) -> None:
    assert is_database_unavailable(error)
    wrapped = OperationalError("query failed")
    wrapped.__cause__ = error
    assert is_database_unavailable(wrapped)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom"),
        OperationalError("syntax error at or near SELEC"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        None,
    ],
    ids=repr,
)
def test_other_faults_stay_unexpected(error: Exception | None) -> None:
    assert not is_database_unavailable(error)


# -- every surface answers 503 with its stable body (in process) ---------------------------------


async def test_token_endpoint_answers_503_temporarily_unavailable_when_the_database_is_down(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    monkeypatch.setattr(AuthorizationServer, "authenticate_client", refuse_connection)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert_unavailable(response, OAUTH_BODY)
    assert response.headers["x-content-type-options"] == "nosniff"  # inside the header layer


async def test_partner_api_answers_503_when_authentication_needs_the_database(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ResourceServer, "authenticate", shut_down)
    response = await client.get("/partner/v1/me", headers={"Authorization": "Bearer x.y.z"})
    assert_unavailable(response, OAUTH_BODY)


async def test_partner_api_answers_503_when_a_handler_needs_the_database(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    token = (
        await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.credential.client_id, issued.secret_value),
        )
    ).json()["access_token"]
    # The statement itself fails, whichever way the listing builds it (models/driver_rows.py).
    database_client = type(connections.get("default"))
    monkeypatch.setattr(database_client, "execute_query", refuse_connection)
    response = await client.get("/partner/v1/events", headers={"Authorization": f"Bearer {token}"})
    assert_unavailable(response, OAUTH_BODY)


async def test_graphql_resolver_fault_is_503_service_unavailable(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await admin_token(client)
    monkeypatch.setattr(TenantScope, "credential", shut_down)
    response = await client.post(
        "/graphql",
        json={
            "query": operation("Credential"),
            "variables": {"id": "00000000-0000-4000-8000-000000000000"},
        },
        headers={"Authorization": f"Bearer {session}"},
    )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["SERVICE_UNAVAILABLE"]
    assert errors[0]["message"] == MESSAGE
    assert "administrator" not in response.text


async def test_graphql_session_lookup_fault_is_503_service_unavailable(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.services.authenticator, "authenticate", refuse_connection)
    response = await client.post("/graphql", json={"query": "{ viewer { email } }"})
    assert_unavailable(response, GRAPHQL_BODY)


async def test_graphql_unexpected_fault_is_still_masked_and_not_503(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GQ-07: only an unreachable database becomes SERVICE_UNAVAILABLE."""
    session = await admin_token(client)

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("SELECT * FROM credential")

    monkeypatch.setattr(TenantScope, "credential", explode)
    body = await gql(
        client,
        operation("Credential"),
        {"id": "00000000-0000-4000-8000-000000000000"},
        token=session,
    )
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "SELECT" not in str(body)


async def test_an_orm_error_that_is_not_an_outage_stays_a_generic_500(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LG-03: the 503 handler sees every ORM exception, and lets the others through."""

    async def wrong_query(*args: object, **kwargs: object) -> None:
        raise OperationalError("syntax error at or near SELEC")

    monkeypatch.setattr(app.state.services.authenticator, "authenticate", wrong_query)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": "{ viewer { email } }"})
    assert response.status_code == 500
    assert "SELEC" not in response.text


# -- the real thing: PostgreSQL stopped under load -----------------------------------------------

OUTAGE_SECONDS = 2.0
BASELINE_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 5.0
RECOVERY_BOUND_SECONDS = 10.0
CLIENTS_PER_ENDPOINT = 2


@dataclass
class Answer:
    at: float
    endpoint: str
    outcome: str  # "200", "503", another status, or the transport failure's name
    seconds: float
    body: Any = None


@dataclass
class Record:
    answers: list[Answer] = field(default_factory=list)

    def add(self, endpoint: str, outcome: str, started: float, body: Any = None) -> None:
        now = time.monotonic()
        self.answers.append(Answer(now, endpoint, outcome, now - started, body))

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.at <= end]


@dataclass(frozen=True)
class Partner:
    client_id: str
    secret: str


def assert_stable_503_body(answer: Answer) -> None:
    if answer.endpoint != "graphql":
        assert answer.body == OAUTH_BODY
        return
    # From the session lookup: exactly GRAPHQL_BODY; from a resolver: also data, path, location.
    errors = answer.body["errors"]
    assert {(error["message"], error["extensions"]["code"]) for error in errors} == {
        (MESSAGE, "SERVICE_UNAVAILABLE")
    }, answer.body


async def call(http: httpx.AsyncClient, endpoint: str, partner: Partner, session: str) -> Any:
    """One request of the kind named; the response, or raises a transport error / timeout."""
    if endpoint == "graphql":
        return await gql_response(http, session, "Credentials", {"first": 5})
    if endpoint == "token":
        return await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(partner.client_id, partner.secret),
        )
    token = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(partner.client_id, partner.secret),
    )
    if token.status_code != 200:
        return token
    bearer = token.json()["access_token"]
    return await http.get("/partner/v1/me", headers={"Authorization": f"Bearer {bearer}"})


async def keep_calling(
    http: httpx.AsyncClient,
    endpoint: str,
    partner: Partner,
    session: str,
    record: Record,
    done: asyncio.Event,
) -> None:
    while not done.is_set():
        started = time.monotonic()
        try:
            response = await call(http, endpoint, partner, session)
        except httpx.TimeoutException:
            record.add(endpoint, "timeout", started)
            continue
        except httpx.TransportError as error:
            record.add(endpoint, type(error).__name__, started)
            continue
        body = None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text  # Starlette's plain "Internal Server Error": a failure
        record.add(endpoint, str(response.status_code), started, body)
        await asyncio.sleep(0.02)


async def all_succeed(http: httpx.AsyncClient, partner: Partner, session: str) -> bool:
    for endpoint in ("graphql", "token", "me"):
        try:
            response = await call(http, endpoint, partner, session)
        except httpx.TransportError:
            return False
        if response.status_code != 200:
            return False
    return True


@pytest.fixture
def alone(request: pytest.FixtureRequest) -> None:
    """Stopping the cluster ends every other session on it, so the outage runs only where no test
    of another module shares the run: `make test-postgres-outage`, or this module by itself."""
    if any(item.path != request.path for item in request.session.items):
        pytest.skip(
            "stops the PostgreSQL cluster the rest of the suite uses: run it alone "
            "(make test-postgres-outage)"
        )


@pytest.fixture
async def live_server(tmp_path: Path, alone: None) -> AsyncIterator[Server]:
    async with empty_database(tmp_path / "unused.sqlite3") as database_url:
        env = server_environment(tmp_path, database_url)
        await create_admin(env, tmp_path)
        server = new_server(env, tmp_path, "database-down")
        try:
            await server.start()
            yield server
        finally:
            await server.stop()


@pytest.mark.skipif(
    not on_postgres(),
    reason="stops the PostgreSQL cluster of TEST_DATABASE_URL; a SQLite file cannot go away",
)
async def test_postgres_stopped_under_load_answers_503_then_recovers_by_itself(
    live_server: Server,
) -> None:
    """Load on GraphQL (a query that needs the database), the token endpoint and /me; the
    cluster is stopped, kept down for 2 s, then started. Every request is answered within 5 s,
    never with a 500; GraphQL and /readyz answer 503 while it is down; every answer other than 200
    is the stable 503 body; within 10 s of the cluster accepting connections again everything
    answers 200, without restarting the server. The token endpoint and /me fail closed once the
    change feed cannot be read (RS-10: never answer from revocation state older than the bound)."""
    cluster = cluster_of_test_database()
    async with http_client(live_server.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        session = await login(http)
        created = (
            await gql_response(
                http,
                session,
                "CreateCredential",
                {
                    "input": {
                        "name": "Outage",
                        "contactEmail": "it@p.example",
                        "accessLevel": "FULL",
                    }
                },
            )
        ).json()["data"]["createCredential"]
        partner = Partner(created["credential"]["clientId"], created["clientSecret"])
        assert await all_succeed(http, partner, session)

        record, done = Record(), asyncio.Event()
        clients = [
            asyncio.create_task(keep_calling(http, endpoint, partner, session, record, done))
            for endpoint in ("graphql", "token", "me")
            for _ in range(CLIENTS_PER_ENDPOINT)
        ]
        readiness: list[int] = []
        try:
            await asyncio.sleep(BASELINE_SECONDS)
            try:
                stopping_at = time.monotonic()
                await asyncio.to_thread(cluster.stop)
                stopped_at = time.monotonic()
                await asyncio.sleep(OUTAGE_SECONDS / 2)
                readiness.append((await http.get("/readyz")).status_code)
                await asyncio.sleep(OUTAGE_SECONDS / 2)
                restarting_at = time.monotonic()
            finally:
                await asyncio.to_thread(cluster.start)
            back_at = time.monotonic()
            while not await all_succeed(http, partner, session):
                assert time.monotonic() - back_at <= RECOVERY_BOUND_SECONDS, (
                    f"still failing {RECOVERY_BOUND_SECONDS:.0f} s after PostgreSQL came back"
                )
                await asyncio.sleep(0.1)
            recovered_after = time.monotonic() - back_at
            readiness.append((await http.get("/readyz")).status_code)
            await asyncio.sleep(0.5)
        finally:
            done.set()
            await asyncio.gather(*clients)

    outcomes = Counter((answer.endpoint, answer.outcome) for answer in record.answers)
    slowest = max(answer.seconds for answer in record.answers)
    print(
        f"outcomes: {dict(outcomes)}; slowest answer {slowest:.3f} s; PostgreSQL down "
        f"{back_at - stopping_at:.1f} s (stop {stopped_at - stopping_at:.1f} s, start "
        f"{back_at - restarting_at:.1f} s); recovered {recovered_after:.2f} s after the restart"
    )
    failures = [a for a in record.answers if a.outcome not in ("200", "503")]
    assert not failures, f"answers other than 200/503: {failures[:5]}"
    for answer in record.answers:
        if answer.outcome == "503":
            assert_stable_503_body(answer)
    # A request whose queries finished just before the stop may still answer 200 after it.
    down = record.between(stopped_at + 0.2, restarting_at)
    assert {a.outcome for a in down if a.endpoint == "graphql"} == {"503"}, "GraphQL while down"
    # The hot paths answer from memory for a moment, but never from state older than the change
    # feed's bound (RS-10): once the feed cannot be read they fail closed too.
    late = record.between(stopped_at + 1.0, restarting_at)
    assert {a.outcome for a in late} == {"503"}, Counter((a.endpoint, a.outcome) for a in late)
    assert readiness == [503, 200]
    assert recovered_after <= RECOVERY_BOUND_SECONDS
