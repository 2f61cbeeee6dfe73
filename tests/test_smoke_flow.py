"""The page's whole flow through GraphQL: log in, create, view, regenerate, revoke."""

from __future__ import annotations

import httpx

from tests.helpers import admin_token, create_via_graphql, gql, operation


async def test_admin_can_create_view_regenerate_and_revoke(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    empty = await gql(client, operation("Credentials"), token=token)
    assert empty["data"]["credentials"]["totalCount"] == 0

    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated"
    credential_id = created["credential"]["id"]
    assert created["clientSecret"].startswith("pcs_")
    assert created["credential"]["secrets"][0]["hint"] == created["clientSecret"][-4:]

    regenerated = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 60}},
        token=token,
    )
    result = regenerated["data"]["regenerateCredentialSecret"]
    assert result["__typename"] == "CredentialSecretRegenerated", regenerated
    assert len(result["credential"]["secrets"]) == 2

    revoked = await gql(
        client, operation("RevokeCredential"), {"input": {"id": credential_id}}, token=token
    )
    assert revoked["data"]["revokeCredential"]["credential"]["status"] == "REVOKED"
