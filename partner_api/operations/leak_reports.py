"""Leak reports from GitHub's secret-scanning partner program: which reported tokens are our
secrets (LK-02), and what a confirmed leak does (LK-03). The signature is checked before any of
this runs (partner_api/operations/github_keys.py, LK-01); the HTTP framing is
partner_api/web/secret_scanning.py.

A token is a true positive only when it is one of our client secrets or admin API tokens: the
`pcs_` or `pat_` format and checksum (auth/tokens.py), a row with its lookup part, and that row's
keyed hash matching, compared in constant time. A token that fails the format costs no query and
no HMAC; one whose lookup part matches no row still costs one HMAC, like a miss at the token
endpoint (CR-05). An ended or expired secret (or a revoked token) is still ours: still a true
positive.

A report is handled in one transaction: the report's digest (a replay of the same signed body is
refused), then for each true positive an audit event (CREDENTIAL_SECRET_LEAKED) and a
`credential.secret_leaked` notification (webhooks and mail follow from it), and, when the
organisation's `leaked_secret_action` is END_SECRET, the secret ended and the change published,
so it and the tokens it obtained stop on every process within the change feed's bound. A leaked
admin API token is revoked whatever that setting says (it can change partner credentials, so it
is never left working once public, as GitHub does with its own tokens), and audited as
API_TOKEN_REVOKED with the report's URL; nothing caches a token, so it stops on the next request
in every process. One
transaction rather than one per secret: a report that fails half-way changes nothing and is not
marked handled, so GitHub's retry handles it whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from auth.admins.identity import Actor
from auth.partners import change_feed
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import api_token_lookup_id, client_secret_lookup_id
from models.api_token import ApiToken
from models.credential import Credential, CredentialSecret
from models.enums import AuditAction
from models.notifications import LeakedSecretAction, LeakReport, NotificationType
from models.oauth import ChangeKind
from models.organisation import Organisation
from partner_api.operations import audit, notification_events

MAX_BODY_BYTES = 64 * 1024
MAX_ENTRIES = 100
MAX_TOKEN_LENGTH = 256
MAX_TYPE_LENGTH = 200
MAX_SOURCE_LENGTH = 100
MAX_URL_LENGTH = 2000
ACTOR_LABEL = "GitHub secret scanning"


class MalformedReport(Exception):
    """The body is not GitHub's alert payload; the message says why (safe to send back)."""


class ReplayedReport(Exception):
    """This signed body was handled before."""


class LeakAction(StrEnum):
    """What a confirmed leak did, as the audit event and the notification (`action`) say: the
    organisation's `LeakedSecretAction` that was applied, or that the secret had already stopped
    working (ended, or its grace period over), so there was nothing to do."""

    END_SECRET = LeakedSecretAction.END_SECRET.value
    NOTIFY_ONLY = LeakedSecretAction.NOTIFY_ONLY.value
    ALREADY_ENDED = "ALREADY_ENDED"


@dataclass(frozen=True)
class ReportedToken:
    token: str
    type: str
    url: str
    source: str


@dataclass(frozen=True)
class Verdict:
    """A reported token and, when it is one of our secrets, which one."""

    reported: ReportedToken
    secret_id: UUID | None
    credential_id: UUID | None
    api_token_id: UUID | None = None

    @property
    def ours(self) -> bool:
        return self.secret_id is not None or self.api_token_id is not None

    def answer(self) -> dict[str, str]:
        """GitHub's feedback format: the token, its type and the label, nothing more (LK-02)."""
        return {
            "token_raw": self.reported.token,
            "token_type": self.reported.type,
            "label": "true_positive" if self.ours else "false_positive",
        }


def _text(entry: dict[str, object], name: str, limit: int, *, required: bool) -> str:
    value = entry.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise MalformedReport(f"Each match needs a string `{name}`.")
    if len(value) > limit:
        raise MalformedReport(f"`{name}` is longer than {limit} characters.")
    return value


def parse_report(body: bytes) -> list[ReportedToken]:
    """GitHub's payload: a JSON array of 1 to MAX_ENTRIES `{token, type, url, source}`."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedReport("The body is not JSON.") from None
    if not isinstance(parsed, list) or not parsed:
        raise MalformedReport("The body must be a non-empty JSON array of matches.")
    if len(parsed) > MAX_ENTRIES:
        raise MalformedReport(f"A report holds at most {MAX_ENTRIES} matches.")
    reported = []
    for entry in parsed:
        if not isinstance(entry, dict):
            raise MalformedReport("Each match must be a JSON object.")
        token = _text(entry, "token", MAX_TOKEN_LENGTH, required=True)
        reported.append(
            ReportedToken(
                token=token,
                type=_text(entry, "type", MAX_TYPE_LENGTH, required=True),
                url=_text(entry, "url", MAX_URL_LENGTH, required=False),
                source=_text(entry, "source", MAX_SOURCE_LENGTH, required=False),
            )
        )
    return reported


def report_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def already_handled(digest: str) -> bool:
    return await LeakReport.exists(body_sha256=digest)


async def _verdict(hasher: KeyedHasher, reported: ReportedToken) -> Verdict:
    lookup_id = client_secret_lookup_id(reported.token)
    if lookup_id is None:
        return await _api_token_verdict(hasher, reported)
    row = await CredentialSecret.get_or_none(lookup_id=lookup_id).only(
        "id", "credential_id", "secret_hash"
    )
    if row is None:
        hasher.spend_on_miss(reported.token)
        return Verdict(reported, None, None)
    if not hasher.matches(reported.token, row.secret_hash):
        return Verdict(reported, None, None)
    return Verdict(reported, row.id, row.credential_id)  # type: ignore[attr-defined]


async def _api_token_verdict(hasher: KeyedHasher, reported: ReportedToken) -> Verdict:
    lookup_id = api_token_lookup_id(reported.token)
    if lookup_id is None:
        return Verdict(reported, None, None)
    row = await ApiToken.get_or_none(lookup_id=lookup_id).only("id", "token_hash")
    if row is None:
        hasher.spend_on_miss(reported.token)
        return Verdict(reported, None, None)
    if not hasher.matches(reported.token, row.token_hash):
        return Verdict(reported, None, None)
    return Verdict(reported, None, None, api_token_id=row.id)


async def judge(hasher: KeyedHasher, reported: Sequence[ReportedToken]) -> list[Verdict]:
    """Each reported token with the secret it is, if it is one of ours (LK-02)."""
    return [await _verdict(hasher, item) for item in reported]


async def _confirmed(
    verdict: Verdict, credential: Credential, *, actor: Actor, now: datetime
) -> None:
    """One confirmed leak: act by the organisation's policy, audit, notify."""
    secret = await CredentialSecret.filter(id=verdict.secret_id).select_for_update().get()
    organisation = await Organisation.get(id=credential.organisation_id)  # type: ignore[attr-defined]
    if not secret.is_live_at(now):
        action = LeakAction.ALREADY_ENDED
    elif organisation.leaked_secret_action is LeakedSecretAction.END_SECRET:
        secret.ended_at = now
        await secret.save(update_fields=["ended_at"])
        # Every process drops the secret, and the tokens it obtained, within 1 s (RS-10).
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential.id)
        action = LeakAction.END_SECRET
    else:
        action = LeakAction.NOTIFY_ONLY
    reported = verdict.reported
    await audit.record(
        AuditAction.CREDENTIAL_SECRET_LEAKED,
        organisation_id=organisation.id,
        actor=actor,
        actor_label=ACTOR_LABEL,
        credential=credential,
        after={
            "url": reported.url,
            "source": reported.source,
            "secretId": str(secret.id),
            "action": action.value,
        },
    )
    await notification_events.record(
        NotificationType.CREDENTIAL_SECRET_LEAKED,
        organisation_id=organisation.id,
        credential=credential,
        facts={
            "url": reported.url,
            "source": reported.source,
            "secret_id": str(secret.id),
            "action": action.value,
        },
        now=now,
    )


async def act_on(verdicts: Sequence[Verdict], *, digest: str, actor: Actor, now: datetime) -> None:
    """Mark the report handled and act on its true positives, all in one transaction;
    `ReplayedReport` when this body was handled before (nothing changes then)."""
    confirmed = [verdict for verdict in verdicts if verdict.credential_id is not None]
    async with in_transaction():
        try:
            # The digest is the primary key: a concurrent copy of this report waits for this
            # transaction and then fails here, so only one of them acts.
            await LeakReport.create(body_sha256=digest)
        except IntegrityError:
            raise ReplayedReport from None
        # Credentials are locked in id order, so two reports naming the same credentials cannot
        # deadlock (PostgreSQL).
        credentials: dict[UUID, Credential] = {}
        for credential_id in sorted(
            {verdict.credential_id for verdict in confirmed if verdict.credential_id}
        ):
            credentials[credential_id] = (
                await Credential.filter(id=credential_id).select_for_update().get()
            )
        for verdict in confirmed:
            assert verdict.credential_id is not None
            await _confirmed(verdict, credentials[verdict.credential_id], actor=actor, now=now)
        for verdict in sorted(
            (verdict for verdict in verdicts if verdict.api_token_id is not None),
            key=lambda verdict: str(verdict.api_token_id),
        ):
            await _api_token_leaked(verdict, actor=actor, now=now)


async def _api_token_leaked(verdict: Verdict, *, actor: Actor, now: datetime) -> None:
    """A confirmed leak of an admin API token: revoked at once (unless it already stopped)."""
    token = await ApiToken.filter(id=verdict.api_token_id).select_for_update().get()
    if token.revoked_at is not None or token.expires_at <= now:
        action = LeakAction.ALREADY_ENDED.value
    else:
        token.revoked_at = now
        await token.save(update_fields=["revoked_at"])
        action = "REVOKED"
    reported = verdict.reported
    await audit.record(
        AuditAction.API_TOKEN_REVOKED,
        organisation_id=token.organisation_id,  # type: ignore[attr-defined]
        actor=actor,
        actor_label=ACTOR_LABEL,
        after={
            "id": str(token.id),
            "name": token.name,
            "leaked": {"url": reported.url, "source": reported.source},
            "action": action,
        },
    )
