"""The start-up check that the configured keys are the ones the database belongs to (CR-10).

A wrong pepper fails silently: every client secret stops verifying and every partner gets
`invalid_client`. A wrong key-encryption key leaves the stored signing keys sealed, and a command
such as `rotate-signing-key` would seal a new one with it. So the database records a fingerprint
of each key, and every command that opens the database with key material compares it once:

    recorded fingerprint among the configured keys (current or previous)?
        yes -> start; the record follows the current key (a rotation moves it on)
        no  -> KeyMismatch, one line naming the setting; nothing is changed

The fingerprint is HMAC-SHA-256 under the key of a fixed label, truncated to 128 bits: equal for
equal keys, and without the key it reveals nothing about it. A database without a record is
either new (the first start records the configured keys) or older than the record: then what it
holds decides first - the pepper id inside the newest client-secret hash, whether the newest
signing key opens.

Callers hold `schema_lock` (partner_api/cli/commands.py), so processes starting together record
once.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from auth.partners.keyed_hash import KeyedHasher
from auth.partners.signing_keys import SigningKeyError, decrypt_private_key
from models.credential import CredentialSecret
from models.key_fingerprint import KeyFingerprint
from models.oauth import SigningKey
from partner_api.foundation import development_keys
from partner_api.foundation.settings import ConfigurationError, Settings

FINGERPRINT_HEX_DIGITS = 32


class KeyMismatch(ConfigurationError):
    """A configured key is not the one the database was created with (CR-10)."""


def fingerprint(key: bytes, *, kind: str) -> str:
    label = b"partner-api key fingerprint\x00" + kind.encode("ascii")
    return hmac.digest(key, label, "sha256").hex()[:FINGERPRINT_HEX_DIGITS]


# Whether the data already in the database was protected with one of the configured keys;
# None when it holds no such data.
Evidence = Callable[[tuple[bytes, ...]], Awaitable[bool | None]]


async def _pepper_evidence(peppers: tuple[bytes, ...]) -> bool | None:
    newest = await CredentialSecret.all().order_by("-created_at").first()
    return None if newest is None else KeyedHasher(peppers).recognises(newest.secret_hash)


async def _key_encryption_evidence(keys: tuple[bytes, ...]) -> bool | None:
    newest = await SigningKey.all().order_by("-created_at").first()
    if newest is None:
        return None
    try:
        decrypt_private_key(
            newest.encrypted_private_key,
            kid=newest.kid,
            key_encryption_key=keys[0],
            previous_keys=keys[1:],
        )
    except SigningKeyError:
        return False
    return True


@dataclass(frozen=True)
class _Key:
    kind: str
    setting: str
    previous_setting: str
    development_file: str
    # The current key first.
    configured: tuple[bytes, ...]
    consequence: str
    how_to_change: str
    evidence: Evidence

    def mismatch(self, development_key_dir: Path | None) -> KeyMismatch:
        where = (
            ""
            if development_key_dir is None
            else f" (in development an unset {self.setting} is read from "
            f"{development_key_dir / self.development_file})"
        )
        return KeyMismatch(
            f"{self.setting} does not match the key this database was created with, nor does "
            f"any of {self.previous_setting}: {self.consequence}. Set the original key{where}; "
            f"to change it, {self.how_to_change}"
        )


def _keys(settings: Settings) -> tuple[_Key, ...]:
    return (
        _Key(
            kind="secret_pepper",
            setting="PARTNER_API_SECRET_PEPPER",
            previous_setting="PARTNER_API_PREVIOUS_SECRET_PEPPERS",
            development_file=development_keys.PEPPER_FILE,
            configured=settings.secret_peppers,
            consequence="every client secret would be refused as invalid_client",
            how_to_change="set the new one and list the original in "
            "PARTNER_API_PREVIOUS_SECRET_PEPPERS",
            evidence=_pepper_evidence,
        ),
        _Key(
            kind="key_encryption_key",
            setting="PARTNER_API_KEY_ENCRYPTION_KEY",
            previous_setting="PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS",
            development_file=development_keys.KEY_ENCRYPTION_KEY_FILE,
            configured=(settings.key_encryption_key, *settings.previous_key_encryption_keys),
            consequence="the stored signing keys cannot be opened",
            how_to_change="set the new one, list the original in "
            "PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS and run `partner-api reencrypt-signing-keys`",
            evidence=_key_encryption_evidence,
        ),
    )


async def verify_key_material(settings: Settings) -> None:
    """Refuse keys the database was not created with; record or advance the fingerprints.

    Raises KeyMismatch before anything is written, so a refused start changes nothing.
    """
    keys = _keys(settings)
    changes: list[KeyFingerprint] = []
    for key in keys:
        current = fingerprint(key.configured[0], kind=key.kind)
        row = await KeyFingerprint.get_or_none(name=key.kind)
        if row is None:
            if await key.evidence(key.configured) is False:
                raise key.mismatch(settings.development_key_dir)
            changes.append(KeyFingerprint(name=key.kind, fingerprint=current))
        elif row.fingerprint != current:
            if row.fingerprint not in {fingerprint(k, kind=key.kind) for k in key.configured}:
                raise key.mismatch(settings.development_key_dir)
            row.fingerprint = current
            changes.append(row)
    for change in changes:
        await change.save()
