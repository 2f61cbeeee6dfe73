"""Versioned keyed hashes of client secrets (SECURITY.md CR-03, CR-04)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

import pytest

from auth.partners.keyed_hash import KeyedHasher
from auth.tokens import new_client_secret

PEPPER = b"pepper-one-0123456789abcdefghijklmnopqrstuvwxyz"
OLD_PEPPER = b"pepper-old-0123456789abcdefghijklmnopqrstuvwxyz"
OTHER_PEPPER = b"pepper-xxx-0123456789abcdefghijklmnopqrstuvwxyz"

STORED_FORMAT = re.compile(r"v1\$[0-9a-f]{8}\$[A-Za-z0-9_-]{43}")


def test_cr03_stored_format_is_versioned_with_pepper_id() -> None:
    hasher = KeyedHasher((PEPPER,))
    secret = new_client_secret().value
    stored = hasher.hash(secret)
    assert STORED_FORMAT.fullmatch(stored), stored
    assert secret not in stored
    # Deterministic for one pepper (verification is a recomputation), different across peppers.
    assert hasher.hash(secret) == stored
    assert KeyedHasher((OTHER_PEPPER,)).hash(secret) != stored
    # Different peppers get different ids.
    assert stored.split("$")[1] != KeyedHasher((OTHER_PEPPER,)).hash(secret).split("$")[1]


def test_cr03_digest_is_hmac_sha256_with_the_pepper() -> None:
    """The digest is a keyed HMAC, not a bare hash an attacker with the database could compute."""
    secret = new_client_secret().value
    stored = KeyedHasher((PEPPER,)).hash(secret)
    digest = stored.split("$")[2]
    expected = hmac.new(PEPPER, secret.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(digest + "=") == expected
    assert base64.urlsafe_b64decode(digest + "=") != hashlib.sha256(secret.encode()).digest()


def test_cr03_matches_only_the_hashed_value() -> None:
    hasher = KeyedHasher((PEPPER,))
    secret = new_client_secret().value
    stored = hasher.hash(secret)
    assert hasher.matches(secret, stored)
    assert not hasher.matches(new_client_secret().value, stored)
    assert not hasher.matches(secret[:-1], stored)
    assert not hasher.matches(secret + "a", stored)
    assert not hasher.matches("", stored)
    # The stored hash itself is not a password for itself.
    assert not hasher.matches(stored, stored)


def test_cr03_old_pepper_still_verifies_during_rotation_and_needs_rehash() -> None:
    secret = new_client_secret().value
    old_stored = KeyedHasher((OLD_PEPPER,)).hash(secret)

    rotated = KeyedHasher((PEPPER, OLD_PEPPER))
    assert rotated.matches(secret, old_stored)
    assert not rotated.matches(new_client_secret().value, old_stored)
    assert rotated.needs_rehash(old_stored)

    fresh = rotated.hash(secret)
    assert fresh != old_stored
    assert fresh.split("$")[1] == KeyedHasher((PEPPER,)).hash(secret).split("$")[1]
    assert rotated.matches(secret, fresh)
    assert not rotated.needs_rehash(fresh)


def test_cr03_hash_from_unknown_pepper_never_matches() -> None:
    secret = new_client_secret().value
    foreign = KeyedHasher((OTHER_PEPPER,)).hash(secret)
    hasher = KeyedHasher((PEPPER, OLD_PEPPER))
    assert not hasher.matches(secret, foreign)
    assert hasher.needs_rehash(foreign)


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda stored: "v2" + stored[2:],
        lambda stored: "V1" + stored[2:],
        lambda stored: stored[3:],
        lambda stored: stored.replace("$", ":"),
        lambda stored: stored.split("$")[2],
        lambda stored: "",
    ],
    ids=["v2", "uppercase-version", "no-version", "wrong-separator", "bare-digest", "empty"],
)
def test_cr03_unknown_version_or_format_never_matches(rewrite: Callable[[str], str]) -> None:
    hasher = KeyedHasher((PEPPER,))
    secret = new_client_secret().value
    stored = hasher.hash(secret)
    assert not hasher.matches(secret, rewrite(stored))
    assert hasher.needs_rehash(rewrite(stored))


def test_at_least_one_pepper_is_required() -> None:
    with pytest.raises(ValueError, match="pepper"):
        KeyedHasher(())


def test_cr04_comparison_uses_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[object, object]] = []
    real_compare = hmac.compare_digest

    def recording_compare(a: object, b: object) -> bool:
        compared.append((a, b))
        return real_compare(a, b)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr("auth.partners.keyed_hash.hmac.compare_digest", recording_compare)
    hasher = KeyedHasher((PEPPER,))
    secret = new_client_secret().value
    stored = hasher.hash(secret)

    assert hasher.matches(secret, stored)
    assert len(compared) == 1
    assert compared[0][1] == stored.split("$")[2]

    assert not hasher.matches(new_client_secret().value, stored)
    assert len(compared) == 2
