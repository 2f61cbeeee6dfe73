"""The typed per-request context that every resolver receives as `info.context`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from auth.admins.identity import Actor, AdminIdentity
from models.tenancy import TenantScope
from partner_api.operations.credential_policy import max_lifetime_days
from partner_api.operations.services import Services
from schema.errors import NotAuthenticated


@dataclass
class Context:
    request: Request
    response: Response
    services: Services
    identity: AdminIdentity | None
    client_ip: str | None
    _policies: dict[UUID, asyncio.Future[int | None]] = field(default_factory=dict)

    async def max_lifetime_days(self, organisation_id: UUID) -> int | None:
        """The organisation's credential policy, read once per request (a page of credentials
        asks for it once per credential)."""
        # The page's resolvers run concurrently: they share one pending read rather than each
        # finding the cache empty and querying (20 reads for a page of 20).
        pending = self._policies.get(organisation_id)
        if pending is None:
            pending = asyncio.ensure_future(max_lifetime_days(organisation_id))
            self._policies[organisation_id] = pending
        return await pending

    def policy_changed(self, organisation_id: UUID, days: int | None) -> None:
        known: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        known.set_result(days)
        self._policies[organisation_id] = known

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
