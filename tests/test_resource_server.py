"""The Partner API as a resource server, seen by a partner (SECURITY.md RS-01..RS-10, TE-22).

Every refusal is checked where a partner meets it — at `GET /partner/v1/me` (any valid token) or a
scoped endpoint — as the RFC 6750 §3 answer: 401 with `WWW-Authenticate: Bearer realm=…` (plus
`error="invalid_token"` when a token was sent), 403 `insufficient_scope` naming the scope, 400
`invalid_request` for a token in the query string. The verified-token cache is checked for what it
saves (one signature check per token) and for what it must not skip (revocation, key retirement).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.applications import Starlette

from auth.partners import authorization_server as authorization_server_module
from auth.partners import change_feed
from auth.partners.access_tokens import AccessTokenClaims, verify_access_token
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.signing_keys import LoadedKey, rotate_signing_key
from models.credential import Credential
from models.oauth import ChangeKind, SigningKey
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from tests.helpers import admin_token, create_via_graphql, gql, operation

ME = "/partner/v1/me"
EVENTS = "/partner/v1/events"
ORDERS = "/partner/v1/orders"
CHALLENGE = 'Bearer realm="partner-api"'
# The test client's address is 203.0.113.10 (tests/conftest.py).
OUTSIDE_NETWORK = "198.51.100.0/24"
OUTSIDE_ADDRESS = "198.51.100.7"
INSIDE_NETWORK = "203.0.113.0/24"
SCOPE_NAMES = [scope.name for scope in CATALOGUE]


@dataclass(frozen=True)
class PartnerClient:
    client_id: str
    secret: str
    credential_id: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def token_response(
    client: httpx.AsyncClient, partner: PartnerClient, *, scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return await client.post("/oauth/token", data=data, auth=(partner.client_id, partner.secret))


async def token_for(
    client: httpx.AsyncClient, partner: PartnerClient, *, scope: str | None = None
) -> str:
    response = await token_response(client, partner, scope=scope)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def new_partner(client: httpx.AsyncClient, session: str, **overrides: Any) -> PartnerClient:
    created = await create_via_graphql(client, session, **overrides)
    assert created["__typename"] == "CredentialCreated", created
    credential = created["credential"]
    return PartnerClient(credential["clientId"], created["clientSecret"], credential["id"])


async def update_credential(
    client: httpx.AsyncClient, session: str, partner: PartnerClient, **changes: Any
) -> dict[str, Any]:
    body = await gql(
        client,
        operation("UpdateCredential"),
        {"input": {"id": partner.credential_id, **changes}},
        token=session,
    )
    result: dict[str, Any] = body["data"]["updateCredential"]
    assert result["__typename"] == "CredentialUpdated", result
    return result


def assert_invalid_token(response: httpx.Response) -> None:
    """RS-07: a token was sent and is not acceptable → 401 with error="invalid_token"."""
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE), challenge
    assert 'error="invalid_token"' in challenge, challenge
    body = response.json()
    assert body["error"] == "invalid_token", body
    assert isinstance(body["error_description"], str)
    assert response.headers["cache-control"] == "no-store"


def assert_insufficient_scope(response: httpx.Response, needed: str) -> None:
    assert response.status_code == 403, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE), challenge
    assert 'error="insufficient_scope"' in challenge, challenge
    assert f'scope="{needed}"' in challenge, challenge
    body = response.json()
    assert body["error"] == "insufficient_scope", body
    assert body["scope"] == needed


async def me_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(ME, headers=bearer(token))).status_code


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full signature-and-claims verification from now on, by token."""
    verified: list[str] = []
    original = verify_access_token

    def counting(token: str, **kwargs: Any) -> AccessTokenClaims:
        verified.append(token)
        return original(token, **kwargs)

    monkeypatch.setattr(authorization_server_module, "verify_access_token", counting)
    return verified


def server_of(app: Starlette) -> AuthorizationServer:
    server: AuthorizationServer = app.state.services.authorization_server
    return server


@pytest.fixture
async def session(client: httpx.AsyncClient) -> str:
    return await admin_token(client)


@pytest.fixture
async def partner(client: httpx.AsyncClient, session: str) -> PartnerClient:
    return await new_partner(client, session)


@pytest.fixture
async def token(client: httpx.AsyncClient, partner: PartnerClient) -> str:
    return await token_for(client, partner)


# -- RS-07: missing and malformed Authorization ------------------------------------------------


@pytest.mark.parametrize("path", [ME, EVENTS])
async def test_rs07_no_authorization_is_401_with_a_challenge_without_error(
    client: httpx.AsyncClient, path: str
) -> None:
    """RFC 6750 §3.1: a request without credentials gets no error code in the challenge."""
    response = await client.get(path)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.json()["error"] == "missing_token"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer",
        "Bearer    ",
        "Bearer not-a-token",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
        "Token abc",
    ],
)
async def test_rs07_malformed_authorization_is_401_invalid_token(
    client: httpx.AsyncClient, header: str
) -> None:
    assert_invalid_token(await client.get(ME, headers={"Authorization": header}))
    assert_invalid_token(await client.get(EVENTS, headers={"Authorization": header}))


async def test_rs07_valid_token_under_another_scheme_is_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    assert await me_status(client, token) == 200
    assert_invalid_token(await client.get(ME, headers={"Authorization": f"Token {token}"}))
    assert_invalid_token(await client.get(ME, headers={"Authorization": f"Basic {token}"}))


async def test_rs07_scheme_name_is_case_insensitive(client: httpx.AsyncClient, token: str) -> None:
    """RFC 7235 §2.1: `bearer` is the same scheme as `Bearer`."""
    response = await client.get(ME, headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200, response.text


# -- RS-08: the token only from the Authorization header ---------------------------------------


@pytest.mark.parametrize("path", [ME, EVENTS])
async def test_rs08_token_in_the_query_string_is_refused_even_when_valid(
    client: httpx.AsyncClient, token: str, path: str
) -> None:
    assert (await client.get(path, headers=bearer(token))).status_code == 200
    alone = await client.get(path, params={"access_token": token})
    assert alone.status_code == 400, alone.text
    assert alone.json()["error"] == "invalid_request"
    assert alone.headers["cache-control"] == "no-store"
    # Also with a valid header: a token that travelled in a URL is exposed, so refuse the call.
    both = await client.get(path, params={"access_token": token}, headers=bearer(token))
    assert both.status_code == 400, both.text
    assert both.json()["error"] == "invalid_request"


async def test_rs08_token_in_a_form_body_is_never_accepted(
    client: httpx.AsyncClient, token: str
) -> None:
    """RFC 6750 §2.2's form-body transport is not supported: without the header it is 401."""
    response = await client.post(
        "/partner/v1/reservations",
        content=f"access_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE


# -- RS-01..05: only our own, well-formed, current tokens --------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Forger:
    """Tokens that differ from a real one in exactly one respect."""

    def __init__(self, key: LoadedKey, claims: dict[str, Any]) -> None:
        self.key = key
        self.claims = claims

    def sign(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """The real claims with `claims` changed, validly signed with our active key."""
        header = {"typ": "at+jwt", "kid": self.key.kid, **(headers or {})}
        return jwt.encode(
            {**self.claims, **claims},
            self.key.private_key,
            algorithm=self.key.algorithm,
            headers=header,
        )

    def alg_none(self) -> str:
        return jwt.encode(
            self.claims, "", algorithm="none", headers={"typ": "at+jwt", "kid": self.key.kid}
        )

    def hs256_with_public_jwk(self) -> str:
        # PyJWT refuses a JWK as an HMAC secret, which is what an attacker would do: sign by hand.
        header = {"alg": "HS256", "typ": "at+jwt", "kid": self.key.kid}
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(self.claims).encode())
        )
        secret = json.dumps(self.key.jwk).encode()
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    def foreign_key(self, pointer: str) -> str:
        foreign = ec.generate_private_key(ec.SECP256R1())
        foreign_jwk = {
            **ECAlgorithm.to_jwk(foreign.public_key(), as_dict=True),
            "kid": self.key.kid,
        }
        advertised: dict[str, Any] = {
            "jwk": foreign_jwk,
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
        }
        return jwt.encode(
            self.claims,
            foreign,
            algorithm="ES256",
            headers={"typ": "at+jwt", "kid": self.key.kid, pointer: advertised[pointer]},
        )


@pytest.fixture
async def forger(app: Starlette, client: httpx.AsyncClient, token: str) -> Forger:
    assert await me_status(client, token) == 200
    key = server_of(app).key_ring.active
    assert key is not None
    forger = Forger(key, jwt.decode(token, options={"verify_signature": False}))
    # The forging itself must not be what breaks a token: re-signed unchanged, it is accepted.
    assert await me_status(client, forger.sign()) == 200
    return forger


FORGERIES: dict[str, Callable[[Forger], str]] = {
    "rs01-alg-none": Forger.alg_none,
    "rs01-hs256-with-our-public-jwk": Forger.hs256_with_public_jwk,
    "rs01-foreign-key-in-jwk-header": lambda f: f.foreign_key("jwk"),
    "rs01-foreign-key-via-jku": lambda f: f.foreign_key("jku"),
    "rs01-foreign-key-via-x5u": lambda f: f.foreign_key("x5u"),
    "rs01-unknown-kid": lambda f: f.sign(headers={"kid": "not-one-of-ours"}),
    "rs02-typ-jwt": lambda f: f.sign(headers={"typ": "JWT"}),
    "rs03-wrong-issuer": lambda f: f.sign(iss="https://evil.example"),
    "rs04-wrong-audience": lambda f: f.sign(aud="https://other-api.example"),
    "rs05-expired-beyond-leeway": lambda f: f.sign(
        iat=int(time.time()) - 940, exp=int(time.time()) - 40
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
async def test_rs01_to_rs05_forged_token_is_401_invalid_token(
    client: httpx.AsyncClient, forger: Forger, forgery: str
) -> None:
    """AT-01, RS-01/02/03/04/05 at the Partner API: a token that differs from an accepted one only
    in its algorithm (`none`, HS256 keyed with our public key), its key (foreign, advertised by
    jwk, jku or x5u, or an unknown kid), its typ, iss, aud or exp is 401 invalid_token."""
    forged = FORGERIES[forgery](forger)
    assert_invalid_token(await client.get(ME, headers=bearer(forged)))
    assert_invalid_token(await client.get(EVENTS, headers=bearer(forged)))


async def test_rs05_expiry_within_the_small_leeway_is_still_accepted(
    client: httpx.AsyncClient, forger: Forger
) -> None:
    now = int(time.time())
    within = forger.sign(iat=now - 900, exp=now - 10)
    assert await me_status(client, within) == 200


# -- RS-06: scope per endpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", EVENTS, "events:read"),
        ("GET", f"{EVENTS}/{UUID(int=7)}", "events:read"),
        ("GET", f"{EVENTS}/{UUID(int=7)}/products", "events:read"),
        ("GET", ORDERS, "orders:read"),
        ("GET", f"{ORDERS}/{UUID(int=7)}", "orders:read"),
        ("GET", f"{ORDERS}/{UUID(int=7)}/barcodes", "barcodes:read"),
        ("POST", "/partner/v1/reservations", "orders:write"),
        ("POST", f"/partner/v1/reservations/{UUID(int=7)}/complete", "orders:write"),
        ("POST", f"/partner/v1/reservations/{UUID(int=7)}/cancel", "orders:write"),
    ],
)
async def test_rs06_missing_scope_is_403_naming_the_scope(
    client: httpx.AsyncClient, partner: PartnerClient, method: str, path: str, needed: str
) -> None:
    others = " ".join(name for name in SCOPE_NAMES if name != needed)
    narrowed = await token_for(client, partner, scope=others)
    full = await token_for(client, partner)
    denied = await client.request(method, path, headers=bearer(narrowed), json={})
    assert_insufficient_scope(denied, needed)
    # The same call with the scope gets past the scope check (404/400 for the made-up ids).
    allowed = await client.request(method, path, headers=bearer(full), json={})
    assert allowed.status_code not in (401, 403), allowed.text
    # /me needs no particular scope.
    assert await me_status(client, narrowed) == 200


# -- RS-10: revocation, rotation, expiry and re-scoping end access on the next call -------------


async def test_rs10_revoked_credential_fails_on_the_next_call(
    client: httpx.AsyncClient, session: str, partner: PartnerClient, token: str
) -> None:
    assert await me_status(client, token) == 200
    body = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": partner.credential_id, "reason": "compromised"}},
        token=session,
    )
    assert body["data"]["revokeCredential"]["__typename"] == "CredentialRevoked", body
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    assert_invalid_token(await client.get(EVENTS, headers=bearer(token)))


async def test_rs10_secret_regenerated_without_grace_ends_its_tokens_on_the_next_call(
    client: httpx.AsyncClient, session: str, partner: PartnerClient, token: str
) -> None:
    assert await me_status(client, token) == 200
    body = await gql(
        client,
        operation("RegenerateCredentialSecret"),
        {"input": {"id": partner.credential_id, "gracePeriodMinutes": 0}},
        token=session,
    )
    result = body["data"]["regenerateCredentialSecret"]
    assert result["__typename"] == "CredentialSecretRegenerated", result
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    rotated = PartnerClient(partner.client_id, result["clientSecret"], partner.credential_id)
    assert await me_status(client, await token_for(client, rotated)) == 200


async def test_rs10_token_revoked_through_rfc7009_fails_on_the_next_call(
    client: httpx.AsyncClient, partner: PartnerClient, token: str
) -> None:
    other = await token_for(client, partner)
    assert other != token
    assert await me_status(client, token) == 200
    revoked = await client.post(
        "/oauth/revoke", data={"token": token}, auth=(partner.client_id, partner.secret)
    )
    assert revoked.status_code == 200, revoked.text
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    # Only that token: the credential's other token still works.
    assert await me_status(client, other) == 200


async def test_rs10_expired_credential_fails_on_the_next_call(
    client: httpx.AsyncClient, partner: PartnerClient, token: str
) -> None:
    assert await me_status(client, token) == 200
    credential_id = UUID(partner.credential_id)
    await Credential.filter(id=credential_id).update(expires_at=utcnow() - timedelta(seconds=1))
    await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential_id)
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    refused = await token_response(client, partner)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


async def test_rs10_rescoping_a_fine_grained_credential_denies_at_once(
    client: httpx.AsyncClient, session: str
) -> None:
    partner = await new_partner(
        client, session, accessLevel="FINE_GRAINED", scopes=["events:read", "orders:read"]
    )
    token = await token_for(client, partner)
    assert (await client.get(EVENTS, headers=bearer(token))).status_code == 200
    await update_credential(client, session, partner, scopes=["orders:read"])
    assert_insufficient_scope(await client.get(EVENTS, headers=bearer(token)), "events:read")
    assert (await client.get(ORDERS, headers=bearer(token))).status_code == 200
    me = await client.get(ME, headers=bearer(token))
    assert me.json()["scopes"] == ["orders:read"]


# -- the verified-token cache: saves the signature check, never the revocation check -----------


async def test_verified_token_cache_checks_the_signature_once_per_token(
    client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified = count_verifications(monkeypatch)
    first = await client.get(ME, headers=bearer(token))
    second = await client.get(ME, headers=bearer(token))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["token"]["jti"] == second.json()["token"]["jti"]
    assert verified == [token]


async def test_a_token_altered_after_its_original_was_cached_is_verified_and_refused(
    client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is keyed by a digest of the whole token (verified_tokens.py): a string that
    differs from a cached token anywhere is checked in full, never served the cached claims."""
    verified = count_verifications(monkeypatch)
    assert await me_status(client, token) == 200
    header, payload, signature = token.split(".")
    altered_signature = (
        f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'Q'}{signature[-1]}"
    )
    altered_header = f"{header[:-1]}{'A' if header[-1] != 'A' else 'Q'}.{payload}.{signature}"
    for altered in (altered_signature, altered_header):
        assert_invalid_token(await client.get(ME, headers=bearer(altered)))
    assert verified == [token, altered_signature, altered_header]
    assert await me_status(client, token) == 200
    assert len(verified) == 3, "the original is still served from the cache"


def test_the_verified_token_cache_keeps_a_digest_not_the_token() -> None:
    from auth.partners.verified_tokens import VerifiedTokens, token_digest

    token = "eyJ" + "a" * 700 + ".b.c"
    digest = token_digest(token)
    assert len(digest) == 16
    assert token_digest(token[:-1] + "d") != digest
    cache = VerifiedTokens(max_entries=2)
    claims = cast(AccessTokenClaims, object())
    for index in range(3):
        cache.put(token_digest(f"{token}{index}"), claims)
    assert len(cache) == 2
    assert cache.get(token_digest(f"{token}0")) is None
    assert cache.get(token_digest(f"{token}2")) is claims


async def test_rs10_a_cached_token_that_is_revoked_is_refused(
    client: httpx.AsyncClient,
    partner: PartnerClient,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified = count_verifications(monkeypatch)
    assert await me_status(client, token) == 200
    assert await me_status(client, token) == 200
    assert verified == [token]  # served from the cache from now on
    revoked = await client.post(
        "/oauth/revoke", data={"token": token}, auth=(partner.client_id, partner.secret)
    )
    assert revoked.status_code == 200, revoked.text
    assert_invalid_token(await client.get(ME, headers=bearer(token)))


async def test_rs10_a_cached_token_of_a_revoked_credential_is_refused(
    client: httpx.AsyncClient,
    session: str,
    partner: PartnerClient,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified = count_verifications(monkeypatch)
    assert await me_status(client, token) == 200
    assert await me_status(client, token) == 200
    assert verified == [token]
    body = await gql(
        client,
        operation("RevokeCredential"),
        {"input": {"id": partner.credential_id}},
        token=session,
    )
    assert body["data"]["revokeCredential"]["__typename"] == "CredentialRevoked", body
    assert_invalid_token(await client.get(ME, headers=bearer(token)))


async def test_at06_cached_token_fails_once_its_signing_key_is_retired_long_ago(
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    partner: PartnerClient,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified = count_verifications(monkeypatch)
    old_kid = jwt.get_unverified_header(token)["kid"]
    assert await me_status(client, token) == 200
    await rotate_signing_key(
        algorithm=settings.signing_algorithm,
        key_encryption_key=settings.key_encryption_key,
        now=utcnow(),
    )
    # Retired just now: still published, its tokens still good (AT-06).
    assert await me_status(client, token) == 200
    assert verified == [token]
    # Retired long ago: every token it signed should have expired; it leaves the key ring.
    await SigningKey.filter(kid=old_kid).update(retired_at=utcnow() - timedelta(days=1))
    await server_of(app).reload_keys()
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert old_kid not in [key["kid"] for key in jwks["keys"]]
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    fresh = await token_for(client, partner)
    assert jwt.get_unverified_header(fresh)["kid"] != old_kid
    assert await me_status(client, fresh) == 200


# -- TE-22: the IP allowlist at the token endpoint and at the Partner API -----------------------


@pytest.fixture
async def outside_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The same server, called from an address outside 203.0.113.0/24."""
    transport = httpx.ASGITransport(app=app, client=(OUTSIDE_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_te22_allowlist_excluding_the_caller_gets_no_token(
    client: httpx.AsyncClient, session: str
) -> None:
    excluded = await new_partner(client, session, name="Outside", ipAllowlist=[OUTSIDE_NETWORK])
    refused = await token_response(client, excluded)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "invalid_client"
    included = await new_partner(client, session, name="Inside", ipAllowlist=[INSIDE_NETWORK])
    assert await me_status(client, await token_for(client, included)) == 200


async def test_te22_token_from_before_an_allowlist_change_is_refused_at_the_partner_api(
    client: httpx.AsyncClient,
    outside_client: httpx.AsyncClient,
    session: str,
    partner: PartnerClient,
    token: str,
) -> None:
    assert await me_status(client, token) == 200
    await update_credential(client, session, partner, ipAllowlist=[OUTSIDE_NETWORK])
    assert_invalid_token(await client.get(ME, headers=bearer(token)))
    assert_invalid_token(await client.get(EVENTS, headers=bearer(token)))
    # The client address is the socket's: a forged X-Forwarded-For does not help.
    spoofed = await client.get(ME, headers={**bearer(token), "X-Forwarded-For": OUTSIDE_ADDRESS})
    assert_invalid_token(spoofed)
    # From an allowed address the same token is still good: the refusal is the address.
    assert await me_status(outside_client, token) == 200


async def test_te22_unknown_ids_from_a_refused_address_reveal_nothing(
    client: httpx.AsyncClient, session: str, partner: PartnerClient, token: str
) -> None:
    """A refused address gets the same 401 whatever it asks for, not 404s that confirm ids."""
    await update_credential(client, session, partner, ipAllowlist=[OUTSIDE_NETWORK])
    assert_invalid_token(await client.get(f"{EVENTS}/{uuid4()}", headers=bearer(token)))
