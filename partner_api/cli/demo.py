"""The demo data set: one organisation, its owner and a developer, three credentials, and the
ticketing data the Partner API serves (partner_api/ticketing/demo_ticketing.py).

Seeded on the embedded default so a new user can try the whole flow; the owner's password and one
credential's secret are printed once, at seeding, and never stored in clear. Everything is created
in one transaction: a failure leaves no half-seeded organisation behind.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from auth.admins.identity import Actor, AdminIdentity
from auth.partners.keyed_hash import KeyedHasher
from models.enums import AccessLevel, Role
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.operations.admins import create_admin
from partner_api.operations.credential_changes import revoke_credential
from partner_api.operations.credentials import (
    CredentialDraft,
    create_credential,
    regenerate_secret,
)
from partner_api.ticketing.demo_ticketing import TicketingSummary, seed_ticketing

DEMO_ORGANISATION = "Demo Events Ltd"
DEMO_OWNER = "owner@demo.example"
DEMO_DEVELOPER = "developer@demo.example"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    client_id: str
    client_secret: str
    ticketing: TicketingSummary


async def demo_exists() -> bool:
    return await Organisation.filter(name=DEMO_ORGANISATION).exists()


async def seed_demo(hasher: KeyedHasher) -> DemoLogin:
    async with in_transaction():
        return await _seed_demo(hasher)


async def _seed_demo(hasher: KeyedHasher) -> DemoLogin:
    owner_password = secrets.token_urlsafe(12)
    owner = await create_admin(
        email=DEMO_OWNER,
        organisation_name=DEMO_ORGANISATION,
        role=Role.OWNER,
        password=owner_password,
    )
    await create_admin(
        email=DEMO_DEVELOPER,
        organisation_name=DEMO_ORGANISATION,
        role=Role.DEVELOPER,
        password=secrets.token_urlsafe(24),
    )
    actor = Actor(
        identity=AdminIdentity.of(owner.membership),
        ip_address=None,
        user_agent="partner-api seed-demo",
    )
    scope = TenantScope(owner.organisation.id)
    now = utcnow()
    box_office = await create_credential(
        scope,
        actor,
        CredentialDraft(
            name="Box office sync",
            contact_email="it@boxoffice.example",
            access_level=AccessLevel.FULL,
        ),
        hasher=hasher,
        now=now,
    )
    crm = await create_credential(
        scope,
        actor,
        CredentialDraft(
            name="CRM export",
            contact_email="crm-team@demo.example",
            access_level=AccessLevel.FINE_GRAINED,
            scopes=["events:read", "orders:read"],
            expires_at=now + timedelta(days=365),
        ),
        hasher=hasher,
        now=now,
    )
    await regenerate_secret(
        scope, actor, str(crm.credential.id), timedelta(hours=24), hasher=hasher, now=now
    )
    old = await create_credential(
        scope,
        actor,
        CredentialDraft(
            name="Old reseller feed",
            contact_email="feeds@reseller.example",
            access_level=AccessLevel.FINE_GRAINED,
            scopes=["events:read"],
        ),
        hasher=hasher,
        now=now,
    )
    await revoke_credential(scope, actor, str(old.credential.id), "Contract ended", now=now)
    ticketing = await seed_ticketing(
        owner.organisation.id, now=now, partner_credential_id=box_office.credential.id
    )
    return DemoLogin(
        email=DEMO_OWNER,
        password=owner_password,
        client_id=box_office.credential.client_id,
        client_secret=box_office.secret_value,
        ticketing=ticketing,
    )
