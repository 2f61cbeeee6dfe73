"""Secrets from the environment: the client-secret peppers, the key-encryption keys, the metrics
token.

Each comes from `NAME` or from the file named by `NAME_FILE`, never from the repository
(SECURITY.md CR-08). `key_dir` None means production, which refuses to start without the key
material; development generates what is missing, once, in `key_dir`
(partner_api/foundation/development_keys.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from partner_api.foundation import development_keys
from partner_api.foundation.settings_reader import ConfigurationError, EnvironmentReader

MIN_PEPPER_BYTES = 32
# A production key with fewer distinct characters than this is a placeholder ("xxxx…", "0000…"),
# not random material: refused (CR-08). Random URL-safe keys of >= 32 characters have ~25.
MIN_DISTINCT_KEY_CHARACTERS = 10
MIN_METRICS_TOKEN_CHARACTERS = 16


def read_peppers(reader: EnvironmentReader, *, key_dir: Path | None) -> tuple[bytes, ...]:
    """The current pepper first, then the previous ones (they still verify older hashes)."""
    current = reader.secret("PARTNER_API_SECRET_PEPPER")
    previous = reader.secret("PARTNER_API_PREVIOUS_SECRET_PEPPERS") or ""
    if current is None:
        if key_dir is None:
            raise ConfigurationError(
                "PARTNER_API_SECRET_PEPPER (or PARTNER_API_SECRET_PEPPER_FILE) is required in "
                "production"
            )
        current = development_keys.read_or_generate(key_dir, development_keys.PEPPER_FILE)
    values = [current, *(part.strip() for part in previous.split(",") if part.strip())]
    encoded = tuple(value.encode("utf-8") for value in values)
    if any(len(value) < MIN_PEPPER_BYTES for value in encoded):
        raise ConfigurationError(
            f"secret peppers must be at least {MIN_PEPPER_BYTES} characters long"
        )
    _refuse_placeholder("PARTNER_API_SECRET_PEPPER", current, production=key_dir is None)
    return encoded


def read_key_encryption_key(reader: EnvironmentReader, *, key_dir: Path | None) -> bytes:
    """The key that encrypts signing keys at rest in the database
    (auth/partners/signing_keys.py)."""
    value = reader.secret("PARTNER_API_KEY_ENCRYPTION_KEY")
    if value is None:
        if key_dir is None:
            raise ConfigurationError(
                "PARTNER_API_KEY_ENCRYPTION_KEY (or PARTNER_API_KEY_ENCRYPTION_KEY_FILE) is "
                "required in production"
            )
        value = development_keys.read_or_generate(key_dir, development_keys.KEY_ENCRYPTION_KEY_FILE)
    if len(value) < MIN_PEPPER_BYTES:
        raise ConfigurationError(
            f"PARTNER_API_KEY_ENCRYPTION_KEY must be at least {MIN_PEPPER_BYTES} characters long"
        )
    _refuse_placeholder("PARTNER_API_KEY_ENCRYPTION_KEY", value, production=key_dir is None)
    return value.encode("utf-8")


def refuse_shared_key(key_encryption_key: bytes, peppers: tuple[bytes, ...]) -> None:
    """In production one leaked value must not open both the secret hashes and the signing keys."""
    if key_encryption_key in peppers:
        raise ConfigurationError(
            "PARTNER_API_KEY_ENCRYPTION_KEY must differ from the secret peppers"
        )


def read_previous_key_encryption_keys(reader: EnvironmentReader) -> tuple[bytes, ...]:
    """Older keys that still open stored signing keys until they are sealed with the current
    one (`partner-api reencrypt-signing-keys`)."""
    raw = reader.secret("PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS") or ""
    values = tuple(part.strip().encode("utf-8") for part in raw.split(",") if part.strip())
    if any(len(value) < MIN_PEPPER_BYTES for value in values):
        raise ConfigurationError(
            f"previous key-encryption keys must be at least {MIN_PEPPER_BYTES} characters long"
        )
    return values


def read_metrics_token(reader: EnvironmentReader) -> str | None:
    token = reader.secret("PARTNER_API_METRICS_TOKEN")
    if token is not None and len(token) < MIN_METRICS_TOKEN_CHARACTERS:
        raise ConfigurationError(
            f"PARTNER_API_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARACTERS} "
            "characters long"
        )
    return token


def _refuse_placeholder(name: str, value: str, *, production: bool) -> None:
    if production and len(set(value)) < MIN_DISTINCT_KEY_CHARACTERS:
        raise ConfigurationError(
            f"{name} looks like a placeholder, not random key material; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )


SigningAlgorithm = Literal["ES256", "EdDSA", "RS256"]
SIGNING_ALGORITHMS: tuple[SigningAlgorithm, ...] = ("ES256", "EdDSA", "RS256")


def read_signing_algorithm(
    reader: EnvironmentReader, default: SigningAlgorithm
) -> SigningAlgorithm:
    """The algorithm new access tokens are signed with, in any letter case."""
    wanted = reader.text("PARTNER_API_SIGNING_ALGORITHM", default)
    for algorithm in SIGNING_ALGORITHMS:
        if algorithm.lower() == wanted.lower():
            return algorithm
    raise ConfigurationError(
        f"PARTNER_API_SIGNING_ALGORITHM must be one of {', '.join(SIGNING_ALGORITHMS)}"
    )
