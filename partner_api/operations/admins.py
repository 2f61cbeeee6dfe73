"""Creating organisations and admin accounts (the CLI's `create-admin` and the demo seed)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from auth.admins.login import normalise_email
from auth.admins.passwords import hash_password
from models.admin import AdminUser, Membership
from models.enums import Role
from models.organisation import Organisation
from partner_api.foundation.validation import InvalidInput, clean_email


@dataclass(frozen=True)
class AdminAccount:
    user: AdminUser
    organisation: Organisation
    membership: Membership
    created_organisation: bool
    created_user: bool


async def create_admin(
    *, email: str, organisation_name: str, role: Role, password: str
) -> AdminAccount:
    """Create (or add a membership for) an admin; the organisation is created if it is new.

    An existing user keeps their password: this never resets one silently.
    """
    try:
        address = normalise_email(clean_email(email))
    except InvalidInput:
        raise InvalidInput("email", "The administrator's e-mail must be a valid address.") from None
    name = organisation_name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("organisation", "Organisation name must be 1 to 200 characters long.")
    password_hash = hash_password(password)
    async with in_transaction():
        organisation, created = await Organisation.get_or_create(name=name)
        user = await AdminUser.get_or_none(email=address)
        created_user = user is None
        if user is None:
            user = await AdminUser.create(email=address, password_hash=password_hash)
        membership = await Membership.get_or_none(user=user, organisation=organisation)
        if membership is None:
            membership = await Membership.create(user=user, organisation=organisation, role=role)
        elif membership.role is not role:
            membership.role = role
            await membership.save(update_fields=["role"])
    return AdminAccount(
        user=user,
        organisation=organisation,
        membership=membership,
        created_organisation=created,
        created_user=created_user,
    )


async def reset_password(*, email: str, password: str) -> bool:
    return (
        await AdminUser.filter(email=normalise_email(email)).update(
            password_hash=hash_password(password)
        )
        > 0
    )
