"""End to end through the Partner API: token → me → events → reserve → complete → barcodes."""

from __future__ import annotations

from datetime import timedelta

import httpx

from models.ticketing import Event, Product
from partner_api.foundation.clock import utcnow
from tests.helpers import make_admin, make_credential


async def test_partner_flow(client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    event = await Event.create(
        organisation=organisation,
        name="Summer Night",
        venue="Harbour Stage",
        starts_at=utcnow() + timedelta(days=30),
        ends_at=utcnow() + timedelta(days=30, hours=4),
    )
    product = await Product.create(
        organisation=organisation,
        event=event,
        name="Regular",
        price=4500,
        currency="EUR",
        capacity=3,
    )
    token = (
        await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.credential.client_id, issued.secret_value),
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = await client.get("/partner/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["credential"]["client_id"] == issued.credential.client_id
    assert me.headers["ratelimit-limit"] == "1200"
    events = (await client.get("/partner/v1/events", headers=headers)).json()
    assert [item["name"] for item in events["data"]] == ["Summer Night"]
    reserved = await client.post(
        "/partner/v1/reservations",
        headers={**headers, "Idempotency-Key": "k-1"},
        json={
            "event_id": str(event.id),
            "lines": [{"product_id": str(product.id), "quantity": 2}],
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert reserved.status_code == 201, reserved.text
    order = reserved.json()
    assert order["total"] == {"amount": 9000, "currency": "EUR"}
    sold_out = await client.post(
        "/partner/v1/reservations",
        headers=headers,
        json={
            "event_id": str(event.id),
            "lines": [{"product_id": str(product.id), "quantity": 2}],
            "customer": {"name": "Bob", "email": "bob@example.com"},
        },
    )
    assert sold_out.status_code == 409, sold_out.text
    assert sold_out.json()["error"] == "sold_out"
    done = await client.post(f"/partner/v1/reservations/{order['id']}/complete", headers=headers)
    assert done.json()["status"] == "COMPLETED"
    barcodes = (
        await client.get(f"/partner/v1/orders/{order['id']}/barcodes", headers=headers)
    ).json()
    assert len(barcodes["data"]) == 2
    missing = await client.get("/partner/v1/orders")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="partner-api"'


async def test_unknown_path_and_wrong_method_use_the_json_error_shape(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/partner/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = await client.delete("/partner/v1/events")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]
    assert wrong.headers["cache-control"] == "no-store"
