"""Webhook endpoints, managed by an organisation's admins: create, update, delete, rotate the
signing secret and send a test message. (Delivering is partner_api/operations/webhook_delivery.py;
the inputs' rules and the secret are partner_api/operations/webhook_settings.py.)

Like the credential lifecycle, each change is one transaction that also writes its audit event.
Audit events describe an endpoint by its id, URL, event types, description and whether it is
enabled: never by its signing secret or the sealed form of it (WH-02).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from models.enums import AuditAction
from models.notifications import NotificationType, WebhookDelivery, WebhookEndpoint
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.foundation.validation import InvalidInput
from partner_api.operations import audit, notification_events
from partner_api.operations.credentials import KEEP, Keep
from partner_api.operations.webhook_settings import (
    clean_description,
    clean_event_types,
    clean_url,
    new_signing_secret,
)

MAX_ENDPOINTS = 10
DISABLED_BY_ADMIN = "Disabled by an administrator."
TEST_MESSAGE = "A test message from the Partner API settings: your endpoint receives webhooks."


class EndpointNotFound(Exception):
    pass


@dataclass(frozen=True)
class EndpointChanges:
    url: str | Keep = KEEP
    event_types: list[str] | Keep = KEEP
    description: str | Keep | None = KEEP
    enabled: bool | Keep = KEEP


@dataclass(frozen=True)
class IssuedSigningSecret:
    """A signing secret that exists only here: returned once to the caller, never stored or
    logged (the endpoint keeps it sealed)."""

    endpoint: WebhookEndpoint
    secret_value: str


def snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The audited, non-secret view of an endpoint's settings."""
    return {
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    }


async def create_endpoint(
    scope: TenantScope,
    actor: Actor,
    *,
    url: str,
    event_types: list[str],
    description: str | None,
    policy: OutboundPolicy,
    key_encryption_key: bytes,
    now: datetime,
) -> IssuedSigningSecret:
    """A new endpoint, enabled, with a new signing secret; at most `MAX_ENDPOINTS` per
    organisation."""
    cleaned_url = clean_url(url, policy)
    cleaned_types = clean_event_types(event_types)
    cleaned_description = clean_description(description)
    # The id first: the sealed secret is bound to it.
    endpoint_id = uuid4()
    secret = new_signing_secret(endpoint_id, key_encryption_key=key_encryption_key)
    async with in_transaction():
        # The organisation's row lock serialises its creates, so two at once cannot both be the
        # tenth (PostgreSQL).
        await Organisation.filter(id=scope.organisation_id).select_for_update().first()
        if await scope.webhook_endpoints().count() >= MAX_ENDPOINTS:
            raise InvalidInput(
                "url",
                f"Your organisation already has {MAX_ENDPOINTS} webhook endpoints, the most "
                "allowed; delete one to add another.",
            )
        endpoint = await WebhookEndpoint.create(
            id=endpoint_id,
            organisation_id=scope.organisation_id,
            url=cleaned_url,
            description=cleaned_description,
            event_types=cleaned_types,
            sealed_secret=secret.sealed,
            secret_hint=secret.hint,
            created_by_id=actor.identity.user_id if actor.identity else None,
        )
        await audit.record(
            AuditAction.WEBHOOK_ENDPOINT_CREATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            after={"endpointId": str(endpoint.id), **snapshot(endpoint)},
        )
    return IssuedSigningSecret(endpoint=endpoint, secret_value=secret.value)


def _apply(
    endpoint: WebhookEndpoint, changes: EndpointChanges, policy: OutboundPolicy, now: datetime
) -> None:
    """Apply validated `changes` to `endpoint` in memory."""
    if not isinstance(changes.url, Keep):
        endpoint.url = clean_url(changes.url, policy)
    if not isinstance(changes.event_types, Keep):
        endpoint.event_types = clean_event_types(changes.event_types)
    if not isinstance(changes.description, Keep):
        endpoint.description = clean_description(changes.description)
    if isinstance(changes.enabled, Keep) or changes.enabled == endpoint.enabled:
        return
    endpoint.enabled = changes.enabled
    if changes.enabled:
        # A fresh start: the next failure starts a new day's count towards disabling.
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    else:
        endpoint.disabled_at = now
        endpoint.disabled_reason = DISABLED_BY_ADMIN


async def update_endpoint(
    scope: TenantScope,
    actor: Actor,
    endpoint_id: str,
    changes: EndpointChanges,
    *,
    policy: OutboundPolicy,
    now: datetime,
) -> WebhookEndpoint:
    """Change the URL, event types, description, or enable/disable. Re-enabling an endpoint that
    was disabled (by an admin or for failing) clears why and since when."""
    async with in_transaction():
        endpoint = await scope.webhook_endpoint(endpoint_id, for_update=True)
        if endpoint is None:
            raise EndpointNotFound
        before = snapshot(endpoint)
        _apply(endpoint, changes, policy, now)
        after = snapshot(endpoint)
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return endpoint
        await endpoint.save()
        identified = {"endpointId": str(endpoint.id)}
        await audit.record(
            AuditAction.WEBHOOK_ENDPOINT_UPDATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            before={**identified, **{key: before[key] for key in changed}},
            after={**identified, **{key: after[key] for key in changed}},
        )
    return endpoint


async def delete_endpoint(scope: TenantScope, actor: Actor, endpoint_id: str) -> None:
    """Delete the endpoint and its deliveries, sent or not; the events stay (the audit trail and
    other endpoints may refer to them)."""
    async with in_transaction():
        endpoint = await scope.webhook_endpoint(endpoint_id, for_update=True)
        if endpoint is None:
            raise EndpointNotFound
        before = {"endpointId": str(endpoint.id), **snapshot(endpoint)}
        await WebhookDelivery.filter(endpoint_id=endpoint.id).delete()
        await endpoint.delete()
        await audit.record(
            AuditAction.WEBHOOK_ENDPOINT_DELETED,
            organisation_id=scope.organisation_id,
            actor=actor,
            before=before,
        )


async def rotate_secret(
    scope: TenantScope,
    actor: Actor,
    endpoint_id: str,
    *,
    key_encryption_key: bytes,
) -> IssuedSigningSecret:
    """A new signing secret, replacing the old one at once: unlike a client secret there is no
    grace period, and every attempt from now on, including retries of deliveries already
    pending, is signed with the new secret only, so a receiver switching over should accept
    signatures made with either secret for a while."""
    async with in_transaction():
        endpoint = await scope.webhook_endpoint(endpoint_id, for_update=True)
        if endpoint is None:
            raise EndpointNotFound
        secret = new_signing_secret(endpoint.id, key_encryption_key=key_encryption_key)
        endpoint.sealed_secret = secret.sealed
        endpoint.secret_hint = secret.hint
        await endpoint.save(update_fields=["sealed_secret", "secret_hint", "updated_at"])
        await audit.record(
            AuditAction.WEBHOOK_SECRET_ROTATED,
            organisation_id=scope.organisation_id,
            actor=actor,
            after={"endpointId": str(endpoint.id), "url": endpoint.url},
        )
    return IssuedSigningSecret(endpoint=endpoint, secret_value=secret.value)


async def send_test(
    scope: TenantScope, actor: Actor, endpoint_id: str, *, now: datetime
) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint alone, whatever it subscribed to; the
    delivery worker sends it like any other."""
    async with in_transaction():
        endpoint = await scope.webhook_endpoint(endpoint_id, for_update=True)
        if endpoint is None:
            raise EndpointNotFound
        event = await notification_events.record(
            NotificationType.WEBHOOK_TEST,
            organisation_id=scope.organisation_id,
            credential=None,
            facts={"message": TEST_MESSAGE},
            now=now,
            only_endpoint=endpoint,
        )
        delivery = await WebhookDelivery.get(event_id=event.id, endpoint_id=endpoint.id)
        await audit.record(
            AuditAction.WEBHOOK_TEST_SENT,
            organisation_id=scope.organisation_id,
            actor=actor,
            after={"endpointId": str(endpoint.id), "url": endpoint.url, "eventId": str(event.id)},
        )
    return delivery
