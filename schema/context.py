"""The typed per-request context that every resolver receives as `info.context`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from auth.admins.identity import Actor, AdminIdentity
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.operations.credential_policy import OrganisationPolicy, organisation_policy
from partner_api.operations.services import Services
from partner_api.operations.usage_report import (
    UsageParts,
    UsageRange,
    UsageReport,
    credentials_usage,
)
from schema.errors import NotAuthenticated

UsageLoader = DataLoader[UUID, UsageReport]


@dataclass
class Context:
    request: Request
    response: Response
    services: Services
    identity: AdminIdentity | None
    client_ip: str | None
    _policies: dict[UUID, asyncio.Future[OrganisationPolicy]] = field(default_factory=dict)
    _usage: dict[tuple[UsageRange, UsageParts], UsageLoader] = field(default_factory=dict)
    _usage_now: datetime | None = None

    async def organisation_policy(self, organisation_id: UUID) -> OrganisationPolicy:
        """The organisation's credential policy, read once per request (a page of credentials
        asks for it once per credential)."""
        # The page's resolvers run concurrently: they share one pending read rather than each
        # finding the cache empty and querying (20 reads for a page of 20).
        pending = self._policies.get(organisation_id)
        if pending is None:
            pending = asyncio.ensure_future(organisation_policy(organisation_id))
            self._policies[organisation_id] = pending
        return await pending

    def policy_changed(self, organisation_id: UUID, policy: OrganisationPolicy) -> None:
        known: asyncio.Future[OrganisationPolicy] = asyncio.get_running_loop().create_future()
        known.set_result(policy)
        self._policies[organisation_id] = known

    @property
    def usage_now(self) -> datetime:
        """The moment every usage report of this request ends at, so they agree."""
        if self._usage_now is None:
            self._usage_now = utcnow()
        return self._usage_now

    async def credential_usage(
        self, credential_id: UUID, usage_range: UsageRange, parts: UsageParts
    ) -> UsageReport:
        """One credential's usage, batched: every credential of a page asking for the same range
        and parts is read together, in the same few queries as one."""
        key = (usage_range, parts)
        loader = self._usage.get(key)
        if loader is None:
            loader = DataLoader(load_fn=partial(self._load_usage, usage_range, parts))
            self._usage[key] = loader
        return await loader.load(credential_id)

    async def _load_usage(
        self, usage_range: UsageRange, parts: UsageParts, credential_ids: list[UUID]
    ) -> list[UsageReport]:
        reports = await credentials_usage(
            self.tenant, credential_ids, usage_range, now=self.usage_now, parts=parts
        )
        return [reports[credential_id] for credential_id in credential_ids]

    def require_identity(self) -> AdminIdentity:
        if self.identity is None:
            raise NotAuthenticated
        return self.identity

    @property
    def tenant(self) -> TenantScope:
        """The caller's organisation scope; the only door to tenant data (CR-07)."""
        return TenantScope(self.require_identity().organisation_id)

    @property
    def actor(self) -> Actor:
        return Actor(
            identity=self.identity,
            ip_address=self.client_ip,
            user_agent=self.request.headers.get("user-agent"),
        )
