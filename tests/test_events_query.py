"""`Query.events`: the organisation's events for the admin API (tenant-scoped like credentials),
searchable, with upcoming ones soonest first, paged in SQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import gql, login, make_admin
from tests.test_partner_events import make_event

EVENTS = """
query Events($first: Int, $after: String, $search: String, $upcoming: Boolean) {
  events(first: $first, after: $after, search: $search, upcoming: $upcoming) {
    totalCount
    edges { node { id name venue startsAt endsAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _admin(client: httpx.AsyncClient, organisation: str) -> tuple[str, Organisation]:
    email = f"admin@{organisation.lower().replace(' ', '-')}.example"
    _, org, _ = await make_admin(organisation=organisation, email=email)
    return await login(client, email=email), org


async def _events(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, EVENTS, variables, token=token)
    assert "errors" not in body, body
    events: dict[str, Any] = body["data"]["events"]
    return events


def _names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def test_cr07_events_are_the_callers_organisation_only(client: httpx.AsyncClient) -> None:
    token, org = await _admin(client, "Acme Tickets")
    _, other = await _admin(client, "Other Tickets")
    await make_event(org, name="Ours")
    await make_event(other, name="Theirs")
    connection = await _events(client, token)
    assert _names(connection) == ["Ours"]
    assert connection["totalCount"] == 1


async def test_events_are_newest_first_and_upcoming_ones_soonest_first(
    client: httpx.AsyncClient,
) -> None:
    token, org = await _admin(client, "Acme Tickets")
    now = utcnow()
    await make_event(org, name="Last year", starts_at=now - timedelta(days=365))
    await make_event(org, name="Next month", starts_at=now + timedelta(days=30))
    await make_event(org, name="Next week", starts_at=now + timedelta(days=7))
    assert _names(await _events(client, token)) == ["Next month", "Next week", "Last year"]
    assert _names(await _events(client, token, upcoming=True)) == ["Next week", "Next month"]


@pytest.mark.parametrize("upcoming", [False, True])
async def test_pages_follow_each_other_without_gaps_or_repeats(
    client: httpx.AsyncClient, upcoming: bool
) -> None:
    token, org = await _admin(client, "Acme Tickets")
    start = utcnow() + timedelta(days=1)
    for day in range(5):
        await make_event(org, name=f"Day {day}", starts_at=start + timedelta(days=day))
    seen: list[str] = []
    after = None
    while True:
        page = await _events(client, token, first=2, after=after, upcoming=upcoming)
        seen += _names(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = [f"Day {day}" for day in range(5)]
    assert seen == (expected if upcoming else expected[::-1])


async def test_search_matches_name_or_venue_ignoring_case(client: httpx.AsyncClient) -> None:
    token, org = await _admin(client, "Acme Tickets")
    await make_event(org, name="Summer Festival", venue="Harbour Stage")
    await make_event(org, name="Jazz Night", venue="The Summerhouse")
    await make_event(org, name="Rock Night", venue="Arena")
    assert sorted(_names(await _events(client, token, search="summer"))) == [
        "Jazz Night",
        "Summer Festival",
    ]
    assert _names(await _events(client, token, search="%")) == []
    assert _names(await _events(client, token, search="_")) == []


async def test_gq13_a_search_too_long_or_with_invisible_characters_is_refused(
    client: httpx.AsyncClient,
) -> None:
    token, _ = await _admin(client, "Acme Tickets")
    for search in ("x" * 101, "Summer\u202e"):
        body = await gql(client, EVENTS, {"search": search}, token=token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_events_need_a_session(client: httpx.AsyncClient) -> None:
    body = await gql(client, EVENTS, {})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
