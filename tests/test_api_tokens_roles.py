"""The role matrix run with admin API tokens: a token of a role gets exactly what a session of that
role gets (PT-02, CR-09), and every mutation it makes is audited with the token as actor (PT-03).

The matrix is tests/test_tenancy_and_roles.py's (its reads, the mutations its read-only roles are
refused, the steps an admin takes), extended to every other operation of the schema; a test
fails when a Query or Mutation field is in neither. Each role runs it twice, on twin organisations
set up alike (an owner, a credential, a webhook endpoint, a spare token, and a member of the role
with both a session and a token): once with the member's session, once with the token. Answers
are compared without the values that differ by nature (ids, times, e-mails, secrets), and the one
intended difference is asserted on its own: a token never creates a token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql import FieldNode, OperationDefinitionNode, build_schema, parse
from models.admin import AdminUser
from models.api_token import ApiToken
from models.audit import AuditEvent
from models.credential import CredentialSecret
from models.enums import ActorType, Role
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import OPERATIONS, admin_token, create_via_graphql, gql, operation
from tests.test_api_tokens import create_api_token, new_token, owner_session
from tests.test_tenancy_and_roles import (
    MANAGE_STEPS,
    MUTATIONS,
    READ_ONLY_ROLES,
    READ_OPERATIONS,
    rows_of,
)

SDL = Path(__file__).resolve().parent.parent / "graphql" / "schema.graphql"
TOKEN_ROLES = [Role.ADMIN, *READ_ONLY_ROLES]

# (document, mutation field or None for a query, variables). Placeholders: "$credential",
# "$webhook", "$spare_token", "$previous_secret" (the credential's secret in its grace period, or
# its only one when nothing was rotated).
Step = tuple[str, str | None, dict[str, Any]]

READS: list[Step] = [
    *((document, None, variables) for document, variables in READ_OPERATIONS),
    ("Events", None, {}),
    ("WebhookEndpoints", None, {}),
    ("NotificationSettings", None, {}),
    ("MailMessages", None, {}),
    ("ApiTokens", None, {}),
]
OTHER_MUTATIONS: list[Step] = [
    (
        "CreateCredential",
        "createCredential",
        {"input": {"name": "CRM", "contactEmail": "it@crm.example", "accessLevel": "FULL"}},
    ),
    (
        "CreateWebhookEndpoint",
        "createWebhookEndpoint",
        {"input": {"url": "https://hooks.partner.example/", "eventTypes": ["credential.created"]}},
    ),
    (
        "UpdateWebhookEndpoint",
        "updateWebhookEndpoint",
        {"input": {"id": "$webhook", "description": "Ops"}},
    ),
    ("RotateWebhookSecret", "rotateWebhookSecret", {"input": {"id": "$webhook"}}),
    ("SendTestWebhook", "sendTestWebhook", {"input": {"id": "$webhook"}}),
    ("DeleteWebhookEndpoint", "deleteWebhookEndpoint", {"input": {"id": "$webhook"}}),
    (
        "UpdateCredentialPolicy",
        "updateCredentialPolicy",
        {"input": {"maxCredentialLifetimeDays": 365}},
    ),
    (
        "UpdateNotificationSettings",
        "updateNotificationSettings",
        {
            "input": {
                "securityContacts": ["security@example.com"],
                "leakedSecretAction": "END_SECRET",
            }
        },
    ),
    ("RevokeApiToken", "revokeApiToken", {"input": {"id": "$spare_token"}}),
]
# Regenerate (with a grace period), end the previous secret, update, revoke; then the read-only
# matrix's mutations, which now meet a revoked credential; then every read again.
MATRIX: list[Step] = [
    *READS,
    *OTHER_MUTATIONS,
    *(
        (document, field, {"input": {"id": "$credential", **extra}})
        for document, field, extra in MANAGE_STEPS[:1]
    ),
    (
        "EndPreviousSecret",
        "endPreviousSecret",
        {"input": {"id": "$credential", "secretId": "$previous_secret"}},
    ),
    *(
        (document, field, {"input": {"id": "$credential", **extra}})
        for document, field, extra in MANAGE_STEPS[1:]
    ),
    *(
        (param.values[0], param.values[1], {"input": {"id": "$credential", **param.values[2]}})
        for param in MUTATIONS
    ),
    *READS,
]
# Not in the matrix, each with its own tests: sessions (tests/test_api_tokens.py,
# test_pt02_a_token_cannot_log_in_or_out) and minting (asserted separately below).
SEPARATE = {"login", "logout", "createApiToken"}
LABEL = "Member's (API token of owner@tokenorg.example)"


@dataclass(frozen=True)
class Twin:
    organisation: Organisation
    bearer: str
    credential_id: str
    webhook_id: str
    spare_token_id: str


async def twin(client: httpx.AsyncClient, name: str, role: Role, *, with_token: bool) -> Twin:
    """An organisation set up like its twin; it acts with its member's session or token."""
    domain = name.lower().replace(" ", "") + ".example"
    owner = await owner_session(client, organisation=name, email=f"owner@{domain}")
    credential = await create_via_graphql(client, owner, name="Box office")
    webhook = await gql(
        client,
        operation("CreateWebhookEndpoint"),
        {"input": {"url": "https://hooks.partner.example/", "eventTypes": ["credential.created"]}},
        token=owner,
    )
    _, spare_id = await new_token(client, owner, name="Spare")
    session = await admin_token(
        client, organisation=name, email=f"{role.value.lower()}@{domain}", role=role
    )
    token, _ = await new_token(client, owner, name="Member's", role=role.value)
    return Twin(
        organisation=await Organisation.get(name=name),
        bearer=token if with_token else session,
        credential_id=credential["credential"]["id"],
        webhook_id=webhook["data"]["createWebhookEndpoint"]["endpoint"]["id"],
        spare_token_id=spare_id,
    )


async def resolved(value: Any, twin: Twin) -> Any:
    if isinstance(value, dict):
        return {key: await resolved(item, twin) for key, item in value.items()}
    if value == "$previous_secret":
        secrets = CredentialSecret.filter(credential_id=twin.credential_id)
        previous = await secrets.filter(expires_at__isnull=False).first() or await secrets.first()
        assert previous is not None
        return str(previous.id)
    names = {
        "$credential": "credential_id",
        "$webhook": "webhook_id",
        "$spare_token": "spare_token_id",
    }
    return getattr(twin, names[value]) if isinstance(value, str) and value in names else value


ENUM_LIKE = re.compile(r"[A-Z][A-Z_]{4,}")
# What differs between the twins by nature: the audit actor (a session's is USER, a token's is
# API_TOKEN: PT-03's difference, asserted below), and the last use of the token that acts.
IGNORED_KEYS = {"actor", "cursor", "startCursor", "endCursor", "lastUsedAt", "lastUsedIp"}


def shape(value: Any, key: str = "") -> Any:
    """`value` with every string but type names and enum-like ones (ACTIVE, CREDENTIAL_CREATED)
    reduced to "str"; structure, nulls, numbers, booleans and list lengths kept."""
    if isinstance(value, dict):
        return {name: shape(item, name) for name, item in value.items() if name not in IGNORED_KEYS}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str) and key != "__typename" and not ENUM_LIKE.fullmatch(value):
        return "str"
    return value


async def run_matrix(client: httpx.AsyncClient, twin: Twin) -> list[Any]:
    answers = []
    for document, field, variables in MATRIX:
        body = await gql(
            client, operation(document), await resolved(variables, twin), token=twin.bearer
        )
        if field is not None:
            answers.append((document, shape(body["data"][field])))
        elif "errors" in body:
            answers.append((document, [error["extensions"]["code"] for error in body["errors"]]))
        else:
            answers.append((document, shape(body["data"])))
    return answers


@pytest.mark.parametrize("role", TOKEN_ROLES)
async def test_pt02_cr09_a_token_of_each_role_gets_exactly_what_a_session_of_that_role_gets(
    client: httpx.AsyncClient, role: Role
) -> None:
    """PT-02, CR-09: the whole matrix answers a token of `role` as it answers a session of `role`;
    a read-only role's token changes nothing; no token of any role creates a token."""
    by_session = await twin(client, "Session Org", role, with_token=False)
    by_token = await twin(client, "Token Org", role, with_token=True)
    untouched = await rows_of(by_token.organisation.id)

    session_answers = await run_matrix(client, by_session)
    token_answers = await run_matrix(client, by_token)
    minted_by_session = await create_api_token(client, by_session.bearer)
    minted_by_token = await create_api_token(client, by_token.bearer)

    assert token_answers == session_answers
    outcomes = {
        answer[1].get("__typename") for answer in token_answers if isinstance(answer[1], dict)
    }
    if role is Role.ADMIN:
        assert {"CredentialCreated", "ApiTokenRevoked", "CredentialRevoked"} <= outcomes
        assert minted_by_session["__typename"] == "ApiTokenCreated"
    else:
        assert "PermissionDenied" in outcomes
        assert await rows_of(by_token.organisation.id) == untouched
        assert minted_by_session["__typename"] == "PermissionDenied"
    assert minted_by_token["__typename"] == "PermissionDenied"
    assert await ApiToken.filter(organisation=by_token.organisation).count() == 2


def root_fields(documents: list[str]) -> set[str]:
    fields: set[str] = set()
    for document in documents:
        text = (OPERATIONS / f"{document}.graphql").read_text(encoding="utf-8")
        for definition in parse(text).definitions:
            if isinstance(definition, OperationDefinitionNode):
                selections = definition.selection_set.selections
                fields |= {field.name.value for field in selections if isinstance(field, FieldNode)}
    return fields


def test_pt02_the_matrix_covers_every_query_and_mutation_field() -> None:
    """PT-02: a field added to the schema fails here until the matrix (or SEPARATE) has it."""
    schema = build_schema(SDL.read_text(encoding="utf-8"))
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    covered = root_fields([document for document, _, _ in MATRIX])

    assert set(schema.query_type.fields) <= covered
    assert set(schema.mutation_type.fields) == (covered - set(schema.query_type.fields)) | SEPARATE


async def test_pt03_every_mutation_made_with_a_token_is_audited_with_the_token_as_actor(
    client: httpx.AsyncClient,
) -> None:
    """PT-03: every audit event the matrix's mutations write through an ADMIN token names the
    token (type API_TOKEN, its id and name) and its creator, never the token itself; the trail
    shows it so."""
    acting = await twin(client, "Token Org", Role.ADMIN, with_token=True)
    token_row = await ApiToken.get(name="Member's")
    started = utcnow()

    answers = await run_matrix(client, acting)

    refusals = {"PermissionDenied", "NotFound", "CredentialNotActive", "ValidationError"}
    changes = [
        answer[1]["__typename"]
        for answer in answers
        if isinstance(answer[1], dict) and answer[1].get("__typename") not in {None, *refusals}
    ]
    events = await AuditEvent.filter(occurred_at__gte=started).order_by("occurred_at")
    creator = await AdminUser.get(email="owner@tokenorg.example")
    # Every change writes one event, but for the repeated revoke of a revoked credential.
    assert len(changes) >= 10
    assert len(events) == len(changes) - 1
    for event in events:
        assert event.actor_type is ActorType.API_TOKEN, event.action
        assert event.actor_api_token_id == token_row.id  # type: ignore[attr-defined]
        assert event.actor_user_id == creator.id  # type: ignore[attr-defined]
        assert event.actor_label == LABEL
        assert acting.bearer not in str(event.before) + str(event.after)
    trail = await gql(client, operation("AuditEvents"), token=acting.bearer)
    actors = [edge["node"]["actor"] for edge in trail["data"]["auditEvents"]["edges"]]
    assert actors[0] == {"type": "API_TOKEN", "label": LABEL}
    assert acting.bearer not in str(trail)
