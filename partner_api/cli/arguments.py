"""The `partner-api` command line: its commands and their arguments."""

from __future__ import annotations

import argparse

from models.enums import Role
from partner_api.foundation.settings import SIGNING_ALGORITHMS


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partner-api", description="Partner API credentials service."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    commands.add_parser("migrate", help="apply database migrations")

    commands.add_parser(
        "worker",
        help="deliver webhooks until SIGTERM or SIGINT, serving no HTTP (expects a migrated "
        "database)",
    )

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
