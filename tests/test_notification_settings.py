"""The organisation's notification settings in the admin API: every role reads them, owners and
admins change them (CR-09), addresses are checked and merged, each change is audited; and the
mails sent to an organisation, listed for its own members only (CR-07); the contacts set here
receive the reminders.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from models.audit import AuditEvent
from models.enums import AuditAction, Role
from models.notifications import NotificationType
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations import notification_events
from partner_api.operations.lifecycle import LifecycleWindows
from partner_api.operations.mail import send_due_mail
from partner_api.operations.notification_scan import scan
from tests.helpers import admin_token, gql, make_credential, operation
from tests.test_mail import mail_settings, smtp_server

ACME = "Acme Tickets"


async def read(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    body = await gql(client, operation("NotificationSettings"), token=token)
    assert "errors" not in body, body
    settings: dict[str, Any] = body["data"]["notificationSettings"]
    return settings


async def update(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(
        client, operation("UpdateNotificationSettings"), {"input": fields}, token=token
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateNotificationSettings"]
    return result


async def settings_audit() -> list[AuditEvent]:
    return list(
        await AuditEvent.filter(action=AuditAction.NOTIFICATION_SETTINGS_UPDATED).order_by(
            "occurred_at"
        )
    )


async def test_every_role_reads_the_defaults(client: httpx.AsyncClient) -> None:
    token = await admin_token(client, email="viewer@acme.example", role=Role.VIEWER)

    assert await read(client, token) == {"securityContacts": [], "leakedSecretAction": "END_SECRET"}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_owners_and_admins_change_the_settings_and_the_change_is_audited(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, role=role)

    result = await update(
        client,
        token,
        securityContacts=["security@acme.example", " soc@acme.example "],
        leakedSecretAction="NOTIFY_ONLY",
    )

    expected = {
        "securityContacts": ["security@acme.example", "soc@acme.example"],
        "leakedSecretAction": "NOTIFY_ONLY",
    }
    assert result == {"__typename": "NotificationSettingsUpdated", "settings": expected}
    assert await read(client, token) == expected
    (event,) = await settings_audit()
    assert event.before == {"securityContacts": [], "leakedSecretAction": "END_SECRET"}
    assert event.after == expected
    assert event.actor_label == "admin@acme.example"


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.VIEWER])
async def test_developers_and_viewers_may_not_change_the_settings(
    client: httpx.AsyncClient, role: Role
) -> None:
    token = await admin_token(client, role=role)

    result = await update(client, token, securityContacts=["me@acme.example"])

    assert result["__typename"] == "PermissionDenied"
    assert await read(client, token) == {"securityContacts": [], "leakedSecretAction": "END_SECRET"}
    assert await settings_audit() == []


async def test_fields_left_out_are_unchanged_and_only_changes_are_audited(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    await update(client, token, securityContacts=["security@acme.example"])

    await update(client, token, leakedSecretAction="NOTIFY_ONLY")
    await update(client, token, leakedSecretAction="NOTIFY_ONLY")  # no change: not audited

    assert await read(client, token) == {
        "securityContacts": ["security@acme.example"],
        "leakedSecretAction": "NOTIFY_ONLY",
    }
    first, second = await settings_audit()
    assert (first.before, first.after) == (
        {"securityContacts": []},
        {"securityContacts": ["security@acme.example"]},
    )
    assert (second.before, second.after) == (
        {"leakedSecretAction": "END_SECRET"},
        {"leakedSecretAction": "NOTIFY_ONLY"},
    )


async def test_an_empty_list_removes_every_contact(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    await update(client, token, securityContacts=["security@acme.example"])

    await update(client, token, securityContacts=[])

    assert (await read(client, token))["securityContacts"] == []
    assert (await Organisation.get(name=ACME)).security_contacts == []


@pytest.mark.parametrize(
    ("contacts", "message"),
    [
        (["security@acme.example", "not an address"], '"not an address" is not a valid'),
        (["sec\u202e@acme.example"], "found U+202E"),
        ([f"contact{index}@acme.example" for index in range(11)], "At most 10"),
    ],
    ids=["invalid", "invisible-character", "eleven"],
)
async def test_invalid_contacts_are_refused_at_security_contacts(
    client: httpx.AsyncClient, contacts: list[str], message: str
) -> None:
    token = await admin_token(client)

    result = await update(
        client, token, securityContacts=contacts, leakedSecretAction="NOTIFY_ONLY"
    )

    assert result["__typename"] == "ValidationError"
    assert result["field"] == "securityContacts"
    assert message in result["message"]
    assert await read(client, token) == {"securityContacts": [], "leakedSecretAction": "END_SECRET"}
    assert await settings_audit() == []


async def test_duplicates_are_merged_case_insensitively_before_counting(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    ten = [f"contact{index}@acme.example" for index in range(10)]

    result = await update(client, token, securityContacts=[*ten, "CONTACT0@acme.example"])

    assert result["settings"]["securityContacts"] == ten


async def test_null_is_refused_rather_than_guessed(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)

    contacts = await update(client, token, securityContacts=None)
    action = await update(client, token, leakedSecretAction=None)

    assert (contacts["__typename"], contacts["field"]) == ("ValidationError", "securityContacts")
    assert (action["__typename"], action["field"]) == ("ValidationError", "leakedSecretAction")


async def test_settings_are_the_callers_own_organisations(client: httpx.AsyncClient) -> None:
    acme = await admin_token(client)
    rival = await admin_token(client, organisation="Rival", email="admin@rival.example")

    await update(client, acme, securityContacts=["security@acme.example"])

    assert (await read(client, rival))["securityContacts"] == []
    assert (await Organisation.get(name="Rival")).security_contacts == []


# -- mails sent ------------------------------------------------------------------------------------


async def revoked(organisation: Organisation, name: str) -> str:
    """A credential whose revocation notice is pending; its id."""
    credential = (await make_credential(organisation=organisation, name=name)).credential
    await notification_events.record(
        NotificationType.CREDENTIAL_REVOKED,
        organisation_id=organisation.id,
        credential=credential,
        facts={"reason": None},
        now=utcnow(),
    )
    return str(credential.id)


async def mails(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, operation("MailMessages"), variables, token=token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["mailMessages"]
    return connection


async def test_members_see_their_organisations_mails_newest_first(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client, email="viewer@acme.example", role=Role.VIEWER)
    await admin_token(client, organisation="Rival", email="admin@rival.example")
    acme = await Organisation.get(name=ACME)
    first = await revoked(acme, "First")
    second = await revoked(acme, "Second")
    await revoked(await Organisation.get(name="Rival"), "Rival's")

    listing = await mails(client, token)

    nodes = [edge["node"] for edge in listing["edges"]]
    assert listing["totalCount"] == 2
    assert [node["credentialId"] for node in nodes] == [second, first]
    assert nodes[0]["subject"] == '[Partner API] Security notice: credential "Second" was revoked'
    assert nodes[0]["recipients"] == ["ops@partner.example"]
    assert nodes[0]["status"] == "PENDING"
    assert nodes[0]["eventType"] == "credential.revoked"
    assert nodes[0]["sentAt"] is None


async def test_mails_of_one_credential_and_never_of_another_organisations(
    client: httpx.AsyncClient,
) -> None:
    token = await admin_token(client)
    await admin_token(client, organisation="Rival", email="admin@rival.example")
    acme = await Organisation.get(name=ACME)
    mine = await revoked(acme, "Mine")
    await revoked(acme, "Other")
    foreign = await revoked(await Organisation.get(name="Rival"), "Rival's")

    own = await mails(client, token, credentialId=mine)
    theirs = await mails(client, token, credentialId=foreign)
    malformed = await mails(client, token, credentialId="not-an-id")

    assert [edge["node"]["credentialId"] for edge in own["edges"]] == [mine]
    assert theirs["edges"] == malformed["edges"] == []
    assert theirs["totalCount"] == malformed["totalCount"] == 0


async def test_mails_page_without_skipping_or_repeating(client: httpx.AsyncClient) -> None:
    token = await admin_token(client)
    acme = await Organisation.get(name=ACME)
    ids = [await revoked(acme, f"Partner {index}") for index in range(5)]

    seen: list[str] = []
    after = None
    while True:
        page = await mails(client, token, first=2, after=after)
        seen += [edge["node"]["credentialId"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == list(reversed(ids))


async def test_security_contacts_set_here_receive_the_next_reminder(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await admin_token(client)
    await update(client, token, securityContacts=["security@acme.example"])
    now = utcnow().replace(microsecond=0)
    credential = (await make_credential(organisation=await Organisation.get(name=ACME))).credential
    credential.expires_at = now + timedelta(days=30)
    await credential.save()

    with smtp_server() as (inbox, port):
        await scan(now=now, windows=LifecycleWindows.from_settings(settings))
        await send_due_mail(mail_settings(settings, f"smtp://127.0.0.1:{port}"), now=now)

    (mail,) = inbox.received
    assert mail.recipients == ["ops@partner.example", "security@acme.example"]
    assert mail.message["Subject"] == '[Partner API] Credential "Box office" expires in 30 days'
    listed = (await mails(client, token, credentialId=str(credential.id)))["edges"]
    assert [(edge["node"]["status"], edge["node"]["eventType"]) for edge in listed] == [
        ("SENT", "credential.expiring")
    ]
