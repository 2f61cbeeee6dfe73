"""Configuration, read once from the environment into one typed, frozen object.

Every setting is an environment variable; the README's configuration table lists them with their
defaults. Each default is written once, on its field below; `from_env` reads the variable and
falls back to that field, and production overrides the few defaults that differ there (GraphiQL,
introspection, log format). Key material comes from the environment or a file
(partner_api/foundation/settings_secrets.py); development generates what is missing, once, beside
the database rather than in the working directory (partner_api/foundation/development_keys.py);
the database records which keys it belongs to (auth/partners/key_fingerprints.py).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from partner_api.foundation import development_keys
from partner_api.foundation import settings_notifications as notifications
from partner_api.foundation.settings_assertions import AssertionSettings, read_assertions
from partner_api.foundation.settings_database import (
    DEFAULT_DATA_DIR,
    default_database_url,
    read_database_url,
)
from partner_api.foundation.settings_platform import (
    OrganisationMatch,
    PlatformSignIn,
    read_platform_sign_in,
)
from partner_api.foundation.settings_reader import ConfigurationError, EnvironmentReader
from partner_api.foundation.settings_rotation import read_rotation_grace
from partner_api.foundation.settings_secrets import (
    SIGNING_ALGORITHMS,
    SigningAlgorithm,
    read_key_encryption_key,
    read_metrics_token,
    read_peppers,
    read_previous_key_encryption_keys,
    read_signing_algorithm,
    refuse_shared_key,
)
from partner_api.foundation.settings_usage import UsageSettings, read_usage
from partner_api.foundation.settings_webhooks import WebhookWorkerSettings, read_webhook_worker

__all__ = [
    "SIGNING_ALGORITHMS",
    "ConfigurationError",
    "OrganisationMatch",
    "PlatformSignIn",
    "Settings",
    "WebhookWorkerSettings",
]

Environment = Literal["development", "production"]
LogFormat = Literal["json", "text"]


@dataclass(frozen=True, kw_only=True)
class Settings:
    env: Environment = "development"
    # PARTNER_API_DATA_DIR: the directory of the default SQLite database (`DATABASE_URL` unset)
    # and, when set, of the generated development keys.
    data_dir: Path = DEFAULT_DATA_DIR
    # Where development reads the keys it generated (None in production, which never generates).
    development_key_dir: Path | None = None
    database_url: str = default_database_url(DEFAULT_DATA_DIR)
    redis_url: str | None = None
    issuer: str = "http://127.0.0.1:8000"
    # The current pepper first; older ones still verify hashes made with them (versioned hashes).
    secret_peppers: tuple[bytes, ...] = field(repr=False, default=())
    session_ttl_minutes: int = 12 * 60
    rotation_grace_default_minutes: int = 24 * 60
    rotation_grace_max_minutes: int = 7 * 24 * 60
    # The development defaults; production turns both off unless they are set.
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
    # OAuth authorization server.
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
    # Strict-Transport-Security max-age, sent in production.
    hsts_seconds: int = 365 * 24 * 60 * 60
    # Logs and Prometheus metrics; production logs JSON unless told otherwise.
    log_format: LogFormat = "text"
    log_level: str = "INFO"
    # Bearer token that /metrics requires when set. In production /metrics on the public port is
    # served only when a token is set; `metrics_port` serves it on a separate internal listener.
    metrics_token: str | None = field(repr=False, default=None)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # Admin JWTs from the platform's identity provider; off when None.
    platform: PlatformSignIn | None = None
    # Credential lifecycle signals.
    expires_soon_days: int = 14
    stale_after_days: int = 90
    # Webhook delivery: the embedded worker, polling, leases (settings_webhooks.py).
    webhooks: WebhookWorkerSettings = field(default_factory=WebhookWorkerSettings)
    # Mail (SMTP or, without it, the log) and leak reports (settings_notifications.py).
    mail: notifications.MailSettings = field(default_factory=notifications.MailSettings, repr=False)
    leak_reports: notifications.LeakReportSettings = field(
        default_factory=notifications.LeakReportSettings
    )
    # Usage counting and the maxima of per-credential limits (settings_usage.py).
    usage: UsageSettings = field(default_factory=UsageSettings)
    # Client assertions, private_key_jwt (settings_assertions.py).
    assertions: AssertionSettings = field(default_factory=AssertionSettings)

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

    @cached_property
    def audience(self) -> str:
        """The Partner API's identifier, the `aud` of every access token (RFC 9068 §3). Worked out
        once: every token issued and verified refers to it (and caches keep the reference)."""
        return self.audience_override or f"{self.issuer}/partner/v1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default `os.environ`); refuses unsafe production setups."""
        env_map = os.environ if environ is None else environ
        reader = EnvironmentReader(env_map)
        defaults = cls()
        env = reader.choice("PARTNER_API_ENV", ("development", "production"), defaults.env)
        production = env == "production"
        data_dir = Path(reader.text("PARTNER_API_DATA_DIR", str(defaults.data_dir)))
        database_url = read_database_url(reader, data_dir)
        key_dir = (
            None
            if production
            else development_keys.key_directory(
                data_dir=reader.text("PARTNER_API_DATA_DIR", ""),
                database_url=database_url,
                environ=env_map,
            )
        )
        peppers = read_peppers(reader, key_dir=key_dir)
        key_encryption_key = read_key_encryption_key(reader, key_dir=key_dir)
        issuer = reader.text("PARTNER_API_ISSUER", defaults.issuer).rstrip("/")
        if production and not issuer.startswith("https://"):
            raise ConfigurationError("PARTNER_API_ISSUER must be an https:// URL in production")
        grace_default, grace_max = read_rotation_grace(
            reader,
            default_minutes=defaults.rotation_grace_default_minutes,
            max_minutes=defaults.rotation_grace_max_minutes,
        )
        if production:
            refuse_shared_key(key_encryption_key, peppers)
        # 0 (the default) means no separate metrics listener.
        metrics_port = reader.integer("PARTNER_API_METRICS_PORT", 0, 0, maximum=65535) or None
        log_format = reader.choice(
            "PARTNER_API_LOG_FORMAT",
            ("json", "text"),
            "json" if production else defaults.log_format,
        )
        return cls(
            platform=read_platform_sign_in(reader, production=production),
            hsts_seconds=reader.integer("PARTNER_API_HSTS_SECONDS", defaults.hsts_seconds, 0),
            log_format="json" if log_format == "json" else "text",
            log_level=reader.choice(
                "PARTNER_API_LOG_LEVEL",
                ("debug", "info", "warning", "error"),
                defaults.log_level.lower(),
            ).upper(),
            metrics_token=read_metrics_token(reader),
            metrics_host=reader.text("PARTNER_API_METRICS_HOST", defaults.metrics_host),
            metrics_port=metrics_port,
            expires_soon_days=reader.integer(
                "PARTNER_API_EXPIRES_SOON_DAYS", defaults.expires_soon_days, 1, maximum=365
            ),
            stale_after_days=reader.integer(
                "PARTNER_API_STALE_AFTER_DAYS", defaults.stale_after_days, 1, maximum=3650
            ),
            webhooks=read_webhook_worker(reader),
            mail=notifications.read_mail(reader),
            leak_reports=notifications.read_leak_reports(reader),
            usage=read_usage(reader),
            assertions=read_assertions(reader),
            env="production" if production else "development",
            data_dir=data_dir,
            development_key_dir=key_dir,
            database_url=database_url,
            redis_url=reader.text("REDIS_URL", "") or None,
            issuer=issuer,
            secret_peppers=peppers,
            session_ttl_minutes=reader.integer(
                "PARTNER_API_SESSION_TTL_MINUTES", defaults.session_ttl_minutes, 5
            ),
            rotation_grace_default_minutes=grace_default,
            rotation_grace_max_minutes=grace_max,
            graphiql=reader.flag("PARTNER_API_GRAPHIQL", defaults.graphiql and not production),
            introspection=reader.flag(
                "PARTNER_API_INTROSPECTION", defaults.introspection and not production
            ),
            trusted_proxies=reader.networks("PARTNER_API_TRUSTED_PROXIES"),
            login_max_failures_per_account=reader.integer(
                "PARTNER_API_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                defaults.login_max_failures_per_account,
                1,
            ),
            login_max_failures_per_address=reader.integer(
                "PARTNER_API_LOGIN_MAX_FAILURES_PER_ADDRESS",
                defaults.login_max_failures_per_address,
                1,
            ),
            login_throttle_window_seconds=reader.integer(
                "PARTNER_API_LOGIN_THROTTLE_WINDOW_SECONDS",
                defaults.login_throttle_window_seconds,
                1,
            ),
            access_token_ttl_seconds=reader.integer(
                "PARTNER_API_ACCESS_TOKEN_TTL_SECONDS",
                defaults.access_token_ttl_seconds,
                60,
                maximum=24 * 60 * 60,
            ),
            signing_algorithm=read_signing_algorithm(reader, defaults.signing_algorithm),
            key_encryption_key=key_encryption_key,
            previous_key_encryption_keys=read_previous_key_encryption_keys(reader),
            audience_override=reader.text("PARTNER_API_AUDIENCE", "") or None,
            token_max_failures_per_client_address=reader.integer(
                "PARTNER_API_TOKEN_MAX_FAILURES_PER_CLIENT_ADDRESS",
                defaults.token_max_failures_per_client_address,
                1,
            ),
            token_max_failures_per_address=reader.integer(
                "PARTNER_API_TOKEN_MAX_FAILURES_PER_ADDRESS",
                defaults.token_max_failures_per_address,
                1,
            ),
            token_failure_window_seconds=reader.integer(
                "PARTNER_API_TOKEN_FAILURE_WINDOW_SECONDS",
                defaults.token_failure_window_seconds,
                1,
            ),
            token_quota_per_minute=reader.integer(
                "PARTNER_API_TOKEN_QUOTA_PER_MINUTE", defaults.token_quota_per_minute, 1
            ),
            partner_rate_limit_per_minute=reader.integer(
                "PARTNER_API_RATE_LIMIT_PER_MINUTE", defaults.partner_rate_limit_per_minute, 1
            ),
            token_reuse_seconds=reader.integer(
                "PARTNER_API_TOKEN_REUSE_SECONDS", defaults.token_reuse_seconds, 0, maximum=60
            ),
            change_feed_poll_milliseconds=reader.integer(
                "PARTNER_API_CHANGE_FEED_POLL_MILLISECONDS",
                defaults.change_feed_poll_milliseconds,
                10,
                maximum=250,
            ),
        )
