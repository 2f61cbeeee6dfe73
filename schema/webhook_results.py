"""Result unions of the webhook endpoint mutations (expected failures are union members)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.results import NotFound, PermissionDenied, ValidationError
from schema.webhook_types import WebhookDelivery, WebhookEndpoint

SHOWN_ONCE = (
    "The `whsec_…` signing secret (Standard Webhooks). Shown this once; store it securely now."
)


@strawberry.type
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    signing_secret: str = strawberry.field(description=SHOWN_ONCE)


@strawberry.type
class WebhookEndpointUpdated:
    endpoint: WebhookEndpoint


@strawberry.type
class WebhookEndpointDeleted:
    id: strawberry.ID


@strawberry.type(description="The previous secret no longer signs anything, from this moment.")
class WebhookSecretRotated:
    endpoint: WebhookEndpoint
    signing_secret: str = strawberry.field(description=SHOWN_ONCE)


@strawberry.type
class TestWebhookQueued:
    delivery: WebhookDelivery


CreateWebhookEndpointResult = Annotated[
    WebhookEndpointCreated | ValidationError | PermissionDenied,
    strawberry.union("CreateWebhookEndpointResult"),
]
UpdateWebhookEndpointResult = Annotated[
    WebhookEndpointUpdated | ValidationError | NotFound | PermissionDenied,
    strawberry.union("UpdateWebhookEndpointResult"),
]
DeleteWebhookEndpointResult = Annotated[
    WebhookEndpointDeleted | NotFound | PermissionDenied,
    strawberry.union("DeleteWebhookEndpointResult"),
]
RotateWebhookSecretResult = Annotated[
    WebhookSecretRotated | NotFound | PermissionDenied,
    strawberry.union("RotateWebhookSecretResult"),
]
SendTestWebhookResult = Annotated[
    TestWebhookQueued | NotFound | PermissionDenied,
    strawberry.union("SendTestWebhookResult"),
]

WEBHOOK_PERMISSION_DENIED = "Your role may view webhook endpoints but not change them."
WEBHOOK_NOT_FOUND = "No webhook endpoint with this id exists in your organisation."
