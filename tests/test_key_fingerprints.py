"""CR-10: keys that do not match the database stop start-up, naming the setting; rotations that
still hold the original key start. Also where development keeps the keys it generates.

The start-up check is called directly here (`verify_key_material`, what every command runs under
the schema lock); tests/test_key_fingerprints_cli.py runs it through the console script.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext

from auth.partners.key_fingerprints import KeyMismatch, verify_key_material
from auth.partners.keyed_hash import KeyedHasher
from auth.partners.signing_keys import rotate_signing_key
from models.key_fingerprint import KeyFingerprint
from partner_api.foundation.clock import utcnow
from partner_api.foundation.settings import Settings
from tests.helpers import TEST_KEY_ENCRYPTION_KEY, TEST_PEPPER, make_admin, make_credential

OTHER_PEPPER = b"another-pepper-Zq7wN2xK9vB4mT6yR1sD8fG3hJ5k"
OTHER_KEY_ENCRYPTION_KEY = b"another-kek-Hs8dF2gJ4kL6zX1cV3bN5mQ7wE9rT0y"


def keys(
    peppers: tuple[bytes, ...] = (TEST_PEPPER,),
    key_encryption_key: bytes = TEST_KEY_ENCRYPTION_KEY,
    previous_key_encryption_keys: tuple[bytes, ...] = (),
) -> Settings:
    return Settings(
        secret_peppers=peppers,
        key_encryption_key=key_encryption_key,
        previous_key_encryption_keys=previous_key_encryption_keys,
    )


async def refusal(settings: Settings) -> str:
    with pytest.raises(KeyMismatch) as raised:
        await verify_key_material(settings)
    message = str(raised.value)
    assert "\n" not in message, "the CLI prints it as one line"
    for key in (*settings.secret_peppers, settings.key_encryption_key):
        assert key.decode() not in message, "a key is never echoed"
    return message


async def recorded() -> dict[str, str]:
    return {row.name: row.fingerprint for row in await KeyFingerprint.all()}


async def test_cr10_first_start_records_fingerprints_and_the_same_keys_start_again(
    db: TortoiseContext,
) -> None:
    await verify_key_material(keys())
    first = await recorded()
    assert set(first) == {"secret_pepper", "key_encryption_key"}
    # An HMAC under the key: neither the key nor its plain hash is stored.
    for name, key in (
        ("secret_pepper", TEST_PEPPER),
        ("key_encryption_key", TEST_KEY_ENCRYPTION_KEY),
    ):
        assert len(first[name]) == 32
        assert key.decode() not in first[name]
        assert first[name] != hashlib.sha256(key).hexdigest()[:32]
    await verify_key_material(keys())
    assert await recorded() == first


async def test_cr10_a_different_pepper_stops_start_naming_partner_api_secret_pepper(
    db: TortoiseContext,
) -> None:
    await verify_key_material(keys())
    before = await recorded()
    message = await refusal(keys(peppers=(OTHER_PEPPER,)))
    assert message.startswith("PARTNER_API_SECRET_PEPPER does not match")
    assert "invalid_client" in message
    assert await recorded() == before, "a refused start changes nothing"


async def test_cr10_a_different_key_encryption_key_stops_start_naming_the_setting(
    db: TortoiseContext,
) -> None:
    await verify_key_material(keys())
    before = await recorded()
    message = await refusal(keys(key_encryption_key=OTHER_KEY_ENCRYPTION_KEY))
    assert message.startswith("PARTNER_API_KEY_ENCRYPTION_KEY does not match")
    assert "reencrypt-signing-keys" in message
    assert await recorded() == before


async def test_cr10_a_rotated_pepper_list_that_still_holds_the_original_starts(
    db: TortoiseContext,
) -> None:
    await verify_key_material(keys())
    await verify_key_material(keys(peppers=(OTHER_PEPPER, TEST_PEPPER)))
    # The record follows the current pepper: the new one alone starts from now on, and going
    # back to the original alone (secrets made since are hashed with the new one) is refused.
    await verify_key_material(keys(peppers=(OTHER_PEPPER,)))
    assert "PARTNER_API_SECRET_PEPPER" in await refusal(keys(peppers=(TEST_PEPPER,)))


async def test_cr10_key_encryption_key_rotation_with_the_original_as_previous_starts(
    db: TortoiseContext,
) -> None:
    await verify_key_material(keys())
    await verify_key_material(
        keys(
            key_encryption_key=OTHER_KEY_ENCRYPTION_KEY,
            previous_key_encryption_keys=(TEST_KEY_ENCRYPTION_KEY,),
        )
    )
    await verify_key_material(keys(key_encryption_key=OTHER_KEY_ENCRYPTION_KEY))


async def test_cr10_a_database_older_than_the_fingerprints_is_judged_by_its_data(
    db: TortoiseContext,
) -> None:
    """A database from before the fingerprints holds secret hashes and sealed signing keys:
    those decide, so the first start after the upgrade cannot record the wrong keys."""
    _, organisation, _ = await make_admin()
    await make_credential(organisation=organisation, hasher=KeyedHasher((TEST_PEPPER,)))
    await rotate_signing_key(
        algorithm="ES256", key_encryption_key=TEST_KEY_ENCRYPTION_KEY, now=utcnow()
    )
    assert await KeyFingerprint.all().count() == 0

    assert "PARTNER_API_SECRET_PEPPER" in await refusal(keys(peppers=(OTHER_PEPPER,)))
    assert "PARTNER_API_KEY_ENCRYPTION_KEY" in await refusal(
        keys(key_encryption_key=OTHER_KEY_ENCRYPTION_KEY)
    )
    assert await KeyFingerprint.all().count() == 0

    await verify_key_material(keys())
    assert set(await recorded()) == {"secret_pepper", "key_encryption_key"}


# -- where development keeps the keys it generates -----------------------------------------------


def test_cr10_development_keys_live_beside_the_sqlite_database_whatever_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "db" / "partner-api.sqlite3"
    environ = {"DATABASE_URL": f"sqlite://{database}", "HOME": str(tmp_path / "home")}
    loaded = []
    for directory in ("a", "b"):
        (tmp_path / directory).mkdir()
        monkeypatch.chdir(tmp_path / directory)
        loaded.append(Settings.from_env(environ))
    first, second = loaded
    assert second.secret_peppers == first.secret_peppers
    assert second.key_encryption_key == first.key_encryption_key
    assert first.development_key_dir == database.parent
    assert (database.parent / "secret-pepper").is_file()
    assert (database.parent / "key-encryption-key").is_file()
    assert not (tmp_path / "a" / "var").exists()


def test_cr10_development_keys_for_postgres_live_in_the_per_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    postgres = {"DATABASE_URL": "postgres://app@db.internal:5432/partner_api"}
    home = Settings.from_env({**postgres, "HOME": str(tmp_path / "home")})
    assert home.development_key_dir == tmp_path / "home" / ".local" / "share" / "partner-api"
    assert (home.development_key_dir / "secret-pepper").is_file()

    xdg = Settings.from_env({**postgres, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert xdg.development_key_dir == tmp_path / "xdg" / "partner-api"
    assert xdg.secret_peppers != home.secret_peppers

    explicit = Settings.from_env({**postgres, "PARTNER_API_DATA_DIR": str(tmp_path / "data")})
    assert explicit.development_key_dir == tmp_path / "data"
    assert (tmp_path / "data" / "key-encryption-key").is_file()
    assert not (tmp_path / "var").exists()


def test_cr10_production_has_no_development_key_directory() -> None:
    settings = Settings.from_env(
        {
            "PARTNER_API_ENV": "production",
            "PARTNER_API_ISSUER": "https://partners.example.com",
            "PARTNER_API_SECRET_PEPPER": "pepper-Zq7wN2xK9vB4mT6yR1sD8fG3hJ5kL0pA",
            "PARTNER_API_KEY_ENCRYPTION_KEY": "kek-Hs8dF2gJ4kL6zX1cV3bN5mQ7wE9rT0yU",
        }
    )
    assert settings.development_key_dir is None
