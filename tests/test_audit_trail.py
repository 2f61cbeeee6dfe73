"""The audit trail (LG-01): who did what, from where; never a secret (CR-02); same transaction."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, NoReturn

import httpx
import pytest
from starlette.applications import Starlette

import partner_api.operations.audit
from auth.partners.keyed_hash import KeyedHasher
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from partner_api.foundation.clock import utcnow
from partner_api.operations.services import Services
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import (
    admin_token,
    create_via_graphql,
    gql,
    login,
    make_admin,
    operation,
    verify_client_secret,
)

ADMIN = "admin@acme.example"
USER_AGENT = "PartnerSettingsPage/1.0 (audit tests)"


@pytest.fixture
def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The test client with a recognisable User-Agent, as the admin page would send one."""
    client.headers["User-Agent"] = USER_AGENT
    return client


async def audit_nodes(
    client: httpx.AsyncClient, token: str, credential_id: str | None = None
) -> list[dict[str, Any]]:
    variables = {"credentialId": credential_id} if credential_id else {}
    body = await gql(client, operation("AuditEvents"), variables, token=token)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["auditEvents"]["edges"]]


async def mutate(
    client: httpx.AsyncClient, token: str, document: str, result_field: str, /, **input_fields: Any
) -> dict[str, Any]:
    body = await gql(client, operation(document), {"input": input_fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][result_field]
    return result


async def full_flow(client: httpx.AsyncClient, token: str) -> tuple[str, list[str]]:
    """Create, regenerate twice, update and revoke one credential: (id, every secret issued)."""
    created = await create_via_graphql(client, token)
    assert created["__typename"] == "CredentialCreated", created
    credential_id = created["credential"]["id"]
    secrets = [created["clientSecret"]]
    for grace in (60, 0):
        regenerated = await mutate(
            client,
            token,
            "RegenerateCredentialSecret",
            "regenerateCredentialSecret",
            id=credential_id,
            gracePeriodMinutes=grace,
        )
        assert regenerated["__typename"] == "CredentialSecretRegenerated", regenerated
        secrets.append(regenerated["clientSecret"])
    updated = await mutate(
        client,
        token,
        "UpdateCredential",
        "updateCredential",
        id=credential_id,
        name="Renamed sync",
        accessLevel="FINE_GRAINED",
        scopes=["events:read"],
    )
    assert updated["__typename"] == "CredentialUpdated", updated
    revoked = await mutate(
        client, token, "RevokeCredential", "revokeCredential", id=credential_id, reason="Ended"
    )
    assert revoked["__typename"] == "CredentialRevoked", revoked
    return credential_id, secrets


def assert_user_event(node: dict[str, Any], credential_id: str | None) -> None:
    assert node["actor"] == {"type": "USER", "label": ADMIN}, node
    assert node["credentialId"] == credential_id, node
    assert node["ipAddress"] == CLIENT_ADDRESS, node
    assert node["userAgent"] == USER_AGENT, node


async def test_lg01_login_writes_an_audit_event(browser: httpx.AsyncClient) -> None:
    token = await admin_token(browser)

    nodes = await audit_nodes(browser, token)

    assert [node["action"] for node in nodes] == ["ADMIN_LOGIN"]
    assert_user_event(nodes[0], None)


async def test_lg01_every_credential_action_is_audited_newest_first(
    browser: httpx.AsyncClient,
) -> None:
    token = await admin_token(browser)
    credential_id, _ = await full_flow(browser, token)

    nodes = await audit_nodes(browser, token)

    assert [node["action"] for node in nodes] == [
        "CREDENTIAL_REVOKED",
        "CREDENTIAL_UPDATED",
        "CREDENTIAL_SECRET_REGENERATED",
        "CREDENTIAL_SECRET_REGENERATED",
        "CREDENTIAL_CREATED",
        "ADMIN_LOGIN",
    ]
    for node in nodes[:-1]:
        assert_user_event(node, credential_id)
    occurred = [datetime.fromisoformat(node["occurredAt"]) for node in nodes]
    assert occurred == sorted(occurred, reverse=True)


async def test_create_event_records_the_new_settings(browser: httpx.AsyncClient) -> None:
    token = await admin_token(browser)
    created = await create_via_graphql(browser, token, ipAllowlist=["192.0.2.0/24"])
    credential = created["credential"]

    event = (await audit_nodes(browser, token, credential["id"]))[0]

    assert event["action"] == "CREDENTIAL_CREATED"
    assert event["before"] is None
    assert event["after"]["name"] == credential["name"]
    assert event["after"]["contactEmail"] == credential["contactEmail"]
    assert event["after"]["accessLevel"] == "FULL"
    assert event["after"]["ipAllowlist"] == ["192.0.2.0/24"]
    assert event["after"]["clientId"] == credential["clientId"]


async def test_regenerate_event_records_the_grace_period(browser: httpx.AsyncClient) -> None:
    token = await admin_token(browser)
    credential_id = (await create_via_graphql(browser, token))["credential"]["id"]
    await mutate(
        browser,
        token,
        "RegenerateCredentialSecret",
        "regenerateCredentialSecret",
        id=credential_id,
        gracePeriodMinutes=45,
    )

    event = (await audit_nodes(browser, token, credential_id))[0]

    assert event["action"] == "CREDENTIAL_SECRET_REGENERATED"
    assert_user_event(event, credential_id)
    assert event["after"]["gracePeriodMinutes"] == 45


async def test_update_event_records_before_and_after_of_changed_fields_only(
    browser: httpx.AsyncClient,
) -> None:
    token = await admin_token(browser)
    credential_id = (await create_via_graphql(browser, token, name="Old name"))["credential"]["id"]
    await mutate(
        browser,
        token,
        "UpdateCredential",
        "updateCredential",
        id=credential_id,
        name="New name",
        contactEmail="it@boxoffice.example",  # unchanged: not in the event
    )

    event = (await audit_nodes(browser, token, credential_id))[0]

    assert event["action"] == "CREDENTIAL_UPDATED"
    assert_user_event(event, credential_id)
    assert event["before"] == {"name": "Old name"}
    assert event["after"] == {"name": "New name"}


async def test_revoke_event_records_the_reason(browser: httpx.AsyncClient) -> None:
    token = await admin_token(browser)
    credential_id = (await create_via_graphql(browser, token))["credential"]["id"]
    await mutate(
        browser,
        token,
        "RevokeCredential",
        "revokeCredential",
        id=credential_id,
        reason="Contract ended",
    )

    event = (await audit_nodes(browser, token, credential_id))[0]

    assert event["action"] == "CREDENTIAL_REVOKED"
    assert_user_event(event, credential_id)
    assert event["after"] == {"reason": "Contract ended"}


async def test_audit_events_filter_by_credential(browser: httpx.AsyncClient) -> None:
    token = await admin_token(browser)
    first = (await create_via_graphql(browser, token, name="First"))["credential"]["id"]
    second = (await create_via_graphql(browser, token, name="Second"))["credential"]["id"]
    await mutate(browser, token, "RevokeCredential", "revokeCredential", id=first)

    first_events = await audit_nodes(browser, token, first)
    second_events = await audit_nodes(browser, token, second)

    assert [node["action"] for node in first_events] == [
        "CREDENTIAL_REVOKED",
        "CREDENTIAL_CREATED",
    ]
    assert [node["action"] for node in second_events] == ["CREDENTIAL_CREATED"]
    assert {node["credentialId"] for node in first_events} == {first}
    body = await gql(browser, operation("AuditEvents"), {"credentialId": first}, token=token)
    assert body["data"]["auditEvents"]["totalCount"] == 2
    malformed = await gql(
        browser, operation("AuditEvents"), {"credentialId": "not-a-uuid"}, token=token
    )
    assert malformed["data"]["auditEvents"]["edges"] == []


async def stored_hashes() -> list[str]:
    return [row.secret_hash for row in await CredentialSecret.all()]


async def test_cr02_audit_events_never_contain_a_secret_or_its_hash(
    browser: httpx.AsyncClient,
) -> None:
    """CR-02: neither the auditEvents response nor the stored audit rows hold a secret."""
    token = await admin_token(browser)
    _, secrets = await full_flow(browser, token)
    hashes = await stored_hashes()
    assert len(hashes) == len(secrets)

    response = json.dumps(await gql(browser, operation("AuditEvents"), {"first": 100}, token=token))
    rows = json.dumps(await AuditEvent.all().values(), default=str)

    for text in (response, rows):
        for secret in secrets:
            assert secret not in text
            assert secret[4:] not in text  # the body without its public prefix
        for stored in hashes:
            assert stored not in text
            assert stored.rsplit("$", 1)[-1] not in text  # the digest alone


def log_text(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(logger name, everything a handler could write) for every captured record."""
    return [
        (record.name, f"{record.getMessage()} {record.__dict__!r}") for record in caplog.records
    ]


async def test_cr02_lg02_logs_never_contain_a_client_secret(
    browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """CR-02 / LG-02: no log record, at any level, holds a client secret or a session token."""
    caplog.set_level(logging.DEBUG)
    await make_admin(email=ADMIN)
    token = await login(browser, email=ADMIN)
    _, secrets = await full_flow(browser, token)
    await gql(browser, operation("Credentials"), token=token)

    assert caplog.records, "the flow should have produced some (debug) log records"
    for logger_name, text in log_text(caplog):
        for secret in [*secrets, token]:
            assert secret not in text, f"{logger_name} logged a secret"
            assert secret[4:] not in text, f"{logger_name} logged a secret's body"


async def test_cr02_lg02_logs_never_contain_a_stored_secret_hash(
    browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """CR-02: the keyed hash of a secret never reaches a log record (even at DEBUG)."""
    caplog.set_level(logging.DEBUG)
    token = await admin_token(browser)
    await full_flow(browser, token)
    hashes = await stored_hashes()

    leaks = sorted(
        {
            logger_name
            for logger_name, text in log_text(caplog)
            for stored in hashes
            if stored.rsplit("$", 1)[-1] in text
        }
    )
    assert leaks == [], f"stored secret hashes were logged by: {leaks}"


# --- transactionality: the audit event is written in the same transaction as the change -------


async def failing_record(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("audit store unavailable (SELECT * FROM audit_event)")


def assert_masked_failure(body: dict[str, Any]) -> None:
    """GQ-07 / LG-03: an unexpected fault is one generic top-level error, no internals."""
    assert body["data"] is None, body
    assert [error["message"] for error in body["errors"]] == ["Unexpected error."], body
    text = json.dumps(body)
    assert "audit store" not in text
    assert "SELECT" not in text
    assert "Traceback" not in text


async def secret_rows() -> list[tuple[Any, ...]]:
    return [
        (row.id, row.credential_id, row.secret_hash, row.expires_at, row.ended_at)  # type: ignore[attr-defined]
        for row in await CredentialSecret.all().order_by("id")
    ]


async def credential_rows() -> list[dict[str, Any]]:
    return list(await Credential.all().order_by("id").values())


def hasher_of(app: Starlette) -> KeyedHasher:
    services: Services = app.state.services
    return services.hasher


async def test_create_is_rolled_back_when_its_audit_event_fails(
    browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(browser)
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        browser,
        operation("CreateCredential"),
        {
            "input": {
                "name": "Orphan",
                "contactEmail": "it@boxoffice.example",
                "accessLevel": "FULL",
            }
        },
        token=token,
    )

    assert_masked_failure(body)
    assert await Credential.all().count() == 0
    assert await CredentialSecret.all().count() == 0


async def test_regenerate_is_rolled_back_when_its_audit_event_fails(
    browser: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(browser)
    created = await create_via_graphql(browser, token)
    credential_id = created["credential"]["id"]
    before = (await credential_rows(), await secret_rows())
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        browser,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": credential_id, "gracePeriodMinutes": 0}},
        token=token,
    )

    assert_masked_failure(body)
    assert (await credential_rows(), await secret_rows()) == before
    client_id, secret = created["credential"]["clientId"], created["clientSecret"]
    assert await verify_client_secret(client_id, secret, hasher=hasher_of(app), now=utcnow())


async def test_revoke_is_rolled_back_when_its_audit_event_fails(
    browser: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(browser)
    created = await create_via_graphql(browser, token)
    credential_id = created["credential"]["id"]
    before = (await credential_rows(), await secret_rows())
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        browser,
        operation("RevokeCredential"),
        {"input": {"id": credential_id, "reason": "Leaked"}},
        token=token,
    )

    assert_masked_failure(body)
    assert (await credential_rows(), await secret_rows()) == before
    assert (await Credential.get(id=credential_id)).revoked_at is None
    client_id, secret = created["credential"]["clientId"], created["clientSecret"]
    assert await verify_client_secret(client_id, secret, hasher=hasher_of(app), now=utcnow())


async def test_update_is_rolled_back_when_its_audit_event_fails(
    browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(browser)
    credential_id = (await create_via_graphql(browser, token))["credential"]["id"]
    before = (await credential_rows(), await secret_rows())
    monkeypatch.setattr(partner_api.operations.audit, "record", failing_record)

    body = await gql(
        browser,
        operation("UpdateCredential"),
        {
            "input": {
                "id": credential_id,
                "name": "Never saved",
                "accessLevel": "FINE_GRAINED",
                "scopes": ["events:read"],
            }
        },
        token=token,
    )

    assert_masked_failure(body)
    assert (await credential_rows(), await secret_rows()) == before
    assert (await Credential.get(id=credential_id)).name == "Box office sync"
