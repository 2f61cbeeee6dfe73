"""Formats of the random values we hand out: client IDs, client secrets, admin session tokens and
admin API tokens.

Every value is `<prefix>_<base62 body>`: a URL-safe alphabet only (TE-21), a fixed prefix that
secret scanners can match, and, for secrets, a CRC-32 checksum so a mistyped or truncated value
is rejected before any database lookup.

    client ID      pcl_ + 22 random                      (131 bits; not a secret, not enumerable)
    client secret  pcs_ + 12 lookup + 43 random + 6 crc  (the random part carries 256 bits)
    session token  pas_ + 43 random + 6 crc              (admin sessions)
    API token      pat_ + 12 lookup + 43 random + 6 crc  (admin automation; built like a secret)

The lookup part names the secret's own database row, so verifying a secret (or an API token) is
one indexed lookup plus one keyed-hash comparison. Scanner regexes: `\\bpcs_[0-9A-Za-z]{61}\\b`,
`\\bpas_[0-9A-Za-z]{49}\\b`, `\\bpat_[0-9A-Za-z]{61}\\b`.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CLIENT_ID_PREFIX = "pcl_"
CLIENT_SECRET_PREFIX = "pcs_"  # noqa: S105 (a public prefix, not a secret)
SESSION_TOKEN_PREFIX = "pas_"  # noqa: S105 (a public prefix, not a secret)
API_TOKEN_PREFIX = "pat_"  # noqa: S105 (a public prefix, not a secret)

CLIENT_ID_RANDOM_LENGTH = 22
LOOKUP_LENGTH = 12
# 43 base62 characters carry 43 * log2(62) = 256.03 bits (TE-21: at least 256).
SECRET_RANDOM_LENGTH = 43
CHECKSUM_LENGTH = 6
SECRET_BODY_LENGTH = LOOKUP_LENGTH + SECRET_RANDOM_LENGTH + CHECKSUM_LENGTH
SESSION_BODY_LENGTH = SECRET_RANDOM_LENGTH + CHECKSUM_LENGTH

CLIENT_SECRET_PATTERN = re.compile(
    rf"\b{CLIENT_SECRET_PREFIX}[0-9A-Za-z]{{{SECRET_BODY_LENGTH}}}\b"
)
SESSION_TOKEN_PATTERN = re.compile(
    rf"\b{SESSION_TOKEN_PREFIX}[0-9A-Za-z]{{{SESSION_BODY_LENGTH}}}\b"
)
API_TOKEN_PATTERN = re.compile(rf"\b{API_TOKEN_PREFIX}[0-9A-Za-z]{{{SECRET_BODY_LENGTH}}}\b")


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _encode_checksum(value: str) -> str:
    number = zlib.crc32(value.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def _with_checksum(prefix: str, body: str) -> str:
    return prefix + body + _encode_checksum(prefix + body)


def _checked_body(value: str, prefix: str, body_length: int) -> str | None:
    """The body without its checksum, or None when the value is not well-formed."""
    if len(value) != len(prefix) + body_length or not value.startswith(prefix):
        return None
    body = value[len(prefix) :]
    if not (body.isascii() and body.isalnum()):  # [0-9A-Za-z] only, without a regex
        return None
    payload, checksum = body[:-CHECKSUM_LENGTH], body[-CHECKSUM_LENGTH:]
    if not secrets.compare_digest(_encode_checksum(prefix + payload), checksum):
        return None
    return payload


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + random_base62(CLIENT_ID_RANDOM_LENGTH)


@dataclass(frozen=True)
class NewSecret:
    value: str
    lookup_id: str

    @property
    def hint(self) -> str:
        return self.value[-4:]


def _new_looked_up_secret(prefix: str) -> NewSecret:
    lookup_id = random_base62(LOOKUP_LENGTH)
    value = _with_checksum(prefix, lookup_id + random_base62(SECRET_RANDOM_LENGTH))
    return NewSecret(value=value, lookup_id=lookup_id)


def _lookup_id(value: str, prefix: str) -> str | None:
    payload = _checked_body(value, prefix, SECRET_BODY_LENGTH)
    return None if payload is None else payload[:LOOKUP_LENGTH]


def new_client_secret() -> NewSecret:
    return _new_looked_up_secret(CLIENT_SECRET_PREFIX)


def client_secret_lookup_id(value: str) -> str | None:
    """The lookup part of a well-formed client secret; None for anything else (no DB lookup)."""
    return _lookup_id(value, CLIENT_SECRET_PREFIX)


def new_api_token() -> NewSecret:
    """An admin API token (PT-01): a client secret's generation and checksum, its own prefix."""
    return _new_looked_up_secret(API_TOKEN_PREFIX)


def api_token_lookup_id(value: str) -> str | None:
    """The lookup part of a well-formed API token; None for anything else (no DB lookup)."""
    return _lookup_id(value, API_TOKEN_PREFIX)


def new_session_token() -> str:
    return _with_checksum(SESSION_TOKEN_PREFIX, random_base62(SECRET_RANDOM_LENGTH))


def is_well_formed_session_token(value: str) -> bool:
    return _checked_body(value, SESSION_TOKEN_PREFIX, SESSION_BODY_LENGTH) is not None
