"""Client authentication at `POST /oauth/token` (SECURITY.md TE-08, TE-09, TE-11, TE-14, TE-22,
CR-05, CR-06, LG-01): both methods, one uniform `invalid_client` for every failure, the IP
allowlist and trusted proxies, and the aggregated audit of refusals.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from auth.admins.identity import Actor
from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import client_secret_lookup_id, new_client_id, new_client_secret
from models.audit import AuditEvent
from models.credential import Credential, CredentialSecret
from models.enums import AccessLevel, AuditAction
from models.organisation import Organisation
from models.tenancy import TenantScope
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from partner_api.operations.credential_changes import revoke_credential
from partner_api.operations.credentials import (
    CredentialDraft,
    IssuedSecret,
    create_credential,
)
from partner_api.web.app import create_app
from tests import helpers
from tests.conftest import CLIENT_ADDRESS
from tests.helpers import (
    TEST_PEPPER,
    make_admin,
    make_credential,
    rotate_secret,
    wrong_secret_for,
)

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}
SYSTEM = Actor(identity=None, ip_address=None, user_agent="tests")
# RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only.
ERROR_CHARSET = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
Attempt = dict[str, Any]


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", response.headers
    assert response.headers.get("pragma") == "no-cache", response.headers


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, str]:
    """An RFC 6749 §5.2 error response (TE-17, TE-18) with this status and error code."""
    assert response.status_code == status, response.text
    assert_no_store(response)
    body: dict[str, str] = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}, body
    for value in body.values():
        assert ERROR_CHARSET.fullmatch(value), value
    return body


def assert_invalid_client(response: httpx.Response) -> None:
    """TE-14: 401 invalid_client with a Basic challenge (RFC 6749 §5.2)."""
    assert_oauth_error(response, 401, "invalid_client")
    challenge = response.headers.get("www-authenticate", "")
    assert re.match(r'Basic realm="[^"]+"', challenge), challenge


def basic_header(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 App. B / §2.3.1: form-urlencode id and secret, then base64 `id:secret`."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def raw_basic_header(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode("ascii")}


def basic(issued: IssuedSecret) -> tuple[str, str]:
    return issued.credential.client_id, issued.secret_value


def unknown_secret() -> str:
    """Well-formed (right prefix, length and checksum) but never issued."""
    return new_client_secret().value


async def make_restricted(organisation: Organisation, allowlist: list[str]) -> IssuedSecret:
    """A credential that may only be used from the addresses in `allowlist` (TE-22)."""
    return await create_credential(
        TenantScope(organisation.id),
        SYSTEM,
        CredentialDraft(
            name="Restricted",
            contact_email="ops@partner.example",
            access_level=AccessLevel.FULL,
            ip_allowlist=allowlist,
        ),
        hasher=KeyedHasher((TEST_PEPPER,)),
        now=utcnow(),
    )


@pytest.fixture
async def organisation(app: Starlette) -> Organisation:
    _, organisation, _ = await make_admin()
    return organisation


@pytest.fixture
async def issued(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation)


@pytest.fixture
async def other(organisation: Organisation) -> IssuedSecret:
    return await make_credential(organisation=organisation, name="Other integration")


@pytest.fixture
def client_at(app: Starlette) -> Callable[[str], httpx.AsyncClient]:
    """A client of the same app connecting from another socket address."""

    return partial(helpers.client_at, app)


# -- TE-08: client_secret_basic -----------------------------------------------------------------


async def test_te08_client_secret_basic_issues_a_token(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    response = await client.post(TOKEN, data=GRANT, auth=basic(issued))
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == issued.credential.client_id


SPECIAL_CLIENT_ID = "pcl_a+b%2F c:d&e=f"


async def test_te08_basic_id_is_form_urldecoded_after_base64(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """RFC 6749 App. B: `+`, `%`, `:` and space in an id must be form-urlencoded by the client."""
    await Credential.filter(id=issued.credential.id).update(client_id=SPECIAL_CLIENT_ID)
    response = await client.post(
        TOKEN, data=GRANT, headers=basic_header(SPECIAL_CLIENT_ID, issued.secret_value)
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == SPECIAL_CLIENT_ID


async def test_te08_basic_id_sent_without_form_encoding_does_not_authenticate(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """The same id sent raw decodes to something else (`+` → space, split at the first `:`)."""
    await Credential.filter(id=issued.credential.id).update(client_id=SPECIAL_CLIENT_ID)
    response = await client.post(
        TOKEN, data=GRANT, headers=raw_basic_header(f"{SPECIAL_CLIENT_ID}:{issued.secret_value}")
    )
    assert_invalid_client(response)


async def test_te08_fully_percent_encoded_basic_credentials_are_decoded(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    def every_character_encoded(value: str) -> str:
        return "".join(f"%{byte:02X}" for byte in value.encode())

    client_id, secret = basic(issued)
    response = await client.post(
        TOKEN,
        data=GRANT,
        headers=raw_basic_header(
            f"{every_character_encoded(client_id)}:{every_character_encoded(secret)}"
        ),
    )
    assert response.status_code == 200, response.text


# -- TE-09: client_secret_post ------------------------------------------------------------------


async def test_te09_client_secret_post_issues_a_token(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    client_id, secret = basic(issued)
    response = await client.post(
        TOKEN, data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == client_id


async def test_te09_client_secret_post_with_special_characters_in_the_id(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    await Credential.filter(id=issued.credential.id).update(client_id=SPECIAL_CLIENT_ID)
    response = await client.post(
        TOKEN,
        data={**GRANT, "client_id": SPECIAL_CLIENT_ID, "client_secret": issued.secret_value},
    )
    assert response.status_code == 200, response.text


async def test_te09_basic_with_matching_body_client_id_is_accepted(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    """Many client libraries repeat client_id in the body next to Basic."""
    response = await client.post(
        TOKEN, data={**GRANT, "client_id": issued.credential.client_id}, auth=basic(issued)
    )
    assert response.status_code == 200, response.text


async def test_te09_basic_with_mismatching_body_client_id_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, other: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN, data={**GRANT, "client_id": other.credential.client_id}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


# -- TE-11: one authentication method per request ---------------------------------------------


async def test_te11_basic_and_body_secret_together_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret
) -> None:
    client_id, secret = basic(issued)
    response = await client.post(
        TOKEN,
        data={**GRANT, "client_id": client_id, "client_secret": secret},
        auth=basic(issued),
    )
    assert_oauth_error(response, 400, "invalid_request")
    assert "access_token" not in response.text


async def test_te11_basic_and_another_clients_body_secret_is_invalid_request(
    client: httpx.AsyncClient, issued: IssuedSecret, other: IssuedSecret
) -> None:
    response = await client.post(
        TOKEN, data={**GRANT, "client_secret": other.secret_value}, auth=basic(issued)
    )
    assert_oauth_error(response, 400, "invalid_request")


# -- TE-14 / CR-05: one uniform invalid_client ------------------------------------------------

Setup = Callable[[httpx.AsyncClient, Organisation, IssuedSecret, IssuedSecret], Awaitable[Attempt]]


async def _unknown_client(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"auth": (new_client_id(), unknown_secret())}


async def _unknown_client_with_a_real_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"auth": (new_client_id(), issued.secret_value)}


async def _wrong_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"auth": (issued.credential.client_id, wrong_secret_for(issued.secret_value))}


async def _another_credentials_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"auth": (issued.credential.client_id, other.secret_value)}


async def _revoked_credential(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    # Used once first, so the credential is cached when it is revoked.
    assert (await c.post(TOKEN, data=GRANT, auth=basic(issued))).status_code == 200
    await revoke_credential(
        TenantScope(o.id), SYSTEM, str(issued.credential.id), "compromised", now=utcnow()
    )
    return {"auth": basic(issued)}


async def _expired_credential(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    await Credential.filter(id=issued.credential.id).update(
        expires_at=utcnow() - timedelta(minutes=1)
    )
    return {"auth": basic(issued)}


async def _secret_ended_by_rotation_without_grace(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    assert (await c.post(TOKEN, data=GRANT, auth=basic(issued))).status_code == 200
    await rotate_secret(o, issued, grace_minutes=0)
    return {"auth": basic(issued)}


async def _previous_secret_after_grace(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    await rotate_secret(o, issued, grace_minutes=60)
    lookup_id = client_secret_lookup_id(issued.secret_value)
    await CredentialSecret.filter(lookup_id=lookup_id).update(
        expires_at=utcnow() - timedelta(seconds=1)
    )
    return {"auth": basic(issued)}


async def _malformed_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"auth": (issued.credential.client_id, "not-a-secret")}


async def _stored_hash_as_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    row = await CredentialSecret.get(credential_id=issued.credential.id)
    return {"auth": (issued.credential.client_id, row.secret_hash)}


async def _no_client_authentication(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {}


async def _client_id_without_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"data": {**GRANT, "client_id": issued.credential.client_id}}


async def _bearer_scheme(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"headers": {"Authorization": f"Bearer {issued.secret_value}"}}


async def _basic_not_base64(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"headers": {"Authorization": "Basic ***not-base64***"}}


async def _basic_without_colon(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    return {"headers": raw_basic_header(issued.credential.client_id + issued.secret_value)}


async def _post_with_wrong_secret(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    wrong = wrong_secret_for(issued.secret_value)
    return {"data": {**GRANT, "client_id": issued.credential.client_id, "client_secret": wrong}}


async def _disallowed_address(
    c: httpx.AsyncClient, o: Organisation, issued: IssuedSecret, other: IssuedSecret
) -> Attempt:
    restricted = await make_restricted(o, ["198.51.100.0/24"])
    return {"auth": basic(restricted)}


FAILURES: dict[str, Setup] = {
    "unknown client": _unknown_client,
    "unknown client with a real secret": _unknown_client_with_a_real_secret,
    "wrong secret": _wrong_secret,
    "another credential's secret": _another_credentials_secret,
    "revoked credential": _revoked_credential,
    "expired credential": _expired_credential,
    "secret ended by rotation with grace 0": _secret_ended_by_rotation_without_grace,
    "previous secret after its grace period": _previous_secret_after_grace,
    "malformed secret": _malformed_secret,
    "stored hash presented as secret": _stored_hash_as_secret,
    "no client authentication": _no_client_authentication,
    "client_id without secret": _client_id_without_secret,
    "Bearer scheme": _bearer_scheme,
    "Basic not base64": _basic_not_base64,
    "Basic without colon": _basic_without_colon,
    "client_secret_post wrong secret": _post_with_wrong_secret,
    "disallowed address": _disallowed_address,
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_te14_every_failure_is_the_same_invalid_client(
    client: httpx.AsyncClient,
    organisation: Organisation,
    issued: IssuedSecret,
    other: IssuedSecret,
    case: str,
) -> None:
    reference = await client.post(TOKEN, data=GRANT, auth=(new_client_id(), unknown_secret()))
    assert_invalid_client(reference)

    attempt = await FAILURES[case](client, organisation, issued, other)
    attempt.setdefault("data", GRANT)
    response = await client.post(TOKEN, **attempt)

    assert_invalid_client(response)
    assert response.content == reference.content
    assert response.headers["www-authenticate"] == reference.headers["www-authenticate"]


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    # The date and the request id differ between any two responses, by design.
    per_response = ("date", "x-request-id")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in per_response]
    return response.status_code, headers, response.content


async def test_cr05_unknown_and_known_client_ids_answer_byte_identically(
    client: httpx.AsyncClient, issued: IssuedSecret, other: IssuedSecret
) -> None:
    secret = unknown_secret()
    unknown = await client.post(TOKEN, data=GRANT, auth=(new_client_id(), secret))
    known = await client.post(TOKEN, data=GRANT, auth=(issued.credential.client_id, secret))
    known_other_secret = await client.post(
        TOKEN, data=GRANT, auth=(issued.credential.client_id, other.secret_value)
    )
    assert unknown.status_code == 401
    assert comparable(known) == comparable(unknown)
    assert comparable(known_other_secret) == comparable(unknown)


# -- CR-06: a previous secret works during its grace period, and only then -------------------


async def test_cr06_previous_secret_works_during_grace_and_stops_after_it(
    client: httpx.AsyncClient,
    organisation: Organisation,
    issued: IssuedSecret,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Cached before the rotation, as on a busy server.
    assert (await client.post(TOKEN, data=GRANT, auth=basic(issued))).status_code == 200
    rotated = await rotate_secret(organisation, issued, grace_minutes=60)

    previous = await client.post(TOKEN, data=GRANT, auth=basic(issued))
    current = await client.post(TOKEN, data=GRANT, auth=basic(rotated))
    assert previous.status_code == 200, previous.text
    assert current.status_code == 200, current.text

    after_grace = utcnow() + timedelta(minutes=61)
    monkeypatch.setattr("auth.partners.authorization_server.utcnow", lambda: after_grace)
    assert_invalid_client(await client.post(TOKEN, data=GRANT, auth=basic(issued)))
    assert (await client.post(TOKEN, data=GRANT, auth=basic(rotated))).status_code == 200


async def test_cr06_a_second_rotation_ends_the_secret_in_grace_at_once(
    client: httpx.AsyncClient, organisation: Organisation, issued: IssuedSecret
) -> None:
    """At most two live secrets."""
    second = await rotate_secret(organisation, issued, grace_minutes=60)
    third = await rotate_secret(organisation, second, grace_minutes=60)
    assert_invalid_client(await client.post(TOKEN, data=GRANT, auth=basic(issued)))
    assert (await client.post(TOKEN, data=GRANT, auth=basic(second))).status_code == 200
    assert (await client.post(TOKEN, data=GRANT, auth=basic(third))).status_code == 200


# -- TE-22: IP allowlist and trusted proxies ----------------------------------------------------


@pytest.mark.parametrize("allowlist", [["203.0.113.0/24"], ["192.0.2.1/32", "203.0.113.10/32"]])
async def test_te22_allowed_address_gets_a_token(
    client: httpx.AsyncClient, organisation: Organisation, allowlist: list[str]
) -> None:
    restricted = await make_restricted(organisation, allowlist)
    response = await client.post(TOKEN, data=GRANT, auth=basic(restricted))
    assert response.status_code == 200, response.text


async def test_te22_same_credential_from_an_address_outside_the_allowlist_is_refused(
    client: httpx.AsyncClient,
    organisation: Organisation,
    client_at: Callable[[str], httpx.AsyncClient],
) -> None:
    restricted = await make_restricted(organisation, ["203.0.113.0/24"])
    assert (await client.post(TOKEN, data=GRANT, auth=basic(restricted))).status_code == 200
    async with client_at("198.51.100.20") as outsider:
        assert_invalid_client(await outsider.post(TOKEN, data=GRANT, auth=basic(restricted)))


async def test_te22_forwarded_for_is_ignored_without_trusted_proxies(
    client: httpx.AsyncClient, organisation: Organisation
) -> None:
    allowed_elsewhere = await make_restricted(organisation, ["198.51.100.7/32"])
    spoofed = await client.post(
        TOKEN,
        data=GRANT,
        auth=basic(allowed_elsewhere),
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert_invalid_client(spoofed)

    allowed_here = await make_restricted(organisation, [f"{CLIENT_ADDRESS}/32"])
    response = await client.post(
        TOKEN, data=GRANT, auth=basic(allowed_here), headers={"X-Forwarded-For": "192.0.2.99"}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def behind_proxy(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app configured to trust the test client's network as its reverse proxy."""
    proxied = create_app(
        replace(settings, trusted_proxies=(ipaddress.ip_network("203.0.113.0/24"),)),
        manage_database=False,
    )
    transport = httpx.ASGITransport(app=proxied, client=(CLIENT_ADDRESS, 51234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_te22_forwarded_for_is_the_client_behind_a_trusted_proxy(
    behind_proxy: httpx.AsyncClient, organisation: Organisation
) -> None:
    restricted = await make_restricted(organisation, ["198.51.100.7/32"])
    allowed = await behind_proxy.post(
        TOKEN, data=GRANT, auth=basic(restricted), headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert allowed.status_code == 200, allowed.text

    other_client = await behind_proxy.post(
        TOKEN, data=GRANT, auth=basic(restricted), headers={"X-Forwarded-For": "192.0.2.1"}
    )
    assert_invalid_client(other_client)


async def test_te22_forged_left_hop_behind_a_trusted_proxy_is_not_believed(
    behind_proxy: httpx.AsyncClient, organisation: Organisation
) -> None:
    """The client wrote `198.51.100.7` itself; the proxy appended the real peer `192.0.2.1`."""
    restricted = await make_restricted(organisation, ["198.51.100.7/32"])
    response = await behind_proxy.post(
        TOKEN,
        data=GRANT,
        auth=basic(restricted),
        headers={"X-Forwarded-For": "198.51.100.7, 192.0.2.1"},
    )
    assert_invalid_client(response)


async def test_te22_proxy_address_itself_is_not_the_client_behind_a_trusted_proxy(
    behind_proxy: httpx.AsyncClient, organisation: Organisation
) -> None:
    """Allowing the proxy's address must not admit every client behind it."""
    restricted = await make_restricted(organisation, [f"{CLIENT_ADDRESS}/32"])
    response = await behind_proxy.post(
        TOKEN, data=GRANT, auth=basic(restricted), headers={"X-Forwarded-For": "192.0.2.1"}
    )
    assert_invalid_client(response)


# -- LG-01: refusals for a known client ID are audited, aggregated ------------------------------


async def test_lg01_refusals_for_a_known_client_are_one_aggregated_audit_event(
    app: Starlette,
    client: httpx.AsyncClient,
    organisation: Organisation,
    issued: IssuedSecret,
    other: IssuedSecret,
) -> None:
    client_id = issued.credential.client_id
    attempts = [
        (client_id, other.secret_value),
        (client_id, unknown_secret()),
        (client_id, unknown_secret()),
        (client_id, "not-a-secret"),
    ]
    for auth in attempts:
        assert_invalid_client(await client.post(TOKEN, data=GRANT, auth=auth))
    # Unknown client IDs belong to no organisation and are not audited.
    assert_invalid_client(
        await client.post(TOKEN, data=GRANT, auth=(new_client_id(), unknown_secret()))
    )
    assert await AuditEvent.filter(action=AuditAction.TOKEN_REFUSED).count() == 0, (
        "refusals must be aggregated, not written one row per attempt"
    )

    await app.state.services.authorization_server.usage.flush(utcnow(), force=True)

    events = await AuditEvent.filter(action=AuditAction.TOKEN_REFUSED)
    assert len(events) == 1
    event = events[0]
    assert event.actor_label == client_id
    assert event.credential_id == issued.credential.id  # type: ignore[attr-defined]
    assert event.organisation_id == organisation.id  # type: ignore[attr-defined]
    assert event.ip_address == CLIENT_ADDRESS
    after = event.after or {}
    assert after["count"] == len(attempts)
    reasons: dict[str, int] = after["reasons"]
    assert sum(reasons.values()) == len(attempts)
    assert len(reasons) == 3, reasons  # another's secret, unknown secret, malformed
    for secret in (issued.secret_value, other.secret_value):
        assert secret not in repr(after)
