"""Access tokens per RFC 9068 (SECURITY.md AT-01/02/04/07) and their verification as the Partner
API will do it (RS-01..05): `verify_access_token` and `AuthorizationServer.check_access_token`.

Hostile tokens are built here from a real token's claims, signed with the server's own active
private key unless the point of the test is another key, so each one differs from an accepted
token in exactly the property under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from auth.partners.access_tokens import AccessTokenClaims, InvalidAccessToken, verify_access_token
from auth.partners.authorization_server import AuthorizationServer
from auth.partners.signing_keys import LoadedKey, rotate_signing_key
from partner_api.foundation.clock import utcnow
from partner_api.foundation.scopes import CATALOGUE
from partner_api.foundation.settings import Settings
from partner_api.web.app import create_app
from tests.helpers import TEST_KEY_ENCRYPTION_KEY, TEST_PEPPER, make_admin, make_credential

CLIENT_ADDRESS = ("203.0.113.10", 51234)
CATALOGUE_NAMES = [scope.name for scope in CATALOGUE]


def authorization_server(app: Starlette) -> AuthorizationServer:
    server: AuthorizationServer = app.state.services.authorization_server
    return server


async def request_token(client: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, Any]:
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def partner_token(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A token from POST /oauth/token for a new credential; also the ids it should carry."""
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    body = await request_token(client, issued.credential.client_id, issued.secret_value)
    ids = {
        "client_id": issued.credential.client_id,
        "organisation_id": str(organisation.id),
        "credential_id": str(issued.credential.id),
    }
    return str(body["access_token"]), ids


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app of its own (for settings other than the fixture's) on the test database."""
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=CLIENT_ADDRESS)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield app, client


def jwks_key(jwks: dict[str, Any], kid: str) -> jwt.PyJWK:
    matches = [key for key in jwks["keys"] if key["kid"] == kid]
    assert len(matches) == 1, jwks
    return jwt.PyJWK(matches[0])


# -- AT-01/02/04/07: what POST /oauth/token issues ---------------------------------------------


async def test_at01_header_is_at_jwt_es256_with_a_kid_from_the_jwks(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.signing_algorithm == "ES256"
    token, _ = await partner_token(client)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert header["kid"] in [key["kid"] for key in jwks["keys"]]
    # The published key really is the one that signed it.
    key = jwks_key(jwks, header["kid"])
    jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience=settings.audience,
        issuer=settings.issuer,
    )


async def test_at02_at04_claims_name_the_client_organisation_and_credential(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token, ids = await partner_token(client)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert claims["client_id"] == ids["client_id"]
    assert claims["organisation_id"] == ids["organisation_id"]
    assert claims["credential_id"] == ids["credential_id"]
    assert claims["scope"] == " ".join(CATALOGUE_NAMES)
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    assert abs(claims["iat"] - time.time()) < 60
    # AT-04: the subject lives in a namespace no user id (a UUID) can take.
    assert claims["sub"] == "client:" + ids["client_id"]
    with pytest.raises(ValueError, match="badly formed"):
        UUID(claims["sub"])


async def test_at02_jti_is_unique_across_tokens(client: httpx.AsyncClient) -> None:
    _, organisation, _ = await make_admin()
    first = await make_credential(organisation=organisation, name="First")
    second = await make_credential(organisation=organisation, name="Second")
    jtis = []
    for issued in (first, first, first, second, second):
        body = await request_token(client, issued.credential.client_id, issued.secret_value)
        jtis.append(jwt.decode(body["access_token"], options={"verify_signature": False})["jti"])
    assert len(set(jtis)) == len(jtis), jtis


async def test_at07_default_lifetime_is_fifteen_minutes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.access_token_ttl_seconds == 15 * 60
    _, organisation, _ = await make_admin()
    issued = await make_credential(organisation=organisation)
    body = await request_token(client, issued.credential.client_id, issued.secret_value)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert body["expires_in"] == 15 * 60


async def test_at07_lifetime_is_configurable(app: Starlette, settings: Settings) -> None:
    short = replace(settings, access_token_ttl_seconds=300)
    async with serving(short) as (_, client):
        _, organisation, _ = await make_admin()
        issued = await make_credential(organisation=organisation)
        body = await request_token(client, issued.credential.client_id, issued.secret_value)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    assert body["expires_in"] == 300


def test_at07_lifetime_is_read_from_the_environment() -> None:
    environ = {
        "PARTNER_API_SECRET_PEPPER": TEST_PEPPER.decode(),
        "PARTNER_API_KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY.decode(),
        "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS": "600",
    }
    assert Settings.from_env(environ).access_token_ttl_seconds == 600


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
async def test_at01_eddsa_and_rs256_are_selectable_and_verify_against_the_jwks(
    db: TortoiseContext, settings: Settings, algorithm: str
) -> None:
    chosen = replace(settings, signing_algorithm=algorithm)  # type: ignore[arg-type]
    row = await rotate_signing_key(
        algorithm=algorithm, key_encryption_key=settings.key_encryption_key, now=utcnow()
    )
    async with serving(chosen) as (_, client):
        token, ids = await partner_token(client)
        jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "at+jwt", "kid": row.kid}
    claims = jwt.decode(
        token,
        jwks_key(jwks, row.kid),
        algorithms=[algorithm],
        audience=settings.audience,
        issuer=settings.issuer,
    )
    assert claims["client_id"] == ids["client_id"]


# -- RS-01..05: verification refuses what is not exactly ours -----------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made(
    header: dict[str, Any], claims: dict[str, Any], signature: Callable[[bytes], bytes]
) -> str:
    """A compact JWS built without PyJWT, which refuses to produce some hostile tokens."""
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode()
    return signing_input.decode() + "." + b64url(signature(signing_input))


def hmac_signer(secret: bytes, digest: Callable[[], Any]) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(secret, data, digest).digest()


class Verifier:
    """The server, its active key, and the claims of a real token to tamper with."""

    def __init__(self, server: AuthorizationServer, claims: dict[str, Any]) -> None:
        self.server = server
        self.claims = claims

    @property
    def key(self) -> LoadedKey:
        active = self.server.key_ring.active
        assert active is not None
        return active

    def sign(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """The real token's claims with `claims` changed (None removes one), signed with our key."""
        payload = {**self.claims, **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        header = {"typ": "at+jwt", "kid": self.key.kid, **(headers or {})}
        if header["kid"] is None:
            del header["kid"]
        # A `typ` of None stays: PyJWT then leaves `typ` out (instead of writing "JWT").
        return jwt.encode(
            payload, self.key.private_key, algorithm=self.key.algorithm, headers=header
        )

    def verify(self, token: str) -> AccessTokenClaims:
        settings = self.server.settings
        return verify_access_token(
            token, key_ring=self.server.key_ring, issuer=settings.issuer, audience=settings.audience
        )

    async def assert_refused(self, token: str) -> None:
        with pytest.raises(InvalidAccessToken):
            self.verify(token)
        assert await self.server.check_access_token(token) is None

    async def assert_accepted(self, token: str) -> None:
        assert self.verify(token).jti == self.claims["jti"]
        checked = await self.server.check_access_token(token)
        assert checked is not None
        assert checked.client_id == self.claims["client_id"]


@pytest.fixture
async def verifier(app: Starlette, client: httpx.AsyncClient) -> Verifier:
    token, _ = await partner_token(client)
    server = authorization_server(app)
    await server.ensure_started()
    verifier = Verifier(server, jwt.decode(token, options={"verify_signature": False}))
    await verifier.assert_accepted(token)
    # The tampering itself must not be what breaks a token: re-signed unchanged, it is accepted.
    await verifier.assert_accepted(verifier.sign())
    return verifier


async def test_rs01_alg_none_is_refused(verifier: Verifier) -> None:
    """AT-01/RS-01: `alg: none` is never accepted, with an empty signature or any other."""
    header = {"alg": "none", "typ": "at+jwt", "kid": verifier.key.kid}
    await verifier.assert_refused(hand_made(header, verifier.claims, lambda _: b""))
    await verifier.assert_refused(hand_made(header, verifier.claims, lambda _: b"x"))


@pytest.mark.parametrize("secret_form", ["pem", "der", "jwk"])
async def test_rs01_hs256_signed_with_our_public_key_as_hmac_secret_is_refused(
    verifier: Verifier, secret_form: str
) -> None:
    """AT-01/RS-01: HMAC algorithms are never accepted, even keyed with our own public key in
    any of its forms (algorithm confusion)."""
    public = verifier.key.public_key
    secret = {
        "pem": lambda: public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": lambda: public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": lambda: json.dumps(verifier.key.jwk).encode(),
    }[secret_form]()
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        header = {"alg": alg, "typ": "at+jwt", "kid": verifier.key.kid}
        token = hand_made(header, verifier.claims, hmac_signer(secret, digest))
        await verifier.assert_refused(token)


@pytest.mark.parametrize("pointer", ["jwk", "jku", "x5u"])
@pytest.mark.parametrize("kid_is_ours", [True, False])
async def test_rs01_foreign_key_advertised_in_the_header_is_refused(
    verifier: Verifier, pointer: str, kid_is_ours: bool
) -> None:
    foreign = ec.generate_private_key(ec.SECP256R1())
    kid = verifier.key.kid if kid_is_ours else "attacker-key"
    foreign_jwk = {**ECAlgorithm.to_jwk(foreign.public_key(), as_dict=True), "kid": kid}
    advertised: dict[str, Any] = {
        "jwk": foreign_jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
    }
    token = jwt.encode(
        verifier.claims,
        foreign,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": kid, pointer: advertised[pointer]},
    )
    assert jwt.get_unverified_header(token)[pointer] == advertised[pointer]
    await verifier.assert_refused(token)


async def test_rs01_unknown_kid_is_refused(verifier: Verifier) -> None:
    await verifier.assert_refused(verifier.sign(headers={"kid": "not-a-key-of-ours"}))
    without_kid = verifier.sign(headers={"kid": None})
    assert "kid" not in jwt.get_unverified_header(without_kid)
    await verifier.assert_refused(without_kid)


@pytest.mark.parametrize(
    "critical",
    [
        {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
        {"crit": ["b64"], "b64": False},
        {"crit": ["exp"]},
    ],
)
async def test_rs01_unknown_critical_header_extension_is_refused(
    verifier: Verifier, critical: dict[str, Any]
) -> None:
    """RFC 7515 §4.1.11: a `crit` extension the verifier does not understand voids the token,
    even when the signature is ours."""
    key = verifier.key
    private_key = key.private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)

    def es256(data: bytes) -> bytes:
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    await verifier.assert_accepted(hand_made(header, verifier.claims, es256))
    await verifier.assert_refused(hand_made({**header, **critical}, verifier.claims, es256))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+JWT+x", "application/jwt", None])
async def test_rs02_typ_other_than_at_jwt_is_refused(verifier: Verifier, typ: str | None) -> None:
    token = verifier.sign(headers={"typ": typ})
    assert jwt.get_unverified_header(token).get("typ") == typ
    await verifier.assert_refused(token)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt"])
async def test_rs02_typ_at_jwt_and_its_media_type_are_accepted(
    verifier: Verifier, typ: str
) -> None:
    await verifier.assert_accepted(verifier.sign(headers={"typ": typ}))


@pytest.mark.parametrize(
    "issuer",
    ["https://evil.example", "http://127.0.0.1:8000/", "HTTP://127.0.0.1:8000", "", None],
)
async def test_rs03_issuer_must_match_exactly(verifier: Verifier, issuer: str | None) -> None:
    assert verifier.claims["iss"] == "http://127.0.0.1:8000"
    await verifier.assert_refused(verifier.sign(iss=issuer))


@pytest.mark.parametrize(
    "audience",
    [
        "https://other-api.example",
        ["https://other-api.example"],
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000/partner/v1/",
        [],
        None,
    ],
)
async def test_rs04_audience_without_ours_is_refused(verifier: Verifier, audience: Any) -> None:
    await verifier.assert_refused(verifier.sign(aud=audience))


async def test_rs04_audience_list_containing_ours_is_accepted(verifier: Verifier) -> None:
    ours = verifier.server.settings.audience
    await verifier.assert_accepted(verifier.sign(aud=["https://other-api.example", ours]))


@pytest.mark.parametrize("seconds_ago", [0, 10, 25])
async def test_rs05_expiry_within_the_30_second_leeway_is_accepted(
    verifier: Verifier, seconds_ago: int
) -> None:
    now = int(time.time())
    await verifier.assert_accepted(verifier.sign(iat=now - 900, exp=now - seconds_ago))


@pytest.mark.parametrize("seconds_ago", [40, 3600])
async def test_rs05_expiry_beyond_the_leeway_is_refused(
    verifier: Verifier, seconds_ago: int
) -> None:
    now = int(time.time())
    await verifier.assert_refused(verifier.sign(iat=now - 3600, exp=now - seconds_ago))


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "jti", "client_id", "scope"])
async def test_rs03_rs05_a_token_missing_a_required_claim_is_refused(
    verifier: Verifier, claim: str
) -> None:
    await verifier.assert_refused(verifier.sign(**{claim: None}))


async def test_rs01_tampered_payload_is_refused(verifier: Verifier) -> None:
    """A valid signature over other claims does not carry over (here: another organisation)."""
    header_b64, _, signature_b64 = verifier.sign().split(".")
    widened = {**verifier.claims, "organisation_id": str(UUID(int=1))}
    payload_b64 = b64url(json.dumps(widened).encode())
    await verifier.assert_refused(f"{header_b64}.{payload_b64}.{signature_b64}")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b.c.d.e", "Bearer x", "e30.e30.e30"])
async def test_rs01_garbage_is_refused_without_an_error(verifier: Verifier, garbage: str) -> None:
    await verifier.assert_refused(garbage)
