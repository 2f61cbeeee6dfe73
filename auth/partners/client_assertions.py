"""Verifying a private_key_jwt client assertion (RFC 7523 §2.2 and §3, RFC 7521 §4.2).

The checks run cheapest first, so a forged or malformed assertion costs at most one signature
check, and nothing is decoded before the length and shape are known to be bounded:

    length <= 8 KiB, three canonical base64url segments (auth/partners/jws.py)
    header and claims: flat JSON objects of bounded size ("nested JSON" refused)
    claims: iss = sub = the client ID, aud ours, exp/iat/nbf in range, jti present  (PK-01)
    key: by kid from the credential's set; header alg = the key's alg               (PK-02)
    signature: PyJWT with that key object and that one algorithm                    (PK-02)

The replay check (auth/partners/assertion_replay.py) runs after this, on verified assertions
only, so nobody can spend another client's `jti`. Every refusal is an `AssertionRefused` whose
reason goes to logs and metrics only; the client always gets the same `invalid_client` (PK-03).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jwt
import orjson

from auth.partners.client_keys import ALLOWED_ALGORITHMS, PublicKey
from auth.partners.jws import is_canonical_compact

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LENGTH = 8 * 1024
MAX_JTI_LENGTH = 200
LEEWAY_SECONDS = 30
# Header members we understand; `crit` is refused outright (RFC 7515 §4.1.11: a critical
# extension we do not implement makes the JWS invalid).
_HEADER_MEMBERS = frozenset({"alg", "kid", "typ", "cty"})
_JWS = jwt.PyJWS()


class AssertionRefused(Exception):
    """`reason` is one of the metric labels in partner_api/foundation/metrics.py."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClientAssertion(NamedTuple):
    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def client_id(self) -> str:
        return str(self.claims["sub"])

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def expires_at(self) -> float:
        return float(self.claims["exp"])


def parse_assertion(token: str) -> ClientAssertion:
    """Header and claims, decoded but not yet trusted; `bad_assertion` unless well formed."""
    if not is_canonical_compact(token, max_length=MAX_ASSERTION_LENGTH):
        raise AssertionRefused("bad_assertion")
    header_part, claims_part, _ = token.split(".")
    header = _flat_object(header_part)
    claims = _flat_object(claims_part, allow_list="aud")
    if not set(header) <= _HEADER_MEMBERS or not isinstance(header.get("alg"), str):
        raise AssertionRefused("bad_assertion")
    if "kid" in header and not isinstance(header["kid"], str):
        raise AssertionRefused("bad_assertion")
    for name in ("iss", "sub"):
        if not isinstance(claims.get(name), str):
            raise AssertionRefused("bad_assertion")
    return ClientAssertion(token, header, claims)


def _flat_object(segment: str, *, allow_list: str | None = None) -> dict[str, Any]:
    """A JSON object whose values are strings, numbers, booleans or null: nothing in a client
    assertion needs more, so depth and shape stay bounded whatever is sent. `allow_list` names
    the one member that may be a list of strings (`aud`, RFC 7519 §4.1.3)."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise AssertionRefused("bad_assertion") from None
    if not isinstance(value, dict):
        raise AssertionRefused("bad_assertion")
    for name, member in value.items():
        if isinstance(member, list) and name == allow_list:
            if not all(isinstance(item, str) for item in member):
                raise AssertionRefused("bad_assertion")
        elif isinstance(member, dict | list):
            raise AssertionRefused("bad_assertion")
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def check_claims(
    assertion: ClientAssertion,
    *,
    client_id: str,
    audiences: Sequence[str],
    now: float,
    max_seconds: int,
) -> None:
    """RFC 7523 §3, items 1-7 (PK-01)."""
    claims = assertion.claims
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise AssertionRefused("bad_assertion")
    # Item 3. Only our issuer or token endpoint, and every value must be one of them: a list
    # naming another server too is an assertion that server could replay here.
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not values or not all(v in audiences for v in values):
        raise AssertionRefused("bad_assertion")
    exp = _number(claims.get("exp"))
    if exp is None or exp + LEEWAY_SECONDS <= now or exp > now + max_seconds + LEEWAY_SECONDS:
        raise AssertionRefused("bad_assertion")
    for name in ("iat", "nbf"):
        if name in claims:
            moment = _number(claims[name])
            if moment is None or moment > now + LEEWAY_SECONDS:
                raise AssertionRefused("bad_assertion")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise AssertionRefused("bad_assertion")


def select_key(assertion: ClientAssertion, keys: Sequence[PublicKey]) -> PublicKey:
    """The key named by `kid`; with a one-key set, a missing `kid` means that key."""
    kid = assertion.header.get("kid")
    if kid is None:
        if len(keys) == 1:
            return keys[0]
        raise AssertionRefused("unknown_key")
    for key in keys:
        if key.kid == kid:
            return key
    raise AssertionRefused("unknown_key")


def verify_signature(assertion: ClientAssertion, key: PublicKey) -> None:
    """One signature check with the key's own algorithm only, so `none` and HS256 keyed with
    the public key can never pass (PK-02)."""
    alg = assertion.header["alg"]
    if alg not in ALLOWED_ALGORITHMS or alg != key.alg:
        raise AssertionRefused("bad_assertion")
    try:
        _JWS.decode_complete(assertion.token, key.key, algorithms=[key.alg])
    except jwt.PyJWTError:
        raise AssertionRefused("bad_assertion") from None
