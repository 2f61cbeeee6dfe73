"""Recording what happened to a credential, for webhooks and mail.

`record` writes the event and one pending delivery per enabled endpoint of the organisation that
subscribed to its type. Callers run it inside the transaction of the change it describes, so an
acknowledged change always has its event and its deliveries, and a rolled-back change has
neither (WH-04); workers send the deliveries afterwards
(partner_api/operations/webhook_delivery.py). Reminders and security notices also write their
mail in the same transaction (partner_api/operations/mail.py).

The event's data names the credential (id, name, client ID) and the facts of the change: never a
secret, a hash or a token (WH-02).

Recording runs inside every credential change, so its common case (no mail, no once-key: created,
updated, rotated, revoked) is two statements written once per dialect, not Tortoise queries: the
event's INSERT, and one `INSERT … SELECT` that writes a delivery for each enabled subscribed
endpoint — the choice of endpoints happens in the database, so an organisation without endpoints
costs one indexed read and nothing comes back to Python. Tortoise builds SQL afresh for each query
(0.1 to 0.2 ms of Python apiece, more than SQLite takes to run it); the two statements measure
about a third of the Tortoise version (docs/benchmarks.md, "createCredential").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from tortoise.connection import connections

from models.credential import Credential
from models.notifications import (
    DeliveryStatus,
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
    if once_key is None and only_endpoint is None and not mail.mails_for(kind):
        return await _record_plain(kind, organisation_id, credential, data, now)
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


# The delivery id is made by the database (a version-4 UUID, as text on SQLite as Tortoise
# writes UUIDs there), so one statement serves any number of endpoints.
_INSERT_EVENT = {
    "sqlite": "INSERT INTO notification_event (id, organisation_id, credential_id, type, "
    "occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)",
    "postgres": "INSERT INTO notification_event (id, organisation_id, credential_id, type, "
    "occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6)",
}
_INSERT_DELIVERIES = {
    "sqlite": "INSERT INTO webhook_delivery (id, endpoint_id, event_id, status, attempts, "
    "next_attempt_at, created_at) SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) "
    "|| '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89AB', 1 + (abs(random()) % 4), 1)"
    " || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), id, ?, ?, 0, ?, ? "
    "FROM webhook_endpoint WHERE organisation_id = ? AND enabled "
    "AND EXISTS (SELECT 1 FROM json_each(webhook_endpoint.event_types) WHERE value = ?)",
    "postgres": "INSERT INTO webhook_delivery (id, endpoint_id, event_id, status, attempts, "
    "next_attempt_at, created_at) SELECT gen_random_uuid(), id, $1, $2, 0, $3, $4 "
    "FROM webhook_endpoint WHERE organisation_id = $5 AND enabled "
    "AND event_types @> jsonb_build_array($6::text)",
}


async def _record_plain(
    kind: NotificationType,
    organisation_id: UUID,
    credential: Credential | None,
    data: dict[str, Any],
    now: datetime,
) -> NotificationEvent:
    """`record` for an event without mail, once-key or chosen endpoint, in two statements.
    Values are converted by the models' own fields, as Tortoise would write them."""
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    fields = NotificationEvent._meta.fields_map
    event = NotificationEvent(
        id=uuid4(),
        organisation_id=organisation_id,
        credential_id=None if credential is None else credential.id,
        type=kind,
        occurred_at=now,
        data=data,
    )
    event_id = fields["id"].to_db_value(event.id, event)
    organisation = fields["id"].to_db_value(organisation_id, event)
    await connection.execute_query(
        _INSERT_EVENT[dialect],
        [
            event_id,
            organisation,
            None if credential is None else fields["id"].to_db_value(credential.id, event),
            kind.value,
            now,
            fields["data"].to_db_value(data, event),
        ],
    )
    await connection.execute_query(
        _INSERT_DELIVERIES[dialect],
        [event_id, DeliveryStatus.PENDING.value, now, now, organisation, kind.value],
    )
    event._saved_in_db = True
    return event
