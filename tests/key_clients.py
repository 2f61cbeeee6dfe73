"""Helpers for private_key_jwt tests: key pairs, key-based credential rows, signed assertions."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from auth.partners.client_assertions import JWT_BEARER
from auth.partners.client_keys import parse_public_jwks
from auth.tokens import new_client_id
from models.credential import Credential, CredentialKey
from models.enums import AccessLevel, ClientAuthMethod
from models.organisation import Organisation

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyPair:
    kid: str
    alg: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            text = ECAlgorithm.to_jwk(public)
        elif isinstance(public, ed25519.Ed25519PublicKey):
            text = OKPAlgorithm.to_jwk(public)
        else:
            text = RSAAlgorithm.to_jwk(public)
        return {**json.loads(text), "kid": self.kid, "alg": self.alg}

    def private_jwk(self) -> dict[str, Any]:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            text = ECAlgorithm.to_jwk(self.private)
        elif isinstance(self.private, ed25519.Ed25519PrivateKey):
            text = OKPAlgorithm.to_jwk(self.private)
        else:
            text = RSAAlgorithm.to_jwk(self.private)
        return {**json.loads(text), "kid": self.kid, "alg": self.alg}


def key_pair(alg: str = "ES256", *, kid: str | None = None) -> KeyPair:
    private: PrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair(kid=kid or uuid.uuid4().hex[:12], alg=alg, private=private)


def jwks(*pairs: KeyPair) -> dict[str, Any]:
    return {"keys": [pair.public_jwk() for pair in pairs]}


async def make_key_credential(
    *,
    organisation: Organisation,
    keys: tuple[KeyPair, ...] = (),
    jwks_uri: str | None = None,
    name: str = "Key client",
) -> Credential:
    """A PRIVATE_KEY_JWT credential row with its CredentialKey rows, written directly."""
    document = jwks(*keys) if keys else None
    credential = await Credential.create(
        organisation=organisation,
        name=name,
        contact_email="ops@partner.example",
        client_id=new_client_id(),
        access_level=AccessLevel.FULL,
        auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
        jwks=document,
        jwks_uri=jwks_uri,
    )
    for key in parse_public_jwks(document) if document else []:
        await CredentialKey.create(
            credential=credential, kid=key.kid, alg=key.alg, jwk=key.jwk, thumbprint=key.thumbprint
        )
    return credential


def assertion(
    pair: KeyPair,
    client_id: str,
    *,
    audience: str | list[str] = "http://127.0.0.1:8000/oauth/token",
    lifetime: int = 60,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(
        payload, pair.private, algorithm=pair.alg, headers={"kid": pair.kid, **(headers or {})}
    )


def assertion_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": token,
        **extra,
    }
