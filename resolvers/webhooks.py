"""Webhook endpoints in the admin API: listing them and the event types, and the mutations.

Every role reads; only OWNER and ADMIN change (the role that manages credentials). Each mutation
checks the role, calls the operation (which owns the transaction and the audit event), and turns
expected refusals into union members. Another organisation's ids are unknown ids (NotFound).
"""

from __future__ import annotations

from typing import TypeVar

import strawberry

from partner_api.foundation.clock import utcnow
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import webhook_endpoints as operations
from partner_api.operations.notification_events import SUBSCRIBABLE
from resolvers.mutation_inputs import given, may_manage, required
from schema.context import Context
from schema.results import NotFound, PermissionDenied, ValidationError
from schema.webhook_inputs import (
    CreateWebhookEndpointInput,
    DeleteWebhookEndpointInput,
    RotateWebhookSecretInput,
    SendTestWebhookInput,
    UpdateWebhookEndpointInput,
)
from schema.webhook_results import (
    WEBHOOK_NOT_FOUND,
    WEBHOOK_PERMISSION_DENIED,
    CreateWebhookEndpointResult,
    DeleteWebhookEndpointResult,
    RotateWebhookSecretResult,
    SendTestWebhookResult,
    TestWebhookQueued,
    UpdateWebhookEndpointResult,
    WebhookEndpointCreated,
    WebhookEndpointDeleted,
    WebhookEndpointUpdated,
    WebhookSecretRotated,
)
from schema.webhook_types import WebhookEndpoint, delivery_nodes

T = TypeVar("T")


def _policy(context: Context) -> OutboundPolicy:
    return OutboundPolicy(production=context.services.settings.production)


async def webhook_endpoints(info: strawberry.Info[Context, None]) -> list[WebhookEndpoint]:
    """Newest first; an organisation has at most `operations.MAX_ENDPOINTS`."""
    rows = await info.context.tenant.webhook_endpoints().order_by("-created_at", "-id")
    return [WebhookEndpoint.from_model(row) for row in rows]


async def notification_event_types() -> list[str]:
    return [kind.value for kind in SUBSCRIBABLE]


async def create_webhook_endpoint(
    info: strawberry.Info[Context, None], input: CreateWebhookEndpointInput
) -> CreateWebhookEndpointResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=WEBHOOK_PERMISSION_DENIED)
    try:
        issued = await operations.create_endpoint(
            context.tenant,
            context.actor,
            url=input.url,
            event_types=input.event_types,
            description=input.description,
            policy=_policy(context),
            key_encryption_key=context.services.settings.key_encryption_key,
            now=utcnow(),
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    return WebhookEndpointCreated(
        endpoint=WebhookEndpoint.from_model(issued.endpoint), signing_secret=issued.secret_value
    )


async def update_webhook_endpoint(
    info: strawberry.Info[Context, None], input: UpdateWebhookEndpointInput
) -> UpdateWebhookEndpointResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=WEBHOOK_PERMISSION_DENIED)
    try:
        changes = operations.EndpointChanges(
            url=required(input.url, "url"),
            event_types=required(input.event_types, "eventTypes"),
            description=given(input.description),
            enabled=required(input.enabled, "enabled"),
        )
        updated = await operations.update_endpoint(
            context.tenant,
            context.actor,
            str(input.id),
            changes,
            policy=_policy(context),
            now=utcnow(),
        )
    except InvalidInput as error:
        return ValidationError(message=error.message, field=error.field)
    except operations.EndpointNotFound:
        return NotFound(message=WEBHOOK_NOT_FOUND)
    return WebhookEndpointUpdated(endpoint=WebhookEndpoint.from_model(updated))


async def delete_webhook_endpoint(
    info: strawberry.Info[Context, None], input: DeleteWebhookEndpointInput
) -> DeleteWebhookEndpointResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=WEBHOOK_PERMISSION_DENIED)
    try:
        await operations.delete_endpoint(context.tenant, context.actor, str(input.id))
    except operations.EndpointNotFound:
        return NotFound(message=WEBHOOK_NOT_FOUND)
    return WebhookEndpointDeleted(id=input.id)


async def rotate_webhook_secret(
    info: strawberry.Info[Context, None], input: RotateWebhookSecretInput
) -> RotateWebhookSecretResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=WEBHOOK_PERMISSION_DENIED)
    try:
        issued = await operations.rotate_secret(
            context.tenant,
            context.actor,
            str(input.id),
            key_encryption_key=context.services.settings.key_encryption_key,
        )
    except operations.EndpointNotFound:
        return NotFound(message=WEBHOOK_NOT_FOUND)
    return WebhookSecretRotated(
        endpoint=WebhookEndpoint.from_model(issued.endpoint), signing_secret=issued.secret_value
    )


async def send_test_webhook(
    info: strawberry.Info[Context, None], input: SendTestWebhookInput
) -> SendTestWebhookResult:
    context = info.context
    if not may_manage(context):
        return PermissionDenied(message=WEBHOOK_PERMISSION_DENIED)
    try:
        delivery = await operations.send_test(
            context.tenant, context.actor, str(input.id), now=utcnow()
        )
    except operations.EndpointNotFound:
        return NotFound(message=WEBHOOK_NOT_FOUND)
    (node,) = await delivery_nodes([delivery])
    return TestWebhookQueued(delivery=node)
