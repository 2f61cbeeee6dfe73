"""Recording what happened to a credential, for webhooks and mail.

`record` writes the event and one pending delivery per enabled endpoint of the organisation that
subscribed to its type. Callers run it inside the transaction of the change it describes, so an
acknowledged change always has its event and its deliveries, and a rolled-back change has
neither (WH-04); workers send the deliveries afterwards
(partner_api/operations/webhook_delivery.py). Reminders and security notices also write their
mail in the same transaction (partner_api/operations/mail.py).

The event's data names the credential (id, name, client ID) and the facts of the change: never a
secret, a hash or a token (WH-02).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from models.credential import Credential
from models.notifications import (
    NotificationEvent,
    NotificationType,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.organisation import Organisation
from partner_api.operations import mail

# Every type an endpoint may subscribe to; `webhook.test` only reaches the endpoint that asks.
SUBSCRIBABLE = tuple(kind for kind in NotificationType if kind is not NotificationType.WEBHOOK_TEST)


def credential_facts(credential: Credential) -> dict[str, Any]:
    return {"id": str(credential.id), "name": credential.name, "client_id": credential.client_id}


async def record(
    kind: NotificationType,
    *,
    organisation_id: UUID,
    credential: Credential | None,
    facts: dict[str, Any],
    now: datetime,
    once_key: str | None = None,
    only_endpoint: WebhookEndpoint | None = None,
) -> NotificationEvent:
    """The event, with its deliveries; call inside the change's transaction. `only_endpoint`
    sends it to that endpoint alone, whatever it subscribed to (a test message)."""
    data = dict(facts)
    if credential is not None:
        data["credential"] = credential_facts(credential)
    event = await NotificationEvent.create(
        organisation_id=organisation_id,
        credential=credential,
        type=kind,
        occurred_at=now,
        data=data,
        once_key=once_key,
    )
    if credential is not None and mail.mails_for(kind):
        organisation = await Organisation.get(id=organisation_id)
        await mail.enqueue_for_event(event, organisation=organisation, credential=credential)
    if only_endpoint is not None:
        endpoint_ids = [only_endpoint.id]
    else:
        # Only the two columns the choice needs: not the sealed secret or the rest of the row.
        subscriptions = await WebhookEndpoint.filter(
            organisation_id=organisation_id, enabled=True
        ).values_list("id", "event_types")
        endpoint_ids = [
            endpoint_id for endpoint_id, event_types in subscriptions if kind.value in event_types
        ]
    if endpoint_ids:
        await WebhookDelivery.bulk_create(
            [
                WebhookDelivery(endpoint_id=endpoint_id, event=event, next_attempt_at=now)
                for endpoint_id in endpoint_ids
            ]
        )
    return event
