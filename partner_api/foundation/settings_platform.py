"""Platform sign-in settings: how to trust admin JWTs from the platform's identity provider
(auth/admins/platform_identity.py). Off unless PARTNER_API_PLATFORM_ISSUER is set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.enums import Role
from partner_api.foundation.settings_reader import ConfigurationError, EnvironmentReader

OrganisationMatch = Literal["name", "id"]
PLATFORM_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA", "PS256")


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


def read_platform_sign_in(reader: EnvironmentReader, *, production: bool) -> PlatformSignIn | None:
    """Platform sign-in settings; None (off) unless PARTNER_API_PLATFORM_ISSUER is set."""
    issuer = reader.text("PARTNER_API_PLATFORM_ISSUER", "")
    if not issuer:
        return None
    defaults = PlatformSignIn(issuer=issuer, audience="")
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
    algorithms = _algorithms(reader, defaults.algorithms)
    role_map = _role_map(reader)
    match = reader.choice(
        "PARTNER_API_PLATFORM_ORGANISATION_MATCH", ("name", "id"), defaults.organisation_match
    )
    return PlatformSignIn(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        public_key=public_key,
        algorithms=algorithms,
        email_claim=reader.text("PARTNER_API_PLATFORM_EMAIL_CLAIM", defaults.email_claim),
        organisation_claim=reader.text(
            "PARTNER_API_PLATFORM_ORGANISATION_CLAIM", defaults.organisation_claim
        ),
        organisation_match="id" if match == "id" else "name",
        role_claim=reader.text("PARTNER_API_PLATFORM_ROLE_CLAIM", defaults.role_claim),
        role_map=role_map,
        jwks_cache_seconds=reader.integer(
            "PARTNER_API_PLATFORM_JWKS_CACHE_SECONDS",
            defaults.jwks_cache_seconds,
            10,
            maximum=24 * 60 * 60,
        ),
    )


def _algorithms(reader: EnvironmentReader, default: tuple[str, ...]) -> tuple[str, ...]:
    """Asymmetric algorithms only: an HMAC key would have to be shared with the provider."""
    algorithms = tuple(
        part.strip()
        for part in reader.text("PARTNER_API_PLATFORM_ALGORITHMS", ",".join(default)).split(",")
        if part.strip()
    )
    unknown = [name for name in algorithms if name not in PLATFORM_ALGORITHMS]
    if not algorithms or unknown:
        raise ConfigurationError(
            "PARTNER_API_PLATFORM_ALGORITHMS must list asymmetric algorithms from "
            f"{', '.join(PLATFORM_ALGORITHMS)}"
        )
    return algorithms


def _role_map(reader: EnvironmentReader) -> tuple[tuple[str, str], ...]:
    roles = [role.value for role in Role]
    role_map: list[tuple[str, str]] = []
    for pair in reader.text("PARTNER_API_PLATFORM_ROLE_MAP", "").split(","):
        if not pair.strip():
            continue
        external, separator, ours = pair.partition("=")
        if not separator or ours.strip().upper() not in roles:
            raise ConfigurationError(
                "PARTNER_API_PLATFORM_ROLE_MAP must be external=ROLE pairs, ROLE one of "
                f"{', '.join(roles)}"
            )
        role_map.append((external.strip(), ours.strip().upper()))
    return tuple(role_map)
