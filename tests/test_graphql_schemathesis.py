"""A bounded schemathesis run against the admin GraphQL API (`POST /graphql`).

Schemathesis reads the schema by introspection and, for every root field of Query and Mutation,
generates documents from it (hypothesis-graphql): valid ones and, in a second pass, invalid ones.
Each is sent authenticated as an organisation admin (a session bearer token), so the resolvers
run, not only the login check. Every answer must be a GraphQL response a client can use: never a
5xx, a JSON object of `data`/`errors`, no field that breaks its own schema's non-null promise, no
masked unexpected fault (GQ-07, LG-03: "Unexpected error."), and every invalid document refused
with an error rather than run.

Like the OpenAPI run (`tests/test_partner_schemathesis.py`, which covers `GET /openapi.json`'s
operations and stays in the suite), cases are generated synchronously by Hypothesis (derandomised,
no example database, at most `MAX_EXAMPLES` per field and mode) and sent through the test's own
async client, on the test's event loop and database. Ids in generated documents are often swapped
for ids of seeded credentials, so mutations reach real rows and state changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.graphql.loaders import get_introspection_query
from schemathesis.schemas import APIOperation
from schemathesis.specs.graphql.schemas import GraphQLSchema

from tests.helpers import admin_token, create_via_graphql, login
from tests.schemathesis_support import derandomised_examples

AnyCase = Case[Any]
Operation = APIOperation[Any, Any, Any, Any]
MAX_EXAMPLES = 15
MASKED_MESSAGE = "Unexpected error."
SERVER_FAULT_CODES = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}
# `id: "…"` or `id: 123` as an argument or input field in a generated document.
ID_ARGUMENT = re.compile(r'(\bid:\s*)("(?:[^"\\]|\\.)*"|-?\d+)')


@dataclass(frozen=True)
class Seed:
    """An admin's session tokens and the ids of credentials of its organisation."""

    token: str
    # Mutation.logout ends the session it is sent with; it gets a session of its own.
    spare_token: str
    credential_ids: tuple[str, ...]


@pytest.fixture
async def seed(client: httpx.AsyncClient) -> Seed:
    token = await admin_token(client)
    ids = []
    for name in ("Box office", "Door scanner", "Reseller feed"):
        created = await create_via_graphql(client, token, name=name)
        assert created["__typename"] == "CredentialCreated", created
        ids.append(created["credential"]["id"])
    spare = await login(client, email="admin@acme.example")
    return Seed(token=token, spare_token=spare, credential_ids=tuple(ids))


async def _schema(client: httpx.AsyncClient, seed: Seed) -> GraphQLSchema:
    # Introspected through our own client rather than `schemathesis.graphql.from_asgi`, whose
    # synchronous test client would run the app on another thread and event loop.
    response = await client.post(
        "/graphql",
        json={"query": get_introspection_query()},
        headers={"Authorization": f"Bearer {seed.token}"},
    )
    assert response.status_code == 200, response.text
    return schemathesis.graphql.from_dict(response.json())


def _operations(schema: GraphQLSchema) -> list[Operation]:
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    return operations


def _with_seeded_ids(seed: Seed) -> Callable[[tuple[AnyCase, int]], AnyCase]:
    """Swap every `id` argument for a seeded credential's id (chosen by Hypothesis)."""

    def swap(drawn: tuple[AnyCase, int]) -> AnyCase:
        case, choice = drawn
        # The case's body is the document; the JSON request body is built from it when sent.
        if isinstance(case.body, str):
            seeded = seed.credential_ids[choice % len(seed.credential_ids)]
            case.body = ID_ARGUMENT.sub(lambda m: f'{m.group(1)}"{seeded}"', case.body)
        return case

    return swap


def _token(operation: Operation, seed: Seed) -> str:
    return seed.spare_token if operation.label == "Mutation.logout" else seed.token


def _generate(operation: Operation, seed: Seed, mode: GenerationMode) -> list[AnyCase]:
    """Up to MAX_EXAMPLES cases, the same ones on every run (derandomised, no example database)."""
    generated = operation.as_strategy(generation_mode=mode)
    strategy = st.one_of(
        generated,
        st.tuples(generated, st.integers(min_value=0, max_value=5)).map(_with_seeded_ids(seed)),
    )
    cases = derandomised_examples(strategy, MAX_EXAMPLES)
    if cases is None:
        # Nothing of this field can be made invalid (it takes no arguments).
        assert mode is GenerationMode.NEGATIVE, operation.label
        return []
    return cases


def _is_negative(case: AnyCase) -> bool:
    # A field without arguments cannot be made invalid; its "negative" cases are valid ones.
    return case.meta is not None and case.meta.generation.mode.is_negative


def _problems(case: AnyCase, response: httpx.Response) -> list[str]:
    """What is wrong with the answer to `case`; empty when it is a usable GraphQL response."""
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}: {response.text[:300]}"]
    problems: list[str] = []
    try:
        # Schemathesis's own judgement: JSON, an object, no non-null field resolved to null.
        case.operation.schema.validate_response(
            case.operation, Response.from_httpx(response, verify=False), case=case
        )
    except Failure as failure:
        problems.append(f"{failure.title}: {failure.message}")
    try:
        payload = response.json()
    except ValueError:
        return [*problems, f"not JSON: {response.text[:300]}"]
    if not isinstance(payload, dict) or not set(payload) <= {"data", "errors", "extensions"}:
        return [*problems, f"not a GraphQL response: {str(payload)[:300]}"]
    if response.status_code != 200:
        problems.append(f"HTTP {response.status_code} for a well-formed POST: {payload}")
    errors = payload.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if error.get("message") == MASKED_MESSAGE or code in SERVER_FAULT_CODES:
            problems.append(f"server fault (GQ-07): {error}")
    if _is_negative(case) and not errors:
        problems.append(f"an invalid document was run: {payload}")
    if "data" not in payload and not errors:
        problems.append(f"neither data nor errors: {payload}")
    return problems


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
async def test_gq07_schemathesis_finds_no_server_faults_in_the_graphql_api(
    client: httpx.AsyncClient, seed: Seed, mode: GenerationMode
) -> None:
    """GQ-07, LG-03: generated documents for every root field, as an authenticated admin, are
    answered with valid GraphQL JSON, never a 5xx or a masked fault; invalid ones are refused."""
    schema = await _schema(client, seed)
    failures: list[str] = []
    sent: dict[str, int] = {}
    operations = _operations(schema)
    for operation in operations:
        for case in _generate(operation, seed, mode):
            body = case.as_transport_kwargs(base_url="http://testserver")["json"]
            response = await client.post(
                "/graphql",
                json=body,
                headers={"Authorization": f"Bearer {_token(operation, seed)}"},
            )
            sent[operation.label] = sent.get(operation.label, 0) + 1
            for problem in _problems(case, response):
                failure = f"{operation.label}: {problem}\n{body['query']}"
                if failure not in failures:
                    failures.append(failure)
    assert not failures, "\n\n".join(failures)
    if mode is GenerationMode.POSITIVE:
        # Every root field was exercised: one that generates nothing tests nothing.
        labels = {operation.label for operation in operations}
        assert set(sent) == labels, labels - set(sent)
        assert {"Mutation.regenerateCredentialSecret", "Query.credentials"} <= labels
