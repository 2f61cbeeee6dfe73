"""Webhook endpoints: the signing secret's handling (WH-01, WH-02), who may change endpoints
(CR-09) and tenant isolation (CR-07).

The endpoints' own behaviour is tests/test_webhook_endpoints.py.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from models.audit import AuditEvent
from models.enums import AuditAction, Role
from models.notifications import NotificationEvent, WebhookDelivery, WebhookEndpoint
from partner_api.foundation.clock import utcnow
from partner_api.foundation.sealed import SealError, open_sealed
from partner_api.operations.webhook_settings import SECRET_PURPOSE, signing_secret
from tests.helpers import TEST_KEY_ENCRYPTION_KEY, admin_token, gql, operation
from tests.test_webhook_endpoints import created_id, listed, mutate

ACME_ADMIN = "admin@acme.example"


def signed(secret: str, payload: str = '{"type":"webhook.test"}') -> dict[str, str]:
    """Standard Webhooks headers for `payload` signed with `secret`."""
    now = utcnow()
    return {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_test", now, payload),
    }


async def create_answer(client: httpx.AsyncClient, token: str) -> httpx.Response:
    variables = {
        "input": {"url": "https://hooks.partner.example/", "eventTypes": ["credential.created"]}
    }
    return await client.post(
        "/graphql",
        json={"query": operation("CreateWebhookEndpoint"), "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


# -- the signing secret ----------------------------------------------------------------------------


async def test_wh01_the_secret_is_shown_once_and_stored_sealed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    response = await create_answer(client, token)
    created = response.json()["data"]["createWebhookEndpoint"]
    secret = created["signingSecret"]
    endpoint_id = created["endpoint"]["id"]

    listing = await client.post(
        "/graphql",
        json={"query": operation("WebhookEndpoints")},
        headers={"Authorization": f"Bearer {token}"},
    )
    row = await WebhookEndpoint.get(id=endpoint_id)

    assert secret not in listing.text
    assert secret.removeprefix("whsec_") not in listing.text
    assert listing.json()["data"]["webhookEndpoints"][0]["secretHint"] == secret[-4:]
    assert secret.removeprefix("whsec_") not in row.sealed_secret
    assert row.sealed_secret.startswith("v1:")
    opened = open_sealed(
        row.sealed_secret,
        purpose=SECRET_PURPOSE,
        bound_to=row.id.bytes,
        keys=[TEST_KEY_ENCRYPTION_KEY],
    )
    assert opened.decode() == secret
    assert signing_secret(row, keys=[b"an old key", TEST_KEY_ENCRYPTION_KEY]) == secret
    # Bound to its endpoint: copied onto another row it opens nowhere.
    with pytest.raises(SealError):
        open_sealed(
            row.sealed_secret,
            purpose=SECRET_PURPOSE,
            bound_to=uuid.uuid4().bytes,
            keys=[TEST_KEY_ENCRYPTION_KEY],
        )


async def test_wh01_rotation_replaces_the_secret_at_once(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    created = (await create_answer(client, token)).json()["data"]["createWebhookEndpoint"]
    old = created["signingSecret"]
    endpoint_id = created["endpoint"]["id"]

    rotated = await mutate(client, token, "RotateWebhookSecret", id=endpoint_id)

    assert rotated["__typename"] == "WebhookSecretRotated", rotated
    new = rotated["signingSecret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated["endpoint"]["secretHint"] == new[-4:]
    row = await WebhookEndpoint.get(id=endpoint_id)
    # What the delivery worker signs with from now on: the new secret, and only it.
    assert signing_secret(row, keys=[TEST_KEY_ENCRYPTION_KEY]) == new
    Webhook(new).verify('{"type":"webhook.test"}', signed(new))
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify('{"type":"webhook.test"}', signed(old))


async def test_wh02_no_secret_in_audit_events_events_or_deliveries(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    created = (await create_answer(client, token)).json()["data"]["createWebhookEndpoint"]
    endpoint_id = created["endpoint"]["id"]
    secrets = [created["signingSecret"]]
    sealed = [(await WebhookEndpoint.get(id=endpoint_id)).sealed_secret]
    await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, description="Ops")
    secrets.append(
        (await mutate(client, token, "RotateWebhookSecret", id=endpoint_id))["signingSecret"]
    )
    sealed.append((await WebhookEndpoint.get(id=endpoint_id)).sealed_secret)
    await mutate(client, token, "SendTestWebhook", id=endpoint_id)
    stored = json.dumps(
        [
            [event.before, event.after]
            for event in await AuditEvent.filter(action__startswith="WEBHOOK_")
        ]
        + [event.data for event in await NotificationEvent.all()]
        + [list(row.values()) for row in await WebhookDelivery.all().values()],
        default=str,
    )
    await mutate(client, token, "DeleteWebhookEndpoint", id=endpoint_id)
    trail = await gql(client, operation("AuditEvents"), token=token)

    actions = {event.action for event in await AuditEvent.filter(action__startswith="WEBHOOK_")}
    assert actions == {
        AuditAction.WEBHOOK_ENDPOINT_CREATED,
        AuditAction.WEBHOOK_ENDPOINT_UPDATED,
        AuditAction.WEBHOOK_SECRET_ROTATED,
        AuditAction.WEBHOOK_TEST_SENT,
        AuditAction.WEBHOOK_ENDPOINT_DELETED,
    }
    deleted = await AuditEvent.get(action=AuditAction.WEBHOOK_ENDPOINT_DELETED)
    assert deleted.before is not None
    assert deleted.before["endpointId"] == endpoint_id
    everything = stored + json.dumps(deleted.before) + json.dumps(trail)
    assert "whsec_" not in everything
    for value in [*secrets, *sealed]:
        assert value not in everything
        assert value[6:] not in everything  # nor the part after the prefix


async def test_signing_secret_answers_are_never_cached(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    created = await create_answer(client, token)
    endpoint_id = created.json()["data"]["createWebhookEndpoint"]["endpoint"]["id"]
    rotated = await client.post(
        "/graphql",
        json={
            "query": operation("RotateWebhookSecret"),
            "variables": {"input": {"id": endpoint_id}},
        },
        headers={"Authorization": f"Bearer {token}"},
    )

    for response in (created, rotated):
        assert "whsec_" in response.text
        assert response.headers["cache-control"] == "no-store"


# -- roles and organisations -----------------------------------------------------------------------

MUTATIONS: list[Any] = [
    pytest.param("UpdateWebhookEndpoint", {"url": "https://evil.example/"}, id="update"),
    pytest.param("DeleteWebhookEndpoint", {}, id="delete"),
    pytest.param("RotateWebhookSecret", {}, id="rotate"),
    pytest.param("SendTestWebhook", {}, id="test"),
]


async def stored_state() -> list[Any]:
    """Everything stored about endpoints, so a test can prove nothing changed."""
    return [
        await WebhookEndpoint.all().order_by("id").values(),
        await WebhookDelivery.all().count(),
        await AuditEvent.filter(action__startswith="WEBHOOK_").count(),
    ]


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_cr09_developers_and_viewers_read_endpoints_but_change_nothing(
    client: httpx.AsyncClient, role: Role
) -> None:
    admin = await admin_token(client, email=ACME_ADMIN)
    endpoint_id = await created_id(client, admin)
    reader = await admin_token(client, email=f"{role.value.lower()}@acme.example", role=role)
    before = await stored_state()

    seen = await listed(client, reader)
    create = (await create_answer(client, reader)).json()["data"]["createWebhookEndpoint"]
    changes = [
        await mutate(client, reader, "UpdateWebhookEndpoint", id=endpoint_id, enabled=False),
        await mutate(client, reader, "DeleteWebhookEndpoint", id=endpoint_id),
        await mutate(client, reader, "RotateWebhookSecret", id=endpoint_id),
        await mutate(client, reader, "SendTestWebhook", id=endpoint_id),
    ]

    assert [endpoint["id"] for endpoint in seen["webhookEndpoints"]] == [endpoint_id]
    assert seen["notificationEventTypes"]
    for result in [create, *changes]:
        assert result == {
            "__typename": "PermissionDenied",
            "message": "Your role may view webhook endpoints but not change them.",
        }
    assert await stored_state() == before


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("WebhookEndpoints", {}),
        ("CreateWebhookEndpoint", {"input": {"url": "https://a.example/", "eventTypes": []}}),
        *[
            (name, {"input": {"id": str(uuid.uuid4()), **extra}})
            for name, extra in (
                ("UpdateWebhookEndpoint", {"enabled": False}),
                ("DeleteWebhookEndpoint", {}),
                ("RotateWebhookSecret", {}),
                ("SendTestWebhook", {}),
            )
        ],
    ],
)
async def test_without_logging_in_every_operation_is_a_top_level_error(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any]
) -> None:
    body = await gql(client, operation(document), variables)

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(("document", "extra"), MUTATIONS)
async def test_cr07_another_organisations_endpoint_answers_like_an_unknown_id(
    client: httpx.AsyncClient, document: str, extra: dict[str, Any]
) -> None:
    acme = await admin_token(client, email=ACME_ADMIN)
    endpoint_id = await created_id(client, acme)
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    before = await stored_state()

    foreign = await mutate(client, rival, document, id=endpoint_id, **extra)
    unknown = await mutate(client, rival, document, id=str(uuid.uuid4()), **extra)
    malformed = await mutate(client, rival, document, id="not-an-id", **extra)

    assert foreign == unknown == malformed
    assert foreign == {
        "__typename": "NotFound",
        "message": "No webhook endpoint with this id exists in your organisation.",
    }
    assert await stored_state() == before


async def test_cr07_each_organisation_lists_only_its_own_endpoints(
    client: httpx.AsyncClient,
) -> None:
    acme = await admin_token(client, email=ACME_ADMIN)
    acme_id = await created_id(client, acme)
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    rival_id = await created_id(client, rival, url="https://rival.example/hook")
    await mutate(client, acme, "SendTestWebhook", id=acme_id)

    acme_list = (await listed(client, acme))["webhookEndpoints"]
    rival_list = (await listed(client, rival))["webhookEndpoints"]

    assert [endpoint["id"] for endpoint in acme_list] == [acme_id]
    assert [endpoint["id"] for endpoint in rival_list] == [rival_id]
    assert rival_list[0]["deliveries"]["totalCount"] == 0
