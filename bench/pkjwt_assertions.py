"""Key-based clients for the private_key_jwt benchmark (bench/token_pkjwt.py): seeding them, and
signing the client assertions (RFC 7523 §2.2) a wrk run hands out.

Each credential gets its own ES256 key pair, registered the way `createCredential` registers a
pasted JWK Set (partner_api/operations/client_key_registration.py: the same parser, the
`jwks` column and one CredentialKey row per key). Every assertion carries its own `jti`, which the
server spends, so one file of assertions serves one wrk run and is never reused.

Assertions are signed here with `cryptography` directly rather than `jwt.encode`: the result is
the same compact JWS (RFC 7515 §7.1, an ES256 signature as r‖s per RFC 7518 §3.4), about 2.5
times faster to make, and a run of 8 seconds needs tens of thousands of them.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm
from tortoise import Tortoise

from auth.partners.client_assertions import JWT_BEARER
from auth.partners.signing_keys import rotate_signing_key
from auth.tokens import new_client_id
from bench.common import KEK, POOL, add_credentials
from models.credential import Credential
from models.enums import AccessLevel, ClientAuthMethod
from models.organisation import Organisation
from partner_api.foundation.clock import utcnow
from partner_api.foundation.database import apply_migrations, tortoise_config
from partner_api.foundation.outbound_policy import OutboundPolicy
from partner_api.operations.client_key_registration import clean_registration, register_keys

# Under PARTNER_API_ASSERTION_MAX_SECONDS (300 by default, left as it is): a file is signed just
# before its run, and a run lasts seconds.
LIFETIME_SECONDS = 240
FORM_PREFIX = (
    "grant_type=client_credentials&client_assertion_type="
    + quote(JWT_BEARER, safe="")
    + "&client_assertion="
)
LUA = Path(__file__).resolve().parent / "pkjwt.lua"
_ES256 = ec.ECDSA(hashes.SHA256())


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass(frozen=True)
class KeyClient:
    """A PRIVATE_KEY_JWT credential's client ID and the private key only its partner holds."""

    client_id: str
    kid: str
    private: ec.EllipticCurvePrivateKey

    def jwks(self) -> dict[str, Any]:
        public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    @cached_property
    def _header(self) -> bytes:
        return _b64(orjson.dumps({"alg": "ES256", "kid": self.kid, "typ": "JWT"}))

    def assertion(self, audience: str, now: int) -> str:
        """A client assertion for `audience` with a new `jti` (RFC 7523 §3)."""
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        signing_input = self._header + b"." + _b64(orjson.dumps(claims))
        r, s = decode_dss_signature(self.private.sign(signing_input, _ES256))
        signature = _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return (signing_input + b"." + signature).decode()


def form_body(assertion: str) -> bytes:
    """The token request a key-based client sends (`application/x-www-form-urlencoded`)."""
    return (FORM_PREFIX + assertion).encode()


async def _add_key_credentials(organisation: Organisation, count: int) -> list[KeyClient]:
    clients: list[KeyClient] = []
    policy = OutboundPolicy(production=False)
    for index in range(count):
        client = KeyClient(
            new_client_id(), secrets.token_hex(6), ec.generate_private_key(ec.SECP256R1())
        )
        registration = clean_registration(
            ClientAuthMethod.PRIVATE_KEY_JWT, client.jwks(), None, policy
        )
        assert registration is not None
        credential = await Credential.create(
            organisation=organisation,
            name=f"Key integration {index}",
            contact_email="ops@partner.example",
            client_id=client.client_id,
            access_level=AccessLevel.FULL,
            scopes=[],
            ip_allowlist=[],
            **registration.columns(),
        )
        await register_keys(credential, registration)
        clients.append(client)
    return clients


async def seed(
    database_url: str, count: int, algorithm: str
) -> tuple[list[tuple[str, str]], list[KeyClient]]:
    """`count` secret-based and `count` key-based FULL credentials in one organisation; returns
    the first POOL of each, as (client_id, secret) and as `KeyClient`."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        organisation = await Organisation.create(name=f"Bench {secrets.token_hex(3)}")
        secret_pool = await add_credentials(organisation.id, count)
        key_clients = await _add_key_credentials(organisation, count)
        await rotate_signing_key(algorithm=algorithm, key_encryption_key=KEK.encode(), now=utcnow())
        return secret_pool, key_clients[:POOL]
    finally:
        await Tortoise.close_connections()


def write_assertions(path: Path, clients: list[KeyClient], count: int, audience: str) -> Path:
    """`count` assertions, one a line, the clients taking turns (as token/100's secrets do)."""
    now = int(time.time())
    with path.open("w") as file:
        for index in range(count):
            file.write(clients[index % len(clients)].assertion(audience, now) + "\n")
    return path


def wrk_script(assertions: Path) -> Path:
    """A script handing out `assertions` in order, one per request (bench/pkjwt.lua)."""
    script = assertions.with_suffix(".lua")
    script.write_text(
        f"assertions_file = {json.dumps(str(assertions))}\n"
        f"form_prefix = {json.dumps(FORM_PREFIX)}\n"
        f"dofile({json.dumps(str(LUA))})\n"
    )
    return script
