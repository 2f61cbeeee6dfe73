"""GraphQL documents built to be expensive, against a live server (GQ-11, GQ-12).

Each case asserts what the document is answered *and* what it costs the others: while it is
being handled, `GET /healthz` on the same process answers within seconds (tests/cost_probe.py).
Every case is sent without a session and with one, since validation runs before
authentication. A deterministic test beside them counts the work the budget check does, so the
linear bound is proven without timing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graphql import get_introspection_query
from schema.document_cost import DocumentMeter
from schema.root import DEFAULT_MAX_COST, build_schema
from tests.cost_probe import CostServer, responsive_while, running_server
from tests.helpers import operation

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A refusal is linear work on a document of at most 2,000 tokens: milliseconds. One second
# leaves room for a loaded CI machine while still failing any super-linear case by far.
REFUSAL_BOUND_SECONDS = 1.0


def doubling_fragments(levels: int) -> str:
    """Each fragment spreads the next one twice: 2**levels fields once expanded."""
    chain = " ".join(
        f"fragment F{i} on Viewer {{ ...F{i + 1} ...F{i + 1} role }}" for i in range(levels)
    )
    return f"query {{ viewer {{ ...F0 }} }} {chain} fragment F{levels} on Viewer {{ role }}"


def wide_fragment_spread_everywhere() -> str:
    fields = " ".join(["role"] * 400)
    spreads = " ".join(["...Wide"] * 14)
    return f"query {{ viewer {{ {spreads} }} }} fragment Wide on Viewer {{ {fields} }}"


def many_operations(count: int) -> str:
    return " ".join(f"query Q{i} {{ viewer {{ role }} }}" for i in range(count))


def aliased_largest_pages(aliases: int) -> str:
    page = (
        "credentials(first: 100) { edges { node { id name clientId status scopes createdAt "
        "secrets { id hint createdAt expiresAt lastUsedAt } } } }"
    )
    return "{ " + " ".join(f"p{i}: {page}" for i in range(aliases)) + " }"


def long_directive_list(count: int) -> str:
    return "{ viewer { role " + " ".join(["@include(if: true)"] * count) + " } }"


def fragment_cycle(length: int) -> str:
    chain = " ".join(
        f"fragment C{i} on Viewer {{ ...C{(i + 1) % length} role }}" for i in range(length)
    )
    return f"{{ viewer {{ ...C0 }} }} {chain}"


def nested_lists_through_introspection() -> str:
    return "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"


def repeated_identical_fields(count: int) -> str:
    return "{ viewer { " + " ".join(["role"] * count) + " } }"


def near_token_limit() -> str:
    return "{ " + " ".join(["__typename"] * 1990) + " }"


def nested_inline_fragments(levels: int) -> str:
    return "{ viewer { " + "... on Viewer { " * levels + "role" + " }" * levels + " } }"


@dataclass(frozen=True)
class Case:
    document: str
    # A fragment of one of the error messages; None when the document must be answered.
    refusal: str | None
    variables: dict[str, Any] | None = None


CATALOGUE: dict[str, Case] = {
    "issue-fragments-16": Case(doubling_fragments(16), "Query cost"),
    "issue-fragments-30": Case(doubling_fragments(30), "Query cost"),
    "fragments-60": Case(doubling_fragments(60), "Query cost"),
    "wide-fragment-spread-14-times": Case(wide_fragment_spread_everywhere(), None),
    "150-operations": Case(many_operations(150), None),
    "aliased-largest-pages": Case(aliased_largest_pages(15), "Query cost"),
    "too-many-aliases": Case(aliased_largest_pages(40), "aliases found"),
    "250-directives": Case(long_directive_list(250), "can only be used once"),
    "fragment-self-cycle": Case(fragment_cycle(1), "within itself"),
    "fragment-cycle-of-100": Case(fragment_cycle(100), "within itself"),
    "introspection-lists-nested": Case(nested_lists_through_introspection(), "introspection depth"),
    "1900-identical-fields": Case(repeated_identical_fields(1900), None),
    "near-token-limit": Case(near_token_limit(), None),
    "over-token-limit": Case("{ " + " ".join(["__typename"] * 2100) + " }", "2000 tokens"),
    "inline-fragments-nested-150": Case(nested_inline_fragments(150), None),
    "huge-variable-list": Case(
        "mutation($input: CreateCredentialInput!) { createCredential(input: $input) "
        "{ __typename } }",
        None,
        {
            "input": {
                "name": "x",
                "contactEmail": "a@b.example",
                "accessLevel": "FINE_GRAINED",
                "scopes": ["events:read"] * 4000,
            }
        },
    ),
    "introspection-query": Case(get_introspection_query(descriptions=True), None),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CostServer]:
    async with running_server(tmp_path_factory.mktemp("graphql-cost")) as live:
        yield live


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session_token(server: CostServer) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": operation("Login"),
                "variables": {"email": server.admin_email, "password": server.admin_password},
            },
        )
    token: str = response.json()["data"]["login"]["token"]
    return token


@pytest.mark.parametrize("signed_in", [False, True], ids=["no-session", "session"])
@pytest.mark.parametrize("name", list(CATALOGUE))
async def test_gq11_gq12_costly_document_is_bounded_and_the_process_stays_responsive(
    server: CostServer, session_token: str, name: str, signed_in: bool
) -> None:
    case = CATALOGUE[name]
    headers = {"Authorization": f"Bearer {session_token}"} if signed_in else {}
    body = {"query": case.document, "variables": case.variables or {}}
    outcome = await responsive_while(
        server, lambda http: http.post("/graphql", json=body, headers=headers)
    )
    assert outcome.response.status_code in (200, 400), outcome.response.text
    answer = outcome.response.json()
    messages = [error["message"] for error in answer.get("errors") or []]
    if case.refusal is not None:
        assert answer.get("data") is None, answer
        assert any(case.refusal in message for message in messages), messages
        assert outcome.hostile_seconds < REFUSAL_BOUND_SECONDS
    else:
        assert not any("Query cost" in message for message in messages), messages
        assert "Unexpected error." not in messages


@pytest.mark.parametrize("levels", [8, 16, 30, 60])
async def test_gq11_fragments_are_measured_once_each_whatever_they_expand_to(
    levels: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget check walks each selection set of the document once: 2**levels fields are
    priced by `levels + 2` selection-set walks (one per fragment, one for the operation and
    the field inside it), not by expanding them."""
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    document = parse(doubling_fragments(levels))
    walks = 0
    real_walk = DocumentMeter._selection_set

    def counting_walk(self: DocumentMeter, *args: Any) -> Any:
        nonlocal walks
        walks += 1
        return real_walk(self, *args)

    monkeypatch.setattr(DocumentMeter, "_selection_set", counting_walk)
    meter = DocumentMeter(build_schema()._schema, page_size_max=100, default_page_size=20)
    (measured,) = meter.measure(
        [d for d in document.definitions if isinstance(d, OperationDefinitionNode)],
        [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)],
    )
    assert walks == (levels + 1) + 2
    assert measured.measure.cost == min(2 ** (levels + 1) - 1 + 1, 1 << 40)


async def test_gq11_every_admin_page_operation_fits_the_default_budget() -> None:
    """The budget refuses hostile documents without refusing the product's own operations at
    the largest page."""
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
    from tests.helpers import OPERATIONS

    meter_schema = build_schema()._schema
    for path in sorted(OPERATIONS.glob("*.graphql")):
        if path.stem == "fragments":
            continue
        document = parse(operation(path.stem))
        meter = DocumentMeter(meter_schema, page_size_max=100, default_page_size=20)
        for measured in meter.measure(
            [d for d in document.definitions if isinstance(d, OperationDefinitionNode)],
            [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)],
        ):
            assert measured.measure.cost <= DEFAULT_MAX_COST, path.stem
            assert measured.measure.depth <= 10, path.stem
