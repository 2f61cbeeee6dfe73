"""Limits admins set through GraphQL: a credential's own rate limit, token quota and mode
(`updateCredential`), the organisation's defaults (`updateCredentialPolicy`), how they resolve
into the effective limits, their bounds, who may change them (CR-09), the audit trail, and the
change feed that carries them to every process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.audit import AuditEvent
from models.credential import Credential
from models.enums import AuditAction, LimitMode, Role
from models.oauth import ChangeEvent, ChangeKind
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from tests.helpers import admin_token, create_via_graphql, gql, make_credential

LIMITS = """
fragment Limits on Credential {
  rateLimitPerMinute tokenQuotaPerMinute limitMode
  effectiveRateLimitPerMinute effectiveTokenQuotaPerMinute
}
"""
UPDATE = (
    """
mutation Update($input: UpdateCredentialInput!) {
  updateCredential(input: $input) {
    __typename
    ... on CredentialUpdated { credential { ...Limits } }
    ... on UserError { message }
    ... on ValidationError { field }
  }
}
"""
    + LIMITS
)
READ = "query Read($id: ID!) { credential(id: $id) { ...Limits } }" + LIMITS
POLICY_FIELDS = """
  maxCredentialLifetimeDays defaultRateLimitPerMinute defaultTokenQuotaPerMinute
  serviceRateLimitPerMinute serviceTokenQuotaPerMinute maxRateLimitPerMinute maxTokenQuotaPerMinute
"""
SET_POLICY = f"""
mutation SetPolicy($input: UpdateCredentialPolicyInput!) {{
  updateCredentialPolicy(input: $input) {{
    __typename
    ... on CredentialPolicyUpdated {{ policy {{ {POLICY_FIELDS} }} }}
    ... on UserError {{ message }}
    ... on ValidationError {{ field }}
  }}
}}
"""
READ_POLICY = f"query {{ viewer {{ organisation {{ credentialPolicy {{ {POLICY_FIELDS} }} }} }} }}"
# The service settings and maxima of the test settings (the defaults).
SERVICE_RATE, SERVICE_QUOTA, MAX_RATE, MAX_QUOTA = 1200, 600, 100_000, 10_000


async def update(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(client, UPDATE, {"input": fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def limits(client: httpx.AsyncClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await gql(client, READ, {"id": credential_id}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["credential"]
    return result


async def set_policy(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(client, SET_POLICY, {"input": fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredentialPolicy"]
    return result


async def read_policy(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    body = await gql(client, READ_POLICY, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["viewer"]["organisation"]["credentialPolicy"]
    return result


async def new_credential(client: httpx.AsyncClient, token: str) -> str:
    created = await create_via_graphql(client, token)
    credential_id: str = created["credential"]["id"]
    return credential_id


async def audited(action: AuditAction) -> list[AuditEvent]:
    return await AuditEvent.filter(action=action).order_by("occurred_at", "id")


async def published(credential_id: object) -> int:
    return await ChangeEvent.filter(
        kind=ChangeKind.CREDENTIAL_CHANGED, credential_id=credential_id
    ).count()


async def test_a_new_credential_inherits_the_service_limits(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)

    assert await limits(client, token, credential_id) == {
        "rateLimitPerMinute": None,
        "tokenQuotaPerMinute": None,
        "limitMode": "ENFORCE",
        "effectiveRateLimitPerMinute": SERVICE_RATE,
        "effectiveTokenQuotaPerMinute": SERVICE_QUOTA,
    }
    assert await read_policy(client, token) == {
        "maxCredentialLifetimeDays": None,
        "defaultRateLimitPerMinute": None,
        "defaultTokenQuotaPerMinute": None,
        "serviceRateLimitPerMinute": SERVICE_RATE,
        "serviceTokenQuotaPerMinute": SERVICE_QUOTA,
        "maxRateLimitPerMinute": MAX_RATE,
        "maxTokenQuotaPerMinute": MAX_QUOTA,
    }


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_cr09_owners_and_admins_set_a_credentials_limits_audited_and_published(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, role=role)
    credential_id = await new_credential(client, token)
    before = await published(credential_id)

    result = await update(
        client,
        token,
        id=credential_id,
        rateLimitPerMinute=5000,
        tokenQuotaPerMinute=50,
        limitMode="MONITOR",
    )

    assert result == {
        "__typename": "CredentialUpdated",
        "credential": {
            "rateLimitPerMinute": 5000,
            "tokenQuotaPerMinute": 50,
            "limitMode": "MONITOR",
            "effectiveRateLimitPerMinute": 5000,
            "effectiveTokenQuotaPerMinute": 50,
        },
    }
    row = await Credential.get(id=credential_id)
    assert (row.rate_limit_per_minute, row.token_quota_per_minute, row.limit_mode) == (
        5000,
        50,
        LimitMode.MONITOR,
    )
    (event,) = await audited(AuditAction.CREDENTIAL_UPDATED)
    assert event.before == {
        "rateLimitPerMinute": None,
        "tokenQuotaPerMinute": None,
        "limitMode": "ENFORCE",
    }
    assert event.after == {
        "rateLimitPerMinute": 5000,
        "tokenQuotaPerMinute": 50,
        "limitMode": "MONITOR",
    }
    assert await published(credential_id) == before + 1


async def test_the_same_limits_again_write_nothing(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)
    await update(client, token, id=credential_id, rateLimitPerMinute=300, limitMode="ENFORCE")
    changes = await published(credential_id)

    again = await update(
        client, token, id=credential_id, rateLimitPerMinute=300, limitMode="ENFORCE"
    )

    assert again["__typename"] == "CredentialUpdated"
    assert len(await audited(AuditAction.CREDENTIAL_UPDATED)) == 1
    assert await published(credential_id) == changes


async def test_omitted_or_null_limits_are_kept(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)
    await update(client, token, id=credential_id, rateLimitPerMinute=300, tokenQuotaPerMinute=30)

    kept = await update(
        client, token, id=credential_id, name="Renamed", rateLimitPerMinute=None, limitMode=None
    )

    assert kept["credential"]["rateLimitPerMinute"] == 300
    assert kept["credential"]["tokenQuotaPerMinute"] == 30
    assert kept["credential"]["limitMode"] == "ENFORCE"


async def test_use_organisation_default_clears_the_credentials_own_limit(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)
    await set_policy(client, token, defaultRateLimitPerMinute=2400)
    await update(client, token, id=credential_id, rateLimitPerMinute=300, tokenQuotaPerMinute=30)

    cleared = await update(client, token, id=credential_id, useOrganisationRateLimit=True)

    assert cleared["credential"]["rateLimitPerMinute"] is None
    assert cleared["credential"]["effectiveRateLimitPerMinute"] == 2400
    assert cleared["credential"]["tokenQuotaPerMinute"] == 30
    cleared = await update(client, token, id=credential_id, useOrganisationTokenQuota=True)
    assert cleared["credential"]["effectiveTokenQuotaPerMinute"] == SERVICE_QUOTA
    last = (await audited(AuditAction.CREDENTIAL_UPDATED))[-1]
    assert (last.before, last.after) == ({"tokenQuotaPerMinute": 30}, {"tokenQuotaPerMinute": None})


async def test_a_limit_and_use_organisation_default_together_are_refused(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)

    result = await update(
        client, token, id=credential_id, rateLimitPerMinute=10, useOrganisationRateLimit=True
    )

    assert result["__typename"] == "ValidationError"
    assert result["field"] == "rateLimitPerMinute"
    assert (await Credential.get(id=credential_id)).rate_limit_per_minute is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rateLimitPerMinute", 0),
        ("rateLimitPerMinute", -1),
        ("rateLimitPerMinute", MAX_RATE + 1),
        ("tokenQuotaPerMinute", 0),
        ("tokenQuotaPerMinute", MAX_QUOTA + 1),
    ],
)
async def test_limits_outside_one_to_the_maximum_are_refused_at_the_field(
    client: httpx.AsyncClient, field: str, value: int
) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)

    result = await update(client, token, id=credential_id, **{field: value})

    assert result["__typename"] == "ValidationError"
    assert result["field"] == field
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_UPDATED).count() == 0


async def test_the_maximum_itself_is_allowed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)

    result = await update(
        client, token, id=credential_id, rateLimitPerMinute=MAX_RATE, tokenQuotaPerMinute=1
    )

    assert result["credential"]["effectiveRateLimitPerMinute"] == MAX_RATE
    assert result["credential"]["effectiveTokenQuotaPerMinute"] == 1


async def test_a_limit_above_a_lowered_maximum_is_capped_at_it(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)
    # Set while the maximum was higher (PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE lowered since).
    await Credential.filter(id=credential_id).update(rate_limit_per_minute=MAX_RATE * 3)

    shown = await limits(client, token, credential_id)

    assert shown["rateLimitPerMinute"] == MAX_RATE * 3
    assert shown["effectiveRateLimitPerMinute"] == MAX_RATE


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_cr09_developers_and_viewers_read_limits_but_cannot_change_them(
    client: httpx.AsyncClient, role: Role
) -> None:
    owner = await admin_token(client, email="owner@acme.example", role=Role.OWNER)
    credential_id = await new_credential(client, owner)
    token = await admin_token(client, email="reader@acme.example", role=role)

    refused = await update(client, token, id=credential_id, rateLimitPerMinute=10)
    policy = await set_policy(client, token, defaultRateLimitPerMinute=10)

    assert refused["__typename"] == "PermissionDenied"
    assert policy["__typename"] == "PermissionDenied"
    assert (await limits(client, token, credential_id))["effectiveRateLimitPerMinute"] == 1200
    assert (await read_policy(client, token))["defaultRateLimitPerMinute"] is None
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_UPDATED).count() == 0
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_POLICY_UPDATED).count() == 0


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_cr09_organisation_defaults_apply_to_credentials_without_their_own(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, role=role)
    inheriting = await new_credential(client, token)
    own = await new_credential(client, token)
    await update(client, token, id=own, rateLimitPerMinute=50)

    result = await set_policy(
        client, token, defaultRateLimitPerMinute=3000, defaultTokenQuotaPerMinute=90
    )

    assert result["__typename"] == "CredentialPolicyUpdated"
    assert result["policy"]["defaultRateLimitPerMinute"] == 3000
    assert result["policy"]["defaultTokenQuotaPerMinute"] == 90
    inherited = await limits(client, token, inheriting)
    assert (inherited["rateLimitPerMinute"], inherited["effectiveRateLimitPerMinute"]) == (
        None,
        3000,
    )
    assert inherited["effectiveTokenQuotaPerMinute"] == 90
    assert (await limits(client, token, own))["effectiveRateLimitPerMinute"] == 50
    (event,) = await audited(AuditAction.CREDENTIAL_POLICY_UPDATED)
    assert event.before == {"defaultRateLimitPerMinute": None, "defaultTokenQuotaPerMinute": None}
    assert event.after == {"defaultRateLimitPerMinute": 3000, "defaultTokenQuotaPerMinute": 90}


async def test_omitted_defaults_are_kept_and_null_returns_to_the_service_setting(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    credential_id = await new_credential(client, token)
    await set_policy(client, token, defaultRateLimitPerMinute=3000, defaultTokenQuotaPerMinute=90)

    lifetime_only = await set_policy(client, token, maxCredentialLifetimeDays=30)

    assert lifetime_only["policy"]["defaultRateLimitPerMinute"] == 3000
    assert lifetime_only["policy"]["defaultTokenQuotaPerMinute"] == 90
    back = await set_policy(
        client, token, maxCredentialLifetimeDays=30, defaultRateLimitPerMinute=None
    )
    assert back["policy"]["defaultRateLimitPerMinute"] is None
    assert back["policy"]["defaultTokenQuotaPerMinute"] == 90
    assert (await limits(client, token, credential_id))["effectiveRateLimitPerMinute"] == 1200
    last = (await audited(AuditAction.CREDENTIAL_POLICY_UPDATED))[-1]
    assert (last.before, last.after) == (
        {"defaultRateLimitPerMinute": 3000},
        {"defaultRateLimitPerMinute": None},
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("defaultRateLimitPerMinute", 0),
        ("defaultRateLimitPerMinute", MAX_RATE + 1),
        ("defaultTokenQuotaPerMinute", 0),
        ("defaultTokenQuotaPerMinute", MAX_QUOTA + 1),
    ],
)
async def test_defaults_outside_one_to_the_maximum_are_refused_at_the_field(
    client: httpx.AsyncClient, field: str, value: int
) -> None:
    token = await admin_token(client)

    result = await set_policy(client, token, **{field: value})

    assert (result["__typename"], result["field"]) == ("ValidationError", field)
    assert await AuditEvent.filter(action=AuditAction.CREDENTIAL_POLICY_UPDATED).count() == 0


async def test_a_changed_default_is_published_for_each_live_credential_of_the_organisation(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    org = await Organisation.get(name="Acme Tickets")
    live = (await make_credential(organisation=org, name="Live")).credential
    revoked = (await make_credential(organisation=org, name="Revoked")).credential
    await Credential.filter(id=revoked.id).update(revoked_at=utcnow())
    rival = await Organisation.create(name="Rival Tickets")
    theirs = (await make_credential(organisation=rival, name="Theirs")).credential
    counts = [await published(one.id) for one in (live, revoked, theirs)]

    await set_policy(client, token, defaultTokenQuotaPerMinute=40)
    await set_policy(client, token, defaultTokenQuotaPerMinute=40)  # unchanged: nothing
    await set_policy(client, token, maxCredentialLifetimeDays=10)  # not a limit: nothing

    assert [await published(one.id) for one in (live, revoked, theirs)] == [
        counts[0] + 1,
        counts[1],
        counts[2],
    ]
