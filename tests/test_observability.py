"""Observability: JSON logs with a request id, Prometheus metrics at /metrics and on
the internal listener, and /readyz reflecting the database and Redis.

Metrics live in one registry per process (partner_api/foundation/metrics.py), so tests compare
counter values before and after what they do, never absolute values.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import logging.config
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.applications import Starlette
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext

from auth.partners.keyed_hash import KeyedHasher
from auth.partners.signing_keys import rotate_signing_key
from models.organisation import Organisation
from partner_api.cli.main import run
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import tortoise_config
from partner_api.foundation.instruments import HistogramFamily
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from partner_api.web.observability import scrubbing
from partner_api.web.observability.log_format import JsonFormatter, TextFormatter, logging_config
from partner_api.web.observability.metrics_endpoint import MetricsListener
from partner_api.web.observability.request_id import RequestIdFilter
from partner_api.web.observability.scrubbing import MASK, scrub
from tests.conftest import CLIENT_ADDRESS
from tests.database import empty_database
from tests.helpers import (
    admin_token,
    create_via_graphql,
    gql,
    make_admin,
    make_credential,
    operation,
    wrong_secret_for,
)
from tests.live_process import CLI, free_port, run_cli, stop, wait_until_ready

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}
REDIS_URL = "redis://127.0.0.1:6379/15"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
Labels = dict[str, str]


# -- helpers -----------------------------------------------------------------------------------


class CapturedLogs:
    """Every record, at DEBUG, formatted as production formats it (JSON + request-id filter)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def samples(body: str) -> list[tuple[str, Labels, float]]:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    ]


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of one sample from GET /metrics (0 when absent)."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    for sample_name, sample_labels, value in samples(response.text):
        if sample_name == name and sample_labels == labels:
            return value
    return 0.0


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def make_client(
    db: TortoiseContext, settings: Settings
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of apps built with setting overrides; closed (and their Redis) afterwards."""
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    made: list[tuple[Starlette, httpx.AsyncClient]] = []

    def make(**overrides: Any) -> httpx.AsyncClient:
        app = create_app(replace(settings, **overrides), manage_database=False)
        transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        made.append((app, client))
        return client

    yield make
    for app, client in made:
        await client.aclose()
        if app.state.services.redis is not None:
            await app.state.services.redis.aclose()


# -- logs --------------------------------------------------------------------------------------


async def test_json_log_lines_carry_the_request_id_echoed_in_the_response(
    client: httpx.AsyncClient, logs: CapturedLogs
) -> None:
    response = await client.post(TOKEN, data=GRANT, headers=basic("pcl_unknown", "pcs_" + "A" * 61))

    assert response.status_code == 401
    request_id = response.headers["x-request-id"]
    lines = logs.lines()
    messages = {line["message"] for line in lines}
    assert "client authentication refused" in messages
    assert "POST /oauth/token 401" in messages  # the access line, at INFO for a 4xx
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
        assert line["time"].endswith("Z")
    # Every server-side line; httpx (the test's client) logs outside any request.
    server_lines = [line for line in lines if line["logger"].startswith("partner_api")]
    assert len(server_lines) == 2
    assert {line["request_id"] for line in server_lines} == {request_id}
    access = next(line for line in lines if line["logger"] == "partner_api.access")
    assert access["route"] == "/oauth/token"
    assert access["status"] == 401
    assert access["client"] == CLIENT_ADDRESS
    assert isinstance(access["duration_ms"], float)


async def test_a_well_formed_incoming_request_id_is_kept_and_a_malformed_one_replaced(
    client: httpx.AsyncClient, logs: CapturedLogs
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-Id": "lb-7f3a:0001"})
    replaced = await client.get("/healthz", headers={"X-Request-Id": 'bad id;"x"=1'})
    too_long = await client.get("/healthz", headers={"X-Request-Id": "a" * 129})

    assert kept.headers["x-request-id"] == "lb-7f3a:0001"
    for response in (replaced, too_long):
        assert len(response.headers["x-request-id"]) == 32
        assert set(response.headers["x-request-id"]) <= set("0123456789abcdef")
    assert next(line["request_id"] for line in logs.lines()) == "lb-7f3a:0001"


async def test_successful_requests_are_logged_at_debug_only(
    client: httpx.AsyncClient, logs: CapturedLogs
) -> None:
    await client.get("/healthz")

    (line,) = [line for line in logs.lines() if line["logger"] == "partner_api.access"]
    assert line["level"] == "DEBUG"
    assert line["message"] == "GET /healthz 200"


async def test_lg02_cr02_full_flow_logs_and_metrics_hold_no_secret_token_or_header(
    client: httpx.AsyncClient, logs: CapturedLogs
) -> None:
    """LG-02, CR-02: with logging at DEBUG, a whole credential life — sign in, create, a token
    through Basic and one through the body, Partner API calls, token revocation, credential
    revocation, and a secret misplaced in a query string — leaves no secret, access token,
    session token or Authorization header value in any log line or in /metrics."""
    session = await admin_token(client)
    created = await create_via_graphql(client, session)
    assert created["__typename"] == "CredentialCreated"
    client_id = created["credential"]["clientId"]
    secret = created["clientSecret"]
    basic_header = basic(client_id, secret)

    via_basic = await client.post(TOKEN, data=GRANT, headers=basic_header)
    via_body = await client.post(
        TOKEN, data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert via_basic.status_code == via_body.status_code == 200
    access_tokens = [via_basic.json()["access_token"], via_body.json()["access_token"]]
    for token in access_tokens:
        me = await client.get("/partner/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    revoked = await client.post(
        "/oauth/revoke", data={"token": access_tokens[0]}, headers=basic_header
    )
    assert revoked.status_code == 200
    misplaced = await client.post(f"{TOKEN}?client_secret={secret}", data=GRANT)
    assert misplaced.status_code == 400
    revoke_credential = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": created["credential"]["id"]}},
        token=session,
    )
    assert revoke_credential["data"]["revokeCredential"]["__typename"] == "CredentialRevoked"
    metrics_body = (await client.get("/metrics")).text

    lines = logs.lines()
    assert any(line["message"] == "access token issued" for line in lines)
    assert any(line["logger"] == "partner_api.access" for line in lines)
    forbidden = {
        "client secret": secret,
        "session token": session,
        "Basic header value": basic_header["Authorization"].split()[1],
        **{f"access token {index}": token for index, token in enumerate(access_tokens)},
        # Part of a token is a token too: its signature alone must not appear either.
        **{
            f"signature {index}": token.rsplit(".")[-1] for index, token in enumerate(access_tokens)
        },
    }
    for what, value in forbidden.items():
        assert value not in logs.text, f"{what} in the logs"
        assert value not in metrics_body, f"{what} in /metrics"
    assert client_id not in metrics_body  # labels never name a client


def test_lg02_formatter_masks_credentials_in_message_extra_fields_and_traceback() -> None:
    """LG-02: defence in depth for what slips through — our secret and session-token formats,
    JWTs and Authorization values are masked wherever they appear in a record."""
    secret = "pcs_" + "a1B2" * 15 + "Z"
    session = "pas_" + "x9Y8" * 12 + "q"
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjbGllbnQ6cGNsX3gifQ.c2lnbmF0dXJlLWJ5dGVz"
    logger = logging.getLogger("tests.observability.scrubbing")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"bad value {secret}")
        except ValueError:
            logger.exception(
                "saw %s and %s",
                session,
                jwt,
                extra={
                    "authorization": "Basic cGNsX2E6cGNzX2I=",
                    "headers": {"Authorization": f"Bearer {jwt}", "Accept": "*/*"},
                    "note": f"Bearer {jwt[:20]}",
                    "client_id": "pcl_visible0123456789abcd",
                },
            )
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    line = json.loads(stream.getvalue())
    assert line["message"] == f"saw {MASK} and {MASK}"
    assert line["authorization"] == MASK
    assert line["headers"] == {"Authorization": MASK, "Accept": "*/*"}
    assert line["note"] == f"Bearer {MASK}"
    assert line["client_id"] == "pcl_visible0123456789abcd"
    assert line["exc_type"] == "ValueError"
    assert "bad value" in line["traceback"]
    for value in (secret, session, jwt, "cGNsX2E6cGNzX2I="):
        assert value not in stream.getvalue()


def test_lg02_scrubber_catches_truncated_secrets_and_url_passwords_keeps_client_ids_and_jtis() -> (
    None
):
    assert scrub("secret pcs_abcdefgh…") == f"secret {MASK}…"
    assert scrub("admin token pat_abcdefgh…") == f"admin token {MASK}…"  # PT-01
    assert scrub("client pcl_0123456789abcdefghijkl") == "client pcl_0123456789abcdefghijkl"
    assert scrub("postgres://app:pa55word@db:5432/x") == f"postgres://app:{MASK}@db:5432/x"
    assert scrub("redis://:pa55word@cache:6379/0") == f"redis://:{MASK}@cache:6379/0"
    assert scrub("jti 7b0c1d2e-aaaa-bbbb-cccc-0123456789ab") == (
        "jti 7b0c1d2e-aaaa-bbbb-cccc-0123456789ab"
    )


def test_lg02_scrubber_masks_auth_schemes_in_any_case_and_leaves_plain_text_alone() -> None:
    assert scrub("Authorization: BEARER abc.def") == f"Authorization: BEARER {MASK}"
    assert scrub("basic   dXNlcjpwYXNz, then") == f"basic   {MASK}, then"
    assert scrub("access token issued") == "access token issued"
    assert scrub("") == ""


def test_lg02_remembered_clean_strings_never_let_a_credential_through() -> None:
    """The scrubber remembers strings found clean (log lines repeat them); a credential is never
    remembered, and forgetting everything when the memory is full changes no verdict."""
    secret = "pcs_" + "a1B2" * 15 + "Z"
    for round_ in range(2):
        for index in range(scrubbing.KNOWN_CLEAN_MAX + 10):
            assert scrub(f"client pcl_{index:020d}") == f"client pcl_{index:020d}"
        assert scrub(f"got {secret}") == f"got {MASK}"
        assert f"got {secret}" not in scrubbing._KNOWN_CLEAN, round_
        assert scrub(f"got {secret}") == f"got {MASK}"


def test_extra_fields_of_a_record_rebuilt_from_a_dict_are_kept_in_order() -> None:
    """`logging.makeLogRecord` (queue and socket handlers) adds the fields after the standard
    ones, as `extra=` does: they are all written, in their order."""
    record = logging.makeLogRecord(
        {
            "name": "partner_api",
            "msg": "m",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "zeta": 1,
            "alpha": "a",
            "client_secret": "x",
        }
    )

    line = json.loads(JsonFormatter().format(record))

    assert list(line)[-3:] == ["zeta", "alpha", "client_secret"]
    assert (line["zeta"], line["alpha"], line["client_secret"]) == (1, "a", MASK)


def test_json_lines_are_ascii_whatever_they_carry_and_never_refuse_a_value() -> None:
    record = logging.LogRecord(
        "partner_api", logging.INFO, "x", 1, "renamed to %s", ("Bühne",), None
    )
    record.name_after = "Café → Bühne 🎫"
    record.huge = 2**80  # beyond the 64-bit integers orjson writes

    text = JsonFormatter().format(record)

    assert text.isascii()
    line = json.loads(text)
    assert line["message"] == "renamed to Bühne"
    assert line["name_after"] == "Café → Bühne 🎫"
    assert line["huge"] == 2**80


def test_text_format_carries_the_request_id_and_is_scrubbed_too() -> None:
    record = logging.LogRecord(
        "partner_api", logging.INFO, "x", 1, "got %s", ("pas_" + "a" * 49,), None
    )
    record.request_id = "req-1"
    record.reason = "wrong_secret"

    text = TextFormatter().format(record)

    assert f"INFO partner_api [req-1] got {MASK} reason=wrong_secret" in text


def test_logging_config_sends_uvicorn_loggers_through_the_json_formatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What `partner-api serve` gives uvicorn: its own loggers format as JSON lines too."""
    root = logging.getLogger()
    saved = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
               logging.getLogger(name).propagate)
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    }  # fmt: skip
    settings = Settings(log_format="json", log_level="INFO")
    try:
        logging.config.dictConfig(logging_config(settings))
        logging.getLogger("uvicorn.error").info("Application startup complete.")
        logging.getLogger("uvicorn.access").info("GET /?client_secret=x HTTP/1.1 200")
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name) if name else root
            for handler in logger.handlers[:]:
                logger.removeHandler(handler)
            for handler in handlers:
                logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        {
            "time": lines[0]["time"],
            "level": "INFO",
            "logger": "uvicorn.error",
            "message": "Application startup complete.",
        }
    ]


# -- metrics -----------------------------------------------------------------------------------


async def test_token_requests_are_counted_as_issued_or_refused_by_reason(
    client: httpx.AsyncClient,
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    auth = basic(issued.credential.client_id, issued.secret_value)
    name = "partner_api_token_requests_total"
    before = {
        reason: await metric(client, name, outcome="refused", reason=reason)
        for reason in (
            "invalid_client",
            "invalid_scope",
            "unsupported_grant_type",
            "invalid_request",
        )
    }
    issued_before = await metric(client, name, outcome="issued", reason="none")
    wrong_before = await metric(
        client, "partner_api_client_authentication_failures_total", reason="wrong_secret"
    )

    assert (await client.post(TOKEN, data=GRANT, headers=auth)).status_code == 200
    assert (await client.post(TOKEN, data=GRANT, headers=auth)).status_code == 200
    wrong = basic(issued.credential.client_id, wrong_secret_for(issued.secret_value))
    assert (await client.post(TOKEN, data=GRANT, headers=wrong)).status_code == 401
    narrowed = {**GRANT, "scope": "no:such-scope"}
    assert (await client.post(TOKEN, data=narrowed, headers=auth)).status_code == 400
    password_grant = {"grant_type": "password"}
    assert (await client.post(TOKEN, data=password_grant, headers=auth)).status_code == 400
    assert (await client.post(TOKEN, data={}, headers=auth)).status_code == 400

    assert await metric(client, name, outcome="issued", reason="none") == issued_before + 2
    for reason in before:
        assert await metric(client, name, outcome="refused", reason=reason) == before[reason] + 1
    # The fixed invalid_client answer hides why; the metric keeps it, without any client id.
    assert (
        await metric(
            client, "partner_api_client_authentication_failures_total", reason="wrong_secret"
        )
        == wrong_before + 1
    )


@pytest.mark.parametrize("redis_url", [None, REDIS_URL], ids=["in-memory", "redis"])
async def test_rate_limit_hits_are_counted_by_limiter(
    make_client: Callable[..., httpx.AsyncClient], redis_url: str | None
) -> None:
    """A throttled token request counts as a rate-limit hit of its limiter and as a refusal
    with reason rate_limited (TE-20), on both counter backends."""
    client = make_client(redis_url=redis_url, token_max_failures_per_address=2)
    if redis_url is not None:
        # The Redis test database is shared: start this limiter's windows from zero.
        redis = Redis.from_url(redis_url)
        await redis.delete(
            f"partner-api:token-failures-address:{CLIENT_ADDRESS}",
            f"partner-api:token-failures-client-address:pcl_nobody\x00{CLIENT_ADDRESS}",
        )
        await redis.aclose()
    hits = "partner_api_rate_limit_hits_total"
    hits_before = await metric(client, hits, limiter="token-failures-address")
    refused_before = await metric(
        client, "partner_api_token_requests_total", outcome="refused", reason="rate_limited"
    )
    wrong = basic("pcl_nobody", "pcs_" + "B" * 61)

    statuses = [(await client.post(TOKEN, data=GRANT, headers=wrong)).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]
    assert await metric(client, hits, limiter="token-failures-address") == hits_before + 1
    assert (
        await metric(
            client, "partner_api_token_requests_total", outcome="refused", reason="rate_limited"
        )
        == refused_before + 1
    )


async def test_cache_hits_and_misses_are_counted_for_the_ratio(client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    auth = basic(issued.credential.client_id, issued.secret_value)
    name = "partner_api_cache_requests_total"

    async def cache(cache: str, result: str) -> float:
        return await metric(client, name, cache=cache, result=result)

    directory_hits, directory_misses = (
        await cache("credential_directory", "hit"),
        await cache("credential_directory", "miss"),
    )
    token_hits, token_misses = (
        await cache("verified_tokens", "hit"),
        await cache("verified_tokens", "miss"),
    )
    first = await client.post(TOKEN, data=GRANT, headers=auth)  # directory miss, then cached
    await client.post(TOKEN, data=GRANT, headers=auth)  # directory hit
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    await client.get("/partner/v1/me", headers=bearer)  # verified-token miss
    await client.get("/partner/v1/me", headers=bearer)  # verified-token hit

    assert await cache("credential_directory", "miss") == directory_misses + 1
    assert await cache("credential_directory", "hit") >= directory_hits + 1
    assert await cache("verified_tokens", "miss") == token_misses + 1
    assert await cache("verified_tokens", "hit") == token_hits + 1


async def test_access_token_checks_are_counted_by_outcome(client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    token = (
        await client.post(
            TOKEN, data=GRANT, headers=basic(issued.credential.client_id, issued.secret_value)
        )
    ).json()["access_token"]
    name = "partner_api_access_token_checks_total"
    before = {
        outcome: await metric(client, name, outcome=outcome)
        for outcome in ("valid", "missing_token", "invalid_token")
    }

    await client.get("/partner/v1/me", headers={"Authorization": f"Bearer {token}"})
    await client.get("/partner/v1/me")
    await client.get("/partner/v1/me", headers={"Authorization": f"Bearer {token}x"})

    for outcome, value in before.items():
        assert await metric(client, name, outcome=outcome) == value + 1


async def test_latency_histogram_is_labelled_by_route_template_never_by_raw_path(
    client: httpx.AsyncClient,
) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    token = (
        await client.post(
            TOKEN, data=GRANT, headers=basic(issued.credential.client_id, issued.secret_value)
        )
    ).json()["access_token"]
    order_id = "0b6f6d5e-1f1e-4c1b-9a55-3c1a2b3c4d5e"
    bearer = {"Authorization": f"Bearer {token}"}
    count = "partner_api_http_request_duration_seconds_count"
    template = "/partner/v1/orders/{order_id}"
    before = await metric(client, count, route=template, method="GET", status="4xx")
    unmatched_before = await metric(client, count, route="unmatched", method="GET", status="4xx")

    assert (await client.get(f"/partner/v1/orders/{order_id}", headers=bearer)).status_code == 404
    assert (await client.get("/no/such/path/pcl_abc")).status_code == 404
    body = (await client.get("/metrics")).text

    assert await metric(client, count, route=template, method="GET", status="4xx") == before + 1
    assert (
        await metric(client, count, route="unmatched", method="GET", status="4xx")
        == unmatched_before + 1
    )
    assert order_id not in body
    assert "/no/such/path" not in body
    assert 'le="0.001"' in body


def test_histogram_counts_a_value_in_the_first_bucket_at_or_above_it() -> None:
    registry = CollectorRegistry()
    family = HistogramFamily("t_seconds", "Test.", ["route"], buckets=(0.001, 0.01, 0.1))
    registry.register(family)
    timing = family.labels("/x")

    for seconds in (0.0005, 0.001, 0.002, 5.0):
        timing.observe(seconds)

    def bucket(le: str) -> float | None:
        return registry.get_sample_value("t_seconds_bucket", {"route": "/x", "le": le})

    assert [bucket(le) for le in ("0.001", "0.01", "0.1", "+Inf")] == [2.0, 3.0, 3.0, 4.0]
    assert registry.get_sample_value("t_seconds_count", {"route": "/x"}) == 4.0
    assert registry.get_sample_value("t_seconds_sum", {"route": "/x"}) == pytest.approx(5.0035)


async def test_metrics_in_production_without_a_token_are_not_on_the_main_port(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(env="production", metrics_token=None)

    response = await client.get("/metrics")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"  # exactly like any unknown path


@pytest.mark.parametrize("env", ["production", "development"])
async def test_metrics_token_is_required_when_set(
    make_client: Callable[..., httpx.AsyncClient], env: str
) -> None:
    client = make_client(env=env, metrics_token=METRICS_TOKEN)

    missing = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
    right = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain; version=")
    assert "partner_api_token_requests_total" in right.text
    assert METRICS_TOKEN not in right.text


async def test_metrics_in_development_without_a_token_are_open(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


async def test_the_internal_listener_serves_metrics_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/healthz")
    listener = MetricsListener("127.0.0.1", 0)
    port = listener.start()
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        listener.stop()

    assert response.status_code == 200
    assert 'partner_api_http_request_duration_seconds_count{method="GET",route="/healthz"' in (
        response.text
    )
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.TransportError):
            await http.get(f"http://127.0.0.1:{port}/metrics", timeout=1.0)


def test_serve_refuses_a_metrics_port_with_several_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTNER_API_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PARTNER_API_METRICS_PORT", "9100")

    status = run(["serve", "--workers", "2"])

    assert status == 1
    assert "PARTNER_API_METRICS_PORT needs --workers 1" in capsys.readouterr().err


# -- readiness ---------------------------------------------------------------------------------


async def test_readyz_reports_database_and_redis(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    without_redis = await make_client().get("/readyz")
    with_redis = await make_client(redis_url=REDIS_URL).get("/readyz")

    assert without_redis.status_code == with_redis.status_code == 200
    assert without_redis.json() == {
        "status": "ready",
        "database": "ok",
        "redis": "not configured",
    }
    assert with_redis.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_readyz_is_503_naming_redis_when_redis_is_down(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    started = time.monotonic()
    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}
    assert time.monotonic() - started < 2.5


async def test_readyz_is_503_within_its_bound_when_the_database_hangs(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hanging(*args: object, **kwargs: object) -> NoReturn:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    monkeypatch.setattr(connections.get("default"), "execute_query", hanging)

    started = time.monotonic()
    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "timeout"
    assert time.monotonic() - started < 2.5


async def test_readyz_is_503_when_the_database_server_is_unreachable(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    """A real connection to a closed PostgreSQL port, not a stub: the app's `default`
    connection is swapped for one that cannot connect."""
    client = make_client()
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/none"
    unreachable = AsyncpgDBClient(connection_name="default", **expand_db_url(url)["credentials"])
    swapped = connections.set("default", unreachable)
    try:
        response = await client.get("/readyz")
    finally:
        connections.reset(swapped)
        await unreachable.close()

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


# -- a live server ------------------------------------------------------------------------------


async def test_live_server_logs_json_only_and_serves_metrics_on_its_internal_port(
    tmp_path: Path,
) -> None:
    """`partner-api serve` in production-like JSON mode at DEBUG: every stderr line, uvicorn's
    included, is a JSON object; request lines carry the echoed request id; no secret or token
    appears (LG-02); the internal metrics port answers without a token."""
    pepper = "live-observability-pepper-0123456789abcdefgh"
    async with empty_database(tmp_path / "live.sqlite3") as database_url:
        port, metrics_port = free_port(), free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
            "PARTNER_API_SECRET_PEPPER": pepper,
            "PARTNER_API_KEY_ENCRYPTION_KEY": "live-observability-kek-0123456789abcdefghij",
            "PARTNER_API_DATA_DIR": str(tmp_path),
            "PARTNER_API_ISSUER": f"http://127.0.0.1:{port}",
            "PARTNER_API_LOG_FORMAT": "json",
            "PARTNER_API_LOG_LEVEL": "debug",
            "PARTNER_API_METRICS_PORT": str(metrics_port),
        }
        await run_cli(env, tmp_path, "migrate")
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(database_url))
            organisation = await Organisation.create(name="Live Logs")
            issued = await make_credential(
                organisation=organisation, hasher=KeyedHasher((pepper.encode(),))
            )
        stderr_path = tmp_path / "serve.stderr"
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port),
                stdout=asyncio.subprocess.DEVNULL, stderr=stderr, env=env, cwd=tmp_path,
            )  # fmt: skip
        try:
            await wait_until_ready(process, f"http://127.0.0.1:{port}", stderr_path)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10
            ) as http:
                auth = basic(issued.credential.client_id, issued.secret_value)
                token = (await http.post(TOKEN, data=GRANT, headers=auth)).json()["access_token"]
                me = await http.get(
                    "/partner/v1/me",
                    headers={"Authorization": f"Bearer {token}", "X-Request-Id": "live-me-1"},
                )
                on_main_port = await http.get("/metrics")
                internal = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        finally:
            await stop(process)

    assert me.status_code == 200
    assert me.headers["x-request-id"] == "live-me-1"
    assert on_main_port.status_code == 200  # development: open when no token is set
    assert internal.status_code == 200
    assert 'route="/partner/v1/me"' in internal.text
    output = stderr_path.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "partner_api.access", "partner_api.oauth"} <= loggers
    me_lines = [line for line in lines if line.get("request_id") == "live-me-1"]
    assert any(line.get("route") == "/partner/v1/me" for line in me_lines)
    # The per-token line (LG-01), written through the handler's shortcut (foundation/event_log).
    (issued_line,) = [line for line in lines if line["message"] == "access token issued"]
    assert issued_line["client_id"] == issued.credential.client_id
    assert issued_line["logger"] == "partner_api.oauth"
    assert issued_line["jti"]
    assert issued_line["request_id"]
    for value in (issued.secret_value, token, auth["Authorization"].split()[1]):
        assert value not in output
