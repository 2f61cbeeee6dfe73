"""Tenant isolation on every operation (CR-07) and role checks on every mutation (CR-09)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import Role
from models.organisation import Organisation
from tests.helpers import (
    admin_token,
    create_via_graphql,
    gql,
    login,
    make_admin,
    make_credential,
    operation,
)

ACME_ADMIN = "admin@acme.example"
RIVAL_ADMIN = "admin@rival.example"


async def rows_of(organisation_id: Any) -> list[tuple[Any, ...]]:
    """Everything stored for one organisation's credentials, to prove nothing changed."""
    credentials = [
        (
            row.id,
            row.name,
            row.contact_email,
            row.access_level,
            list(row.scopes),
            row.expires_at,
            list(row.ip_allowlist),
            row.revoked_at,
            row.revocation_reason,
        )
        for row in await Credential.filter(organisation_id=organisation_id).order_by("id")
    ]
    secrets = [
        (row.id, row.secret_hash, row.expires_at, row.ended_at)
        for row in await CredentialSecret.filter(
            credential__organisation_id=organisation_id
        ).order_by("id")
    ]
    events = await AuditEvent.filter(organisation_id=organisation_id).count()
    return [*credentials, *secrets, (events,)]


async def two_organisations(client: httpx.AsyncClient) -> tuple[str, str, str, Organisation]:
    """Acme (with one credential) and Rival: (acme token, rival token, acme credential id, acme)."""
    acme_token = await admin_token(client, organisation="Acme Tickets", email=ACME_ADMIN)
    rival_token = await admin_token(client, organisation="Rival Events", email=RIVAL_ADMIN)
    created = await create_via_graphql(client, acme_token, name="Acme box office")
    assert created["__typename"] == "CredentialCreated", created
    acme = await Organisation.get(name="Acme Tickets")
    return acme_token, rival_token, created["credential"]["id"], acme


MUTATIONS: list[Any] = [
    pytest.param(
        "RegenerateCredentialSecret",
        "regenerateCredentialSecret",
        {"gracePeriodMinutes": 0},
        id="regenerate",
    ),
    pytest.param("RevokeCredential", "revokeCredential", {"reason": "hostile"}, id="revoke"),
    pytest.param(
        "UpdateCredential",
        "updateCredential",
        {"name": "Hijacked", "ipAllowlist": ["203.0.113.0/24"]},
        id="update",
    ),
]


@pytest.mark.parametrize(("document", "field", "extra"), MUTATIONS)
async def test_cr07_foreign_credential_id_in_a_mutation_answers_like_an_unknown_id(
    client: httpx.AsyncClient, document: str, field: str, extra: dict[str, Any]
) -> None:
    """CR-07: org B's admin cannot change org A's credential, nor learn that it exists."""
    acme_token, rival_token, acme_id, acme = await two_organisations(client)
    acme_view = await gql(client, operation("Credential"), {"id": acme_id}, token=acme_token)
    acme_rows = await rows_of(acme.id)

    foreign = await gql(
        client, operation(document), {"input": {"id": acme_id, **extra}}, token=rival_token
    )
    unknown = await gql(
        client,
        operation(document),
        {"input": {"id": str(uuid.uuid4()), **extra}},
        token=rival_token,
    )

    assert foreign["data"][field]["__typename"] == "NotFound", foreign
    assert foreign == unknown
    assert await gql(client, operation("Credential"), {"id": acme_id}, token=acme_token) == (
        acme_view
    )
    assert await rows_of(acme.id) == acme_rows


async def test_cr07_foreign_credential_query_is_null(client: httpx.AsyncClient) -> None:
    """CR-07: `credential(id)` with another organisation's id is null, like an unknown id."""
    acme_token, rival_token, acme_id, _ = await two_organisations(client)

    foreign = await gql(client, operation("Credential"), {"id": acme_id}, token=rival_token)
    unknown = await gql(
        client, operation("Credential"), {"id": str(uuid.uuid4())}, token=rival_token
    )

    assert foreign == unknown == {"data": {"credential": None}}
    own = await gql(client, operation("Credential"), {"id": acme_id}, token=acme_token)
    assert own["data"]["credential"]["id"] == acme_id


async def test_cr07_credentials_list_shows_only_own_organisation(
    client: httpx.AsyncClient,
) -> None:
    acme_token, rival_token, acme_id, _ = await two_organisations(client)
    rival_created = await create_via_graphql(client, rival_token, name="Rival CRM")
    rival_id = rival_created["credential"]["id"]

    for status in (None, "ACTIVE"):
        acme_list = await gql(
            client, operation("Credentials"), {"status": status}, token=acme_token
        )
        rival_list = await gql(
            client, operation("Credentials"), {"status": status}, token=rival_token
        )
        acme_ids = [edge["node"]["id"] for edge in acme_list["data"]["credentials"]["edges"]]
        rival_ids = [edge["node"]["id"] for edge in rival_list["data"]["credentials"]["edges"]]
        assert acme_ids == [acme_id]
        assert rival_ids == [rival_id]
        assert acme_list["data"]["credentials"]["totalCount"] == 1
        assert rival_list["data"]["credentials"]["totalCount"] == 1


async def test_cr07_create_lands_in_the_callers_organisation_only(
    client: httpx.AsyncClient,
) -> None:
    _, rival_token, _, acme = await two_organisations(client)
    acme_rows = await rows_of(acme.id)

    created = await create_via_graphql(client, rival_token, name="Rival CRM")

    assert created["__typename"] == "CredentialCreated", created
    row = await Credential.get(id=created["credential"]["id"]).select_related("organisation")
    assert row.organisation.name == "Rival Events"
    assert await rows_of(acme.id) == acme_rows


async def test_cr07_audit_events_show_only_own_organisation(client: httpx.AsyncClient) -> None:
    acme_token, rival_token, acme_id, _ = await two_organisations(client)
    rival_id = (await create_via_graphql(client, rival_token, name="Rival CRM"))["credential"]["id"]

    rival_events = await gql(client, operation("AuditEvents"), token=rival_token)
    acme_events = await gql(client, operation("AuditEvents"), token=acme_token)

    rival_nodes = [edge["node"] for edge in rival_events["data"]["auditEvents"]["edges"]]
    acme_nodes = [edge["node"] for edge in acme_events["data"]["auditEvents"]["edges"]]
    assert {node["actor"]["label"] for node in rival_nodes} == {RIVAL_ADMIN}
    assert {node["actor"]["label"] for node in acme_nodes} == {ACME_ADMIN}
    assert {node["credentialId"] for node in rival_nodes} == {None, rival_id}
    assert {node["credentialId"] for node in acme_nodes} == {None, acme_id}
    assert rival_events["data"]["auditEvents"]["totalCount"] == len(rival_nodes)


async def test_cr07_audit_events_for_a_foreign_credential_are_empty_like_unknown(
    client: httpx.AsyncClient,
) -> None:
    _, rival_token, acme_id, _ = await two_organisations(client)

    foreign = await gql(
        client, operation("AuditEvents"), {"credentialId": acme_id}, token=rival_token
    )
    unknown = await gql(
        client, operation("AuditEvents"), {"credentialId": str(uuid.uuid4())}, token=rival_token
    )

    assert foreign["data"]["auditEvents"]["totalCount"] == 0
    assert foreign["data"]["auditEvents"]["edges"] == []
    assert foreign == unknown


async def test_cr07_viewer_is_the_callers_own_organisation(client: httpx.AsyncClient) -> None:
    acme_token, rival_token, _, acme = await two_organisations(client)

    acme_viewer = (await gql(client, operation("Viewer"), token=acme_token))["data"]["viewer"]
    rival_viewer = (await gql(client, operation("Viewer"), token=rival_token))["data"]["viewer"]

    assert acme_viewer["organisation"] == {
        "id": str(acme.id),
        "name": "Acme Tickets",
        "credentialPolicy": {"maxCredentialLifetimeDays": None},
    }
    assert rival_viewer["organisation"]["name"] == "Rival Events"
    assert rival_viewer["user"] == {"email": RIVAL_ADMIN}


# --- roles (CR-09) ----------------------------------------------------------------------------

READ_ONLY_ROLES = [Role.DEVELOPER, Role.VIEWER]
# What an owner or admin does to a credential, in order (the credential is revoked last).
MANAGE_STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("RegenerateCredentialSecret", "regenerateCredentialSecret", {"gracePeriodMinutes": 5}),
    ("UpdateCredential", "updateCredential", {"name": "Renamed"}),
    ("RevokeCredential", "revokeCredential", {"reason": "done"}),
]


async def read_only_setup(client: httpx.AsyncClient, role: Role) -> tuple[str, str, Organisation]:
    """An organisation with one credential and a logged-in member of `role`."""
    _, organisation, _ = await make_admin(email=ACME_ADMIN, role=Role.OWNER)
    issued = await make_credential(organisation=organisation)
    email = f"{role.value.lower()}@acme.example"
    await make_admin(email=email, role=role)
    token = await login(client, email=email)
    return token, str(issued.credential.id), organisation


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
async def test_cr09_read_only_roles_cannot_create(client: httpx.AsyncClient, role: Role) -> None:
    token, _, _ = await read_only_setup(client, role)

    result = await create_via_graphql(client, token, name="Not allowed")

    assert result["__typename"] == "PermissionDenied", result
    assert result["message"]
    assert await Credential.all().count() == 1


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
@pytest.mark.parametrize(("document", "field", "extra"), MUTATIONS)
async def test_cr09_read_only_roles_cannot_change_a_credential(
    client: httpx.AsyncClient, role: Role, document: str, field: str, extra: dict[str, Any]
) -> None:
    token, credential_id, organisation = await read_only_setup(client, role)
    before = await rows_of(organisation.id)

    body = await gql(
        client, operation(document), {"input": {"id": credential_id, **extra}}, token=token
    )

    assert body["data"][field]["__typename"] == "PermissionDenied", body
    assert body["data"][field]["message"]
    assert await rows_of(organisation.id) == before


# The reads every role may make: (document, variables); "$credential" stands for the id of the
# organisation's credential. Shared with tests/test_api_tokens_roles.py, which runs this matrix
# with API tokens.
READ_OPERATIONS: list[tuple[str, dict[str, Any]]] = [
    ("Viewer", {}),
    ("Credentials", {}),
    ("Credential", {"id": "$credential"}),
    ("AuditEvents", {}),
    ("PartnerApi", {}),
]


def with_credential(variables: dict[str, Any], credential_id: str) -> dict[str, Any]:
    return {
        name: credential_id if value == "$credential" else value
        for name, value in variables.items()
    }


@pytest.mark.parametrize("role", READ_ONLY_ROLES)
async def test_cr09_read_only_roles_can_read_everything(
    client: httpx.AsyncClient, role: Role
) -> None:
    token, credential_id, _ = await read_only_setup(client, role)

    viewer, listed, single, events, api = [
        await gql(
            client, operation(document), with_credential(variables, credential_id), token=token
        )
        for document, variables in READ_OPERATIONS
    ]

    for body in (viewer, listed, single, events, api):
        assert "errors" not in body, body
    assert viewer["data"]["viewer"]["role"] == role.value
    assert [edge["node"]["id"] for edge in listed["data"]["credentials"]["edges"]] == [
        credential_id
    ]
    assert single["data"]["credential"]["id"] == credential_id
    assert events["data"]["auditEvents"]["totalCount"] >= 1
    assert api["data"]["partnerApi"]["scopes"]


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_cr09_owner_and_admin_can_manage_credentials(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, email=f"{role.value.lower()}@acme.example", role=role)

    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated", created
    credential_id = created["credential"]["id"]
    expected = ["CredentialSecretRegenerated", "CredentialUpdated", "CredentialRevoked"]
    outcomes = []
    for document, field, extra in MANAGE_STEPS:
        body = await gql(
            client, operation(document), {"input": {"id": credential_id, **extra}}, token=token
        )
        outcomes.append(body["data"][field]["__typename"])

    assert outcomes == expected
    row = await Credential.get(id=credential_id)
    assert row.name == "Renamed"
    assert row.revoked_at is not None


async def test_unauthenticated_calls_are_top_level_errors(client: httpx.AsyncClient) -> None:
    await make_admin()
    issued = await make_credential(organisation=await Organisation.get(name="Acme Tickets"))
    credential_id = str(issued.credential.id)

    for document, variables in (
        ("Credentials", {}),
        ("Credential", {"id": credential_id}),
        ("AuditEvents", {}),
        ("RevokeCredential", {"input": {"id": credential_id}}),
    ):
        body = await gql(client, operation(document), variables)
        assert not any((body["data"] or {}).values()), body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert (await Credential.get(id=credential_id)).revoked_at is None
