"""What the `partner-api` commands do, apart from `serve` (partner_api/cli/serve.py).

Each command returns the text it prints; failures the user can act on are CommandError.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise import Tortoise

from auth.admins.passwords import WeakPasswordError, validate_password
from auth.partners.key_fingerprints import verify_key_material
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.signing_keys import reencrypt_signing_keys, rotate_signing_key
from models.enums import Role
from partner_api.cli.demo import DEMO_OWNER, demo_exists, seed_demo
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, schema_lock, tortoise_config
from partner_api.foundation.settings import Settings
from partner_api.operations.admins import create_admin, reset_password
from partner_api.operations.webhook_settings import reseal_signing_secrets

T = TypeVar("T")


class CommandError(Exception):
    """A failure the user can act on; printed as one line."""


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CommandError("the passwords do not match")
    try:
        validate_password(password)
    except WeakPasswordError as error:
        raise CommandError(str(error)) from None
    return password


async def with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Migrate, check that the configured keys are the database's own (CR-10), then run `work`,
    holding the schema lock throughout: another command or a second `serve` starting at the
    same moment waits instead of racing to migrate, to record the key fingerprints or to
    create the first signing key."""
    async with schema_lock(settings.database_url):
        await apply_migrations(settings.database_url)
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            await verify_key_material(settings)
            return await work()
        finally:
            await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    # Only the schema: migrating uses no key material, so the key check (and the first record
    # of the fingerprints) is left to the commands that do.
    async with schema_lock(settings.database_url):
        await apply_migrations(settings.database_url)


async def create_administrator(
    settings: Settings, *, email: str, organisation: str, role: Role, password: str
) -> str:
    account = await with_database(
        settings,
        lambda: create_admin(
            email=email, organisation_name=organisation, role=role, password=password
        ),
    )
    created = " (new organisation)" if account.created_organisation else ""
    existing = (
        ""
        if account.created_user
        else "\nThe account existed already: its password was left unchanged."
    )
    return (
        f"{account.user.email} is {account.membership.role.value} of "
        f"{account.organisation.name}{created}{existing}"
    )


async def seed_demo_data(settings: Settings, *, reset: bool) -> str:
    hasher = KeyedHasher(settings.secret_peppers)

    async def work() -> str:
        if await demo_exists():
            if not reset:
                return (
                    f"Demo data already present. Log in as {DEMO_OWNER}; to get a new password "
                    "run: partner-api seed-demo --reset-password"
                )
            password = secrets.token_urlsafe(12)
            await reset_password(email=DEMO_OWNER, password=password)
            return f"Demo owner login: {DEMO_OWNER} / {password}"
        login = await seed_demo(hasher)
        return "\n".join(
            [
                "Demo data created.",
                f"  Ticketing: {login.ticketing.events} events, {login.ticketing.products} "
                f"products, {login.ticketing.orders} orders, {login.ticketing.barcodes} barcodes",
                f"  Admin login (GraphiQL at {settings.issuer}/graphql): "
                f"{login.email} / {login.password}",
                f"  Demo credential 'Box office sync': client_id={login.client_id}",
                f"  client_secret={login.client_secret}",
                "  (shown once; only a keyed hash is stored)",
            ]
        )

    return await with_database(settings, work)


async def rotate_key(settings: Settings, algorithm: str | None) -> str:
    row = await with_database(
        settings,
        lambda: rotate_signing_key(
            algorithm=algorithm or settings.signing_algorithm,
            key_encryption_key=settings.key_encryption_key,
            now=utcnow(),
        ),
    )
    return (
        f"New signing key {row.kid} ({row.algorithm}) is active; earlier keys stay in the JWKS "
        f"until their tokens have expired."
    )


async def reencrypt_keys(settings: Settings) -> str:
    """Everything sealed with a previous key-encryption key, sealed with the current one: the
    signing keys, then the webhook endpoints' signing secrets."""
    current, previous = settings.key_encryption_key, settings.previous_key_encryption_keys

    async def reencrypt() -> tuple[int, int]:
        return (
            await reencrypt_signing_keys(
                key_encryption_key=current, previous_key_encryption_keys=previous
            ),
            await reseal_signing_secrets(
                key_encryption_key=current, previous_key_encryption_keys=previous
            ),
        )

    signing_keys, webhook_secrets = await with_database(settings, reencrypt)
    return (
        f"Re-encrypted {signing_keys} signing key(s) and {webhook_secrets} webhook signing "
        "secret(s) with PARTNER_API_KEY_ENCRYPTION_KEY; PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS "
        "can now be removed."
    )
