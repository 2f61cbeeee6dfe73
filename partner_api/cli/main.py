"""The `partner-api` console script: serve, worker, migrate, create-admin, seed-demo, and the
signing-key commands rotate-signing-key and reencrypt-signing-keys.

Errors are one clear line on stderr and exit status 1 (2 for usage errors); never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from tortoise.exceptions import BaseORMException

from auth.partners.signing_keys import SigningKeyError
from models.enums import Role
from partner_api.cli import commands as cli_commands
from partner_api.cli.arguments import parser
from partner_api.cli.commands import CommandError
from partner_api.cli.serve import serve
from partner_api.cli.worker import worker
from partner_api.foundation.settings import ConfigurationError, Settings
from partner_api.foundation.validation import InvalidInput
from partner_api.web import log_redaction


def run(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    log_redaction.install()
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            serve(settings, args.host, args.port, args.workers)
        elif args.command == "worker":
            worker(settings)
        elif args.command == "migrate":
            asyncio.run(cli_commands.migrate(settings))
            print("Database is up to date.")
        elif args.command == "create-admin":
            password = cli_commands.read_password(args.password_stdin)
            created = cli_commands.create_administrator(
                settings,
                email=args.email,
                organisation=args.organisation,
                role=Role(args.role),
                password=password,
            )
            print(asyncio.run(created))
        elif args.command == "rotate-signing-key":
            print(asyncio.run(cli_commands.rotate_key(settings, args.algorithm)))
        elif args.command == "reencrypt-signing-keys":
            print(asyncio.run(cli_commands.reencrypt_keys(settings)))
        elif args.command == "seed-demo":
            print(asyncio.run(cli_commands.seed_demo_data(settings, reset=args.reset_password)))
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
