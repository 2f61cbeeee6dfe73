"""RFC 9396 Rich Authorization Requests, for the one type we define: `ticketing_events`.

    [{"type": "ticketing_events",
      "actions": ["events:read", "orders:read"],          the token's scopes (optional on request)
      "event_ids": ["8b0c…", …]}]                           the events the token may reach

A restricted credential's tokens carry this as their `authorization_details` claim (RFC 9396
§9.1); an unrestricted credential's carry none. A token request may send the same shape as the
`authorization_details` parameter (§3) to narrow what it gets, never to widen it. Anything but
exactly one entry of this type with exactly these members — malformed JSON, another type,
unknown members, an empty or too long list, a duplicate — is `invalid_authorization_details`
(§5): one error code for every reason, with a description that helps the client's developer.
An event outside what the client may reach gets one description whether it is another event of
the organisation, another organisation's or unknown, so the answer reveals nothing about it.

Parsing is linear and bounded before anything else looks at the value: the form it comes in is
at most 8 KiB (auth/partners/token_request.py), nesting beyond what `json` accepts is refused,
and at most `MAX_EVENT_IDS` ids are examined.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

from auth.partners.oauth_errors import InvalidAuthorizationDetails
from models.credential import MAX_RESTRICTED_EVENTS

TYPE = "ticketing_events"
MAX_EVENT_IDS = MAX_RESTRICTED_EVENTS
_MEMBERS = frozenset({"type", "actions", "event_ids"})


class RequestedDetails(NamedTuple):
    """What a token request asked for: canonical event ids (order kept, no duplicates) and the
    actions, if it named any."""

    event_ids: tuple[str, ...]
    actions: tuple[str, ...] | None


def parse_request(text: str) -> RequestedDetails:
    """The `authorization_details` form parameter, or InvalidAuthorizationDetails."""
    try:
        value: Any = json.loads(text, object_pairs_hook=_unique_members)
    except (ValueError, RecursionError):
        raise InvalidAuthorizationDetails("authorization_details is not valid JSON.") from None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise InvalidAuthorizationDetails(
            f"authorization_details must hold exactly one {TYPE} entry."
        )
    entry: dict[str, Any] = value[0]
    if entry.get("type") != TYPE:
        raise InvalidAuthorizationDetails(f"Only the {TYPE} type is supported.")
    if not set(entry) <= _MEMBERS:
        raise InvalidAuthorizationDetails(f"A {TYPE} entry has type, actions and event_ids only.")
    event_ids = _strings(entry.get("event_ids"), limit=MAX_EVENT_IDS, name="event_ids")
    if not all(_is_canonical_id(event_id) for event_id in event_ids):
        raise InvalidAuthorizationDetails("event_ids must be event ids as the API shows them.")
    return RequestedDetails(
        event_ids=event_ids,
        actions=_strings(entry["actions"], limit=64, name="actions")
        if "actions" in entry
        else None,
    )


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose member names are unique: with two, which one counts is a guess."""
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("a member is given twice")
    return members


def _is_canonical_id(value: str) -> bool:
    """The one spelling the API shows (lower-case, hyphenated), so that two spellings of one id
    can neither slip past the duplicate check nor key the token reuse window twice."""
    try:
        return len(value) == 36 and str(UUID(value)) == value
    except ValueError:
        return False


def _strings(value: object, *, limit: int, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > limit:
        raise InvalidAuthorizationDetails(f"{name} must be a list of 1 to {limit} strings.")
    if not all(isinstance(item, str) for item in value):
        raise InvalidAuthorizationDetails(f"{name} must be a list of 1 to {limit} strings.")
    if len(set(value)) != len(value):
        raise InvalidAuthorizationDetails(f"{name} must not repeat a value.")
    return tuple(value)


def details(actions: Sequence[str], event_ids: Sequence[str]) -> list[dict[str, object]]:
    """The granted authorization details, as a token, a token response and introspection show
    them."""
    return [{"type": TYPE, "actions": list(actions), "event_ids": list(event_ids)}]


@lru_cache(maxsize=4096)
def claim_json(actions: tuple[str, ...], event_ids: tuple[str, ...]) -> str:
    """The claim as JSON, encoded once per distinct grant rather than once per token."""
    return json.dumps(details(actions, event_ids), separators=(",", ":"))


def granted_event_ids(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The event ids a verified token's claim grants, in its order; None for a token without the
    claim (every event of the organisation). A claim we did not write raises ValueError."""
    value = claims.get("authorization_details")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise ValueError("authorization_details")
    entry = value[0]
    event_ids = entry.get("event_ids")
    if entry.get("type") != TYPE or not isinstance(event_ids, list):
        raise ValueError("authorization_details")
    return tuple(str(UUID(str(event_id))) for event_id in event_ids)
