"""Event restrictions on the admin GraphQL API: `eventIds` on create and update, `allEvents`,
`Credential.events` and `restrictionLapsed`, the audit trail, roles — and ER-04, that a bad id
never tells whether it exists elsewhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from models.credential import Credential as CredentialRow
from models.enums import Role
from models.organisation import Organisation
from models.ticketing import Event
from partner_api.foundation.clock import utcnow
from tests.helpers import PASSWORD, admin_token, create_via_graphql, gql, make_admin, operation
from tests.test_partner_events import UNKNOWN_ID, make_event

RESTRICTION = """
query Restriction($id: ID!) {
  credential(id: $id) { events { id name venue startsAt endsAt } restrictionLapsed }
}
"""
LIST = """
query { credentials(first: 50) { edges { node { name events { name } restrictionLapsed } } } }
"""


async def acme() -> Organisation:
    organisation = await Organisation.get(name="Acme Tickets")
    return organisation


async def restriction(client: httpx.AsyncClient, token: str, credential_id: str) -> Any:
    body = await gql(client, RESTRICTION, {"id": credential_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["credential"]


async def update(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(client, operation("UpdateCredential"), {"input": fields}, token=token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["updateCredential"]
    return result


async def setup(client: httpx.AsyncClient) -> tuple[str, Event, Event]:
    token = await admin_token(client)
    org = await acme()
    later = await make_event(org, name="Late Show", starts_at=utcnow() + timedelta(days=20))
    sooner = await make_event(org, name="Early Show", starts_at=utcnow() + timedelta(days=10))
    return token, later, sooner


async def test_a_credential_limited_to_events_shows_them_soonest_first(
    client: httpx.AsyncClient,
) -> None:
    token, later, sooner = await setup(client)

    created = await create_via_graphql(client, token, eventIds=[str(later.id), str(sooner.id)])

    assert created["__typename"] == "CredentialCreated", created
    shown = await restriction(client, token, created["credential"]["id"])
    assert [event["name"] for event in shown["events"]] == ["Early Show", "Late Show"]
    assert shown["events"][0] == {
        "id": str(sooner.id),
        "name": "Early Show",
        "venue": sooner.venue,
        "startsAt": sooner.starts_at.isoformat(),
        "endsAt": sooner.ends_at.isoformat(),
    }
    assert shown["restrictionLapsed"] is False
    row = await CredentialRow.get(id=created["credential"]["id"])
    assert row.event_ids == [str(later.id), str(sooner.id)]


async def test_without_event_ids_a_credential_reaches_all_events(
    client: httpx.AsyncClient,
) -> None:
    token, _, _ = await setup(client)

    created = await create_via_graphql(client, token)

    shown = await restriction(client, token, created["credential"]["id"])
    assert shown == {"events": None, "restrictionLapsed": False}


async def test_duplicate_event_ids_are_merged(client: httpx.AsyncClient) -> None:
    token, later, _ = await setup(client)

    created = await create_via_graphql(client, token, eventIds=[str(later.id), str(later.id)])

    row = await CredentialRow.get(id=created["credential"]["id"])
    assert row.event_ids == [str(later.id)]


async def test_er04_an_empty_list_is_refused_at_event_ids(client: httpx.AsyncClient) -> None:
    token, _, _ = await setup(client)

    created = await create_via_graphql(client, token, eventIds=[])

    assert created["__typename"] == "ValidationError"
    assert created["field"] == "eventIds"
    assert await CredentialRow.all().count() == 0


async def test_er04_unknown_foreign_and_malformed_ids_get_one_and_the_same_refusal(
    client: httpx.AsyncClient,
) -> None:
    token, later, _ = await setup(client)
    _, elsewhere, _ = await make_admin(organisation="Rival Events", email="admin@rival.example")
    foreign = await make_event(elsewhere, name="Rival Night")

    answers = []
    for bad in (str(foreign.id), UNKNOWN_ID, "not-an-id"):
        created = await create_via_graphql(client, token, eventIds=[str(later.id), bad])
        answers.append(created)
        assert created["__typename"] == "ValidationError", created
        assert created["field"] == "eventIds"

    assert answers[0] == answers[1] == answers[2]
    assert str(foreign.id) not in answers[0]["message"]
    assert await CredentialRow.all().count() == 0


async def test_er04_update_refuses_foreign_ids_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    token, later, sooner = await setup(client)
    _, elsewhere, _ = await make_admin(organisation="Rival Events", email="admin@rival.example")
    foreign = await make_event(elsewhere, name="Rival Night")
    created = await create_via_graphql(client, token, eventIds=[str(later.id)])
    credential_id = created["credential"]["id"]

    for bad in ([str(foreign.id)], [UNKNOWN_ID], [], [str(sooner.id), str(foreign.id)]):
        result = await update(client, token, id=credential_id, eventIds=bad)
        assert result["__typename"] == "ValidationError", (bad, result)
        assert result["field"] == "eventIds"

    row = await CredentialRow.get(id=credential_id)
    assert row.event_ids == [str(later.id)]


async def test_more_than_100_events_are_refused(client: httpx.AsyncClient) -> None:
    token, _, _ = await setup(client)
    org = await acme()
    events = [await make_event(org, name=f"Night {index}") for index in range(101)]

    created = await create_via_graphql(client, token, eventIds=[str(e.id) for e in events])

    assert created["__typename"] == "ValidationError"
    assert created["field"] == "eventIds"
    assert "100" in created["message"]
    limited = await create_via_graphql(client, token, eventIds=[str(e.id) for e in events[:100]])
    assert limited["__typename"] == "CredentialCreated", limited


async def test_update_restricts_changes_and_lifts_the_restriction(
    client: httpx.AsyncClient,
) -> None:
    token, later, sooner = await setup(client)
    created = await create_via_graphql(client, token)
    credential_id = created["credential"]["id"]

    restricted = await update(client, token, id=credential_id, eventIds=[str(later.id)])
    assert restricted["__typename"] == "CredentialUpdated", restricted
    assert [e["name"] for e in (await restriction(client, token, credential_id))["events"]] == [
        "Late Show"
    ]

    renamed = await update(client, token, id=credential_id, name="Renamed")
    assert renamed["__typename"] == "CredentialUpdated"
    assert (await restriction(client, token, credential_id))["events"] is not None, (
        "leaving eventIds out keeps the restriction"
    )
    kept = await update(client, token, id=credential_id, eventIds=None)
    assert kept["__typename"] == "CredentialUpdated"
    assert (await restriction(client, token, credential_id))["events"] is not None, (
        "eventIds: null keeps the restriction"
    )

    moved = await update(client, token, id=credential_id, eventIds=[str(sooner.id)])
    assert moved["__typename"] == "CredentialUpdated"
    assert [e["name"] for e in (await restriction(client, token, credential_id))["events"]] == [
        "Early Show"
    ]

    lifted = await update(client, token, id=credential_id, allEvents=True)
    assert lifted["__typename"] == "CredentialUpdated"
    assert (await restriction(client, token, credential_id))["events"] is None


async def test_all_events_together_with_event_ids_is_refused(client: httpx.AsyncClient) -> None:
    token, later, _ = await setup(client)
    created = await create_via_graphql(client, token)
    credential_id = created["credential"]["id"]

    both = await update(client, token, id=credential_id, eventIds=[str(later.id)], allEvents=True)

    assert both["__typename"] == "ValidationError"
    assert both["field"] == "eventIds"
    assert (await CredentialRow.get(id=credential_id)).event_ids is None


async def test_er03_changing_the_restriction_is_audited_before_and_after(
    client: httpx.AsyncClient,
) -> None:
    token, later, sooner = await setup(client)
    created = await create_via_graphql(client, token, eventIds=[str(later.id)])
    credential_id = created["credential"]["id"]
    await update(client, token, id=credential_id, eventIds=[str(sooner.id), str(later.id)])
    await update(client, token, id=credential_id, allEvents=True)

    body = await gql(client, operation("AuditEvents"), {"credentialId": credential_id}, token=token)
    events = [edge["node"] for edge in body["data"]["auditEvents"]["edges"]]
    by_action = [(event["action"], event["before"], event["after"]) for event in events]

    assert by_action[0] == (
        "CREDENTIAL_UPDATED",
        {"eventIds": [str(sooner.id), str(later.id)]},
        {"eventIds": None},
    )
    assert by_action[1] == (
        "CREDENTIAL_UPDATED",
        {"eventIds": [str(later.id)]},
        {"eventIds": [str(sooner.id), str(later.id)]},
    )
    assert by_action[2][0] == "CREDENTIAL_CREATED"
    assert by_action[2][2]["eventIds"] == [str(later.id)]


async def test_an_unchanged_restriction_writes_no_audit_event(client: httpx.AsyncClient) -> None:
    token, later, _ = await setup(client)
    created = await create_via_graphql(client, token, eventIds=[str(later.id)])
    credential_id = created["credential"]["id"]

    again = await update(client, token, id=credential_id, eventIds=[str(later.id)])

    assert again["__typename"] == "CredentialUpdated"
    body = await gql(client, operation("AuditEvents"), {"credentialId": credential_id}, token=token)
    assert [edge["node"]["action"] for edge in body["data"]["auditEvents"]["edges"]] == [
        "CREDENTIAL_CREATED"
    ]


async def test_restriction_lapses_when_every_event_has_ended_or_is_deleted(
    client: httpx.AsyncClient,
) -> None:
    token, later, sooner = await setup(client)
    created = await create_via_graphql(client, token, eventIds=[str(later.id), str(sooner.id)])
    credential_id = created["credential"]["id"]

    sooner.starts_at = utcnow() - timedelta(days=2)
    sooner.ends_at = utcnow() - timedelta(days=1)
    await sooner.save()
    shown = await restriction(client, token, credential_id)
    assert shown["restrictionLapsed"] is False, "one event is still to come"
    assert [event["name"] for event in shown["events"]] == ["Early Show", "Late Show"]

    await later.delete()
    shown = await restriction(client, token, credential_id)
    assert shown == {
        "events": [
            {
                "id": str(sooner.id),
                "name": "Early Show",
                "venue": sooner.venue,
                "startsAt": sooner.starts_at.isoformat(),
                "endsAt": sooner.ends_at.isoformat(),
            }
        ],
        "restrictionLapsed": True,
    }
    row = await CredentialRow.get(id=credential_id)
    assert row.event_ids == [str(later.id), str(sooner.id)], (
        "a deleted event stays in the restriction, so it never widens"
    )


async def test_the_list_shows_each_credentials_events(client: httpx.AsyncClient) -> None:
    token, later, sooner = await setup(client)
    await create_via_graphql(client, token, name="All", eventIds=None)
    await create_via_graphql(client, token, name="One", eventIds=[str(later.id)])
    await create_via_graphql(client, token, name="Two", eventIds=[str(later.id), str(sooner.id)])

    body = await gql(client, LIST, token=token)

    nodes = {edge["node"]["name"]: edge["node"] for edge in body["data"]["credentials"]["edges"]}
    assert nodes["All"]["events"] is None
    assert nodes["One"]["events"] == [{"name": "Late Show"}]
    assert nodes["Two"]["events"] == [{"name": "Early Show"}, {"name": "Late Show"}]


async def test_read_only_roles_see_restrictions_but_cannot_set_them(
    client: httpx.AsyncClient,
) -> None:
    token, later, _ = await setup(client)
    created = await create_via_graphql(client, token, eventIds=[str(later.id)])
    credential_id = created["credential"]["id"]
    await make_admin(organisation="Acme Tickets", email="dev@acme.example", role=Role.DEVELOPER)
    developer = (
        await gql(
            client,
            operation("Login"),
            {"email": "dev@acme.example", "password": PASSWORD},
        )
    )["data"]["login"]
    assert developer["__typename"] == "LoginSuccess", developer

    shown = await restriction(client, developer["token"], credential_id)
    assert [event["name"] for event in shown["events"]] == ["Late Show"]
    refused = await update(client, developer["token"], id=credential_id, allEvents=True)
    assert refused["__typename"] == "PermissionDenied"
    assert (await CredentialRow.get(id=credential_id)).event_ids == [str(later.id)]
