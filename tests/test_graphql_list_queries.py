"""A page of credentials is loaded in a fixed number of queries, whatever its size, and its nodes
are plain values.

`schema/credential_nodes.py` loads the page's live secrets, creators and the organisation's
policy once per page, so GraphQL completes the nodes without a query (or an await) per
credential; the page's `usage(range: LAST_DAY) { calls errors }` is read for all of its
credentials at once (`Context.credential_usage`). These tests count the SQL statements of the
admin page's own `Credentials` operation and check that the batched values land on the right
nodes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from strawberry.types.base import get_object_definition

from models.organisation import Organisation
from schema.types import Credential, CredentialSecret, User
from tests.helpers import (
    admin_token,
    counting_queries,
    create_via_graphql,
    gql,
    make_credential,
    operation,
    regenerate_via_graphql,
)

# The session, the page, its live secrets, its creators, the policy, the COUNT, and the usage.
QUERIES_PER_PAGE = 7


async def page(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    body = await gql(client, operation("Credentials"), {"first": 20}, token=token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["credentials"]["edges"]]


async def test_a_page_costs_the_same_queries_for_2_and_for_12_credentials(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    for index in range(2):
        await create_via_graphql(client, token, name=f"Partner {index}")
    with counting_queries(monkeypatch) as small:
        assert len(await page(client, token)) == 2
    for index in range(2, 12):
        await create_via_graphql(client, token, name=f"Partner {index}")
    with counting_queries(monkeypatch) as large:
        assert len(await page(client, token)) == 12
    assert len(small) == len(large) == QUERIES_PER_PAGE, (small, large)


async def test_batched_creators_and_secrets_land_on_their_own_credentials(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    by_admin = await create_via_graphql(client, token, name="By the admin")
    organisation = await Organisation.get(name="Acme Tickets")
    by_system = await make_credential(organisation=organisation, name="By the system")
    rotated = await create_via_graphql(client, token, name="Rotated")
    await regenerate_via_graphql(client, token, rotated["credential"]["id"], grace=60)

    nodes = {node["name"]: node for node in await page(client, token)}

    assert nodes["By the admin"]["createdBy"] == {"email": "admin@acme.example"}
    assert nodes["By the admin"]["id"] == by_admin["credential"]["id"]
    assert nodes["By the system"]["createdBy"] is None
    assert nodes["By the system"]["clientId"] == by_system.credential.client_id
    assert [len(nodes[name]["secrets"]) for name in ("By the admin", "By the system")] == [1, 1]
    current, previous = nodes["Rotated"]["secrets"]
    assert current["expiresAt"] is None
    assert current["safeToEnd"] is None
    assert previous["expiresAt"] is not None
    assert previous["safeToEnd"] is False  # the rotation is younger than the settle time
    assert current["createdAt"] > previous["createdAt"]


def test_credential_nodes_have_no_field_resolvers_but_usage() -> None:
    """A resolver on any of these types would run once per credential on every page (an async
    one is an awaitable each: 60 per page of 20 made the list 0.53 of plain Strawberry). `usage`
    takes an argument, so it needs one; it runs only when selected, reading the whole page's
    usage in one batch."""
    expected = {Credential: ["usage"], CredentialSecret: [], User: []}
    for node_type, allowed in expected.items():
        with_resolvers = [
            field.python_name
            for field in get_object_definition(node_type, strict=True).fields
            if field.base_resolver is not None
        ]
        assert with_resolvers == allowed, (node_type.__name__, with_resolvers)
