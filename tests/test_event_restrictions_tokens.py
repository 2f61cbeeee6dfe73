"""ER-02/03: event restrictions at the token endpoint (RFC 9396 `authorization_details`).

A restricted credential's tokens say which events they reach, in the claim and in the token
response; a token request may narrow that (events and, through `actions`, scopes) but never widen
it, and anything but the one accepted shape is `invalid_authorization_details`, cheaply.
Introspection reports what a token reaches now, so re-restricting a credential binds its tokens
already issued (ER-03).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import jwt
from tortoise.context import TortoiseContext

from auth.admins.identity import Actor
from auth.partners.signing_keys import rotate_signing_key
from models.enums import AccessLevel
from models.organisation import Organisation
from models.tenancy import TenantScope
from models.ticketing import Event
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credential_changes import update_credential
from partner_api.operations.credentials import CredentialChanges, IssuedSecret
from tests.helpers import make_credential
from tests.test_access_tokens import serving
from tests.test_partner_events import (
    ALL_SCOPES,
    BASE_TIME,
    UNKNOWN_ID,
    Caller,
    assert_error,
    assert_scope_denied,
    make_event,
    make_product,
    organisation,
)
from tests.test_token_endpoint import MAX_BODY, assert_oauth_error

TOKEN = "/oauth/token"
FORM = "application/x-www-form-urlencoded"
TYPE = "ticketing_events"
# Every claim a token without an event restriction carries (auth/partners/access_tokens.py).
PLAIN_CLAIMS = {
    "iss",
    "sub",
    "aud",
    "client_id",
    "iat",
    "exp",
    "jti",
    "scope",
    "organisation_id",
    "credential_id",
    "secret_id",
}
PLAIN_RESPONSE = {"access_token", "token_type", "expires_in", "scope"}


def basic(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, issued.secret_value


def ids(*events: Event) -> list[str]:
    return [str(event.id) for event in events]


def entry(event_ids: list[str], **members: Any) -> list[dict[str, Any]]:
    return [{"type": TYPE, "event_ids": event_ids, **members}]


async def token_response(
    client: httpx.AsyncClient,
    issued: IssuedSecret,
    details: object | None = None,
    **form: str,
) -> httpx.Response:
    """POST /oauth/token with Basic auth; `details` is sent as JSON unless it is a str already."""
    data = {"grant_type": "client_credentials", **form}
    if details is not None:
        data["authorization_details"] = details if isinstance(details, str) else json.dumps(details)
    return await client.post(TOKEN, data=data, auth=basic(issued))


async def granted(
    client: httpx.AsyncClient, issued: IssuedSecret, details: object | None = None, **form: str
) -> dict[str, Any]:
    response = await token_response(client, issued, details, **form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def raw_token_request(
    client: httpx.AsyncClient, issued: IssuedSecret, body: bytes
) -> httpx.Response:
    return await client.post(
        TOKEN, content=body, headers={"Content-Type": FORM}, auth=basic(issued)
    )


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def payload_text(token: str) -> str:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def refused(response: httpx.Response, label: str = "") -> dict[str, str]:
    """RFC 6749 §5.2 / RFC 9396 §5: 400 invalid_authorization_details with a description."""
    assert response.status_code == 400, (label, response.text)
    body = assert_oauth_error(response, 400, "invalid_authorization_details")
    assert set(body) == {"error", "error_description"}, (label, body)
    assert body["error_description"], label
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def listed_events(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.get("/partner/v1/events", params={"limit": 100}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [event["id"] for event in response.json()["data"]]


async def introspect(client: httpx.AsyncClient, issued: IssuedSecret, token: str) -> dict[str, Any]:
    response = await client.post("/oauth/introspect", data={"token": token}, auth=basic(issued))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["active"] is True, body
    return body


async def events_of(org: Organisation, count: int, *, prefix: str = "Night") -> list[Event]:
    return [
        await make_event(org, name=f"{prefix} {index}", starts_at=BASE_TIME.replace(day=1 + index))
        for index in range(count)
    ]


async def restricted(
    org: Organisation,
    events: list[Event],
    *,
    scopes: list[str] | None = None,
    name: str = "Door app",
) -> IssuedSecret:
    return await make_credential(
        organisation=org,
        name=name,
        access_level=AccessLevel.FULL if scopes is None else AccessLevel.FINE_GRAINED,
        scopes=scopes,
        event_ids=ids(*events),
    )


@asynccontextmanager
async def app_with(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with `settings` (not the fixture's), on the test database, signing with its
    algorithm."""
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    async with serving(settings) as (_, client):
        yield client


# -- the claim and the token response ----------------------------------------------------------


async def test_er02_restricted_token_carries_its_events_as_authorization_details(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    full = await restricted(org, [e2, e1])
    reader = await restricted(org, [e1], scopes=["orders:read", "events:read"], name="Reader")

    body = await granted(client, full)
    narrow = await granted(client, reader)

    expected = [{"type": TYPE, "actions": ALL_SCOPES, "event_ids": ids(e2, e1)}]
    assert body["authorization_details"] == expected
    assert claims_of(body["access_token"])["authorization_details"] == expected
    assert set(body) == PLAIN_RESPONSE | {"authorization_details"}
    assert body["scope"] == " ".join(ALL_SCOPES)
    reader_expected = [
        {"type": TYPE, "actions": ["events:read", "orders:read"], "event_ids": ids(e1)}
    ]
    assert narrow["authorization_details"] == reader_expected
    assert claims_of(narrow["access_token"])["authorization_details"] == reader_expected
    assert narrow["scope"] == "events:read orders:read"


async def test_er02_unrestricted_token_has_no_authorization_details(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, _ = await events_of(org, 2)
    everything = await make_credential(organisation=org)
    before = await granted(client, everything)
    await restricted(org, [e1])

    after = await granted(client, everything)

    for body in (before, after):
        assert set(body) == PLAIN_RESPONSE
        token = body["access_token"]
        assert set(claims_of(token)) == PLAIN_CLAIMS
        assert "authorization_details" not in payload_text(token)
    # Restricted credentials in the organisation add nothing to the others' tokens.
    assert len(after["access_token"]) == len(before["access_token"])


# -- narrowing ---------------------------------------------------------------------------------


async def test_er02_narrowing_to_some_of_the_credentials_events_reaches_only_those(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    issued = await restricted(org, [e1, e2])

    body = await granted(client, issued, entry(ids(e2)))
    token = body["access_token"]

    expected = [{"type": TYPE, "actions": ALL_SCOPES, "event_ids": ids(e2)}]
    assert body["authorization_details"] == expected
    assert claims_of(token)["authorization_details"] == expected
    assert await listed_events(client, token) == ids(e2)
    outside = await client.get(f"/partner/v1/events/{e1.id}", headers=bearer(token))
    assert_error(outside, 404, "not_found")
    me = await client.get("/partner/v1/me", headers=bearer(token))
    assert me.json()["event_ids"] == ids(e2)
    # The credential's own token still reaches both.
    assert await listed_events(client, (await granted(client, issued))["access_token"]) == ids(
        e1, e2
    )


async def test_er02_actions_narrow_the_scope(client: httpx.AsyncClient) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    issued = await restricted(org, [e1, e2])
    product = await make_product(e1)

    body = await granted(client, issued, entry(ids(e1), actions=["orders:read", "events:read"]))
    token = body["access_token"]

    assert body["scope"] == "events:read orders:read"
    (details,) = body["authorization_details"]
    assert details["actions"] == ["events:read", "orders:read"]
    assert claims_of(token)["scope"] == body["scope"]
    assert claims_of(token)["authorization_details"] == body["authorization_details"]
    assert await listed_events(client, token) == ids(e1)
    reservation = {
        "event_id": str(e1.id),
        "lines": [{"product_id": str(product.id), "quantity": 1}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    }
    denied = await client.post("/partner/v1/reservations", headers=bearer(token), json=reservation)
    assert_scope_denied(denied, "orders:write")


async def test_er02_unrestricted_credential_may_narrow_to_its_own_events(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2, e3 = await events_of(org, 3)
    everything = await make_credential(organisation=org)

    body = await granted(client, everything, entry(ids(e3, e1)))
    token = body["access_token"]

    expected = [{"type": TYPE, "actions": ALL_SCOPES, "event_ids": ids(e3, e1)}]
    assert body["authorization_details"] == expected
    assert claims_of(token)["authorization_details"] == expected
    assert await listed_events(client, token) == ids(e1, e3)
    assert str(e2.id) not in await listed_events(client, token)


# -- widening ----------------------------------------------------------------------------------


async def test_er02_asking_for_events_beyond_the_credentials_is_refused_alike(
    client: httpx.AsyncClient,
) -> None:
    a, b = await organisation("Acme Tickets"), await organisation("Bravo Events")
    e1, e2 = await events_of(a, 2)
    (f,) = await events_of(b, 1, prefix="Fair")
    limited = await restricted(a, [e1])
    everything = await make_credential(organisation=a, name="Everything")

    beyond_limited = [
        entry(ids(e2)),  # the organisation's, outside the credential's list
        entry(ids(e1, e2)),
        entry(ids(f)),  # another organisation's
        entry(ids(e1, f)),
        entry([UNKNOWN_ID]),
        entry([str(uuid.uuid4())]),
    ]
    beyond_everything = [
        entry(ids(f)),
        entry(ids(e1, f)),
        entry([UNKNOWN_ID]),
        entry([*ids(e1), UNKNOWN_ID]),
    ]
    for issued, attempts in ((limited, beyond_limited), (everything, beyond_everything)):
        bodies: set[bytes] = set()
        for details in attempts:
            response = await token_response(client, issued, details)
            refused(response, json.dumps(details))
            bodies.add(response.content)
        # One answer whatever the id: the endpoint tells no one which events exist elsewhere.
        assert len(bodies) == 1, bodies


async def test_er02_an_action_outside_the_granted_scopes_is_refused(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    (e1,) = await events_of(org, 1)
    reader = await restricted(org, [e1], scopes=["events:read"])
    full = await restricted(org, [e1], name="Full")

    for issued, details, form in [
        (reader, entry(ids(e1), actions=["orders:read"]), {}),
        (reader, entry(ids(e1), actions=["events:read", "orders:write"]), {}),
        (full, entry(ids(e1), actions=["tickets:teleport"]), {}),
        # The `scope` parameter narrows first; actions beyond it are widening too.
        (full, entry(ids(e1), actions=["orders:read"]), {"scope": "events:read"}),
    ]:
        refused(await token_response(client, issued, details, **form), json.dumps(details))


# -- malformed values --------------------------------------------------------------------------


def malformed_values(e1: str) -> dict[str, str]:
    """Label → raw `authorization_details` value; each must be refused with 400."""
    other = str(uuid.uuid4())

    def one(**members: Any) -> str:
        return json.dumps([{"type": TYPE, **members}])

    return {
        "not JSON": "not json",
        "truncated JSON": '[{"type": "ticketing_events", "event_ids": ["' + e1,
        "null": "null",
        "object instead of array": json.dumps({"type": TYPE, "event_ids": [e1]}),
        "string instead of array": json.dumps(TYPE),
        "empty array": "[]",
        "two entries": json.dumps(entry([e1]) + entry([other])),
        "two equal entries": json.dumps(entry([e1]) * 2),
        "entry not an object": json.dumps([TYPE]),
        "unknown type": json.dumps([{"type": "payment_initiation", "event_ids": [e1]}]),
        "type in another case": json.dumps([{"type": "Ticketing_Events", "event_ids": [e1]}]),
        "type not a string": json.dumps([{"type": [TYPE], "event_ids": [e1]}]),
        "missing type": json.dumps([{"event_ids": [e1]}]),
        "unknown member": one(event_ids=[e1], locations=["https://api.example"]),
        "event_ids missing": one(),
        "event_ids null": one(event_ids=None),
        "event_ids empty": one(event_ids=[]),
        "event_ids a string": one(event_ids=e1),
        "event_ids an object": one(event_ids={"id": e1}),
        "event_ids with a number": one(event_ids=[e1, 7]),
        "event_ids with null": one(event_ids=[None]),
        "event_ids nested list": one(event_ids=[[e1]]),
        "event_ids not a UUID": one(event_ids=["not-a-uuid"]),
        "event_ids empty string": one(event_ids=[""]),
        "event_ids duplicate": one(event_ids=[e1, e1]),
        "event_ids 101 ids": one(event_ids=[e1] + [str(uuid.uuid4()) for _ in range(100)]),
        "event_ids huge number": '[{"type":"ticketing_events","event_ids":[' + "9" * 5000 + "]}]",
        "actions empty": one(event_ids=[e1], actions=[]),
        "actions a string": one(event_ids=[e1], actions="events:read"),
        "actions with a number": one(event_ids=[e1], actions=["events:read", 1]),
        "actions with null": one(event_ids=[e1], actions=[None]),
        "actions duplicate": one(event_ids=[e1], actions=["events:read", "events:read"]),
        "actions null": one(event_ids=[e1], actions=None),
        # Other spellings of one id would slip past the duplicate check.
        "event_ids upper case": one(event_ids=[e1.upper()]),
        "event_ids as a URN": one(event_ids=[f"urn:uuid:{e1}"]),
        "event_ids in braces": one(event_ids=[f"{{{e1}}}"]),
        "event_ids one id in two spellings": one(event_ids=[e1, e1.upper()]),
        "a member given twice": '[{"type":"x","type":"ticketing_events","event_ids":["'
        + e1
        + '"]}]',
    }


async def test_er02_malformed_authorization_details_are_invalid_never_a_fault(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    limited = await restricted(org, [e1, e2])
    everything = await make_credential(organisation=org, name="Everything")

    for issued in (limited, everything):
        for label, value in malformed_values(str(e1.id)).items():
            refused(await token_response(client, issued, value), label)
        # JSON left unencoded in the form is read, and refused, the same way.
        refused(
            await raw_token_request(
                client,
                issued,
                b"grant_type=client_credentials&authorization_details=[{}]",
            ),
            "raw",
        )


async def test_er02_an_empty_authorization_details_is_as_if_omitted(
    client: httpx.AsyncClient,
) -> None:
    """RFC 6749 §3.1: a parameter sent without a value is treated as omitted."""
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    limited = await restricted(org, [e1, e2])

    response = await raw_token_request(
        client, limited, b"grant_type=client_credentials&authorization_details="
    )

    assert response.status_code == 200, response.text
    assert response.json()["authorization_details"][0]["event_ids"] == ids(e1, e2)


async def test_er02_authorization_details_given_twice_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    (e1,) = await events_of(org, 1)
    issued = await restricted(org, [e1])
    value = json.dumps(entry(ids(e1)), separators=(",", ":")).encode()

    response = await raw_token_request(
        client,
        issued,
        b"grant_type=client_credentials&authorization_details="
        + value
        + b"&authorization_details="
        + value,
    )

    assert_oauth_error(response, 400, "invalid_request")


# -- cost --------------------------------------------------------------------------------------


def filled(start: str, unit: str, end: str, *, size: int) -> str:
    """`start` + `unit` repeated + `end`, as close to `size` characters as whole units allow."""
    count = (size - len(start) - len(end)) // len(unit)
    return start + unit * count + end


def distinct_members(size: int) -> str:
    """One entry with as many differently named members as fit in `size` characters."""
    members = ['"type":"ticketing_events"']
    length = len("[{") + len(members[0]) + len("}]")
    while True:
        member = f',"m{len(members)}":0'
        if length + len(member) > size:
            return "[{" + "".join(members) + "}]"
        members.append(member)
        length += len(member)


async def fastest(client: httpx.AsyncClient, issued: IssuedSecret, value: str) -> float:
    """The quickest of a few refusals of `value` sent unencoded: in-process cost, not noise."""
    body = f"grant_type=client_credentials&authorization_details={value}".encode()
    assert len(body) <= MAX_BODY
    times = []
    for _ in range(5):
        started = time.perf_counter()
        response = await raw_token_request(client, issued, body)
        times.append(time.perf_counter() - started)
        refused(response, value[:60])
    return min(times)


async def test_er02_hostile_authorization_details_at_the_largest_body_cost_little(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    limited = await restricted(org, [e1, e2])
    everything = await make_credential(organisation=org, name="Everything")
    prefix = len("grant_type=client_credentials&authorization_details=")
    size = MAX_BODY - prefix
    head = '[{"type":"ticketing_events","event_ids":['
    some_id = f'"{uuid.uuid4()}",'
    hostile = {
        "nesting": "[" * size,
        "object nesting": filled("", '{"a":', "", size=size),
        "many members": filled('[{"type":"ticketing_events"', ',"m":0', "}]", size=size),
        "many distinct members": distinct_members(size),
        "digits": filled(head, "9", "]}]", size=size),
        "many ids": filled(head, '"a",', '"a"]}]', size=size),
        "many uuids": filled(head, some_id, f'"{e1.id}"]}}]', size=size),
        "escapes": filled(head + '"', "\\u0041", '"]}]', size=size),
        "many actions": filled(
            f'[{{"type":"ticketing_events","event_ids":["{e1.id}"],"actions":[',
            '"events:read",',
            '"x"]}]',
            size=size,
        ),
        "long id": filled(head + '"', "0", '"]}]', size=size),
        # Well-formed: 100 ids no one has, padded with form-encoded spaces.
        "a hundred unknown ids": filled(
            json.dumps(entry([str(uuid.uuid4()) for _ in range(100)]), separators=(",", ":")),
            "+",
            "",
            size=size,
        ),
    }
    baseline = filled(head + '"', "x", '"]}]', size=100)
    assert len(baseline) == 100

    for issued in (limited, everything):
        await fastest(client, issued, baseline)  # warm: keys loaded, credential cached
        small = await fastest(client, issued, baseline)
        for label, value in hostile.items():
            assert MAX_BODY - 64 <= prefix + len(value.encode()) <= MAX_BODY, label
            big = await fastest(client, issued, value)
            assert big < 0.05, (label, big)
            assert big < 20 * small, (label, big, small)


async def test_er02_deeply_nested_json_is_refused_quickly(client: httpx.AsyncClient) -> None:
    org = await organisation()
    (e1,) = await events_of(org, 1)
    issued = await restricted(org, [e1])
    nested = [
        "[" * 5000,
        "[" * 3000 + "]" * 3000,
        '[{"type":"ticketing_events","event_ids":' + "[" * 3000 + "]" * 3000 + "}]",
        '{"a":' * 1500,
    ]
    await fastest(client, issued, "[]")  # warm: keys loaded, credential cached

    for value in nested:
        assert await fastest(client, issued, value) < 0.05, value[:40]


# -- the reuse window --------------------------------------------------------------------------


async def test_er02_reuse_window_keeps_tokens_for_different_events_apart(
    db: TortoiseContext, settings: Settings
) -> None:
    async with app_with(replace(settings, token_reuse_seconds=1)) as client:
        org = await organisation()
        e1, e2 = await events_of(org, 2)
        issued = await restricted(org, [e1, e2])

        first = await granted(client, issued, entry(ids(e1)))
        other = await granted(client, issued, entry(ids(e2)))
        again = await granted(client, issued, entry(ids(e1)))
        other_again = await granted(client, issued, entry(ids(e2)))

    assert other["access_token"] != first["access_token"]
    assert again["access_token"] == first["access_token"]
    assert other_again["access_token"] == other["access_token"]
    assert again["authorization_details"] == first["authorization_details"]
    assert claims_of(other["access_token"])["authorization_details"][0]["event_ids"] == ids(e2)


# -- introspection and re-restriction ----------------------------------------------------------


async def test_er02_introspection_shows_the_tokens_authorization_details(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2 = await events_of(org, 2)
    limited = await restricted(org, [e2, e1])
    everything = await make_credential(organisation=org, name="Everything")
    narrowed = await granted(client, everything, entry(ids(e1), actions=["events:read"]))

    limited_body = await granted(client, limited)
    limited_token = limited_body["access_token"]
    plain = (await granted(client, everything))["access_token"]

    assert (await introspect(client, limited, limited_token))["authorization_details"] == (
        limited_body["authorization_details"]
    )
    assert "authorization_details" not in await introspect(client, everything, plain)
    assert (await introspect(client, everything, narrowed["access_token"]))[
        "authorization_details"
    ] == [{"type": TYPE, "actions": ["events:read"], "event_ids": ids(e1)}]


async def restrict(org: Organisation, issued: IssuedSecret, event_ids: list[str] | None) -> None:
    await update_credential(
        TenantScope(org.id),
        Actor(identity=None, ip_address=None, user_agent="tests"),
        str(issued.credential.id),
        CredentialChanges(event_ids=event_ids),
        now=utcnow(),
    )


async def test_er03_re_restricting_a_credential_binds_its_tokens_at_once(
    client: httpx.AsyncClient,
) -> None:
    org = await organisation()
    e1, e2, e3 = await events_of(org, 3)
    product = await make_product(e2)
    limited = await restricted(org, [e1, e2])
    everything = await make_credential(organisation=org, name="Everything")
    token = (await granted(client, limited))["access_token"]
    plain = (await granted(client, everything))["access_token"]
    partner = Caller(organisation=org, issued=limited, token=token)
    assert await listed_events(client, token) == ids(e1, e2)

    await restrict(org, limited, ids(e1))
    await restrict(org, everything, ids(e3, e2))

    assert (await introspect(client, limited, token))["authorization_details"] == [
        {"type": TYPE, "actions": ALL_SCOPES, "event_ids": ids(e1)}
    ]
    assert await listed_events(client, token) == ids(e1)
    me = await client.get("/partner/v1/me", headers=partner.headers)
    assert me.json()["event_ids"] == ids(e1)
    assert_error(
        await client.get(f"/partner/v1/events/{e2.id}", headers=partner.headers), 404, "not_found"
    )
    reservation = {
        "event_id": str(e2.id),
        "lines": [{"product_id": str(product.id), "quantity": 1}],
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    }
    assert_error(
        await client.post("/partner/v1/reservations", headers=partner.headers, json=reservation),
        403,
        "insufficient_authorization",
        "event_id",
    )
    # A token issued while the credential reached every event is bound by the new list too.
    (details,) = (await introspect(client, everything, plain))["authorization_details"]
    assert details["type"] == TYPE
    assert sorted(details["event_ids"]) == sorted(ids(e3, e2))
    assert await listed_events(client, plain) == ids(e2, e3)

    # Lifting the restriction never widens a token past the events it was issued for.
    await restrict(org, limited, None)
    assert await listed_events(client, token) == ids(e1, e2)
    assert (await introspect(client, limited, token))["authorization_details"][0][
        "event_ids"
    ] == ids(e1, e2)


# -- metadata and the largest token ------------------------------------------------------------


async def test_er02_metadata_lists_the_ticketing_events_type(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200, response.text
    assert response.json()["authorization_details_types_supported"] == [TYPE]


async def test_er02_rs256_token_for_a_hundred_events_stays_under_8_kib_and_is_accepted(
    db: TortoiseContext, settings: Settings
) -> None:
    async with app_with(replace(settings, signing_algorithm="RS256")) as client:
        org = await organisation()
        events = [
            Event(
                organisation=org,
                name=f"Night {index}",
                venue="Harbour Stage",
                starts_at=BASE_TIME,
                ends_at=BASE_TIME,
            )
            for index in range(100)
        ]
        await Event.bulk_create(events)
        chosen = ids(*events)
        issued = await make_credential(organisation=org, event_ids=chosen)

        body = await granted(client, issued)
        token = body["access_token"]
        me = await client.get("/partner/v1/me", headers=bearer(token))
        listed = await listed_events(client, token)

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert len(token.encode()) < 8 * 1024
    assert body["authorization_details"][0]["event_ids"] == chosen
    assert me.status_code == 200, me.text
    assert me.json()["event_ids"] == chosen
    assert sorted(listed) == sorted(chosen)
