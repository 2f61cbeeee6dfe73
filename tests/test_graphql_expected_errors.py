"""Expected refusals answer their own message and log one short line, never a traceback (GQ-14);
unexpected faults are still masked and logged at ERROR with their traceback (GQ-07, LG-03)."""

from __future__ import annotations

import json
import logging
from typing import Any, NoReturn

import httpx
import pytest

import resolvers.credentials
from models.credential import Credential
from partner_api.web.observability.log_format import JsonFormatter
from tests.helpers import admin_token, gql, operation

# A value a careless client might send in the wrong variable: it must never reach a log.
SECRET_LOOKING_VALUE = "hunter2-correct-horse"
CREATE_INPUT = {"name": "Box office", "contactEmail": "it@partner.example", "accessLevel": "FULL"}
LEAKY_MESSAGE = "SELECT * FROM credential (File /srv/partner-api/secret_module.py, line 7)"


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors") or []]


def service_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the service logged (the test's own HTTP client logs each request too)."""
    return [record for record in caplog.records if not record.name.startswith("httpx")]


def logged_text(record: logging.LogRecord) -> str:
    """Everything a handler could write for `record`."""
    return f"{record.getMessage()} {record.__dict__!r}"


# --- Variable coercion answers GraphQL's own error --------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        (
            "CreateCredential",
            {"input": {**CREATE_INPUT, "expiresAt": "not-a-date"}},
            ["Variable '$input' has invalid value at .expiresAt", "DateTime", "not-a-date"],
        ),
        (
            "CreateCredential",
            {"input": {**CREATE_INPUT, "accessLevel": "NOPE"}},
            ["Variable '$input' has invalid value at .accessLevel", "'NOPE'", "AccessLevel"],
        ),
        (
            "Credentials",
            {"first": "ten"},
            ["Variable '$first' has invalid value", "Int cannot represent", "'ten'"],
        ),
    ],
)
async def test_gq14_a_variable_that_does_not_coerce_answers_the_coercion_error(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any], expected: list[str]
) -> None:
    token = await admin_token(client)

    body = await gql(client, operation(document), variables, token=token)

    assert body["data"] is None
    [message] = messages(body)
    for fragment in expected:
        assert fragment in message, message
    assert await Credential.all().count() == 0


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("2024-02-30T10:00:00Z", "day is out of range for month"),
        ("tomorrow", "Expected 4 digits, got 'tomo'"),
        (1735689600, "Expected a string."),
        ({"year": 2030}, "Expected a string."),
    ],
)
async def test_gq14_a_datetime_it_cannot_read_is_named_without_internals(
    client: httpx.AsyncClient, value: object, detail: str
) -> None:
    """The DateTime scalar words its own refusal: the variable, the type and what is wrong,
    never an exception's class, module or traceback."""
    token = await admin_token(client)
    variables = {"input": {**CREATE_INPUT, "expiresAt": value}}

    body = await gql(client, operation("CreateCredential"), variables, token=token)

    [message] = messages(body)
    assert message.startswith(
        "Variable '$input' has invalid value at .expiresAt: Value cannot represent a DateTime: "
    ), message
    assert message.endswith(detail), message
    for internal in ("Error", "Traceback", "dateutil", "strawberry", ".py"):
        assert internal not in message, message


async def test_gq14_a_missing_required_variable_is_reported_not_masked(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(client, operation("CreateCredential"), {})

    assert messages(body) == [
        "Variable '$input' has invalid value: "
        "Expected a value of non-null type 'CreateCredentialInput!' to be provided."
    ]


# --- Expected refusals log one short line below ERROR -------------------------------------------


async def _unauthenticated(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str | None]:
    # Ten aliased nullable fields, ten errors in the answer: still one line for the request.
    document = "{ " + " ".join(f'a{n}: credential(id: "{n}") {{ id }}' for n in range(10)) + " }"
    return document, {}, None


async def _coercion(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str | None]:
    variables = {"input": {**CREATE_INPUT, "expiresAt": SECRET_LOOKING_VALUE}}
    return operation("CreateCredential"), variables, await admin_token(client)


async def _validation(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str | None]:
    return "{ viewer { favouriteColour } }", {}, await admin_token(client)


async def _syntax(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str | None]:
    return "{ viewer { role }", {}, None


async def _bad_cursor(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str | None]:
    return operation("Credentials"), {"after": SECRET_LOOKING_VALUE}, await admin_token(client)


@pytest.mark.parametrize(
    ("prepare", "code", "expected_message"),
    [
        (_unauthenticated, "UNAUTHENTICATED", "Authentication required: log in first."),
        (_coercion, "BAD_USER_INPUT", "Variable '$input' has invalid value at .expiresAt"),
        (_validation, "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'favouriteColour'"),
        (_syntax, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
        (_bad_cursor, "BAD_USER_INPUT", "Invalid cursor"),
    ],
)
async def test_gq14_an_expected_refusal_logs_one_short_info_line_without_traceback(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    prepare: Any,
    code: str,
    expected_message: str,
) -> None:
    document, variables, token = await prepare(client)
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    body = await gql(client, document, variables, token=token)

    assert all(expected_message in message for message in messages(body)), body
    assert "Unexpected error." not in messages(body)
    if code == "UNAUTHENTICATED":
        assert len(messages(body)) == 10
    records = service_records(caplog)
    [line] = [record for record in records if record.levelno >= logging.INFO]
    assert (line.name, line.levelno, line.getMessage()) == (
        "partner_api.graphql",
        logging.INFO,
        "graphql request refused",
    )
    assert line.__dict__["code"] == code
    # Nothing the client sent is in any record, at any level, and no record has a traceback.
    for record in records:
        assert record.exc_info is None, logged_text(record)
        assert not record.name.startswith("strawberry"), logged_text(record)
        text = logged_text(record)
        for sent in (SECRET_LOOKING_VALUE, "viewer {", "credential(id:", "favouriteColour"):
            assert sent not in text, text
    # Formatted as it is in production: one short JSON object, no traceback field.
    formatted = json.loads(JsonFormatter().format(line))
    assert set(formatted) == {"time", "level", "logger", "message", "code", "errors"}
    assert len(JsonFormatter().format(line)) < 200


# --- Unexpected faults are still errors ---------------------------------------------------------


def _leaky_failure(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError(LEAKY_MESSAGE)


async def test_gq14_an_unexpected_fault_still_logs_an_error_with_its_traceback_and_is_masked(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    monkeypatch.setattr(resolvers.credentials, "paginate", _leaky_failure)
    caplog.set_level(logging.INFO)
    caplog.clear()

    body = await gql(client, operation("Credentials"), {"first": 5}, token=token)

    assert messages(body) == ["Unexpected error."]
    assert "SELECT" not in json.dumps(body)
    [line] = [record for record in service_records(caplog) if record.levelno >= logging.ERROR]
    assert line.name == "partner_api.graphql"
    assert line.__dict__["path"] == "credentials"
    assert line.exc_info is not None
    assert isinstance(line.exc_info[1], RuntimeError)
    formatted = json.loads(JsonFormatter().format(line))
    assert formatted["exc_type"] == "RuntimeError"
    assert "_leaky_failure" in formatted["traceback"]
    # The operator sees where and why, but not the query's text, which can hold literals.
    assert "credentials(first:" not in json.dumps(formatted)
