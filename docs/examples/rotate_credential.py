#!/usr/bin/env python3
"""Rotate a partner credential's client secret from CI, without a click and without downtime.

    export PARTNER_API_URL=https://partner-api.example.com  # the service's base URL
    export PARTNER_API_TOKEN=pat_...                        # an admin API token with role ADMIN
    python rotate_credential.py CREDENTIAL_ID | your-secret-store-command

CREDENTIAL_ID is the credential's `id` (the `?credential=` part of its address on the admin page,
or `id` in the `credentials` query), not its client ID: the admin API's mutations take the id.

1. `regenerateCredentialSecret` with a grace period: a new secret now, and the previous one keeps
   working until the grace period ends.
2. The new secret goes to the secret store (`hand_over`). In this example that is stdout, the
   new secret its only line; everything else goes to stderr, and no secret or token ever does.
3. Poll the credential until the previous secret is `safeToEnd`: not used since the rotation,
   and the rotation at least one access-token lifetime plus one last-used write interval old
   (docs/credential-lifecycle.md, "Safe to end").
4. `endPreviousSecret`: the previous secret, and every access token it obtained, stops now.

Needs Python 3.11+ and `pip install "gql[httpx]>=4"`. docs/automation.md is the recipe; the exit
codes are `Exit` below.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from gql import Client, GraphQLRequest
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportError, TransportQueryError, TransportServerError
from gql.transport.httpx import HTTPXTransport

ROTATE = """
mutation RotateSecret($input: RegenerateCredentialSecretInput!) {
  regenerateCredentialSecret(input: $input) {
    __typename
    ... on CredentialSecretRegenerated {
      clientSecret
      credential { id name secrets { id hint createdAt expiresAt } }
    }
    ... on UserError { message }
  }
}
"""
SECRETS = """
query PreviousSecret($id: ID!) {
  credential(id: $id) {
    status
    secrets { id hint createdAt expiresAt lastUsedAt safeToEnd }
  }
}
"""
END = """
mutation EndPreviousSecret($input: EndPreviousSecretInput!) {
  endPreviousSecret(input: $input) {
    __typename
    ... on UserError { message }
  }
}
"""


class Exit(IntEnum):
    OK = 0  # rotated, and the previous secret ended (or had already ended)
    FAILED = 1  # the service could not be reached, or answered with an unexpected error
    USAGE = 2  # bad arguments or environment (argparse's own code)
    NOT_AUTHENTICATED = 3  # the API token is wrong, expired or revoked
    PERMISSION_DENIED = 4  # the token's role may not rotate: it needs ADMIN (or OWNER)
    NOT_FOUND = 5  # no credential with this id in the token's organisation
    NOT_ACTIVE = 6  # the credential is revoked or expired
    USES_KEYS = 7  # a private_key_jwt credential has no secret: rotate its key instead
    INVALID = 8  # an input was refused, e.g. a grace period above the service's maximum
    NOT_ENDED = 9  # rotated, but the previous secret was not safe to end: nothing was ended
    STORE_FAILED = 10  # rotated, but the new secret could not be handed to the store


# Every expected failure of both mutations (union members, docs/automation.md): the exit code,
# and what to do about it. A member added later is reported as Exit.FAILED.
REFUSALS: dict[str, tuple[Exit, str]] = {
    "PermissionDenied": (Exit.PERMISSION_DENIED, "the API token needs the ADMIN role"),
    "NotFound": (Exit.NOT_FOUND, "pass the credential's id, not its client ID"),
    "CredentialNotActive": (Exit.NOT_ACTIVE, "a revoked or expired credential is not rotated"),
    "CredentialUsesKeys": (Exit.USES_KEYS, "it authenticates with a key pair, not a secret"),
    "ValidationError": (Exit.INVALID, "check the arguments"),
}
ROTATED, ENDED = "CredentialSecretRegenerated", "PreviousSecretEnded"


class Stop(Exception):
    """Ends the run with `code` after saying `message` on stderr."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Options:
    credential_id: str
    grace_minutes: int
    poll_seconds: float
    max_wait_seconds: float


def say(message: str) -> None:
    print(f"rotate_credential: {message}", file=sys.stderr, flush=True)


def execute(session: SyncClientSession, document: str, variables: dict[str, Any]) -> Any:
    try:
        return session.execute(GraphQLRequest(document, variable_values=variables))
    except TransportQueryError as error:
        errors = error.errors or []
        if any((e.get("extensions") or {}).get("code") == "UNAUTHENTICATED" for e in errors):
            raise Stop(Exit.NOT_AUTHENTICATED, "the API token was refused") from None
        messages = "; ".join(str(e.get("message", "")) for e in errors) or "no message"
        raise Stop(Exit.FAILED, f"the service answered with an error: {messages}") from None
    except TransportError as error:
        # The exception's own text may quote a whole response body: its kind and the HTTP
        # status (429: too many failed attempts from this address; 503: the service is down).
        status = f", HTTP {error.code}" if isinstance(error, TransportServerError) else ""
        raise Stop(
            Exit.FAILED, f"the service could not be used ({type(error).__name__}{status})"
        ) from None


def refused(step: str, result: dict[str, Any]) -> Stop:
    kind = str(result["__typename"])
    code, advice = REFUSALS.get(kind, (Exit.FAILED, "an outcome this script does not know"))
    return Stop(code, f"{step} refused ({kind}): {result.get('message', '')} ({advice})")


def hand_over(secret: str) -> None:
    """Give the new secret to the systems that use it. A real pipeline writes it to its secret
    store right here instead, for example:

        Vault:               hvac.Client(...).secrets.kv.v2.create_or_update_secret(
                                 path="partner-api/box-office", secret={"client_secret": secret})
        AWS Secrets Manager: boto3.client("secretsmanager").put_secret_value(
                                 SecretId="partner-api/box-office", SecretString=secret)
        GitHub secrets:      pipe stdout into `gh secret set NAME` (rotate-partner-credential.yml)
    """
    try:
        sys.stdout.write(secret + "\n")
        sys.stdout.flush()
        written = True
    except OSError:  # e.g. the store command reading the pipe has died
        written = False
    # Close stdout now (fd 1 becomes /dev/null) so a pipe's reader has the whole secret and can
    # store it while we wait: clients can only move to the new secret once it is stored.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if not written:
        raise Stop(
            Exit.STORE_FAILED,
            "could not write the new secret to stdout: it is lost, and the previous secret "
            "works until its grace period ends; run the rotation again",
        )


def rotate(session: SyncClientSession, options: Options) -> None:
    grace = {"id": options.credential_id, "gracePeriodMinutes": options.grace_minutes}
    result = execute(session, ROTATE, {"input": grace})["regenerateCredentialSecret"]
    if result["__typename"] != ROTATED:
        raise refused("regenerateCredentialSecret", result)
    current, *previous = result["credential"]["secrets"]  # newest first
    say(f"{result['credential']['name']}: new secret ...{current['hint']} created")
    hand_over(result["clientSecret"])
    if not previous:
        say("no previous secret is left (grace period 0): nothing to end")
        return
    try:
        wait_until_safe_to_end(session, options, previous[0]["id"], current["createdAt"])
    except Stop as stop:
        raise Stop(stop.code, f"{stop}. {still_works(previous[0])}") from None


def wait_until_safe_to_end(
    session: SyncClientSession, options: Options, secret_id: str, rotated_at: str
) -> None:
    deadline = time.monotonic() + options.max_wait_seconds
    told = False
    while True:
        credential = execute(session, SECRETS, {"id": options.credential_id})["credential"]
        if credential is None:
            raise Stop(Exit.NOT_FOUND, "the credential is gone")
        if credential["status"] != "ACTIVE":
            raise Stop(Exit.NOT_ACTIVE, f"the credential is {credential['status']} now")
        secret = next((s for s in credential["secrets"] if s["id"] == secret_id), None)
        if secret is None:
            say("the previous secret already ended (its grace period ran out, or it was ended)")
            return
        if secret["safeToEnd"]:
            end(session, options, secret)
            return
        used = secret["lastUsedAt"]
        if used is not None and parse(used) >= parse(rotated_at):
            # "Not used since the rotation" can never hold again: waiting longer cannot help.
            raise Stop(Exit.NOT_ENDED, f"the previous secret was used after the rotation ({used})")
        if time.monotonic() + options.poll_seconds > deadline:
            raise Stop(Exit.NOT_ENDED, f"not safe to end within {options.max_wait_seconds:g} s")
        if not told:
            say(
                f"previous secret ...{secret['hint']} not used since the rotation; waiting until "
                f"clients have renewed their access tokens (a look every {options.poll_seconds:g}s)"
            )
            told = True
        time.sleep(options.poll_seconds)


def end(session: SyncClientSession, options: Options, secret: dict[str, Any]) -> None:
    ids = {"id": options.credential_id, "secretId": secret["id"]}
    result = execute(session, END, {"input": ids})["endPreviousSecret"]
    if result["__typename"] != ENDED:
        raise refused("endPreviousSecret", result)
    say(f"previous secret ...{secret['hint']} ended: only the new secret works now")


def still_works(secret: dict[str, Any]) -> str:
    return (
        f"The new secret was handed over and is current; the previous secret ...{secret['hint']} "
        f"keeps working until {secret['expiresAt']} unless it is ended (endPreviousSecret)"
    )


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def arguments(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("credential_id", help="the credential's id (not its client ID)")
    parser.add_argument(
        "--grace-minutes",
        type=int,
        default=60,
        help="how long the previous secret keeps working; 0 ends it at once (%(default)s)",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=30.0, help="between looks at safeToEnd (%(default)g)"
    )
    parser.add_argument(
        "--max-wait-seconds",
        type=float,
        default=1800.0,
        help="then give up waiting, ending nothing (%(default)g)",
    )
    parsed = parser.parse_args(argv)
    if parsed.grace_minutes < 0 or parsed.poll_seconds <= 0 or parsed.max_wait_seconds < 0:
        parser.error("--poll-seconds must be positive, the others not negative")
    return Options(
        parsed.credential_id, parsed.grace_minutes, parsed.poll_seconds, parsed.max_wait_seconds
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(argv)
    url = os.environ.get("PARTNER_API_URL", "").rstrip("/")
    token = os.environ.get("PARTNER_API_TOKEN", "")
    if not url or not token:
        say("error: set PARTNER_API_URL (the service's base URL) and PARTNER_API_TOKEN")
        return Exit.USAGE
    # gql logs whole responses at DEBUG, and one of them carries the new secret.
    logging.getLogger("gql").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    transport = HTTPXTransport(
        url=f"{url}/graphql", headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )
    try:
        with Client(transport=transport, fetch_schema_from_transport=False) as session:
            rotate(session, options)
    except Stop as stop:
        say(f"error: {stop}")
        return stop.code
    return Exit.OK


if __name__ == "__main__":
    sys.exit(main())
