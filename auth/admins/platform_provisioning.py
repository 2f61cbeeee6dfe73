"""Just-in-time accounts for platform sign-in: the token's person, organisation and role as rows.

Audit events, `createdBy` and sessions all point at an `AdminUser`, so a platform identity needs
one. The first token for an e-mail creates the user; every token keeps the membership's role in
step with the role it carries (one transaction). An e-mail that already has a built-in account is
the same person: their password stays as it is, and the token's organisation and role are
upserted as their membership there. Organisations are never created from a token: a token for an
organisation we do not have signs in nobody.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from auth.admins.passwords import hash_password
from auth.admins.platform_claims import PlatformClaims
from models.admin import AdminUser, Membership
from models.organisation import Organisation
from partner_api.foundation.settings import OrganisationMatch

logger = logging.getLogger("partner_api.platform_sign_in")

# Two requests may provision the same new user at once; the loser retries once and finds it.
PROVISIONING_ATTEMPTS = 2


def unusable_password_hash() -> str:
    """A password hash that no password verifies: argon2id of 256 random bits nobody kept.

    Not a marker such as `!` (which argon2 refuses without work): a login attempt against this
    account costs the same argon2 verification as any other, so timing does not reveal that the
    e-mail has a platform account (GQ-10). Setting a password (`reset_password`) replaces it.
    """
    return hash_password(secrets.token_urlsafe(32))


def _organisation_filter(reference: str, match: OrganisationMatch) -> dict[str, Any] | None:
    if match == "name":
        return {"name": reference}
    try:
        return {"id": uuid.UUID(reference)}
    except ValueError:
        return None


async def find_organisation(reference: str, match: OrganisationMatch) -> Organisation | None:
    where = _organisation_filter(reference, match)
    return None if where is None else await Organisation.get_or_none(**where)


async def current_membership(claims: PlatformClaims, match: OrganisationMatch) -> Membership | None:
    """The membership the token describes, if it exists with the token's role (one query): the
    path of every request after the first."""
    where = _organisation_filter(claims.organisation, match)
    if where is None:
        return None
    organisation_where = {f"organisation__{name}": value for name, value in where.items()}
    return await Membership.get_or_none(
        user__email=claims.email, role=claims.role, **organisation_where
    ).select_related("user", "organisation")


async def provision(claims: PlatformClaims, organisation: Organisation) -> Membership | None:
    """Create the user and/or membership, or bring the membership's role in step; None only
    when concurrent provisioning kept failing."""
    for _ in range(PROVISIONING_ATTEMPTS):
        try:
            return await _upsert(claims, organisation)
        except IntegrityError:
            continue
    logger.warning("platform sign-in: could not provision %s", claims.email)
    return None


async def _upsert(claims: PlatformClaims, organisation: Organisation) -> Membership:
    user = await AdminUser.get_or_none(email=claims.email)
    # Hashed outside the transaction (and the event loop): argon2 takes a while on purpose.
    password_hash = None if user is not None else await asyncio.to_thread(unusable_password_hash)
    async with in_transaction():
        if user is None:
            assert password_hash is not None
            user = await AdminUser.create(email=claims.email, password_hash=password_hash)
            logger.info("platform sign-in: provisioned admin user %s", claims.email)
        membership = (
            await Membership.filter(user=user, organisation=organisation)
            .select_for_update()
            .first()
        )
        if membership is None:
            membership = await Membership.create(
                user=user, organisation=organisation, role=claims.role
            )
            logger.info(
                "platform sign-in: %s joined %r as %s",
                claims.email,
                organisation.name,
                claims.role.value,
            )
        elif membership.role is not claims.role:
            logger.info(
                "platform sign-in: %s in %r changes role from %s to %s",
                claims.email,
                organisation.name,
                membership.role.value,
                claims.role.value,
            )
            membership.role = claims.role
            await membership.save(update_fields=["role"])
    membership.user = user
    membership.organisation = organisation
    return membership
