"""The `partner-api` console script: serve, migrate, create-admin, seed-demo.

Errors are one clear line on stderr and exit status 1 (2 for usage errors); never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from tortoise import Tortoise
from tortoise.exceptions import BaseORMException

from auth.key_fingerprints import verify_key_material
from auth.keyed_hash import KeyedHasher
from auth.passwords import WeakPasswordError, validate_password
from auth.signing_keys import (
    SigningKeyError,
    ensure_signing_key,
    load_key_ring,
    reencrypt_signing_keys,
    rotate_signing_key,
)
from models.enums import Role
from partner_api import log_redaction
from partner_api.admins import create_admin, reset_password
from partner_api.clock import utcnow
from partner_api.database import (
    apply_migrations,
    ensure_sqlite_directory,
    schema_lock,
    tortoise_config,
)
from partner_api.demo import DEMO_OWNER, demo_exists, seed_demo
from partner_api.observability.log_format import logging_config
from partner_api.settings import SIGNING_ALGORITHMS, ConfigurationError, Settings
from partner_api.validation import InvalidInput

T = TypeVar("T")


class CommandError(Exception):
    """A failure the user can act on; printed as one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partner-api", description="Partner API credentials service."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    commands.add_parser("migrate", help="apply database migrations")

    admin = commands.add_parser("create-admin", help="create an administrator")
    admin.add_argument("--email", required=True)
    admin.add_argument("--organisation", required=True, help="created if it does not exist")
    admin.add_argument("--role", default="ADMIN", choices=[role.value for role in Role])
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    rotate = commands.add_parser(
        "rotate-signing-key",
        help="create a new active access-token signing key (the old one stays published)",
    )
    rotate.add_argument(
        "--algorithm",
        choices=list(SIGNING_ALGORITHMS),
        help="default: PARTNER_API_SIGNING_ALGORITHM",
    )

    commands.add_parser(
        "reencrypt-signing-keys",
        help="seal the stored signing keys with the current key-encryption key (after a change)",
    )

    demo = commands.add_parser("seed-demo", help="create the demo organisation and credentials")
    demo.add_argument(
        "--reset-password",
        action="store_true",
        help="if the demo exists already, set and print a new password for its owner",
    )
    return parser


def _read_password(from_stdin: bool) -> str:
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


async def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
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


async def _migrate(settings: Settings) -> None:
    # Only the schema: migrating uses no key material, so the key check (and the first record
    # of the fingerprints) is left to the commands that do.
    async with schema_lock(settings.database_url):
        await apply_migrations(settings.database_url)


async def _create_admin(settings: Settings, args: argparse.Namespace, password: str) -> str:
    account = await _with_database(
        settings,
        lambda: create_admin(
            email=args.email,
            organisation_name=args.organisation,
            role=Role(args.role),
            password=password,
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


async def _seed_demo(settings: Settings, reset: bool) -> str:
    hasher = KeyedHasher(settings.secret_peppers)

    async def work() -> str:
        if await demo_exists():
            if not reset:
                return (
                    f"Demo data already present. Log in as {DEMO_OWNER}; to get a new password "
                    "run: partner-api seed-demo --reset-password"
                )
            import secrets

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

    return await _with_database(settings, work)


async def _prepare_to_serve(settings: Settings) -> None:
    """Migrate and make sure a signing key exists before any worker starts. Both happen under
    the schema lock (`_with_database`), so several `serve` processes started at once on an
    empty database migrate once and create exactly one active key."""

    async def work() -> None:
        await ensure_signing_key(
            algorithm=settings.signing_algorithm,
            key_encryption_key=settings.key_encryption_key,
            now=utcnow(),
            create=not settings.production,
        )
        # Fails early, here, when the key-encryption key cannot open the stored keys.
        await load_key_ring(
            key_encryption_key=settings.key_encryption_key,
            previous_key_encryption_keys=settings.previous_key_encryption_keys,
            token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            now=utcnow(),
        )

    await _with_database(settings, work)


async def _rotate_signing_key(settings: Settings, algorithm: str | None) -> str:
    row = await _with_database(
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


async def _reencrypt_signing_keys(settings: Settings) -> str:
    changed = await _with_database(
        settings,
        lambda: reencrypt_signing_keys(
            key_encryption_key=settings.key_encryption_key,
            previous_key_encryption_keys=settings.previous_key_encryption_keys,
        ),
    )
    return (
        f"Re-encrypted {changed} signing key(s) with PARTNER_API_KEY_ENCRYPTION_KEY; "
        "PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS can now be removed."
    )


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from partner_api.request_head import HeadBoundedHttpToolsProtocol

    if settings.metrics_port is not None and workers > 1:
        # Each worker is its own process with its own metrics; only one could bind the port.
        raise CommandError(
            "PARTNER_API_METRICS_PORT needs --workers 1: run one process per port or container "
            "and scrape each, or scrape /metrics on the main port (PARTNER_API_METRICS_TOKEN)"
        )
    asyncio.run(_prepare_to_serve(settings))
    ensure_sqlite_directory(settings.database_url)
    uvicorn.run(
        "partner_api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        # uvicorn's own httptools protocol bounds neither the URL nor the headers.
        http=HeadBoundedHttpToolsProtocol,
        proxy_headers=False,  # client addresses come from PARTNER_API_TRUSTED_PROXIES only
        server_header=False,
        # uvicorn's access log prints whole URLs, and a misbehaving client may put a secret in a
        # query string; nothing that can carry a secret is logged (SECURITY.md LG-02).
        access_log=False,
        # uvicorn applies this in every worker: its own loggers format like ours (JSON or text).
        log_config=logging_config(settings),
    )


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    log_redaction.install()
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            _serve(settings, args.host, args.port, args.workers)
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
            print("Database is up to date.")
        elif args.command == "create-admin":
            password = _read_password(args.password_stdin)
            print(asyncio.run(_create_admin(settings, args, password)))
        elif args.command == "rotate-signing-key":
            print(asyncio.run(_rotate_signing_key(settings, args.algorithm)))
        elif args.command == "reencrypt-signing-keys":
            print(asyncio.run(_reencrypt_signing_keys(settings)))
        elif args.command == "seed-demo":
            print(asyncio.run(_seed_demo(settings, args.reset_password)))
    except (CommandError, ConfigurationError) as error:
        print(f"partner-api: error: {error}", file=sys.stderr)
        return 1
    except SigningKeyError as error:
        print(f"partner-api: error: {error}", file=sys.stderr)
        return 1
    except InvalidInput as error:
        print(f"partner-api: error: {error.message}", file=sys.stderr)
        return 1
    except BaseORMException as error:
        print(f"partner-api: error: database: {error}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as error:
        print(f"partner-api: error: cannot reach the database ({error})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main() -> None:
    sys.exit(run())
