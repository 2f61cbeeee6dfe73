"""Configuration from the environment (PRODUCT.md §3.4, SECURITY.md CR-08, GQ-02/03).

Every test passes its own environ mapping; none reads the real environment.
"""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest

from partner_api.foundation.settings import ConfigurationError, Settings

PEPPER = "p" * 16 + "0123456789abcdef0123"  # 36 characters
OLD_PEPPER = "o" * 40


KEY_ENCRYPTION_KEY = "kek-" + "abcdefghijklmnopqrstuvwxyz0123456789"


def _load(environ: dict[str, str]) -> Settings:
    """Settings from `environ`; the signing-key encryption key and an https issuer (which
    production requires) are given unless the test sets them."""
    defaults = {"PARTNER_API_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY}
    if environ.get("PARTNER_API_ENV") == "production":
        defaults["PARTNER_API_ISSUER"] = "https://partners.example.com"
    return Settings.from_env({**defaults, **environ})


def test_development_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = _load({"PARTNER_API_SECRET_PEPPER": PEPPER})
    assert settings.env == "development"
    assert not settings.production
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite://var/partner-api.sqlite3"
    assert settings.redis_url is None
    assert settings.graphiql is True
    assert settings.introspection is True
    assert settings.trusted_proxies == ()
    assert settings.secret_peppers == (PEPPER.encode(),)
    assert settings.page_size_max == 100
    # A pepper was configured, so nothing was generated on disk.
    assert list(tmp_path.iterdir()) == []


def test_issuer_urls_are_derived_and_trailing_slash_is_stripped() -> None:
    settings = _load(
        {"PARTNER_API_SECRET_PEPPER": PEPPER, "PARTNER_API_ISSUER": "https://api.example.com/"}
    )
    assert settings.issuer == "https://api.example.com"
    assert settings.documentation_url == "https://api.example.com/docs"
    assert settings.token_endpoint == "https://api.example.com/oauth/token"
    assert settings.jwks_uri == "https://api.example.com/.well-known/jwks.json"

    default = _load({"PARTNER_API_SECRET_PEPPER": PEPPER})
    assert default.token_endpoint == "http://127.0.0.1:8000/oauth/token"
    assert default.jwks_uri == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert default.documentation_url == "http://127.0.0.1:8000/docs"


def test_database_and_redis_urls_come_from_the_environment(tmp_path: Path) -> None:
    settings = _load(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "DATABASE_URL": "postgres://app@db.internal:5432/partner_api",
            "REDIS_URL": "redis://cache.internal:6379/0",
        }
    )
    assert settings.database_url == "postgres://app@db.internal:5432/partner_api"
    assert settings.redis_url == "redis://cache.internal:6379/0"
    # Without DATABASE_URL the SQLite file follows the data directory.
    moved = _load({"PARTNER_API_SECRET_PEPPER": PEPPER, "PARTNER_API_DATA_DIR": str(tmp_path)})
    assert moved.database_url == f"sqlite://{tmp_path}/partner-api.sqlite3"


@pytest.mark.parametrize("pepper", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_cr08_production_refuses_to_start_without_a_pepper(
    tmp_path: Path, pepper: str | None
) -> None:
    environ = {"PARTNER_API_ENV": "production", "PARTNER_API_DATA_DIR": str(tmp_path)}
    if pepper is not None:
        environ["PARTNER_API_SECRET_PEPPER"] = pepper
    with pytest.raises(ConfigurationError, match="PARTNER_API_SECRET_PEPPER"):
        _load(environ)
    # Production never falls back to a generated pepper.
    assert list(tmp_path.iterdir()) == []


def test_gq02_gq03_production_turns_graphiql_and_introspection_off_by_default() -> None:
    production = _load({"PARTNER_API_ENV": "production", "PARTNER_API_SECRET_PEPPER": PEPPER})
    assert production.production
    assert production.graphiql is False
    assert production.introspection is False

    opted_in = _load(
        {
            "PARTNER_API_ENV": "production",
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_GRAPHIQL": "true",
            "PARTNER_API_INTROSPECTION": "1",
        }
    )
    assert opted_in.graphiql is True
    assert opted_in.introspection is True

    development_off = _load(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_GRAPHIQL": "off",
            "PARTNER_API_INTROSPECTION": "no",
        }
    )
    assert development_off.graphiql is False
    assert development_off.introspection is False


def test_cr08_pepper_is_read_from_a_file(tmp_path: Path) -> None:
    pepper_file = tmp_path / "pepper"
    pepper_file.write_text(PEPPER + "\n", encoding="utf-8")
    settings = _load(
        {"PARTNER_API_ENV": "production", "PARTNER_API_SECRET_PEPPER_FILE": str(pepper_file)}
    )
    assert settings.secret_peppers == (PEPPER.encode(),)


def test_cr08_missing_pepper_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PARTNER_API_SECRET_PEPPER_FILE"):
        _load(
            {
                "PARTNER_API_ENV": "production",
                "PARTNER_API_SECRET_PEPPER_FILE": str(tmp_path / "missing"),
            }
        )


def test_cr08_pepper_and_pepper_file_together_are_refused(tmp_path: Path) -> None:
    pepper_file = tmp_path / "pepper"
    pepper_file.write_text(PEPPER, encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        _load(
            {
                "PARTNER_API_SECRET_PEPPER": PEPPER,
                "PARTNER_API_SECRET_PEPPER_FILE": str(pepper_file),
            }
        )
    assert "PARTNER_API_SECRET_PEPPER" in str(raised.value)
    assert "PARTNER_API_SECRET_PEPPER_FILE" in str(raised.value)


def test_cr08_short_peppers_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="32"):
        _load({"PARTNER_API_ENV": "production", "PARTNER_API_SECRET_PEPPER": "x" * 31})
    with pytest.raises(ConfigurationError, match="32"):
        _load(
            {
                "PARTNER_API_SECRET_PEPPER": PEPPER,
                "PARTNER_API_PREVIOUS_SECRET_PEPPERS": "short",
            }
        )
    exactly_32 = "0123456789abcdefghijklmnopqrstuv"
    exactly = _load({"PARTNER_API_ENV": "production", "PARTNER_API_SECRET_PEPPER": exactly_32})
    assert exactly.secret_peppers == (exactly_32.encode(),)


def test_cr03_previous_peppers_follow_the_current_one() -> None:
    settings = _load(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_PREVIOUS_SECRET_PEPPERS": f" {OLD_PEPPER} , {'q' * 32} ",
        }
    )
    assert settings.secret_peppers == (PEPPER.encode(), OLD_PEPPER.encode(), b"q" * 32)


def test_cr08_peppers_are_not_in_the_settings_repr() -> None:
    settings = _load(
        {"PARTNER_API_SECRET_PEPPER": PEPPER, "PARTNER_API_PREVIOUS_SECRET_PEPPERS": OLD_PEPPER}
    )
    assert PEPPER not in repr(settings)
    assert OLD_PEPPER not in repr(settings)


def test_cr08_development_generates_a_pepper_once_and_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = _load({"PARTNER_API_DATA_DIR": str(data_dir)})
    pepper_file = data_dir / "secret-pepper"
    assert pepper_file.is_file()
    assert stat.S_IMODE(pepper_file.stat().st_mode) == 0o600
    assert len(first.secret_peppers) == 1
    assert len(first.secret_peppers[0]) >= 32
    assert pepper_file.read_text(encoding="utf-8").strip().encode() == first.secret_peppers[0]

    second = _load({"PARTNER_API_DATA_DIR": str(data_dir)})
    assert second.secret_peppers == first.secret_peppers

    elsewhere = _load({"PARTNER_API_DATA_DIR": str(tmp_path / "other")})
    assert elsewhere.secret_peppers != first.secret_peppers


def test_trusted_proxies_are_parsed() -> None:
    settings = _load(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,,fd00::/8",
        }
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("fd00::/8"),
    )


def test_integer_settings_are_read() -> None:
    settings = _load(
        {
            "PARTNER_API_SECRET_PEPPER": PEPPER,
            "PARTNER_API_SESSION_TTL_MINUTES": "30",
            "PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES": "0",
            "PARTNER_API_ROTATION_GRACE_MAX_MINUTES": "120",
            "PARTNER_API_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3",
            "PARTNER_API_LOGIN_MAX_FAILURES_PER_ADDRESS": "7",
            "PARTNER_API_LOGIN_THROTTLE_WINDOW_SECONDS": "60",
        }
    )
    assert settings.session_ttl_minutes == 30
    assert settings.rotation_grace_default_minutes == 0
    assert settings.rotation_grace_max_minutes == 120
    assert settings.login_max_failures_per_account == 3
    assert settings.login_max_failures_per_address == 7
    assert settings.login_throttle_window_seconds == 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARTNER_API_ENV", "staging"),
        ("PARTNER_API_SESSION_TTL_MINUTES", "abc"),
        ("PARTNER_API_SESSION_TTL_MINUTES", "1.5"),
        ("PARTNER_API_SESSION_TTL_MINUTES", "1"),
        ("PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES", "-1"),
        ("PARTNER_API_ROTATION_GRACE_MAX_MINUTES", "week"),
        ("PARTNER_API_LOGIN_MAX_FAILURES_PER_ACCOUNT", "0"),
        ("PARTNER_API_LOGIN_MAX_FAILURES_PER_ADDRESS", "many"),
        ("PARTNER_API_LOGIN_THROTTLE_WINDOW_SECONDS", "15m"),
        ("PARTNER_API_GRAPHIQL", "maybe"),
        ("PARTNER_API_INTROSPECTION", "2"),
        ("PARTNER_API_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("PARTNER_API_TRUSTED_PROXIES", "proxy.internal"),
        ("PARTNER_API_TRUSTED_PROXIES", "10.0.0.1/8"),
    ],
)
def test_malformed_value_is_a_configuration_error_naming_the_variable(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _load({"PARTNER_API_SECRET_PEPPER": PEPPER, name: value})
    assert name in str(raised.value)


def test_rotation_grace_default_above_maximum_is_a_configuration_error() -> None:
    """Otherwise every regeneration that relies on the default is refused at request time."""
    with pytest.raises(ConfigurationError) as raised:
        _load(
            {
                "PARTNER_API_SECRET_PEPPER": PEPPER,
                "PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES": "1440",
                "PARTNER_API_ROTATION_GRACE_MAX_MINUTES": "60",
            }
        )
    assert "PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES" in str(raised.value)
