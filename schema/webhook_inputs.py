"""GraphQL input types of the webhook endpoint mutations."""

from __future__ import annotations

import strawberry


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="Where to POST the events; in production an https:// URL to a public address."
    )
    event_types: list[str] = strawberry.field(
        description="One or more of `notificationEventTypes`."
    )
    description: str | None = strawberry.field(
        default=None, description="Up to 500 characters, for your own reference."
    )


@strawberry.input(description="Fields left out are unchanged; `null` clears the description.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    event_types: list[str] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="`true` re-enables an endpoint that was disabled, also after failures.",
    )


@strawberry.input
class DeleteWebhookEndpointInput:
    id: strawberry.ID


@strawberry.input
class RotateWebhookSecretInput:
    id: strawberry.ID


@strawberry.input
class SendTestWebhookInput:
    id: strawberry.ID
