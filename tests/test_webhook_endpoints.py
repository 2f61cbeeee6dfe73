"""Webhook endpoints in the admin API: create, list, update, delete, send a test, the deliveries
list, and which endpoints an event is queued for (WH-04).

The input rules are tests/test_webhook_endpoint_inputs.py; who may do what, tenant isolation and
the signing secret's handling are tests/test_webhook_endpoint_access.py.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from models.notifications import (
    DeliveryStatus,
    NotificationEvent,
    NotificationType,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.operations import notification_events
from tests.helpers import admin_token, gql, make_admin, make_credential, operation

HOOK_URL = "https://hooks.partner.example/notify"
# The types PRODUCT.md §3.6 names, in that order.
EVENT_TYPES = [
    "credential.created",
    "credential.updated",
    "credential.secret_rotated",
    "credential.previous_secret_ended",
    "credential.expiring",
    "credential.expired",
    "credential.stale",
    "credential.revoked",
    "credential.secret_leaked",
]


async def create_endpoint(
    client: httpx.AsyncClient, token: str, **overrides: Any
) -> dict[str, Any]:
    """`createWebhookEndpoint`'s result; by default subscribed to credential.created."""
    variables = {"input": {"url": HOOK_URL, "eventTypes": ["credential.created"], **overrides}}
    body = await gql(client, operation("CreateWebhookEndpoint"), variables, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["createWebhookEndpoint"]
    return result


async def created_id(client: httpx.AsyncClient, token: str, **overrides: Any) -> str:
    result = await create_endpoint(client, token, **overrides)
    assert result["__typename"] == "WebhookEndpointCreated", result
    endpoint_id: str = result["endpoint"]["id"]
    return endpoint_id


async def mutate(client: httpx.AsyncClient, token: str, name: str, **input: Any) -> dict[str, Any]:
    """Run the mutation document `name` with `input`; returns its result."""
    body = await gql(client, operation(name), {"input": input}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


async def listed(client: httpx.AsyncClient, token: str, deliveries: int = 5) -> dict[str, Any]:
    body = await gql(client, operation("WebhookEndpoints"), {"deliveries": deliveries}, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_create_returns_the_endpoint_and_a_standard_webhooks_signing_secret(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)

    result = await create_endpoint(
        client,
        token,
        url=HOOK_URL,
        eventTypes=["credential.revoked", "credential.created", "credential.revoked"],
        description="  Ops alerts  ",
    )

    assert result["__typename"] == "WebhookEndpointCreated", result
    secret = result["signingSecret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    signed_at = utcnow()
    signature = Webhook(secret).sign("msg_1", signed_at, '{"type":"webhook.test"}')
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": signature,
    }
    Webhook(secret).verify('{"type":"webhook.test"}', headers)
    endpoint = result["endpoint"]
    assert endpoint["url"] == HOOK_URL
    # Duplicates merged, in the order `notificationEventTypes` lists them.
    assert endpoint["eventTypes"] == ["credential.created", "credential.revoked"]
    assert endpoint["description"] == "Ops alerts"
    assert endpoint["enabled"] is True
    assert endpoint["disabledAt"] is None
    assert endpoint["disabledReason"] is None
    assert endpoint["secretHint"] == secret[-4:]


async def test_the_list_is_newest_first_with_the_event_types_on_offer(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    first = await created_id(client, token, url="https://one.partner.example/hook")
    second = await created_id(client, token, url="https://two.partner.example/hook")

    data = await listed(client, token)

    assert [endpoint["id"] for endpoint in data["webhookEndpoints"]] == [second, first]
    assert data["notificationEventTypes"] == EVENT_TYPES
    assert "webhook.test" not in data["notificationEventTypes"]


async def test_update_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    endpoint_id = await created_id(client, token, description="Ops")

    moved = await mutate(
        client, token, "UpdateWebhookEndpoint", id=endpoint_id, url="https://new.partner.example/"
    )
    retyped = await mutate(
        client,
        token,
        "UpdateWebhookEndpoint",
        id=endpoint_id,
        eventTypes=["credential.expired", "credential.expiring"],
    )
    cleared = await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, description=None)
    null_url = await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, url=None)

    assert moved["__typename"] == "WebhookEndpointUpdated", moved
    assert moved["endpoint"]["url"] == "https://new.partner.example/"
    assert moved["endpoint"]["description"] == "Ops"
    assert retyped["endpoint"]["eventTypes"] == ["credential.expiring", "credential.expired"]
    assert retyped["endpoint"]["url"] == "https://new.partner.example/"
    assert cleared["endpoint"]["description"] == ""
    assert null_url["__typename"] == "ValidationError"
    assert null_url["field"] == "url"
    (endpoint,) = (await listed(client, token))["webhookEndpoints"]
    assert endpoint == cleared["endpoint"] | {"deliveries": endpoint["deliveries"]}


async def test_disabling_and_re_enabling_an_endpoint(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    endpoint_id = await created_id(client, token)

    disabled = await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, enabled=False)
    assert disabled["endpoint"]["enabled"] is False
    assert disabled["endpoint"]["disabledAt"] is not None
    assert disabled["endpoint"]["disabledReason"] == "Disabled by an administrator."

    # As the delivery worker leaves an endpoint that failed for a day.
    await WebhookEndpoint.filter(id=endpoint_id).update(
        disabled_reason="Failing since yesterday.", failing_since=utcnow() - timedelta(days=1)
    )
    enabled = await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, enabled=True)

    assert enabled["endpoint"]["enabled"] is True
    assert enabled["endpoint"]["disabledAt"] is None
    assert enabled["endpoint"]["disabledReason"] is None
    row = await WebhookEndpoint.get(id=endpoint_id)
    assert row.failing_since is None


async def test_send_test_queues_a_pending_webhook_test_for_that_endpoint_only(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    tested = await created_id(client, token, url="https://one.partner.example/hook")
    other = await created_id(client, token, url="https://two.partner.example/hook")

    result = await mutate(client, token, "SendTestWebhook", id=tested)

    assert result["__typename"] == "TestWebhookQueued", result
    delivery = result["delivery"]
    assert delivery["eventType"] == "webhook.test"
    assert delivery["status"] == "PENDING"
    assert delivery["attempts"] == 0
    assert delivery["nextAttemptAt"] is not None
    assert delivery["finishedAt"] is None
    endpoints = {
        endpoint["id"]: endpoint for endpoint in (await listed(client, token))["webhookEndpoints"]
    }
    edges = endpoints[tested]["deliveries"]["edges"]
    assert [edge["node"] for edge in edges] == [delivery]
    assert endpoints[other]["deliveries"]["edges"] == []
    event = await NotificationEvent.get(id=delivery["eventId"])
    assert event.type is NotificationType.WEBHOOK_TEST
    assert event.credential_id is None  # type: ignore[attr-defined]
    assert set(event.data) == {"message"}


async def test_deliveries_page_newest_first_and_show_next_attempt_only_while_pending(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    endpoint_id = await created_id(client, token)
    sent = [
        (await mutate(client, token, "SendTestWebhook", id=endpoint_id))["delivery"]["id"]
        for _ in range(3)
    ]
    await WebhookDelivery.filter(id=sent[0]).update(
        status=DeliveryStatus.DELIVERED, attempts=1, last_status_code=204, finished_at=utcnow()
    )

    (endpoint,) = (await listed(client, token, deliveries=2))["webhookEndpoints"]

    page = endpoint["deliveries"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["id"] for edge in page["edges"]] == [sent[2], sent[1]]
    query = """query($after: String) { webhookEndpoints { deliveries(first: 2, after: $after) {
        edges { node { id status nextAttemptAt lastStatusCode } } } } }"""
    body = await gql(client, query, {"after": page["pageInfo"]["endCursor"]}, token=token)
    (rest,) = body["data"]["webhookEndpoints"]
    assert rest["deliveries"]["edges"] == [
        {
            "node": {
                "id": sent[0],
                "status": "DELIVERED",
                "nextAttemptAt": None,
                "lastStatusCode": 204,
            }
        }
    ]


async def test_delete_removes_the_endpoint_and_its_deliveries(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    endpoint_id = await created_id(client, token)
    kept_id = await created_id(client, token, url="https://kept.partner.example/")
    await mutate(client, token, "SendTestWebhook", id=endpoint_id)
    await mutate(client, token, "SendTestWebhook", id=kept_id)

    deleted = await mutate(client, token, "DeleteWebhookEndpoint", id=endpoint_id)
    again = await mutate(client, token, "DeleteWebhookEndpoint", id=endpoint_id)

    assert deleted == {"__typename": "WebhookEndpointDeleted", "id": endpoint_id}
    assert again["__typename"] == "NotFound"
    assert [e["id"] for e in (await listed(client, token))["webhookEndpoints"]] == [kept_id]
    assert await WebhookDelivery.filter(endpoint_id=endpoint_id).count() == 0
    assert await WebhookDelivery.filter(endpoint_id=kept_id).count() == 1


# -- which endpoints an event reaches --------------------------------------------------------------


async def endpoint_row(
    organisation: Organisation, *, event_types: list[str], enabled: bool = True
) -> WebhookEndpoint:
    return await WebhookEndpoint.create(
        organisation=organisation,
        url=HOOK_URL,
        event_types=event_types,
        sealed_secret="v1:unused",
        secret_hint="abcd",
        enabled=enabled,
    )


async def test_an_event_is_queued_only_for_enabled_endpoints_subscribed_to_its_type(
    db: TortoiseContext,
) -> None:
    _, acme, _ = await make_admin()
    _, rival, _ = await make_admin(organisation="Rival Events", email="admin@rival.example")
    subscribed = await endpoint_row(acme, event_types=["credential.revoked"])
    await endpoint_row(acme, event_types=["credential.revoked"], enabled=False)
    await endpoint_row(acme, event_types=["credential.created"])
    await endpoint_row(rival, event_types=["credential.revoked"])
    credential = (await make_credential(organisation=acme)).credential
    await WebhookDelivery.all().delete()  # any the credential's creation queued

    async with in_transaction():
        event = await notification_events.record(
            NotificationType.CREDENTIAL_REVOKED,
            organisation_id=acme.id,
            credential=credential,
            facts={"reason": None},
            now=utcnow(),
        )

    deliveries = await WebhookDelivery.all()
    assert [delivery.endpoint_id for delivery in deliveries] == [subscribed.id]  # type: ignore[attr-defined]
    assert deliveries[0].event_id == event.id  # type: ignore[attr-defined]
    assert deliveries[0].status is DeliveryStatus.PENDING


async def test_wh04_a_rolled_back_change_leaves_neither_event_nor_delivery(
    db: TortoiseContext,
) -> None:
    _, acme, _ = await make_admin()
    await endpoint_row(acme, event_types=["credential.revoked"])
    credential = (await make_credential(organisation=acme)).credential
    events_before = await NotificationEvent.all().count()
    deliveries_before = await WebhookDelivery.all().count()

    class ChangeFailed(Exception):
        pass

    async def failing_change() -> None:
        async with in_transaction():
            await notification_events.record(
                NotificationType.CREDENTIAL_REVOKED,
                organisation_id=acme.id,
                credential=credential,
                facts={},
                now=utcnow(),
            )
            raise ChangeFailed

    with pytest.raises(ChangeFailed):
        await failing_change()

    assert await NotificationEvent.all().count() == events_before
    assert await WebhookDelivery.all().count() == deliveries_before
