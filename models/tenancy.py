"""Tenant isolation, enforced in the data access: the only way resolvers reach tenant data.

A `TenantScope` is built from the verified admin identity (never from request arguments), and
every query it hands out is already filtered by organisation. An id that is malformed, unknown or
another organisation's all come back as `None`, so they are indistinguishable (CR-07).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar
from uuid import UUID

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.audit import AuditEvent
from models.compiled_select import CompiledSelect
from models.credential import Credential
from models.notifications import MailMessage, WebhookEndpoint
from models.ticketing import Event, Order, Product

ModelT = TypeVar("ModelT", bound=Model)


def parse_id(value: str) -> UUID | None:
    try:
        return UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


# The admin page's first page of credentials, newest first: the one read every page load makes.
_NEWEST_CREDENTIALS = CompiledSelect(
    Credential,
    lambda organisation_id, limit: (
        Credential.filter(organisation_id=organisation_id)
        .order_by("-created_at", "-id")
        .limit(limit)
    ),
)


class TenantScope:
    """One organisation's data; with `event_ids`, only those events and what belongs to them.

    The event restriction is applied here, in the data access, like the organisation: an event
    outside it, and its products and orders, come back as `None` or not at all, exactly like
    another organisation's. `event_ids=None` is the whole organisation.
    """

    def __init__(
        self, organisation_id: UUID, event_ids: Collection[UUID | str] | None = None
    ) -> None:
        self.organisation_id = organisation_id
        self.event_ids = event_ids

    def credentials(self) -> QuerySet[Credential]:
        return Credential.filter(organisation_id=self.organisation_id)

    async def newest_credentials(self, limit: int) -> list[Credential]:
        """`credentials()` newest first (ties by id), at most `limit`: the same rows as that
        query ordered and limited, with SQL built once (models/compiled_select.py)."""
        return await _NEWEST_CREDENTIALS.fetch(self.organisation_id, limit)

    def audit_events(self) -> QuerySet[AuditEvent]:
        return AuditEvent.filter(organisation_id=self.organisation_id)

    def events(self) -> QuerySet[Event]:
        query = Event.filter(organisation_id=self.organisation_id)
        return query if self.event_ids is None else query.filter(id__in=list(self.event_ids))

    def products(self) -> QuerySet[Product]:
        query = Product.filter(organisation_id=self.organisation_id)
        return self._within_events(query)

    def orders(self) -> QuerySet[Order]:
        return self._within_events(Order.filter(organisation_id=self.organisation_id))

    def _within_events(self, query: QuerySet[ModelT]) -> QuerySet[ModelT]:
        if self.event_ids is None:
            return query
        return query.filter(event_id__in=list(self.event_ids))

    async def event(self, event_id: str) -> Event | None:
        parsed = parse_id(event_id)
        return None if parsed is None else await self.events().filter(id=parsed).first()

    async def order(self, order_id: str, *, for_update: bool = False) -> Order | None:
        parsed = parse_id(order_id)
        if parsed is None:
            return None
        query = self.orders().filter(id=parsed)
        if for_update:
            query = query.select_for_update()
        return await query.first()

    async def credential(
        self, credential_id: str, *, for_update: bool = False
    ) -> Credential | None:
        """One of this organisation's credentials; `for_update` locks the row (PostgreSQL)."""
        parsed = parse_id(credential_id)
        if parsed is None:
            return None
        query = self.credentials().filter(id=parsed)
        if for_update:
            query = query.select_for_update()
        return await query.first()

    def webhook_endpoints(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.filter(organisation_id=self.organisation_id)

    async def webhook_endpoint(
        self, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        """One of this organisation's webhook endpoints; `for_update` locks the row (PostgreSQL)."""
        parsed = parse_id(endpoint_id)
        if parsed is None:
            return None
        query = self.webhook_endpoints().filter(id=parsed)
        if for_update:
            query = query.select_for_update()
        return await query.first()

    def mail_messages(self) -> QuerySet[MailMessage]:
        return MailMessage.filter(organisation_id=self.organisation_id)
