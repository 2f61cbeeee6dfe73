"""GraphQL object types of webhook endpoints and their deliveries. No field ever returns a signing
secret or its sealed form; `WebhookEndpointCreated` and `WebhookSecretRotated` (schema/
webhook_results.py) carry a new secret once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import strawberry

from models.notifications import DeliveryStatus, NotificationEvent
from models.notifications import WebhookDelivery as WebhookDeliveryModel
from models.notifications import WebhookEndpoint as WebhookEndpointModel
from schema.context import Context
from schema.pagination import Connection, paginate

# Registered here rather than in schema/enums.py: only these types use it.
WebhookDeliveryStatus = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(description="One sending of one event to one endpoint, with its attempts so far.")
class WebhookDelivery:
    id: strawberry.ID
    event_type: str = strawberry.field(description="The payload's `type`, e.g. credential.created.")
    event_id: strawberry.ID = strawberry.field(
        description="The event's id: the `webhook-id` header, the same on every attempt."
    )
    occurred_at: datetime
    attempts: int
    status: DeliveryStatus
    last_status_code: int | None = strawberry.field(
        description="The HTTP status of the last attempt; null when none was received."
    )
    last_latency_ms: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(description="Null unless PENDING.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(
        cls, delivery: WebhookDeliveryModel, event: NotificationEvent
    ) -> WebhookDelivery:
        pending = delivery.status is DeliveryStatus.PENDING
        return cls(
            id=strawberry.ID(str(delivery.id)),
            event_type=event.type.value,
            event_id=strawberry.ID(str(event.id)),
            occurred_at=event.occurred_at,
            attempts=delivery.attempts,
            status=delivery.status,
            last_status_code=delivery.last_status_code,
            last_latency_ms=delivery.last_latency_ms,
            last_error=delivery.last_error,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            created_at=delivery.created_at,
            finished_at=delivery.finished_at,
        )


async def delivery_nodes(rows: Sequence[WebhookDeliveryModel]) -> list[WebhookDelivery]:
    """A page of deliveries with their events, read in one query."""
    if not rows:
        return []
    event_ids = {row.event_id for row in rows}  # type: ignore[attr-defined]
    events = {event.id: event for event in await NotificationEvent.filter(id__in=event_ids)}
    return [
        WebhookDelivery.from_model(row, events[row.event_id])  # type: ignore[attr-defined]
        for row in rows
    ]


async def _deliveries(
    root: WebhookEndpoint,
    info: strawberry.Info[Context, None],
    first: int | None = None,
    after: str | None = None,
) -> Connection[WebhookDelivery]:
    # The endpoint was found within the caller's organisation, so its deliveries are too.
    return await paginate(
        WebhookDeliveryModel.filter(endpoint_id=root.endpoint_id),
        time_field="created_at",
        first=first,
        after=after,
        maximum=info.context.services.settings.page_size_max,
        to_nodes=delivery_nodes,
    )


@strawberry.type(description="Where your organisation's notifications are sent.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str
    event_types: list[str] = strawberry.field(description="The event types it is sent.")
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled: by an administrator, or after failing for a day."
    )
    secret_hint: str = strawberry.field(
        description="The signing secret's last four characters (the secret is shown only once)."
    )
    created_at: datetime
    deliveries: Connection[WebhookDelivery] = strawberry.field(
        resolver=_deliveries, description="Deliveries to this endpoint, newest first."
    )
    endpoint_id: strawberry.Private[UUID]

    @classmethod
    def from_model(cls, endpoint: WebhookEndpointModel) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types),
            enabled=endpoint.enabled,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            secret_hint=endpoint.secret_hint,
            created_at=endpoint.created_at,
            endpoint_id=endpoint.id,
        )
