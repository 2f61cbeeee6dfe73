"""Webhook endpoints' input rules: the URL (WH-03 at registration), the event types, the
description, and the number of endpoints per organisation. Each refusal is a ValidationError
naming the field, and stores and audits nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from tortoise.context import TortoiseContext

import tests.database
from models.audit import AuditEvent
from models.notifications import WebhookEndpoint
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import admin_token
from tests.test_webhook_endpoints import HOOK_URL, create_endpoint, created_id, listed, mutate


async def assert_refused(
    client: httpx.AsyncClient, token: str, field: str, **overrides: Any
) -> str:
    """The create is a ValidationError at `field`, and nothing was stored or audited."""
    result = await create_endpoint(client, token, **overrides)
    assert result["__typename"] == "ValidationError", (overrides, result)
    assert result["field"] == field, result
    assert await WebhookEndpoint.all().count() == 0
    assert await AuditEvent.filter(action__startswith="WEBHOOK_").count() == 0
    message: str = result["message"]
    return message


@pytest.mark.parametrize(
    "url",
    [
        "hooks.partner.example/notify",
        "ftp://hooks.partner.example/notify",
        "https://user:password@hooks.partner.example/notify",
        "https://hooks.partner.example/notify#fragment",
        "https://169.254.169.254/latest/meta-data",
        "https://hooks.partner.example/\u202egnp.exe",
        "",
    ],
)
async def test_malformed_or_forbidden_urls_are_refused_at_url(
    client: httpx.AsyncClient, url: str
) -> None:
    token = await admin_token(client)
    await assert_refused(client, token, "url", url=url)


@asynccontextmanager
async def production_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings, env="production"), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/notify",
        "https://10.1.2.3/notify",
        "https://127.0.0.1/notify",
        "https://localhost/notify",
        "https://[::1]/notify",
    ],
)
async def test_wh03_production_takes_only_https_urls_to_public_addresses(
    settings: Settings, db: TortoiseContext, url: str
) -> None:
    async with production_client(settings) as client:
        token = await admin_token(client)
        message = await assert_refused(client, token, "url", url=url)
        assert message.endswith(".")

        accepted = await create_endpoint(client, token, url=HOOK_URL)
        assert accepted["__typename"] == "WebhookEndpointCreated", accepted


async def test_development_takes_local_receivers(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    for url in ("http://127.0.0.1:9000/hook", "http://localhost:8080/hook"):
        result = await create_endpoint(client, token, url=url)
        assert result["__typename"] == "WebhookEndpointCreated", result


@pytest.mark.parametrize(
    "event_types",
    [[], ["credential.created", "credential.exploded"], ["webhook.test"], ["CREDENTIAL_CREATED"]],
)
async def test_event_types_must_be_subscribable_and_at_least_one(
    client: httpx.AsyncClient, event_types: list[str]
) -> None:
    token = await admin_token(client)
    await assert_refused(client, token, "eventTypes", eventTypes=event_types)


@pytest.mark.parametrize(
    "description", ["Ops\u202ealerts", "two\nlines", "nul\x00byte", "zero\u200bwidth", "x" * 501]
)
async def test_descriptions_with_control_characters_or_too_long_are_refused(
    client: httpx.AsyncClient, description: str
) -> None:
    token = await admin_token(client)
    await assert_refused(client, token, "description", description=description)


async def test_an_update_that_breaks_a_rule_changes_nothing(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    endpoint_id = await created_id(client, token)
    before = await listed(client, token)

    changes: list[dict[str, Any]] = [
        {"url": "ftp://x.example/"},
        {"eventTypes": []},
        {"description": "a\tb"},
    ]
    for change in changes:
        result = await mutate(client, token, "UpdateWebhookEndpoint", id=endpoint_id, **change)
        assert result["__typename"] == "ValidationError", result

    assert await listed(client, token) == before


async def test_an_organisation_has_at_most_ten_endpoints(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    for number in range(10):
        await created_id(client, token, url=f"https://hooks.partner.example/{number}")

    eleventh = await create_endpoint(client, token)

    assert eleventh["__typename"] == "ValidationError", eleventh
    assert eleventh["field"] == "url"
    assert "10" in eleventh["message"]
    assert await WebhookEndpoint.all().count() == 10
    rival = await admin_token(client, organisation="Rival Events", email="admin@rival.example")
    assert (await create_endpoint(client, rival))["__typename"] == "WebhookEndpointCreated"


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not tests.database.on_postgres(),
    reason="needs PostgreSQL: SQLite runs one write transaction at a time, so creates cannot race",
)
async def test_concurrent_creates_never_exceed_ten_endpoints(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    for number in range(7):
        await created_id(client, token, url=f"https://hooks.partner.example/{number}")

    results = await asyncio.gather(
        *(
            create_endpoint(client, token, url=f"https://racing.partner.example/{number}")
            for number in range(8)
        )
    )

    outcomes = Counter(result["__typename"] for result in results)
    assert outcomes == {"WebhookEndpointCreated": 3, "ValidationError": 5}
    assert await WebhookEndpoint.all().count() == 10
