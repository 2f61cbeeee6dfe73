"""Public JWK Sets a PRIVATE_KEY_JWT credential signs its client assertions with (RFC 7517).

One parser for both doors a key set comes in by: an admin registering it (the message of
`JwksRejected` is shown to them) and a fetch from the credential's `jwks_uri`. What it accepts:

    {"keys": [1..10 keys]}, each key
        kty  EC (crv P-256) | OKP (crv Ed25519) | RSA (n >= 2048 bits); never oct
        kid  required, 1..200 printable ASCII characters, unique in the set
        alg  optional, defaulting per kty; one of ALLOWED_ALGORITHMS and fitting the kty
        use  optional, "sig" only
        d, p, q, dp, dq, qi, oth, k  refused: a public set holds no private member (PK-02)

Only the public members are kept (`PublicKey.jwk`), so nothing private can reach the database,
a log or an answer. Messages name the position of a key, never its material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ALLOWED_ALGORITHMS = ("ES256", "EdDSA", "RS256", "PS256")
DEFAULT_ALGORITHM = "ES256"
MAX_KEYS = 10
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_KID_LENGTH = 200
MIN_RSA_BITS = 2048
# Generous for a 16384-bit modulus in base64url; longer members are not keys we accept.
_MAX_MEMBER_LENGTH = 4096

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_ALGORITHMS_BY_KTY = {"EC": ("ES256",), "OKP": ("EdDSA",), "RSA": ("RS256", "PS256")}
_DEFAULT_BY_KTY = {"EC": "ES256", "OKP": "EdDSA", "RSA": "RS256"}
_CURVE_BY_KTY = {"EC": "P-256", "OKP": "Ed25519"}

VerificationKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey


class JwksRejected(ValueError):
    """The document is not a key set we accept; the message is safe to show to an admin."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    alg: str
    # The public members only (kty, crv, x, y, n, e, kid, alg, use): what is stored.
    jwk: dict[str, str]
    thumbprint: str  # RFC 7638 SHA-256, base64url
    key: VerificationKey = field(compare=False, repr=False)


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, without whitespace."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def parse_public_jwks(document: object) -> list[PublicKey]:
    """Validate a JWK Set given as bytes, text or an already parsed JSON value."""
    if isinstance(document, bytes | bytearray | memoryview | str):
        raw = document.encode() if isinstance(document, str) else bytes(document)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise JwksRejected(f"The key set is larger than {MAX_DOCUMENT_BYTES // 1024} KiB.")
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise JwksRejected("The key set is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksRejected('The key set must be a JSON object with a "keys" array.')
    entries: list[Any] = document["keys"]
    if not 1 <= len(entries) <= MAX_KEYS:
        raise JwksRejected(f"The key set must hold between 1 and {MAX_KEYS} keys.")
    keys = [_parse_key(entry, position) for position, entry in enumerate(entries, start=1)]
    kids = [key.kid for key in keys]
    if len(set(kids)) != len(kids):
        raise JwksRejected("Two keys in the set have the same kid.")
    return keys


def _parse_key(entry: object, position: int) -> PublicKey:
    where = f"Key {position}"
    if not isinstance(entry, dict):
        raise JwksRejected(f"{where} is not a JSON object.")
    # First, so a private key is always reported as such, whatever else is wrong with it (PK-02).
    if PRIVATE_MEMBERS.intersection(entry):
        raise JwksRejected(f"{where} contains private key material; register only the public key.")
    kty = entry.get("kty")
    if kty == "oct":
        raise JwksRejected(f"{where} is a symmetric (oct) key; only public keys are accepted.")
    if kty not in _ALGORITHMS_BY_KTY:
        raise JwksRejected(f"{where} has an unsupported kty; use EC, OKP or RSA.")
    kid = entry.get("kid")
    if not (
        isinstance(kid, str)
        and 1 <= len(kid) <= MAX_KID_LENGTH
        and kid.isascii()
        and kid.isprintable()
    ):
        raise JwksRejected(
            f"{where} needs a kid of 1 to {MAX_KID_LENGTH} printable ASCII characters."
        )
    alg = entry.get("alg", _DEFAULT_BY_KTY[kty])
    if alg not in ALLOWED_ALGORITHMS:
        raise JwksRejected(
            f"{where} has an alg that is not allowed; use one of {', '.join(ALLOWED_ALGORITHMS)}."
        )
    if alg not in _ALGORITHMS_BY_KTY[kty]:
        raise JwksRejected(f"{where} has an alg that does not fit its kty.")
    use = entry.get("use")
    if use is not None and use != "sig":
        raise JwksRejected(f'{where} has a use other than "sig".')
    public = _public_members(entry, kty, where)
    key = _load(public, kty, where)
    jwk = {**public, "kid": kid, "alg": alg}
    if use is not None:
        jwk["use"] = use
    return PublicKey(kid=kid, alg=alg, jwk=jwk, thumbprint=thumbprint(public), key=key)


def _public_members(entry: dict[str, Any], kty: str, where: str) -> dict[str, str]:
    names = _THUMBPRINT_MEMBERS[kty]
    public: dict[str, str] = {}
    for name in names:
        value = entry.get(name)
        if not (
            isinstance(value, str)
            and len(value) <= _MAX_MEMBER_LENGTH
            and _BASE64URL.fullmatch(value)
        ):
            raise JwksRejected(f'{where} is missing a valid "{name}" member.')
        public[name] = value
    expected_curve = _CURVE_BY_KTY.get(kty)
    if expected_curve is not None and public["crv"] != expected_curve:
        raise JwksRejected(f"{where} must use the curve {expected_curve} for kty {kty}.")
    return public


def _load(public: dict[str, str], kty: str, where: str) -> VerificationKey:
    try:
        if kty == "EC":
            key: object = ECAlgorithm.from_jwk(public)
        elif kty == "OKP":
            key = OKPAlgorithm.from_jwk(public)
        else:
            key = RSAAlgorithm.from_jwk(public)
    except Exception:  # any decoding failure means the same to the admin
        raise JwksRejected(f"{where} is not a valid {kty} public key.") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise JwksRejected(f"{where} is an RSA key shorter than {MIN_RSA_BITS} bits.")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key
    raise JwksRejected(f"{where} is not a valid {kty} public key.")
