"""Configuration, read once from the environment into one typed, frozen object.

Every setting is an environment variable; the README's configuration table lists them with their
defaults. Key material (the client-secret pepper, the key-encryption key) comes from the
environment or a file, never from the repository (SECURITY.md CR-08); production refuses to start
without it. Development generates what is missing, once, beside the database rather than in the
working directory (partner_api/development_keys.py); the database records which keys it belongs
to (auth/key_fingerprints.py).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from partner_api import development_keys

Environment = Literal["development", "production"]
LogFormat = Literal["json", "text"]
OrganisationMatch = Literal["name", "id"]
SigningAlgorithm = Literal["ES256", "EdDSA", "RS256"]
SIGNING_ALGORITHMS: tuple[SigningAlgorithm, ...] = ("ES256", "EdDSA", "RS256")

MIN_PEPPER_BYTES = 32
DATABASE_SCHEMES = ("sqlite://", "postgres://", "postgresql://", "asyncpg://")


class ConfigurationError(Exception):
    """The environment describes a configuration the service refuses to run with."""


@dataclass(frozen=True, kw_only=True)
class PlatformSignIn:
    """How to trust admin JWTs from the platform's identity provider (auth/platform_identity)."""

    issuer: str
    audience: str
    # Exactly one of the two: keys fetched from a JWKS URL (cached), or one PEM public key.
    jwks_url: str | None = None
    public_key: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    email_claim: str = "email"
    organisation_claim: str = "org"
    # Whether the organisation claim holds our organisation's name or its id.
    organisation_match: OrganisationMatch = "name"
    role_claim: str = "role"
    # External role value -> our Role value; without an entry the claim must name one of our roles.
    role_map: tuple[tuple[str, str], ...] = ()
    jwks_cache_seconds: int = 300


@dataclass(frozen=True, kw_only=True)
class Settings:
    env: Environment = "development"
    # PARTNER_API_DATA_DIR: the directory of the default SQLite database (`DATABASE_URL` unset)
    # and, when set, of the generated development keys.
    data_dir: Path = Path("var")
    # Where development reads the keys it generated (None in production, which never generates).
    development_key_dir: Path | None = None
    database_url: str = "sqlite://var/partner-api.sqlite3"
    redis_url: str | None = None
    issuer: str = "http://127.0.0.1:8000"
    # The current pepper first; older ones still verify hashes made with them (versioned hashes).
    secret_peppers: tuple[bytes, ...] = field(repr=False, default=())
    session_ttl_minutes: int = 12 * 60
    rotation_grace_default_minutes: int = 24 * 60
    rotation_grace_max_minutes: int = 7 * 24 * 60
    graphiql: bool = True
    introspection: bool = True
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    login_max_failures_per_account: int = 10
    login_max_failures_per_address: int = 50
    login_throttle_window_seconds: int = 15 * 60
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_cost: int = 60_000
    page_size_max: int = 100
    # OAuth authorization server (issue 3).
    access_token_ttl_seconds: int = 15 * 60
    signing_algorithm: SigningAlgorithm = "ES256"
    key_encryption_key: bytes = field(repr=False, default=b"")
    # Older key-encryption keys that still open stored signing keys until
    # `partner-api reencrypt-signing-keys` has sealed them with the current one.
    previous_key_encryption_keys: tuple[bytes, ...] = field(repr=False, default=())
    audience_override: str | None = None
    token_max_failures_per_client_address: int = 10
    token_max_failures_per_address: int = 100
    token_failure_window_seconds: int = 5 * 60
    token_quota_per_minute: int = 600
    change_feed_poll_milliseconds: int = 250
    token_reuse_seconds: int = 1
    partner_rate_limit_per_minute: int = 1200
    last_used_write_interval_seconds: int = 60
    # Production hardening (issue 6).
    hsts_seconds: int = 365 * 24 * 60 * 60
    # Observability (issue 6): logs and Prometheus metrics.
    log_format: LogFormat = "text"
    log_level: str = "INFO"
    # Bearer token that /metrics requires when set. In production /metrics on the public port is
    # served only when a token is set; `metrics_port` serves it on a separate internal listener.
    metrics_token: str | None = field(repr=False, default=None)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # Platform sign-in (issue 6): admin JWTs from the platform's identity provider; off when None.
    platform: PlatformSignIn | None = None
    # Credential lifecycle signals (issue 6).
    expires_soon_days: int = 14
    stale_after_days: int = 90

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def documentation_url(self) -> str:
        return f"{self.issuer}/docs"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def introspection_endpoint(self) -> str:
        return f"{self.issuer}/oauth/introspect"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.issuer}/oauth/revoke"

    @property
    def audience(self) -> str:
        """The Partner API's identifier, the `aud` of every access token (RFC 9068 §3)."""
        return self.audience_override or f"{self.issuer}/partner/v1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default `os.environ`); refuses unsafe production setups."""
        env_map = os.environ if environ is None else environ
        reader = _Reader(env_map)
        env = reader.choice("PARTNER_API_ENV", ("development", "production"), "development")
        production = env == "production"
        data_dir = Path(reader.text("PARTNER_API_DATA_DIR", "var"))
        database_url = reader.text("DATABASE_URL", f"sqlite://{data_dir}/partner-api.sqlite3")
        if not database_url.startswith(DATABASE_SCHEMES):
            raise ConfigurationError(
                "DATABASE_URL must start with sqlite:// or postgres:// (PostgreSQL via asyncpg)"
            )
        key_dir = (
            None
            if production
            else development_keys.key_directory(
                data_dir=reader.text("PARTNER_API_DATA_DIR", ""),
                database_url=database_url,
                environ=env_map,
            )
        )
        peppers = _peppers(reader, key_dir=key_dir)
        key_encryption_key = _key_encryption_key(reader, key_dir=key_dir)
        issuer = reader.text("PARTNER_API_ISSUER", "http://127.0.0.1:8000").rstrip("/")
        if production and not issuer.startswith("https://"):
            raise ConfigurationError("PARTNER_API_ISSUER must be an https:// URL in production")
        grace_default = reader.integer("PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES", 24 * 60, 0)
        grace_max = reader.integer("PARTNER_API_ROTATION_GRACE_MAX_MINUTES", 7 * 24 * 60, 0)
        if grace_default > grace_max:
            raise ConfigurationError(
                "PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES must not exceed "
                "PARTNER_API_ROTATION_GRACE_MAX_MINUTES"
            )
        if production and key_encryption_key in peppers:
            raise ConfigurationError(
                "PARTNER_API_KEY_ENCRYPTION_KEY must differ from the secret peppers"
            )
        metrics_port = reader.integer("PARTNER_API_METRICS_PORT", 0, 0, maximum=65535) or None
        return cls(
            platform=_platform_sign_in(reader, production=production),
            hsts_seconds=reader.integer("PARTNER_API_HSTS_SECONDS", 365 * 24 * 60 * 60, 0),
            log_format="json"
            if reader.choice(
                "PARTNER_API_LOG_FORMAT", ("json", "text"), "json" if production else "text"
            )
            == "json"
            else "text",
            log_level=reader.choice(
                "PARTNER_API_LOG_LEVEL", ("debug", "info", "warning", "error"), "info"
            ).upper(),
            metrics_token=_metrics_token(reader),
            metrics_host=reader.text("PARTNER_API_METRICS_HOST", "127.0.0.1"),
            metrics_port=metrics_port,
            expires_soon_days=reader.integer("PARTNER_API_EXPIRES_SOON_DAYS", 14, 1, maximum=365),
            stale_after_days=reader.integer("PARTNER_API_STALE_AFTER_DAYS", 90, 1, maximum=3650),
            env="production" if production else "development",
            data_dir=data_dir,
            development_key_dir=key_dir,
            database_url=database_url,
            redis_url=reader.text("REDIS_URL", "") or None,
            issuer=issuer,
            secret_peppers=peppers,
            session_ttl_minutes=reader.integer("PARTNER_API_SESSION_TTL_MINUTES", 12 * 60, 5),
            rotation_grace_default_minutes=grace_default,
            rotation_grace_max_minutes=grace_max,
            graphiql=reader.flag("PARTNER_API_GRAPHIQL", not production),
            introspection=reader.flag("PARTNER_API_INTROSPECTION", not production),
            trusted_proxies=reader.networks("PARTNER_API_TRUSTED_PROXIES"),
            login_max_failures_per_account=reader.integer(
                "PARTNER_API_LOGIN_MAX_FAILURES_PER_ACCOUNT", 10, 1
            ),
            login_max_failures_per_address=reader.integer(
                "PARTNER_API_LOGIN_MAX_FAILURES_PER_ADDRESS", 50, 1
            ),
            login_throttle_window_seconds=reader.integer(
                "PARTNER_API_LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60, 1
            ),
            access_token_ttl_seconds=reader.integer(
                "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS", 15 * 60, 60, maximum=24 * 60 * 60
            ),
            signing_algorithm=_signing_algorithm(reader),
            key_encryption_key=key_encryption_key,
            previous_key_encryption_keys=_previous_key_encryption_keys(reader),
            audience_override=reader.text("PARTNER_API_AUDIENCE", "") or None,
            token_max_failures_per_client_address=reader.integer(
                "PARTNER_API_TOKEN_MAX_FAILURES_PER_CLIENT_ADDRESS", 10, 1
            ),
            token_max_failures_per_address=reader.integer(
                "PARTNER_API_TOKEN_MAX_FAILURES_PER_ADDRESS", 100, 1
            ),
            token_failure_window_seconds=reader.integer(
                "PARTNER_API_TOKEN_FAILURE_WINDOW_SECONDS", 5 * 60, 1
            ),
            token_quota_per_minute=reader.integer("PARTNER_API_TOKEN_QUOTA_PER_MINUTE", 600, 1),
            partner_rate_limit_per_minute=reader.integer(
                "PARTNER_API_RATE_LIMIT_PER_MINUTE", 1200, 1
            ),
            token_reuse_seconds=reader.integer("PARTNER_API_TOKEN_REUSE_SECONDS", 1, 0, maximum=60),
            change_feed_poll_milliseconds=reader.integer(
                "PARTNER_API_CHANGE_FEED_POLL_MILLISECONDS", 250, 10, maximum=250
            ),
        )


class _Reader:
    """Typed access to environment variables; every malformed value is a ConfigurationError."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
        if value < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigurationError(f"{name} must be at most {maximum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name, "").lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"{name} must be true or false, not {raw!r}")

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        raw = self.text(name, "")
        try:
            return tuple(
                ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip()
            )
        except ValueError as error:
            raise ConfigurationError(f"{name}: {error}") from None

    def secret(self, name: str) -> str | None:
        """A secret from `NAME` or from the file named by `NAME_FILE` (for mounted secrets)."""
        direct = self._environ.get(name, "").strip()
        file_name = self._environ.get(f"{name}_FILE", "").strip()
        if direct and file_name:
            raise ConfigurationError(f"set {name} or {name}_FILE, not both")
        if file_name:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigurationError(f"{name}_FILE: {error.strerror}") from None
        return direct or None


def _peppers(reader: _Reader, *, key_dir: Path | None) -> tuple[bytes, ...]:
    """The current pepper first, then the previous ones; `key_dir` None means production."""
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


# A production key with fewer distinct characters than this is a placeholder ("xxxx…", "0000…"),
# not random material: refused (CR-08). Random URL-safe keys of >= 32 characters have ~25.
MIN_DISTINCT_KEY_CHARACTERS = 10
PLATFORM_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA", "PS256")


def _metrics_token(reader: _Reader) -> str | None:
    token = reader.secret("PARTNER_API_METRICS_TOKEN")
    if token is not None and len(token) < 16:
        raise ConfigurationError("PARTNER_API_METRICS_TOKEN must be at least 16 characters long")
    return token


def _platform_sign_in(reader: _Reader, *, production: bool) -> PlatformSignIn | None:
    """Platform sign-in settings; None (off) unless PARTNER_API_PLATFORM_ISSUER is set."""
    issuer = reader.text("PARTNER_API_PLATFORM_ISSUER", "")
    if not issuer:
        return None
    audience = reader.text("PARTNER_API_PLATFORM_AUDIENCE", "")
    if not audience:
        raise ConfigurationError(
            "PARTNER_API_PLATFORM_AUDIENCE is required when PARTNER_API_PLATFORM_ISSUER is set"
        )
    jwks_url = reader.text("PARTNER_API_PLATFORM_JWKS_URL", "") or None
    public_key = reader.secret("PARTNER_API_PLATFORM_PUBLIC_KEY")
    if (jwks_url is None) == (public_key is None):
        raise ConfigurationError(
            "platform sign-in needs exactly one of PARTNER_API_PLATFORM_JWKS_URL and "
            "PARTNER_API_PLATFORM_PUBLIC_KEY (or PARTNER_API_PLATFORM_PUBLIC_KEY_FILE)"
        )
    if production and jwks_url is not None and not jwks_url.startswith("https://"):
        raise ConfigurationError("PARTNER_API_PLATFORM_JWKS_URL must be https:// in production")
    if public_key is not None and "-----BEGIN PUBLIC KEY-----" not in public_key:
        raise ConfigurationError("PARTNER_API_PLATFORM_PUBLIC_KEY must be a PEM public key")
    algorithms = tuple(
        part.strip()
        for part in reader.text("PARTNER_API_PLATFORM_ALGORITHMS", "RS256,ES256").split(",")
        if part.strip()
    )
    unknown = [name for name in algorithms if name not in PLATFORM_ALGORITHMS]
    if not algorithms or unknown:
        raise ConfigurationError(
            "PARTNER_API_PLATFORM_ALGORITHMS must list asymmetric algorithms from "
            f"{', '.join(PLATFORM_ALGORITHMS)}"
        )
    role_map: list[tuple[str, str]] = []
    for pair in reader.text("PARTNER_API_PLATFORM_ROLE_MAP", "").split(","):
        if not pair.strip():
            continue
        external, separator, ours = pair.partition("=")
        if not separator or ours.strip().upper() not in {"OWNER", "ADMIN", "DEVELOPER", "VIEWER"}:
            raise ConfigurationError(
                "PARTNER_API_PLATFORM_ROLE_MAP must be external=ROLE pairs, ROLE one of "
                "OWNER, ADMIN, DEVELOPER, VIEWER"
            )
        role_map.append((external.strip(), ours.strip().upper()))
    match = reader.choice("PARTNER_API_PLATFORM_ORGANISATION_MATCH", ("name", "id"), "name")
    return PlatformSignIn(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        public_key=public_key,
        algorithms=algorithms,
        email_claim=reader.text("PARTNER_API_PLATFORM_EMAIL_CLAIM", "email"),
        organisation_claim=reader.text("PARTNER_API_PLATFORM_ORGANISATION_CLAIM", "org"),
        organisation_match="id" if match == "id" else "name",
        role_claim=reader.text("PARTNER_API_PLATFORM_ROLE_CLAIM", "role"),
        role_map=tuple(role_map),
        jwks_cache_seconds=reader.integer(
            "PARTNER_API_PLATFORM_JWKS_CACHE_SECONDS", 300, 10, maximum=24 * 60 * 60
        ),
    )


def _refuse_placeholder(name: str, value: str, *, production: bool) -> None:
    if production and len(set(value)) < MIN_DISTINCT_KEY_CHARACTERS:
        raise ConfigurationError(
            f"{name} looks like a placeholder, not random key material; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )


def _signing_algorithm(reader: _Reader) -> SigningAlgorithm:
    wanted = reader.text("PARTNER_API_SIGNING_ALGORITHM", "ES256")
    for algorithm in SIGNING_ALGORITHMS:
        if algorithm.lower() == wanted.lower():
            return algorithm
    raise ConfigurationError(
        f"PARTNER_API_SIGNING_ALGORITHM must be one of {', '.join(SIGNING_ALGORITHMS)}"
    )


def _key_encryption_key(reader: _Reader, *, key_dir: Path | None) -> bytes:
    """The key that encrypts signing keys at rest in the database (auth/signing_keys.py);
    `key_dir` None means production."""
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


def _previous_key_encryption_keys(reader: _Reader) -> tuple[bytes, ...]:
    raw = reader.secret("PARTNER_API_PREVIOUS_KEY_ENCRYPTION_KEYS") or ""
    values = tuple(part.strip().encode("utf-8") for part in raw.split(",") if part.strip())
    if any(len(value) < MIN_PEPPER_BYTES for value in values):
        raise ConfigurationError(
            f"previous key-encryption keys must be at least {MIN_PEPPER_BYTES} characters long"
        )
    return values
