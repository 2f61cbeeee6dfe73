"""Values kept recoverable but never in the clear: sealed with AES-256-GCM under a key derived from
the key-encryption key (`PARTNER_API_KEY_ENCRYPTION_KEY`) and the value's purpose, so a value
sealed for one purpose cannot be opened as another. Stored as `v1:<base64(nonce | sealed)>`.

Used for webhook signing secrets, which Standard Webhooks signs with directly and so cannot be
hashed like client secrets (WH-01).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class SealError(Exception):
    """A sealed value that none of the configured keys opens, or that is malformed."""


def _aead(key_encryption_key: bytes, purpose: bytes) -> AESGCM:
    return AESGCM(hashlib.sha256(b"partner-api " + purpose + b"\x00" + key_encryption_key).digest())


def seal(value: bytes, *, purpose: bytes, bound_to: bytes, key_encryption_key: bytes) -> str:
    """`value` sealed for `purpose`, bound to `bound_to` (e.g. the row id) as associated data, so
    a sealed value copied onto another row does not open."""
    nonce = os.urandom(12)
    sealed = _aead(key_encryption_key, purpose).encrypt(nonce, value, bound_to)
    return f"{_VERSION}:" + base64.b64encode(nonce + sealed).decode("ascii")


def open_sealed(stored: str, *, purpose: bytes, bound_to: bytes, keys: Sequence[bytes]) -> bytes:
    """The value, opened with the first of `keys` (current, then previous) that fits."""
    version, _, payload = stored.partition(":")
    if version != _VERSION:
        raise SealError("unknown sealing format")
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise SealError("malformed sealed value") from None
    for key in keys:
        try:
            return _aead(key, purpose).decrypt(raw[:12], raw[12:], bound_to)
        except InvalidTag:
            continue
    raise SealError("no configured key-encryption key opens this value")
