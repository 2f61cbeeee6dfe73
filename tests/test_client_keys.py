"""Parsing registered or published public JWK Sets (auth/partners/client_keys.py; PK-02)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.partners.client_keys import JwksRejected, parse_public_jwks
from tests.key_clients import jwks, key_pair


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256", "PS256"])
def test_each_allowed_algorithm_parses_to_public_members_only(alg: str) -> None:
    pair = key_pair(alg)
    [key] = parse_public_jwks(jwks(pair))
    assert (key.kid, key.alg) == (pair.kid, alg)
    assert set(key.jwk) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
    assert len(key.thumbprint) == 43


def test_rfc7638_thumbprint_example() -> None:
    # RFC 7638 §3.1.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    [key] = parse_public_jwks({"keys": [{"kty": "RSA", "n": n, "e": "AQAB", "kid": "2011-04-29"}]})
    assert key.thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert key.alg == "RS256"


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_pk02_private_members_are_refused_without_echoing_them(member: str) -> None:
    entry: dict[str, Any] = key_pair("ES256").public_jwk()
    entry[member] = "c2VjcmV0LW1hdGVyaWFs"
    with pytest.raises(JwksRejected, match="private key material") as raised:
        parse_public_jwks({"keys": [entry]})
    assert "c2VjcmV0LW1hdGVyaWFs" not in str(raised.value)


def test_pk02_a_full_private_jwk_is_refused() -> None:
    entry = key_pair("RS256").private_jwk()
    with pytest.raises(JwksRejected, match="private key material") as raised:
        parse_public_jwks(json.dumps({"keys": [entry]}))
    assert entry["d"][:16] not in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alg": "none"}, "not allowed"),
        ({"alg": "HS256"}, "not allowed"),
        ({"alg": "RS256"}, "does not fit"),
        ({"use": "enc"}, "use"),
        ({"kid": ""}, "kid"),
        ({"kid": "x" * 201}, "kid"),
        ({"kid": "tab\there"}, "kid"),
        ({"crv": "P-384"}, "curve"),
        ({"x": "not base64!"}, "x"),
    ],
)
def test_bad_keys_are_refused(change: dict[str, str], message: str) -> None:
    entry = {**key_pair("ES256").public_jwk(), **change}
    with pytest.raises(JwksRejected, match=message):
        parse_public_jwks({"keys": [entry]})


def test_symmetric_short_rsa_duplicate_kids_and_bounds_are_refused() -> None:
    with pytest.raises(JwksRejected, match="symmetric"):
        parse_public_jwks({"keys": [{"kty": "oct", "kid": "a"}]})
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 (the key being refused)
    short = json.loads(RSAAlgorithm.to_jwk(weak.public_key()))
    with pytest.raises(JwksRejected, match="2048"):
        parse_public_jwks({"keys": [{**short, "kid": "short"}]})
    one = key_pair("ES256", kid="same")
    with pytest.raises(JwksRejected, match="same kid"):
        parse_public_jwks(jwks(one, key_pair("EdDSA", kid="same")))
    with pytest.raises(JwksRejected, match="between 1 and 10"):
        parse_public_jwks({"keys": []})
    with pytest.raises(JwksRejected, match="between 1 and 10"):
        parse_public_jwks(jwks(*[key_pair("EdDSA") for _ in range(11)]))
    with pytest.raises(JwksRejected, match="64 KiB"):
        parse_public_jwks(b"{" + b" " * 70_000 + b"}")
    with pytest.raises(JwksRejected, match="not valid JSON"):
        parse_public_jwks(b"[[[[")
    with pytest.raises(JwksRejected, match='"keys"'):
        parse_public_jwks({"keys": "nope"})
