"""Compact JWS signing for access tokens, on the hot path of the token endpoint.

PyJWT produces the same tokens (and verifies ours in the tests and in `access_tokens`), but spends
about as long on its generic header handling as on the signature itself; this signer encodes the
protected header once per key and only serialises the claims and signs per token. Output is a
standard RFC 7515 compact serialisation: base64url(header).base64url(claims).base64url(signature),
with ECDSA signatures in the raw r||s form RFC 7518 §3.4 requires.
"""

from __future__ import annotations

import binascii
import json
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> bytes:
    """Unpadded base64url (RFC 7515 §2): `base64.urlsafe_b64encode` without its two Python-level
    wrappers, which cost as much as the encoding at three calls per token."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


# Three base64url segments; the classes exclude ".", so matching is linear in the length.
_COMPACT = re.compile(r"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# A segment of length 4n+2 ends in a character carrying 2 data bits and 4 unused ones, one of
# length 4n+3 in a character with 4 data bits and 2 unused; the encoder writes the unused bits 0.
_LAST_CHARACTERS = {
    2: frozenset(char for index, char in enumerate(_ALPHABET) if index & 0b1111 == 0),
    3: frozenset(char for index, char in enumerate(_ALPHABET) if index & 0b11 == 0),
}


def is_canonical_compact(token: str, *, max_length: int) -> bool:
    """True when `token` is at most `max_length` characters of three segments, each exactly as
    `b64url` writes some bytes (RFC 7515 §2: base64url without padding).

    Base64 decoders are lenient: they accept `=` padding, read `+` and `/` as `-` and `_`, skip
    characters outside the alphabet and ignore the unused low bits of the last character, so many
    strings decode to one signature. PyJWT 2.13 (the oldest release pyproject allows) does all of
    that; later releases still accept padding. Refusing every string but the one the signer
    wrote, whatever the library, gives a token one accepted form, and a verified-token cache
    keyed by the string cannot be filled with variants of one token, each costing a signature
    check. One regex match and a look at each segment's last character: linear, nothing decoded.
    """
    if len(token) > max_length:
        return False
    match = _COMPACT.fullmatch(token)
    if match is None:
        return False
    for segment in match.groups():
        remainder = len(segment) % 4
        if remainder == 1:
            return False  # 6 bits cannot end a byte
        if remainder and segment[-1] not in _LAST_CHARACTERS[remainder]:
            return False
    return True


class JwsSigner:
    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey,
        *,
        algorithm: str,
        header: dict[str, str],
    ) -> None:
        expected = {
            "ES256": ec.EllipticCurvePrivateKey,
            "EdDSA": ed25519.Ed25519PrivateKey,
            "RS256": rsa.RSAPrivateKey,
        }.get(algorithm)
        if expected is None or not isinstance(private_key, expected):
            raise ValueError(f"{algorithm} cannot sign with {type(private_key).__name__}")
        self._key = private_key
        self._algorithm = algorithm
        protected = {"alg": algorithm, **header}
        self._header = b64url(json.dumps(protected, separators=(",", ":")).encode())

    def _signature(self, signing_input: bytes) -> bytes:
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(signing_input)
        return key.sign(signing_input, _PKCS1, _SHA256)

    def sign_payload(self, payload: bytes) -> str:
        """Sign an already serialised JSON claims set."""
        signing_input = self._header + b"." + b64url(payload)
        return (signing_input + b"." + b64url(self._signature(signing_input))).decode("ascii")
