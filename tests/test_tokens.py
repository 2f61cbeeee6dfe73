"""Formats of client IDs, client secrets and session tokens (SECURITY.md TE-21)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from auth import tokens
from auth.tokens import (
    BASE62,
    CLIENT_ID_RANDOM_LENGTH,
    CLIENT_SECRET_PATTERN,
    LOOKUP_LENGTH,
    SECRET_RANDOM_LENGTH,
    SESSION_TOKEN_PATTERN,
    client_secret_lookup_id,
    is_well_formed_session_token,
    new_client_id,
    new_client_secret,
    new_session_token,
)

URL_SAFE = re.compile(r"[0-9A-Za-z_]+")
DRAWS = 2000

CLIENT_ID_LENGTH = 4 + 22
CLIENT_SECRET_LENGTH = 4 + 12 + 43 + 6
SESSION_TOKEN_LENGTH = 4 + 43 + 6


def _secret_value() -> str:
    return new_client_secret().value


GENERATORS: list[tuple[str, Callable[[], str], str, int]] = [
    ("client_id", new_client_id, "pcl_", CLIENT_ID_LENGTH),
    ("client_secret", _secret_value, "pcs_", CLIENT_SECRET_LENGTH),
    ("session_token", new_session_token, "pas_", SESSION_TOKEN_LENGTH),
]


@pytest.mark.parametrize(
    ("generate", "prefix", "length"),
    [(generate, prefix, length) for _, generate, prefix, length in GENERATORS],
    ids=[name for name, *_ in GENERATORS],
)
def test_te21_values_have_prefix_fixed_length_and_url_safe_alphabet(
    generate: Callable[[], str], prefix: str, length: int
) -> None:
    values = [generate() for _ in range(DRAWS)]
    for value in values:
        assert value.startswith(prefix)
        assert len(value) == length
        assert URL_SAFE.fullmatch(value), value
        # The only underscore is the one ending the prefix.
        assert value.count("_") == 1
    assert len(set(values)) == DRAWS, "random values repeated"


def test_te21_secret_random_part_carries_at_least_256_bits() -> None:
    assert SECRET_RANDOM_LENGTH * math.log2(len(BASE62)) >= 256
    assert len(set(BASE62)) == 62
    # Client IDs are not secrets but must not be enumerable.
    assert CLIENT_ID_RANDOM_LENGTH * math.log2(62) >= 128


def _record_choices(monkeypatch: pytest.MonkeyPatch) -> list[Sequence[str]]:
    """Replace secrets.choice with a constant, recording the alphabets it was asked to draw from."""
    calls: list[Sequence[str]] = []

    def constant_choice(alphabet: Sequence[str]) -> str:
        calls.append(alphabet)
        return alphabet[0]

    monkeypatch.setattr("auth.tokens.secrets.choice", constant_choice)
    return calls


def test_te21_secrets_module_is_the_source_of_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_choices(monkeypatch)

    first, second = new_client_secret(), new_client_secret()
    assert first == second, "secrets did not come from secrets.choice"
    assert new_client_id() == new_client_id() == "pcl_" + "0" * CLIENT_ID_RANDOM_LENGTH
    assert new_session_token() == new_session_token()

    # Every random character of a secret is one CSPRNG draw from the 62-character alphabet.
    calls.clear()
    new_client_secret()
    assert len(calls) == LOOKUP_LENGTH + SECRET_RANDOM_LENGTH
    assert all(len(set(alphabet)) == 62 for alphabet in calls)
    calls.clear()
    new_session_token()
    assert len(calls) == SECRET_RANDOM_LENGTH


def test_lookup_id_and_hint_come_from_the_value() -> None:
    secret = new_client_secret()
    assert client_secret_lookup_id(secret.value) == secret.lookup_id
    assert secret.value[4 : 4 + LOOKUP_LENGTH] == secret.lookup_id
    assert secret.hint == secret.value[-4:]
    assert len(secret.hint) == 4


def _single_character_changes(value: str) -> list[str]:
    """Every value that differs from `value` in exactly one position (two replacements each)."""
    changed = []
    for index, character in enumerate(value):
        for replacement in ("a" if character != "a" else "b", "Z" if character != "Z" else "Y"):
            changed.append(value[:index] + replacement + value[index + 1 :])
    return changed


def test_checksum_rejects_every_single_character_change() -> None:
    value = new_client_secret().value
    for changed in _single_character_changes(value):
        assert client_secret_lookup_id(changed) is None, changed


def test_checksum_rejects_transposed_characters() -> None:
    value = new_client_secret().value
    for index in range(4, len(value) - 1):
        if value[index] == value[index + 1]:
            continue
        swapped = value[:index] + value[index + 1] + value[index] + value[index + 2 :]
        assert client_secret_lookup_id(swapped) is None, swapped


def test_truncated_extended_or_reprefixed_secret_is_rejected() -> None:
    value = new_client_secret().value
    body = value[4:]
    refused = [
        value[:-1],
        value[1:],
        value[: len(value) // 2],
        value + "a",
        "a" + value,
        value + " ",
        " " + value,
        "pas_" + body,
        "pcl_" + body,
        "PCS_" + body,
        "pcs-" + body,
        "pcs_" + body[:-1] + "=",
        "",
        "pcs_",
    ]
    for candidate in refused:
        assert client_secret_lookup_id(candidate) is None, candidate
    assert client_secret_lookup_id(value) is not None


def test_session_token_checksum_and_prefix() -> None:
    token = new_session_token()
    assert is_well_formed_session_token(token)
    for changed in _single_character_changes(token):
        assert not is_well_formed_session_token(changed), changed
    assert not is_well_formed_session_token(token[:-1])
    assert not is_well_formed_session_token(token + "a")
    # Secrets and session tokens are not interchangeable.
    secret = new_client_secret().value
    assert not is_well_formed_session_token(secret)
    assert client_secret_lookup_id(token) is None
    assert client_secret_lookup_id("pcs_" + token[4:]) is None


def test_scanner_regexes_find_values_in_text_and_ignore_client_ids() -> None:
    secret = new_client_secret().value
    token = new_session_token()
    client_id = new_client_id()
    for template in ("export CLIENT_SECRET={}\n", "'{}'", '{{"secret": "{}"}}', "x {}."):
        secret_text = template.format(secret)
        found = CLIENT_SECRET_PATTERN.search(secret_text)
        assert found is not None
        assert found.group() == secret
        token_text = template.format(token)
        found_token = SESSION_TOKEN_PATTERN.search(token_text)
        assert found_token is not None
        assert found_token.group() == token

    assert CLIENT_SECRET_PATTERN.search(f"client_id={client_id}") is None
    assert SESSION_TOKEN_PATTERN.search(f"client_id={client_id}") is None
    assert CLIENT_SECRET_PATTERN.search(token) is None
    assert SESSION_TOKEN_PATTERN.search(secret) is None
    # A longer run of base62 after a valid-looking value is not a match (word boundary).
    assert CLIENT_SECRET_PATTERN.search(secret + "abc") is None


def test_documented_scanner_regexes_are_the_ones_in_use() -> None:
    """Secret scanners are configured from the README; it must name the patterns in use."""
    doc = tokens.__doc__ or ""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert CLIENT_SECRET_PATTERN.pattern == r"\bpcs_[0-9A-Za-z]{61}\b"
    assert SESSION_TOKEN_PATTERN.pattern == r"\bpas_[0-9A-Za-z]{49}\b"
    assert CLIENT_SECRET_PATTERN.pattern in doc
    assert SESSION_TOKEN_PATTERN.pattern in doc
    assert CLIENT_SECRET_PATTERN.pattern in readme
    assert SESSION_TOKEN_PATTERN.pattern in readme
