"""Platform sign-in: admin JWTs from the platform's identity provider.

A local test issuer generates RSA and EC keys, signs tokens with PyJWT and serves its JWKS from a
real HTTP server on a loopback port, so the authenticator fetches keys exactly as it would from
Keycloak or Auth0. Tests go through the real app and GraphQL unless they need to move the clock
(JWKS caching), where they call the authenticator itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.requests import HTTPConnection
from tortoise.context import TortoiseContext

from auth.admins.passwords import verify_password
from auth.admins.platform_identity import PlatformAuthenticator
from auth.admins.platform_keys import UNKNOWN_KID_REFETCH_SECONDS
from models.admin import AdminUser, Membership
from models.enums import Role
from models.organisation import Organisation
from partner_api.foundation.settings import ConfigurationError, PlatformSignIn, Settings
from partner_api.web.app import create_app
from tests.helpers import (
    PASSWORD,
    TEST_KEY_ENCRYPTION_KEY,
    TEST_PEPPER,
    admin_token,
    create_via_graphql,
    gql,
    login,
    make_admin,
    make_credential,
    operation,
)

ISSUER = "https://idp.test.example/realms/platform"
AUDIENCE = "partner-api-admin"
ORGANISATION = "Acme Tickets"
EMAIL = "jo.platform@acme.example"
ROLE_MAP = (("platform-admin", "ADMIN"), ("support", "VIEWER"))

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Keys:
    rsa_key: rsa.RSAPrivateKey
    rsa_next: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    attacker: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Generated once per module: RSA key generation is the slow part of these tests."""
    return Keys(
        rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa_next=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_key=ec.generate_private_key(ec.SECP256R1()),
        attacker=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def public_jwk(key: PrivateKey, kid: str, algorithm: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        document = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        document = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**document, "kid": kid, "alg": algorithm, "use": "sig"}


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made(
    header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """A compact JWS built without PyJWT, for tokens PyJWT refuses to make."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    return signing_input + "." + b64url(sign(signing_input.encode("ascii")))


@dataclass
class LocalIssuer:
    """A tiny identity provider: signs tokens, serves its JWKS over real HTTP, counts fetches."""

    keys: Keys
    published: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    # Served instead of the JWKS when set: a broken provider.
    raw_body: bytes | None = None
    fetches: int = 0
    port: int = 0

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": [AUDIENCE, "account"],
            "sub": "f3c1a0de-user",
            "email": "Jo.Platform@Acme.example",
            "email_verified": True,
            "org": ORGANISATION,
            "role": "ADMIN",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        *,
        key: PrivateKey | None = None,
        kid: str | None = "rsa-1",
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token; `claim=None` leaves a default claim out."""
        extra = dict(headers or {})
        if kid is not None:
            extra["kid"] = kid
        return jwt.encode(
            self.claims(**claims), key or self.keys.rsa_key, algorithm=algorithm, headers=extra
        )


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches += 1
            body = issuer.raw_body or json.dumps({"keys": issuer.published}).encode()
            self.send_response(issuer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return JwksHandler


@pytest.fixture
def issuer(keys: Keys) -> Iterator[LocalIssuer]:
    local = LocalIssuer(
        keys=keys,
        published=[
            public_jwk(keys.rsa_key, "rsa-1", "RS256"),
            public_jwk(keys.ec_key, "ec-1", "ES256"),
        ],
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(local))
    local.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield local
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def platform_config(issuer: LocalIssuer, **overrides: Any) -> PlatformSignIn:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_url": issuer.jwks_url,
        "role_map": ROLE_MAP,
        **overrides,
    }
    return PlatformSignIn(**values)


@pytest.fixture
def settings(issuer: LocalIssuer) -> Settings:
    """Overrides conftest's `settings`: platform sign-in on, with the local issuer's JWKS."""
    return Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        token_reuse_seconds=0,
        platform=platform_config(issuer),
    )


@asynccontextmanager
async def client_with(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a separately configured app on the test's database."""
    transport = httpx.ASGITransport(app=create_app(settings, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def viewer(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    return await gql(client, operation("Viewer"), token=token)


def assert_unauthenticated(body: dict[str, Any]) -> None:
    assert body.get("data") is None, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def make_organisation(name: str = ORGANISATION) -> Organisation:
    organisation, _ = await Organisation.get_or_create(name=name)
    return organisation


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(token: str) -> HTTPConnection:
    return HTTPConnection(
        {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}
    )


# --- Signing in ---------------------------------------------------------------------------------


async def test_platform_token_signs_in_with_mapped_email_organisation_and_role(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    organisation = await make_organisation()

    body = await viewer(client, issuer.mint())

    assert "errors" not in body, body
    seen = body["data"]["viewer"]
    assert seen["user"] == {"email": EMAIL}  # normalised to lower case
    assert seen["organisation"]["id"] == str(organisation.id)
    assert seen["organisation"]["name"] == ORGANISATION
    assert seen["role"] == "ADMIN"


async def test_ec_signed_token_from_the_jwks_signs_in(
    client: httpx.AsyncClient, issuer: LocalIssuer, keys: Keys
) -> None:
    await make_organisation()
    token = issuer.mint(key=keys.ec_key, kid="ec-1", algorithm="ES256", role="DEVELOPER")

    body = await viewer(client, token)

    assert body["data"]["viewer"]["role"] == "DEVELOPER", body


async def test_cr07_platform_admin_lists_only_its_own_organisations_credentials(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    ours = await make_organisation()
    theirs = await make_organisation("Other Org")
    mine = await make_credential(organisation=ours, name="Ours")
    foreign = await make_credential(organisation=theirs, name="Theirs")
    token = issuer.mint()

    listed = await gql(client, operation("Credentials"), {"first": 10}, token=token)
    fetched = await gql(
        client, operation("Credential"), {"id": str(foreign.credential.id)}, token=token
    )

    names = [edge["node"]["name"] for edge in listed["data"]["credentials"]["edges"]]
    assert names == ["Ours"], listed
    assert listed["data"]["credentials"]["edges"][0]["node"]["id"] == str(mine.credential.id)
    assert fetched["data"]["credential"] is None, fetched


async def test_platform_admin_creates_a_credential_recorded_as_the_tokens_person(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    await make_organisation()

    result = await create_via_graphql(client, issuer.mint())

    assert result["__typename"] == "CredentialCreated", result
    assert result["credential"]["createdBy"] == {"email": EMAIL}


async def test_cr09_viewer_role_from_the_token_cannot_create_credentials(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    await make_organisation()

    result = await create_via_graphql(client, issuer.mint(role="VIEWER"))

    assert result["__typename"] == "PermissionDenied", result


@pytest.mark.parametrize(
    ("role_claim", "expected"),
    [
        ("platform-admin", "ADMIN"),  # role_map
        ("support", "VIEWER"),  # role_map
        ("developer", "DEVELOPER"),  # our own role name, any case
        ("Owner", "OWNER"),
        (["offline_access", "support", "platform-admin"], "ADMIN"),  # strongest known role wins
    ],
)
async def test_role_claim_is_mapped_to_our_role(
    client: httpx.AsyncClient, issuer: LocalIssuer, role_claim: object, expected: str
) -> None:
    await make_organisation()

    body = await viewer(client, issuer.mint(role=role_claim))

    assert body["data"]["viewer"]["role"] == expected, body


async def test_first_sign_in_provisions_a_user_whose_password_never_verifies(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    organisation = await make_organisation()

    await viewer(client, issuer.mint())

    user = await AdminUser.get(email=EMAIL)
    membership = await Membership.get(user=user, organisation=organisation)
    assert membership.role is Role.ADMIN
    assert user.password_hash.startswith("$argon2id$")
    for guess in ("", PASSWORD, user.password_hash):
        assert not verify_password(user.password_hash, guess)
    refused = await gql(client, operation("Login"), {"email": EMAIL, "password": PASSWORD})
    assert refused["data"]["login"]["__typename"] == "InvalidLogin", refused


async def test_membership_role_follows_the_tokens_role(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    organisation = await make_organisation()
    await viewer(client, issuer.mint(role="ADMIN"))

    body = await viewer(client, issuer.mint(role="VIEWER"))

    assert body["data"]["viewer"]["role"] == "VIEWER", body
    memberships = await Membership.filter(organisation=organisation)
    assert [membership.role for membership in memberships] == [Role.VIEWER]
    assert await AdminUser.filter(email=EMAIL).count() == 1


async def test_existing_builtin_account_is_the_same_person_with_the_tokens_role(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    """An e-mail with a built-in account: same user, password kept, membership upserted."""
    user, organisation, _ = await make_admin(email=EMAIL, role=Role.OWNER)
    await make_organisation("Beta Events")

    same_org = await viewer(client, issuer.mint(role="VIEWER"))
    other_org = await viewer(client, issuer.mint(org="Beta Events", role="ADMIN"))

    assert same_org["data"]["viewer"]["role"] == "VIEWER", same_org
    assert other_org["data"]["viewer"]["organisation"]["name"] == "Beta Events", other_org
    assert await AdminUser.filter(email=EMAIL).count() == 1
    roles = {
        membership.organisation.name: membership.role
        for membership in await Membership.filter(user=user).select_related("organisation")
    }
    assert roles == {ORGANISATION: Role.VIEWER, "Beta Events": Role.ADMIN}
    # The built-in login still works, and opens the oldest membership with its current role.
    session = await login(client, email=EMAIL)
    body = await viewer(client, session)
    assert body["data"]["viewer"]["organisation"]["id"] == str(organisation.id)
    assert body["data"]["viewer"]["role"] == "VIEWER"


async def test_concurrent_first_sign_ins_provision_one_user(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    await make_organisation()
    token = issuer.mint()

    bodies = await asyncio.gather(*(viewer(client, token) for _ in range(5)))

    assert all(body["data"]["viewer"]["user"]["email"] == EMAIL for body in bodies), bodies
    assert await AdminUser.filter(email=EMAIL).count() == 1
    assert await Membership.filter(user__email=EMAIL).count() == 1


async def test_logout_is_a_no_op_for_a_platform_identity(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    await make_organisation()
    token = issuer.mint()

    body = await gql(client, operation("Logout"), token=token)

    assert body["data"]["logout"] is False, body
    assert (await viewer(client, token))["data"]["viewer"]["role"] == "ADMIN"


async def test_thirty_seconds_of_clock_skew_are_tolerated(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    """The provider's clock may run a little apart from ours: exp/nbf/iat get 30 s of leeway."""
    await make_organisation()
    now = int(time.time())

    just_expired = await viewer(client, issuer.mint(iat=now - 300, exp=now - 20))
    almost_valid = await viewer(client, issuer.mint(iat=now + 20, nbf=now + 20))

    assert just_expired["data"]["viewer"]["role"] == "ADMIN", just_expired
    assert almost_valid["data"]["viewer"]["role"] == "ADMIN", almost_valid


async def test_organisation_matched_by_id(issuer: LocalIssuer, db: TortoiseContext) -> None:
    organisation = await make_organisation()
    settings = Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        platform=platform_config(issuer, organisation_match="id"),
    )
    async with client_with(settings) as client:
        by_id = await viewer(client, issuer.mint(org=str(organisation.id)))
        by_name = await viewer(client, issuer.mint(org=ORGANISATION))
        not_an_id = await viewer(client, issuer.mint(org="12345"))

    assert by_id["data"]["viewer"]["organisation"]["name"] == ORGANISATION, by_id
    assert_unauthenticated(by_name)
    assert_unauthenticated(not_an_id)


# --- Refusals -----------------------------------------------------------------------------------


def _wrong_issuer(issuer: LocalIssuer) -> str:
    return issuer.mint(iss=ISSUER + "/other")


def _issuer_prefix(issuer: LocalIssuer) -> str:
    return issuer.mint(iss=ISSUER.rsplit("/", 1)[0])


def _wrong_audience(issuer: LocalIssuer) -> str:
    return issuer.mint(aud=["account", "another-service"])


def _no_audience(issuer: LocalIssuer) -> str:
    return issuer.mint(aud=None)


def _expired(issuer: LocalIssuer) -> str:
    now = int(time.time())
    return issuer.mint(iat=now - 600, exp=now - 31)  # beyond the 30 s leeway


def _no_expiry(issuer: LocalIssuer) -> str:
    return issuer.mint(exp=None)


def _not_yet_valid(issuer: LocalIssuer) -> str:
    return issuer.mint(nbf=int(time.time()) + 120)


def _issued_in_the_future(issuer: LocalIssuer) -> str:
    return issuer.mint(iat=int(time.time()) + 120)


def _bad_signature(issuer: LocalIssuer) -> str:
    return issuer.mint(key=issuer.keys.attacker)  # claims to be rsa-1


def _tampered_payload(issuer: LocalIssuer) -> str:
    header, _, signature = issuer.mint(role="VIEWER").split(".")
    payload = b64url(json.dumps(issuer.claims(role="OWNER")).encode())
    return f"{header}.{payload}.{signature}"


def _unknown_kid(issuer: LocalIssuer) -> str:
    return issuer.mint(kid="rsa-unknown")


def _no_kid(issuer: LocalIssuer) -> str:
    return issuer.mint(kid=None)


def _key_of_another_family(issuer: LocalIssuer) -> str:
    return issuer.mint(key=issuer.keys.rsa_key, kid="ec-1")  # RS256 against the EC key's kid


def _alg_none(issuer: LocalIssuer) -> str:
    return hand_made({"alg": "none", "kid": "rsa-1"}, issuer.claims(), lambda _: b"")


def _hs256_with_public_key(issuer: LocalIssuer) -> str:
    secret = public_pem(issuer.keys.rsa_key).encode()
    return hand_made(
        {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"},
        issuer.claims(),
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )


def _attacker_jku_and_jwk_headers(issuer: LocalIssuer) -> str:
    attacker = issuer.keys.attacker
    return issuer.mint(
        key=attacker,
        kid="attacker",
        headers={
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "jwk": public_jwk(attacker, "attacker", "RS256"),
        },
    )


def _unknown_organisation(issuer: LocalIssuer) -> str:
    return issuer.mint(org="Nobody Ltd")


def _two_organisations(issuer: LocalIssuer) -> str:
    return issuer.mint(org=[ORGANISATION, "Other Org"])


def _unknown_role(issuer: LocalIssuer) -> str:
    return issuer.mint(role="superuser")


def _only_unknown_roles(issuer: LocalIssuer) -> str:
    return issuer.mint(role=["offline_access", "uma_authorization"])


def _missing_email(issuer: LocalIssuer) -> str:
    return issuer.mint(email=None)


def _not_an_email(issuer: LocalIssuer) -> str:
    return issuer.mint(email="jo at acme")


def _unverified_email(issuer: LocalIssuer) -> str:
    return issuer.mint(email_verified=False)


def _garbage(issuer: LocalIssuer) -> str:
    return "not.a.jwt"


REFUSED_TOKENS = [
    _wrong_issuer,
    _issuer_prefix,
    _wrong_audience,
    _no_audience,
    _expired,
    _no_expiry,
    _not_yet_valid,
    _issued_in_the_future,
    _bad_signature,
    _tampered_payload,
    _unknown_kid,
    _no_kid,
    _key_of_another_family,
    _alg_none,
    _hs256_with_public_key,
    _attacker_jku_and_jwk_headers,
    _unknown_organisation,
    _two_organisations,
    _unknown_role,
    _only_unknown_roles,
    _missing_email,
    _not_an_email,
    _unverified_email,
    _garbage,
]


@pytest.mark.parametrize("make_token", REFUSED_TOKENS, ids=lambda make: make.__name__[1:])
async def test_at01_rs01_refused_platform_tokens_are_unauthenticated(
    client: httpx.AsyncClient,
    issuer: LocalIssuer,
    make_token: Callable[[LocalIssuer], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Wrong iss/aud, expiry, nbf/iat, signature, alg none, HS256 with the public key, unknown
    kid, attacker jku/x5u/jwk headers (RS-01), unknown organisation or role, bad e-mail: all
    anonymous, each logged at INFO with a reason."""
    await make_organisation()
    await make_organisation("Other Org")
    token = make_token(issuer)
    caplog.set_level(logging.INFO, logger="partner_api.platform_sign_in")

    body = await viewer(client, token)

    assert_unauthenticated(body)
    assert "platform sign-in refused" in caplog.text
    assert await AdminUser.filter(email=EMAIL).count() == 0


async def test_tokens_never_appear_in_logs(
    client: httpx.AsyncClient, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """LG-02: not the whole token, and not its signature, on success or on any refusal."""
    await make_organisation()
    caplog.set_level(logging.DEBUG)
    tokens = [issuer.mint(), *(make(issuer) for make in REFUSED_TOKENS)]

    for token in tokens:
        await viewer(client, token)

    assert "platform sign-in refused" in caplog.text
    for token in tokens:
        signature = token.rsplit(".", 1)[1]
        assert token not in caplog.text
        assert len(signature) < 8 or signature not in caplog.text


# --- Built-in logins and the switch -------------------------------------------------------------


async def test_builtin_login_still_works_with_platform_sign_in_on(
    client: httpx.AsyncClient, issuer: LocalIssuer
) -> None:
    token = await admin_token(client, role=Role.DEVELOPER)

    body = await viewer(client, token)

    assert body["data"]["viewer"]["role"] == "DEVELOPER", body
    assert body["data"]["viewer"]["user"]["email"] == "admin@acme.example"
    assert issuer.fetches == 0  # a session token never reaches the platform authenticator


async def test_platform_off_ignores_platform_jwts(issuer: LocalIssuer, db: TortoiseContext) -> None:
    await make_organisation()
    settings = Settings(secret_peppers=(TEST_PEPPER,), key_encryption_key=TEST_KEY_ENCRYPTION_KEY)
    assert settings.platform is None

    async with client_with(settings) as client:
        body = await viewer(client, issuer.mint())

    assert_unauthenticated(body)
    assert issuer.fetches == 0
    assert await AdminUser.filter(email=EMAIL).count() == 0


# --- PEM key mode -------------------------------------------------------------------------------


async def test_pem_key_mode_verifies_with_the_configured_key_only(
    issuer: LocalIssuer, keys: Keys, db: TortoiseContext
) -> None:
    await make_organisation()
    settings = Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        platform=PlatformSignIn(
            issuer=ISSUER, audience=AUDIENCE, public_key=public_pem(keys.ec_key)
        ),
    )

    async with client_with(settings) as client:
        accepted = await viewer(client, issuer.mint(key=keys.ec_key, algorithm="ES256", kid=None))
        other_key = await viewer(client, issuer.mint(key=keys.rsa_key, algorithm="RS256"))
        hs256 = await viewer(
            client,
            hand_made(
                {"alg": "HS256"},
                issuer.claims(),
                lambda data: hmac.new(
                    public_pem(keys.ec_key).encode(), data, hashlib.sha256
                ).digest(),
            ),
        )

    assert accepted["data"]["viewer"]["user"]["email"] == EMAIL, accepted
    assert_unauthenticated(other_key)
    assert_unauthenticated(hs256)
    assert issuer.fetches == 0


def test_pem_key_that_cannot_verify_the_allowed_algorithms_refuses_to_start(keys: Keys) -> None:
    settings = Settings(
        secret_peppers=(TEST_PEPPER,),
        key_encryption_key=TEST_KEY_ENCRYPTION_KEY,
        platform=PlatformSignIn(
            issuer=ISSUER,
            audience=AUDIENCE,
            public_key=public_pem(keys.ec_key),
            algorithms=("RS256",),
        ),
    )
    with pytest.raises(ConfigurationError, match="PUBLIC_KEY"):
        create_app(settings, manage_database=False)


# --- The JWKS cache -----------------------------------------------------------------------------


async def test_jwks_key_rotation_fetches_the_new_kid_once(
    issuer: LocalIssuer, keys: Keys, db: TortoiseContext
) -> None:
    await make_organisation()
    clock = FakeClock()
    authenticator = PlatformAuthenticator(platform_config(issuer), clock=clock)
    assert await authenticator.authenticate(bearer(issuer.mint())) is not None
    assert issuer.fetches == 1

    # The provider rotates: a new key appears in its JWKS and signs new tokens.
    issuer.published.append(public_jwk(keys.rsa_next, "rsa-2", "RS256"))
    clock.advance(UNKNOWN_KID_REFETCH_SECONDS)
    rotated = issuer.mint(key=keys.rsa_next, kid="rsa-2")
    for _ in range(3):
        identity = await authenticator.authenticate(bearer(rotated))
        assert identity is not None
        assert identity.email == EMAIL
    assert await authenticator.authenticate(bearer(issuer.mint())) is not None
    assert issuer.fetches == 2


async def test_unknown_kids_do_not_refetch_on_every_request(
    issuer: LocalIssuer, db: TortoiseContext
) -> None:
    await make_organisation()
    clock = FakeClock()
    authenticator = PlatformAuthenticator(platform_config(issuer), clock=clock)
    assert await authenticator.authenticate(bearer(issuer.mint())) is not None

    for number in range(20):
        clock.advance(1)
        assert (
            await authenticator.authenticate(bearer(issuer.mint(kid=f"made-up-{number}"))) is None
        )

    assert issuer.fetches == 1  # all within the refetch floor of the first fetch
    clock.advance(UNKNOWN_KID_REFETCH_SECONDS)
    for number in range(5):
        assert await authenticator.authenticate(bearer(issuer.mint(kid=f"later-{number}"))) is None
    assert issuer.fetches == 2  # one refetch per floor, however many unknown kids arrive


async def test_jwks_cache_expires_and_a_removed_key_stops_verifying(
    issuer: LocalIssuer, db: TortoiseContext
) -> None:
    await make_organisation()
    clock = FakeClock()
    config = platform_config(issuer, jwks_cache_seconds=60)
    authenticator = PlatformAuthenticator(config, clock=clock)
    token = issuer.mint()
    assert await authenticator.authenticate(bearer(token)) is not None

    issuer.published = [jwk for jwk in issuer.published if jwk["kid"] != "rsa-1"]
    clock.advance(30)
    assert await authenticator.authenticate(bearer(token)) is not None  # still cached
    clock.advance(31)
    assert await authenticator.authenticate(bearer(token)) is None
    assert issuer.fetches == 2


async def test_jwks_endpoint_down_refuses(
    client: httpx.AsyncClient, issuer: LocalIssuer, db: TortoiseContext
) -> None:
    await make_organisation()
    issuer.status = 500

    body = await viewer(client, issuer.mint())

    assert_unauthenticated(body)
    assert issuer.fetches == 1


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b'{"keys": "none"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["not-json", "no-key-list", "absurdly-nested"],
)
async def test_broken_jwks_document_refuses(
    client: httpx.AsyncClient, issuer: LocalIssuer, body: bytes
) -> None:
    await make_organisation()
    issuer.raw_body = body

    assert_unauthenticated(await viewer(client, issuer.mint()))


async def test_jwks_unreachable_refuses(issuer: LocalIssuer, db: TortoiseContext) -> None:
    await make_organisation()
    unreachable = "http://127.0.0.1:9/.well-known/jwks.json"  # discard port: nothing listens
    authenticator = PlatformAuthenticator(platform_config(issuer, jwks_url=unreachable))

    assert await authenticator.authenticate(bearer(issuer.mint())) is None


async def test_failed_refresh_never_falls_back_to_expired_keys(
    issuer: LocalIssuer, db: TortoiseContext
) -> None:
    """Once the cache has expired, a provider outage refuses every token, and the provider is
    asked again only after a short back-off, not on every request."""
    await make_organisation()
    clock = FakeClock()
    authenticator = PlatformAuthenticator(platform_config(issuer), clock=clock)
    token = issuer.mint()
    assert await authenticator.authenticate(bearer(token)) is not None

    issuer.status = 503
    clock.advance(300)
    for _ in range(10):
        assert await authenticator.authenticate(bearer(token)) is None
    assert issuer.fetches == 2

    issuer.status = 200
    clock.advance(5)
    assert await authenticator.authenticate(bearer(token)) is not None
    assert issuer.fetches == 3


async def test_jwks_keys_without_allowed_algorithms_are_ignored(
    issuer: LocalIssuer, keys: Keys, db: TortoiseContext
) -> None:
    """An `oct` (HMAC) key or a key marked for encryption in the JWKS never verifies a token."""
    await make_organisation()
    secret = b"shared-secret-that-must-not-work-0123456789"
    issuer.published = [
        {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": b64url(secret)},
        {**public_jwk(keys.rsa_key, "enc-1", "RS256"), "use": "enc"},
    ]
    authenticator = PlatformAuthenticator(platform_config(issuer))
    hmac_token = jwt.encode(issuer.claims(), secret, algorithm="HS256", headers={"kid": "hmac"})

    assert await authenticator.authenticate(bearer(hmac_token)) is None
    assert await authenticator.authenticate(bearer(issuer.mint(kid="enc-1"))) is None


# --- Settings: PARTNER_API_PLATFORM_* -----------------------------------------------------------

PEPPER = "p" * 16 + "0123456789abcdef0123"
KEY_ENCRYPTION_KEY = "kek-" + "abcdefghijklmnopqrstuvwxyz0123456789"
PRODUCTION = {
    "PARTNER_API_ENV": "production",
    "PARTNER_API_ISSUER": "https://partners.example.com",
    "PARTNER_API_SECRET_PEPPER": "Zq3-aB7cD1eF9gH2iJ8kL3mN6oP0qR4sT5uV",
    "PARTNER_API_KEY_ENCRYPTION_KEY": "Kx9_wY2zA8bC4dE6fG1hI3jK5lM7nO9pQ0rS",
}
PLATFORM = {
    "PARTNER_API_PLATFORM_ISSUER": ISSUER,
    "PARTNER_API_PLATFORM_AUDIENCE": AUDIENCE,
    "PARTNER_API_PLATFORM_JWKS_URL": "https://idp.test.example/jwks",
}


def load(environ: dict[str, str]) -> Settings:
    return Settings.from_env(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            **environ,
        }
    )


def test_platform_sign_in_is_off_unless_an_issuer_is_set() -> None:
    assert load({}).platform is None
    assert load({"PARTNER_API_PLATFORM_AUDIENCE": AUDIENCE}).platform is None


def test_platform_settings_defaults() -> None:
    platform = load(PLATFORM).platform

    assert platform == PlatformSignIn(
        issuer=ISSUER, audience=AUDIENCE, jwks_url="https://idp.test.example/jwks"
    )
    assert platform.algorithms == ("RS256", "ES256")
    assert (platform.email_claim, platform.organisation_claim, platform.role_claim) == (
        "email",
        "org",
        "role",
    )
    assert platform.organisation_match == "name"
    assert platform.jwks_cache_seconds == 300


def test_platform_settings_every_option(tmp_path: Any) -> None:
    pem_file = tmp_path / "idp.pem"
    pem_file.write_text("-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n")
    platform = load(
        {
            "PARTNER_API_PLATFORM_ISSUER": ISSUER,
            "PARTNER_API_PLATFORM_AUDIENCE": AUDIENCE,
            "PARTNER_API_PLATFORM_PUBLIC_KEY_FILE": str(pem_file),
            "PARTNER_API_PLATFORM_ALGORITHMS": "ES256, EdDSA",
            "PARTNER_API_PLATFORM_EMAIL_CLAIM": "upn",
            "PARTNER_API_PLATFORM_ORGANISATION_CLAIM": "https://platform.example/org_id",
            "PARTNER_API_PLATFORM_ORGANISATION_MATCH": "id",
            "PARTNER_API_PLATFORM_ROLE_CLAIM": "https://platform.example/roles",
            "PARTNER_API_PLATFORM_ROLE_MAP": "platform-admin=admin, support = viewer",
            "PARTNER_API_PLATFORM_JWKS_CACHE_SECONDS": "60",
        }
    ).platform

    assert platform is not None
    assert platform.public_key is not None
    assert platform.public_key.startswith("-----BEGIN")
    assert platform.jwks_url is None
    assert platform.algorithms == ("ES256", "EdDSA")
    assert platform.email_claim == "upn"
    assert platform.organisation_claim == "https://platform.example/org_id"
    assert platform.organisation_match == "id"
    assert platform.role_claim == "https://platform.example/roles"
    assert platform.role_map == (("platform-admin", "ADMIN"), ("support", "VIEWER"))
    assert platform.jwks_cache_seconds == 60


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PARTNER_API_PLATFORM_AUDIENCE": ""}, "AUDIENCE is required"),
        ({"PARTNER_API_PLATFORM_JWKS_URL": ""}, "exactly one of"),
        (
            {"PARTNER_API_PLATFORM_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nx\n"},
            "exactly one of",
        ),
        (
            {"PARTNER_API_PLATFORM_JWKS_URL": "", "PARTNER_API_PLATFORM_PUBLIC_KEY": "ssh-rsa AAA"},
            "PEM public key",
        ),
        ({"PARTNER_API_PLATFORM_ALGORITHMS": "HS256"}, "asymmetric"),
        ({"PARTNER_API_PLATFORM_ALGORITHMS": "none"}, "asymmetric"),
        ({"PARTNER_API_PLATFORM_ALGORITHMS": "RS256,HS512"}, "asymmetric"),
        ({"PARTNER_API_PLATFORM_ALGORITHMS": " , "}, "asymmetric"),
        ({"PARTNER_API_PLATFORM_ROLE_MAP": "platform-admin"}, "ROLE_MAP"),
        ({"PARTNER_API_PLATFORM_ROLE_MAP": "platform-admin=ROOT"}, "ROLE_MAP"),
        ({"PARTNER_API_PLATFORM_ORGANISATION_MATCH": "slug"}, "ORGANISATION_MATCH"),
        ({"PARTNER_API_PLATFORM_JWKS_CACHE_SECONDS": "1"}, "at least 10"),
    ],
)
def test_platform_settings_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load({**PLATFORM, **environ})


def test_http_jwks_url_is_refused_in_production_only() -> None:
    plain = {**PLATFORM, "PARTNER_API_PLATFORM_JWKS_URL": "http://idp.internal/jwks"}

    with pytest.raises(ConfigurationError, match="https:// in production"):
        Settings.from_env({**PRODUCTION, **plain})
    production = Settings.from_env({**PRODUCTION, **PLATFORM}).platform
    assert production is not None
    assert production.jwks_url == "https://idp.test.example/jwks"
    development = load(plain).platform
    assert development is not None
    assert development.jwks_url == "http://idp.internal/jwks"


def test_settings_hold_a_platform_config_that_replace_can_switch_off(issuer: LocalIssuer) -> None:
    settings = Settings(platform=platform_config(issuer))
    assert replace(settings, platform=None).platform is None
