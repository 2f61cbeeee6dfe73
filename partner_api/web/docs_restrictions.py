"""The developer guide's section on credentials limited to events (RFC 9396
`authorization_details`): what such a credential reaches, the claim its tokens carry, narrowing a
token, what the Partner API answers outside its events, and a worked example in curl and Python.

tests/test_docs_event_restrictions.py runs the worked example unmodified against a live server and
checks the error bodies shown here against the real answers.
"""

from __future__ import annotations

import json

from auth.partners.authorization_details import MAX_EVENT_IDS, TYPE
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.docs_html import (
    bullet_list,
    code_block,
    esc,
    inline,
    paragraph,
    section,
    table,
)

ANCHOR = "event-restrictions"
TITLE = "Credentials limited to events"
EXAMPLE_ANCHOR = "event-restrictions-example"
EXAMPLE_EVENT_IDS = ["8b0c6a57-4a9e-4f1e-9d2b-1c5e7a3f0b21", "d2f4e8a1-7c3b-4e5f-a6d9-0b1c2e3f4a5b"]
# What the services answer; the tests compare these with real answers.
TOKEN_ERROR = {
    "error": "invalid_authorization_details",
    "error_description": "An event is not one this client may reach.",
}
RESERVATION_ERROR = {
    "error": "insufficient_authorization",
    "error_description": "This token is not authorised for that event.",
    "field": "event_id",
}


def _subheading(anchor: str, title: str) -> str:
    return f'<h3 id="{esc(anchor)}">{esc(title)}</h3>'


def _claim(settings: Settings) -> str:
    scopes = [scope.name for scope in CATALOGUE]
    response = {
        "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9…",
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "scope": " ".join(scopes),
        "authorization_details": [
            {"type": TYPE, "actions": scopes, "event_ids": EXAMPLE_EVENT_IDS}
        ],
    }
    return paragraph(
        "Its tokens say so in `authorization_details` (RFC 9396): in the token response, in the "
        "token's own claims and in introspection. `actions` are the token's scopes, `event_ids` "
        "the events it may reach. A token of a credential that is not limited carries no "
        "`authorization_details`."
    ) + code_block(
        json.dumps(response, indent=2, ensure_ascii=False),
        label="Token response of a limited credential",
    )


def _narrowing() -> str:
    rules = [
        f'Exactly one entry, `"type": "{TYPE}"`, with no members but `type`, `event_ids` and '
        "`actions`.",
        f"`event_ids`: 1 to {MAX_EVENT_IDS} different events the credential may reach: its "
        "chosen events or, for a credential that is not limited, any event of your organisation.",
        "`actions` (optional): scopes the token would get anyway (of those in `scope`, if you "
        "send it); the token then holds only these. Without `actions` it keeps them all.",
        "Anything else (malformed JSON, another type or member, an empty or too long list, a "
        "repeated value, an event or a scope the credential does not have) is a 400 "
        "`invalid_authorization_details`; an unknown event, another organisation's and one "
        "outside the credential's get the very same answer.",
    ]
    return (
        _subheading("event-restrictions-narrowing", "Asking for fewer events")
        + paragraph(
            "A token request may send `authorization_details` to get a token for some of the "
            "credential's events, or for some of its scopes on them, e.g. to hand a read-only "
            "token for one event to a box-office display. It is a form parameter like `scope`, "
            "holding JSON; it narrows, it never widens:"
        )
        + bullet_list(inline(rule) for rule in rules)
        + code_block(json.dumps(TOKEN_ERROR, indent=2), label="Token error response (400)")
    )


def _outside() -> str:
    rows = [
        ("GET /partner/v1/events", "Lists only the token's events."),
        (
            "GET /partner/v1/events/{event_id}, …/products",
            "404 `not_found`, exactly like another organisation's event.",
        ),
        (
            "GET /partner/v1/orders",
            "Only orders of the token's events; an `event_id` filter for another event finds none.",
        ),
        (
            "GET /partner/v1/orders/{order_id}, …/barcodes, "
            "POST /partner/v1/reservations/{order_id}/complete, …/cancel",
            "404 `not_found` for an order of another event.",
        ),
        (
            "POST /partner/v1/reservations",
            "403 `insufficient_authorization` with `field` `event_id`; nothing is reserved or "
            "held. Decided from the token alone: the same answer for another organisation's or "
            "an unknown event.",
        ),
    ]
    return (
        _subheading("event-restrictions-outside", "Outside the token's events")
        + table(
            ["Request", "Answer"],
            [[f"<code>{esc(request)}</code>", inline(answer)] for request, answer in rows],
        )
        + code_block(json.dumps(RESERVATION_ERROR, indent=2), label="A 403 reservation response")
        + paragraph(
            "When your administrator changes the credential's events, tokens already issued "
            "follow within a second: a token reaches only events the credential still holds, "
            "those it names in `authorization_details` or, if it names none, all of the "
            "credential's. A token that names its events never gains others: after your "
            "administrator adds events or lifts the limit, get a new token to reach them."
        )
        + paragraph(
            "`GET /partner/v1/me` shows what your token reaches now: `event_ids` lists its "
            "events, or is `null` when it reaches every event of your organisation."
        )
    )


def _example(settings: Settings) -> str:
    token_url, api = settings.token_endpoint, f"{settings.issuer}/partner/v1"
    read_json = "python3 -c 'import json, sys; print(json.load(sys.stdin){})'"
    shell = f"""
export CLIENT_ID='pcl_…' CLIENT_SECRET='pcs_…'
export TOKEN_URL={token_url} API={api}

# 1. The token response names the credential's events.
curl -s -w '\\n' -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$TOKEN_URL"

# 2. Pick one: the first event the API lists.
TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$TOKEN_URL" \\
        | {read_json.format('["access_token"]')})
EVENT_ID=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/events" \\
           | {read_json.format('["data"][0]["id"]')})

# 3. A token for that event only, to read it.
DETAILS=$(printf '[{{"type": "{TYPE}", "actions": ["events:read"], "event_ids": ["%s"]}}]' \\
          "$EVENT_ID")
RESPONSE=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \\
           --data-urlencode "authorization_details=$DETAILS" "$TOKEN_URL")
echo "$RESPONSE"

# 4. /me shows the one event the narrowed token reaches.
TOKEN=$(echo "$RESPONSE" | {read_json.format('["access_token"]')})
curl -s -w '\\n' -H "Authorization: Bearer $TOKEN" "$API/me"
"""
    # As in the quickstart: requests-oauthlib refuses plain http unless told otherwise.
    insecure = (
        '\nos.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # this server is plain http (a trial)'
        if settings.issuer.startswith("http://")
        else ""
    )
    python = f"""
import json
import os

from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
TOKEN_URL = "{token_url}"
API = "{api}"{insecure}

session = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID))
token = session.fetch_token(
    token_url=TOKEN_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
)
print(json.dumps(token.get("authorization_details")))  # null: every event
events = session.get(f"{{API}}/events", timeout=10).json()["data"]

# A token for the first event only, to read it: an extra form parameter of the token request.
narrowed = session.fetch_token(
    token_url=TOKEN_URL,
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    authorization_details=json.dumps(
        [{{"type": "{TYPE}", "actions": ["events:read"], "event_ids": [events[0]["id"]]}}]
    ),
)
print(json.dumps(narrowed["authorization_details"]))
for event in events:  # the other events now answer 404, like another organisation's
    print(event["id"], session.get(f"{{API}}/events/{{event['id']}}", timeout=10).status_code)
me = session.get(f"{{API}}/me", timeout=10)
me.raise_for_status()
print(me.json()["event_ids"], me.json()["scopes"])
"""
    return (
        _subheading(EXAMPLE_ANCHOR, "Worked example: a read-only token for one event")
        + paragraph(
            "With a credential limited to some events: see its events in the token, pick the "
            "first event the API lists, get a token for just that event with just `events:read`, "
            "and check what the new token reaches."
        )
        + code_block(shell, label="Shell (curl): a token for one event")
        + paragraph(
            "The same with requests-oauthlib: `authorization_details` is an extra parameter of "
            "`fetch_token`, which sends it in the form and returns the granted details with the "
            "token."
        )
        + code_block(python, label="Python (requests-oauthlib): a token for one event")
    )


def event_restrictions(settings: Settings) -> str:
    return section(
        ANCHOR,
        TITLE,
        paragraph(
            "An administrator of your organisation may limit a credential to chosen events "
            "(Settings → Organisation → Partner API, Events: Only these events). Its tokens then "
            "reach those events only: the events themselves, their products, their orders and "
            "those orders' barcodes, and reservations for them. A credential that is not limited "
            "reaches every event of your organisation, including events added later."
        )
        + _claim(settings)
        + _narrowing()
        + _outside()
        + _example(settings),
    )
