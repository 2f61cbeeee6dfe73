"""`createCredential`: the "Create credentials" dialog of the Partner API settings page."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from auth.tokens import CLIENT_SECRET_PATTERN
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import AuditAction
from partner_api.foundation.clock import utcnow
from tests.helpers import PASSWORD, admin_token, create_via_graphql, gql, operation

URL_SAFE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_")


async def catalogue_names(client: httpx.AsyncClient, token: str) -> list[str]:
    body = await gql(client, operation("PartnerApi"), token=token)
    return [scope["name"] for scope in body["data"]["partnerApi"]["scopes"]]


async def assert_nothing_created() -> None:
    assert await Credential.all().count() == 0
    assert await CredentialSecret.all().count() == 0
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_CREATED).count() == 0, (
        "a refused create must not leave an audit event"
    )


async def test_create_returns_client_id_secret_once_and_the_new_credential(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)

    result = await create_via_graphql(
        client, token, name="Box office sync", contactEmail="it@boxoffice.example"
    )

    assert result["__typename"] == "CredentialCreated", result
    credential = result["credential"]
    secret = result["clientSecret"]
    assert credential["clientId"].startswith("pcl_")
    assert set(credential["clientId"]) <= URL_SAFE
    assert secret.startswith("pcs_")
    assert CLIENT_SECRET_PATTERN.fullmatch(secret), "secret does not match the documented format"
    assert credential["name"] == "Box office sync"
    assert credential["contactEmail"] == "it@boxoffice.example"
    assert credential["status"] == "ACTIVE"
    assert credential["accessLevel"] == "FULL"
    assert credential["createdBy"] == {"email": "admin@acme.example"}
    assert credential["revokedAt"] is None
    assert credential["expiresAt"] is None
    assert credential["ipAllowlist"] == []
    assert len(credential["secrets"]) == 1
    assert credential["secrets"][0]["hint"] == secret[-4:]
    assert credential["secrets"][0]["expiresAt"] is None
    row = await Credential.get(id=credential["id"])
    assert row.client_id == credential["clientId"]


async def test_two_credentials_get_distinct_client_ids_and_secrets(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    first = await create_via_graphql(client, token, name="One")
    second = await create_via_graphql(client, token, name="Two")
    assert first["credential"]["clientId"] != second["credential"]["clientId"]
    assert first["clientSecret"] != second["clientSecret"]


async def test_full_access_scopes_are_the_whole_catalogue(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    catalogue = await catalogue_names(client, token)
    assert catalogue, "the partnerApi scope catalogue must not be empty"

    result = await create_via_graphql(client, token, accessLevel="FULL")

    assert result["__typename"] == "CredentialCreated", result
    assert result["credential"]["scopes"] == catalogue


async def test_fine_grained_scopes_are_exactly_the_chosen_ones_in_catalogue_order(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    catalogue = await catalogue_names(client, token)
    chosen = [catalogue[-1], catalogue[0]]  # deliberately out of catalogue order

    result = await create_via_graphql(client, token, accessLevel="FINE_GRAINED", scopes=chosen)

    assert result["__typename"] == "CredentialCreated", result
    assert result["credential"]["accessLevel"] == "FINE_GRAINED"
    assert result["credential"]["scopes"] == [catalogue[0], catalogue[-1]]


async def test_optional_settings_are_stored_normalised(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    expires_at = (utcnow() + timedelta(days=30)).replace(microsecond=0)

    result = await create_via_graphql(
        client,
        token,
        name="  Padded name  ",
        expiresAt=expires_at.isoformat(),
        ipAllowlist=["198.51.100.7", "192.0.2.0/24", "2001:db8::/32"],
    )

    assert result["__typename"] == "CredentialCreated", result
    credential = result["credential"]
    assert credential["name"] == "Padded name"
    assert credential["expiresAt"] == expires_at.isoformat()
    assert credential["ipAllowlist"] == ["198.51.100.7/32", "192.0.2.0/24", "2001:db8::/32"]
    assert credential["status"] == "ACTIVE"


async def test_name_of_exactly_100_characters_is_accepted(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    result = await create_via_graphql(client, token, name="n" * 100)
    assert result["__typename"] == "CredentialCreated", result
    assert result["credential"]["name"] == "n" * 100


INVALID_INPUTS: list[Any] = [
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "   "}, "name", id="name-whitespace"),
    pytest.param({"name": "n" * 101}, "name", id="name-101-chars"),
    pytest.param({"contactEmail": "not-an-email"}, "contactEmail", id="email-no-at"),
    pytest.param({"contactEmail": "it@boxoffice"}, "contactEmail", id="email-no-domain-dot"),
    pytest.param({"contactEmail": "it @boxoffice.example"}, "contactEmail", id="email-space"),
    pytest.param({"contactEmail": ""}, "contactEmail", id="email-empty"),
    pytest.param(
        {"accessLevel": "FINE_GRAINED", "scopes": ["events:read", "tickets:delete"]},
        "scopes",
        id="unknown-scope",
    ),
    pytest.param({"accessLevel": "FINE_GRAINED"}, "scopes", id="fine-grained-without-scopes"),
    pytest.param(
        {"accessLevel": "FINE_GRAINED", "scopes": []}, "scopes", id="fine-grained-empty-scopes"
    ),
    pytest.param(
        {"accessLevel": "FULL", "scopes": ["events:read"]}, "scopes", id="full-with-scopes"
    ),
    pytest.param({"ipAllowlist": ["not-an-ip"]}, "ipAllowlist", id="cidr-garbage"),
    pytest.param({"ipAllowlist": ["10.0.0.0/33"]}, "ipAllowlist", id="cidr-bad-prefix"),
    pytest.param({"ipAllowlist": ["10.0.0.1/24"]}, "ipAllowlist", id="cidr-host-bits"),
    pytest.param({"expiresAt": "2020-01-01T00:00:00+00:00"}, "expiresAt", id="expiry-in-past"),
    pytest.param({"expiresAt": "2099-01-01T00:00:00"}, "expiresAt", id="expiry-without-timezone"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID_INPUTS)
async def test_invalid_input_is_a_validation_error_naming_the_field_and_creates_nothing(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    token = await admin_token(client)

    result = await create_via_graphql(client, token, **overrides)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert result["message"]
    await assert_nothing_created()


async def test_cr02_secret_is_returned_once_and_never_readable_again(
    client: httpx.AsyncClient,
) -> None:
    """CR-02: after the create response, no query returns the secret or its stored hash."""
    token = await admin_token(client)
    created = await create_via_graphql(client, token)
    secret = created["clientSecret"]
    credential_id = created["credential"]["id"]
    stored_hash = (await CredentialSecret.get(credential_id=credential_id)).secret_hash

    listed = await gql(client, operation("Credentials"), token=token)
    single = await gql(client, operation("Credential"), {"id": credential_id}, token=token)

    assert single["data"]["credential"]["id"] == credential_id
    for body in (listed, single):
        text = json.dumps(body)
        assert secret not in text
        assert secret[4:] not in text
        assert stored_hash not in text


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("CreateCredential", None),
        ("RegenerateCredentialSecret", "regenerate"),
        ("Login", "login"),
    ],
)
async def test_te17_graphql_answers_carrying_a_secret_are_never_cached(
    client: httpx.AsyncClient, document: str, variables: str | None
) -> None:
    """The GraphQL answers that carry a client secret or a session token are `no-store`."""
    token = await admin_token(client)
    created = await create_via_graphql(client, token)
    inputs: dict[str, Any] = {
        "CreateCredential": {
            "input": {
                "name": "Reseller",
                "contactEmail": "ops@reseller.example",
                "accessLevel": "FULL",
            }
        },
        "regenerate": {"input": {"id": created["credential"]["id"], "gracePeriodMinutes": 0}},
        "login": {"email": "admin@acme.example", "password": PASSWORD},
    }
    response = await client.post(
        "/graphql",
        json={"query": operation(document), "variables": inputs[variables or document]},
        headers={"Authorization": f"Bearer {token}"} if document != "Login" else {},
    )
    assert response.status_code == 200
    assert "errors" not in response.json(), response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
