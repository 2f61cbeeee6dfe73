"""Access-token signing keys: generated here, stored encrypted in the database, shared by every
process, rotated with `partner-api rotate-signing-key` (SECURITY.md AT-01, AT-06).

Private keys are encrypted at rest with AES-256-GCM under a key derived from
PARTNER_API_KEY_ENCRYPTION_KEY (from the environment or a file, never the database). One key is
active; a retired key's public half stays in the JWKS, and keeps verifying, until every token it
signed has expired (retired_at + access-token lifetime + leeway); then it drops out.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from tortoise.transactions import in_transaction

from auth.partners import change_feed
from auth.partners.jws import JwsSigner
from models.oauth import ChangeKind, SigningKey

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

# Advisory-lock key serialising key rotations on PostgreSQL ("signkeys" as a big-endian int64).
ROTATION_LOCK_KEY = int.from_bytes(b"signkeys", "big") - 2**63

# Tokens are accepted this long past `exp` (RS-05); retired keys stay published this much longer.
VERIFICATION_LEEWAY = timedelta(seconds=30)


class SigningKeyError(Exception):
    """No usable signing key (e.g. production without a provisioned key)."""


def _open(value: str, *, kid: str, keys: Sequence[bytes]) -> bytes | None:
    version, _, payload = value.partition(":")
    if version != "v1":
        raise SigningKeyError(f"signing key {kid}: unknown encryption format")
    try:
        raw = base64.b64decode(payload, validate=True)
    except ValueError:
        raise SigningKeyError(f"signing key {kid}: malformed encrypted key") from None
    for key in keys:
        try:
            return _aead(key).decrypt(raw[:12], raw[12:], kid.encode())
        except InvalidTag:
            continue
    return None


def _aead(key_encryption_key: bytes) -> AESGCM:
    return AESGCM(hashlib.sha256(b"partner-api signing keys\x00" + key_encryption_key).digest())


def encrypt_private_key(key: PrivateKey, *, kid: str, key_encryption_key: bytes) -> str:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(12)
    sealed = _aead(key_encryption_key).encrypt(nonce, der, kid.encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt_private_key(
    value: str, *, kid: str, key_encryption_key: bytes, previous_keys: Sequence[bytes] = ()
) -> PrivateKey:
    """Open a stored key with the current key-encryption key, else with a previous one."""
    der = _open(value, kid=kid, keys=(key_encryption_key, *previous_keys))
    if der is None:
        raise SigningKeyError(
            f"signing key {kid} cannot be decrypted: wrong PARTNER_API_KEY_ENCRYPTION_KEY?"
        )
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise SigningKeyError(f"signing key {kid}: unsupported key type")
    return key


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise SigningKeyError(f"unsupported signing algorithm {algorithm}")


def public_jwk(public_key: PublicKey, *, kid: str, algorithm: str) -> dict[str, Any]:
    """The public members only (MD-05): no `d`, `p`, `q`, … ever leave the process."""
    jwk: dict[str, Any]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    # RFC 7517 §4.3: `use` and `key_ops` should not both appear; every key carries `use`.
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    algorithm: str
    private_key: PrivateKey
    public_key: PublicKey
    jwk: dict[str, Any]
    retired_at: datetime | None
    signer: JwsSigner


@dataclass(frozen=True)
class KeyRing:
    """The keys one process signs and verifies with; replaced whole when keys change."""

    active: LoadedKey | None
    published: tuple[LoadedKey, ...]

    def by_kid(self, kid: str) -> LoadedKey | None:
        for key in self.published:
            if key.kid == kid:
                return key
        return None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [key.jwk for key in self.published]}


def publication_cutoff(now: datetime, token_ttl: timedelta) -> datetime:
    """Keys retired before this moment signed no token that is still valid."""
    return now - token_ttl - VERIFICATION_LEEWAY


async def load_key_ring(
    *,
    key_encryption_key: bytes,
    token_ttl: timedelta,
    now: datetime,
    previous_key_encryption_keys: Sequence[bytes] = (),
) -> KeyRing:
    rows = await SigningKey.all().order_by("-created_at")
    cutoff = publication_cutoff(now, token_ttl)
    published: list[LoadedKey] = []
    active: LoadedKey | None = None
    for row in rows:
        if row.retired_at is not None and row.retired_at <= cutoff:
            continue
        private_key = decrypt_private_key(
            row.encrypted_private_key,
            kid=row.kid,
            key_encryption_key=key_encryption_key,
            previous_keys=previous_key_encryption_keys,
        )
        loaded = LoadedKey(
            kid=row.kid,
            algorithm=row.algorithm,
            private_key=private_key,
            public_key=private_key.public_key(),
            jwk={name: value for name, value in row.public_jwk.items() if name != "key_ops"},
            retired_at=row.retired_at,
            signer=JwsSigner(
                private_key, algorithm=row.algorithm, header={"typ": "at+jwt", "kid": row.kid}
            ),
        )
        published.append(loaded)
        if active is None and row.retired_at is None:
            active = loaded
    return KeyRing(active=active, published=tuple(published))


async def rotate_signing_key(
    *, algorithm: str, key_encryption_key: bytes, now: datetime
) -> SigningKey:
    """Create a new active key and retire the current one, in one transaction."""
    private_key = generate_private_key(algorithm)
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    async with in_transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            # Concurrent rotations would each retire only the keys their snapshot saw and leave
            # two active: serialise them (released at commit). SQLite serialises writers itself.
            await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [ROTATION_LOCK_KEY])
        await SigningKey.filter(retired_at__isnull=True).update(retired_at=now)
        row = await SigningKey.create(
            kid=kid,
            algorithm=algorithm,
            encrypted_private_key=encrypt_private_key(
                private_key, kid=kid, key_encryption_key=key_encryption_key
            ),
            public_jwk=public_jwk(private_key.public_key(), kid=kid, algorithm=algorithm),
        )
        await change_feed.publish(ChangeKind.SIGNING_KEYS_CHANGED)
    return row


async def reencrypt_signing_keys(
    *, key_encryption_key: bytes, previous_key_encryption_keys: Sequence[bytes]
) -> int:
    """Seal every stored key that a previous key-encryption key opens with the current one.

    One transaction; returns how many keys were re-sealed. Afterwards the previous keys can be
    dropped from the configuration. A key that no configured key opens stops the command.
    """
    changed = 0
    async with in_transaction():
        for row in await SigningKey.all().select_for_update():
            if (
                _open(row.encrypted_private_key, kid=row.kid, keys=(key_encryption_key,))
                is not None
            ):
                continue
            private_key = decrypt_private_key(
                row.encrypted_private_key,
                kid=row.kid,
                key_encryption_key=key_encryption_key,
                previous_keys=previous_key_encryption_keys,
            )
            row.encrypted_private_key = encrypt_private_key(
                private_key, kid=row.kid, key_encryption_key=key_encryption_key
            )
            await row.save(update_fields=["encrypted_private_key"])
            changed += 1
    return changed


async def ensure_signing_key(
    *, algorithm: str, key_encryption_key: bytes, now: datetime, create: bool
) -> None:
    """Make sure an active key exists; create one only when `create` (development)."""
    if await SigningKey.filter(retired_at__isnull=True).exists():
        return
    if not create:
        raise SigningKeyError(
            "no active signing key: run `partner-api rotate-signing-key` once to create one"
        )
    await rotate_signing_key(algorithm=algorithm, key_encryption_key=key_encryption_key, now=now)
