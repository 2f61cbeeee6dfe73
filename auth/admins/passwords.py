"""Admin passwords: argon2id (argon2-cffi defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import contextlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

# The parameters new hashes are made with. Each hash records its own parameters and is verified
# with them, so a deployment (or a test suite) that replaces this hasher keeps every stored hash
# verifiable.
hasher = PasswordHasher()


class WeakPasswordError(ValueError):
    pass


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    validate_password(password)
    return hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        # Refuse without hashing megabytes, but after the same work as a real check.
        verify_dummy_password()
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash(current: PasswordHasher) -> str:
    # Made with the hasher in use, so the dummy check costs what a real one does.
    return current.hash(secrets.token_urlsafe(32))


def verify_dummy_password() -> None:
    """Spend the time of one real verification, so an unknown e-mail is not faster (GQ-10)."""
    with contextlib.suppress(VerificationError):
        hasher.verify(_dummy_hash(hasher), "not the password")
