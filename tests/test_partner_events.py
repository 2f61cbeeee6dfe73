"""Partner API: `/me`, events and their products.

The small helpers at the top (an organisation with a credential and a token, events, products, the
one error-body check) are reused by tests/test_partner_orders.py and
tests/test_partner_reservations.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from models.enums import AccessLevel
from models.organisation import Organisation
from models.ticketing import Event, Product
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.operations.credentials import IssuedSecret
from tests.helpers import make_admin, make_credential

ALL_SCOPES = [scope.name for scope in CATALOGUE]
BASE_TIME = datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
MALFORMED_ID = "not-a-uuid"


@dataclass(frozen=True)
class Caller:
    """A partner: its organisation, its credential and a bearer token for it."""

    organisation: Organisation
    issued: IssuedSecret
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def organisation(name: str = "Acme Tickets") -> Organisation:
    slug = re.sub(r"[^a-z]+", "-", name.lower())
    _, org, _ = await make_admin(organisation=name, email=f"admin@{slug}.example")
    return org


async def access_token(client: httpx.AsyncClient, issued: IssuedSecret) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(issued.credential.client_id, issued.secret_value),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def caller(
    client: httpx.AsyncClient,
    org: Organisation,
    *,
    name: str = "Box office",
    scopes: list[str] | None = None,
) -> Caller:
    """A credential of `org` with a token: FULL, or FINE_GRAINED holding exactly `scopes`."""
    issued = await make_credential(
        organisation=org,
        name=name,
        access_level=AccessLevel.FULL if scopes is None else AccessLevel.FINE_GRAINED,
        scopes=scopes,
    )
    return Caller(organisation=org, issued=issued, token=await access_token(client, issued))


async def make_event(
    org: Organisation,
    *,
    name: str = "Summer Night",
    venue: str = "Harbour Stage",
    starts_at: datetime = BASE_TIME,
) -> Event:
    return await Event.create(
        organisation=org,
        name=name,
        venue=venue,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=4),
    )


async def make_product(
    event: Event,
    *,
    name: str = "Regular",
    price: int = 4500,
    capacity: int = 10,
    sold: int = 0,
) -> Product:
    return await Product.create(
        organisation_id=event.organisation_id,  # type: ignore[attr-defined]
        event=event,
        name=name,
        price=price,
        currency="EUR",
        capacity=capacity,
        sold=sold,
    )


def assert_error(
    response: httpx.Response,
    status: int,
    error: str,
    field: str | None = None,
    *,
    label: str = "",
) -> dict[str, Any]:
    """The one error shape: exactly error + error_description (+ field), never cached."""
    context = f"{label}: {response.text}"
    assert response.status_code == status, context
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"} | ({"field"} if field else set()), context
    assert body["error"] == error, context
    assert body.get("field") == field, context
    assert isinstance(body["error_description"], str), context
    assert body["error_description"], context
    assert response.headers["cache-control"] == "no-store", context
    return body


def assert_scope_denied(response: httpx.Response, scope: str) -> None:
    """RS-06: 403 insufficient_scope naming the needed scope in the challenge and the body."""
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    assert params["realm"] == "partner-api"
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == scope
    body = response.json()
    assert set(body) == {"error", "error_description", "scope"}, body
    assert body["error"] == "insufficient_scope"
    assert body["scope"] == scope
    assert response.headers["cache-control"] == "no-store"


def all_scopes_but(scope: str) -> list[str]:
    return [name for name in ALL_SCOPES if name != scope]


def expected_event(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "name": event.name,
        "venue": event.venue,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
    }


async def collect_pages(
    client: httpx.AsyncClient, path: str, caller: Caller, *, limit: int
) -> list[list[str]]:
    """Follow next_cursor to the end; the ids of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(path, params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        pages.append([item["id"] for item in body["data"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) <= 100, "paging never ends"


# -- /me ---------------------------------------------------------------------------------------


async def test_me_describes_credential_organisation_scopes_and_token(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    partner = await caller(client, org, name="Box office sync")
    before = utcnow()

    response = await client.get("/partner/v1/me", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"credential", "organisation", "scopes", "event_ids", "token"}
    assert body["event_ids"] is None, "an unrestricted credential reaches every event"
    assert body["credential"] == {
        "id": str(partner.issued.credential.id),
        "name": "Box office sync",
        "client_id": partner.issued.credential.client_id,
    }
    assert body["organisation"] == {"id": str(org.id), "name": "Acme Tickets"}
    assert body["scopes"] == ALL_SCOPES
    claims = jwt.decode(partner.token, options={"verify_signature": False})
    assert body["token"]["jti"] == claims["jti"]
    expires_at = datetime.fromisoformat(body["token"]["expires_at"])
    assert expires_at.tzinfo is not None
    assert expires_at == datetime.fromtimestamp(claims["exp"], tz=UTC)
    assert expires_at > before


async def test_me_answers_any_valid_token_whatever_its_scopes(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org, scopes=["barcodes:read"])

    response = await client.get("/partner/v1/me", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.json()["scopes"] == ["barcodes:read"]


async def test_me_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/partner/v1/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="partner-api"'
    assert response.json()["error"] == "missing_token"


# -- events ------------------------------------------------------------------------------------


async def test_events_list_is_ordered_by_start_time(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    later = await make_event(org, name="Autumn Gala", starts_at=BASE_TIME + timedelta(days=90))
    sooner = await make_event(org, name="Spring Jam", starts_at=BASE_TIME - timedelta(days=60))
    middle = await make_event(org, name="Summer Night", venue="Pier 4", starts_at=BASE_TIME)

    response = await client.get("/partner/v1/events", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "data": [expected_event(sooner), expected_event(middle), expected_event(later)],
        "next_cursor": None,
    }
    for item in response.json()["data"]:
        assert datetime.fromisoformat(item["starts_at"]).utcoffset() == timedelta(0)


async def test_events_paging_visits_every_event_once(client: httpx.AsyncClient) -> None:
    """Events sharing a start time are ordered by id, so the cursor neither repeats nor skips."""
    org = await organisation()
    partner = await caller(client, org)
    starts = [0, 2, 2, 2, 1, 3, 2]  # days after BASE_TIME, several ties
    events = [
        await make_event(org, name=f"Event {index}", starts_at=BASE_TIME + timedelta(days=day))
        for index, day in enumerate(starts)
    ]
    expected = [str(e.id) for e in sorted(events, key=lambda e: (e.starts_at, e.id))]

    for limit in (1, 3, 4, 7, 100):
        pages = await collect_pages(client, "/partner/v1/events", partner, limit=limit)

        assert [event_id for page in pages for event_id in page] == expected, limit
        assert all(len(page) == limit for page in pages[:-1]), limit
        assert len(pages) == max(1, -(-len(events) // limit)), limit


async def test_events_default_page_size_is_20(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    await Event.bulk_create(
        [
            Event(
                organisation=org,
                name=f"Event {index}",
                venue="Hall",
                starts_at=BASE_TIME + timedelta(hours=index),
                ends_at=BASE_TIME + timedelta(hours=index + 1),
            )
            for index in range(21)
        ]
    )

    first = (await client.get("/partner/v1/events", headers=partner.headers)).json()
    second = (
        await client.get(
            "/partner/v1/events", params={"cursor": first["next_cursor"]}, headers=partner.headers
        )
    ).json()

    assert [item["name"] for item in first["data"]] == [f"Event {i}" for i in range(20)]
    assert first["next_cursor"]
    assert [item["name"] for item in second["data"]] == ["Event 20"]
    assert second["next_cursor"] is None


async def test_event_by_id(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    await make_event(org, name="Other")

    response = await client.get(f"/partner/v1/events/{event.id}", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == expected_event(event)


async def test_event_products_show_price_capacity_and_available(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)
    regular = await make_product(event, name="Regular", price=4500, capacity=100, sold=37)
    vip = await make_product(event, name="VIP", price=12000, capacity=10, sold=10)
    other_event = await make_event(org, name="Other night")
    await make_product(other_event, name="Not this one")

    response = await client.get(f"/partner/v1/events/{event.id}/products", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"data"}
    assert sorted(body["data"], key=lambda item: item["name"]) == [
        {
            "id": str(regular.id),
            "event_id": str(event.id),
            "name": "Regular",
            "price": {"amount": 4500, "currency": "EUR"},
            "capacity": 100,
            "available": 63,
        },
        {
            "id": str(vip.id),
            "event_id": str(event.id),
            "name": "VIP",
            "price": {"amount": 12000, "currency": "EUR"},
            "capacity": 10,
            "available": 0,
        },
    ]


async def test_event_without_products_has_an_empty_list(client: httpx.AsyncClient) -> None:
    org = await organisation()
    partner = await caller(client, org)
    event = await make_event(org)

    response = await client.get(f"/partner/v1/events/{event.id}/products", headers=partner.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"data": []}


BAD_PAGING: list[tuple[dict[str, Any], str]] = [
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"limit": ["5", "6"]}, "limit"),
    ({"cursor": "garbage!"}, "cursor"),
    ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),  # base64 of "not-a-cursor"
    ({"cursor": ""}, "cursor"),
]


async def test_events_list_rejects_bad_paging_input_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    partner = await caller(client, org)
    await make_event(org)

    for params, field in BAD_PAGING:
        response = await client.get("/partner/v1/events", params=params, headers=partner.headers)

        assert_error(response, 400, "invalid_request", field, label=str(params))


@pytest.mark.parametrize("suffix", ["", "/{id}", "/{id}/products"])
async def test_rs06_events_endpoints_need_events_read(
    client: httpx.AsyncClient, suffix: str
) -> None:
    """RS-06: a FINE_GRAINED credential holding every other scope is refused with 403."""
    org = await organisation()
    partner = await caller(client, org, scopes=all_scopes_but("events:read"))
    allowed = await caller(client, org, name="Reader", scopes=["events:read"])
    event = await make_event(org)
    await make_product(event)
    path = "/partner/v1/events" + suffix.replace("{id}", str(event.id))

    denied = await client.get(path, headers=partner.headers)

    assert_scope_denied(denied, "events:read")
    assert (await client.get(path, headers=allowed.headers)).status_code == 200


@pytest.mark.parametrize("suffix", ["", "/products"])
async def test_rs09_another_organisations_event_is_404_like_an_unknown_one(
    client: httpx.AsyncClient, suffix: str
) -> None:
    """RS-09: org B cannot tell org A's event from an unknown or malformed id."""
    org_a = await organisation("Acme Tickets")
    org_b = await organisation("Rival Events")
    partner_b = await caller(client, org_b)
    event_a = await make_event(org_a)
    await make_product(event_a)

    answers = [
        await client.get(f"/partner/v1/events/{event_id}{suffix}", headers=partner_b.headers)
        for event_id in (str(event_a.id), UNKNOWN_ID, MALFORMED_ID)
    ]

    bodies = [assert_error(answer, 404, "not_found") for answer in answers]
    assert bodies[0] == bodies[1] == bodies[2]


async def test_rs09_events_list_shows_only_the_callers_organisation(
    client: httpx.AsyncClient,
) -> None:
    org_a = await organisation("Acme Tickets")
    org_b = await organisation("Rival Events")
    partner_a = await caller(client, org_a)
    partner_b = await caller(client, org_b)
    event_a = await make_event(org_a, name="Acme night")
    event_b = await make_event(org_b, name="Rival night")

    listed_a = (await client.get("/partner/v1/events", headers=partner_a.headers)).json()
    listed_b = (await client.get("/partner/v1/events", headers=partner_b.headers)).json()

    assert [item["id"] for item in listed_a["data"]] == [str(event_a.id)]
    assert [item["id"] for item in listed_b["data"]] == [str(event_b.id)]
