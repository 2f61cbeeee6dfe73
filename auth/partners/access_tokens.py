"""JWT access tokens per RFC 9068: issuing them, and verifying them as a resource server would.

Issued header: `typ: at+jwt`, `kid`, an asymmetric `alg` (ES256 by default; EdDSA, RS256).
Claims: `iss`, `sub` (`client:<client_id>` — a namespace no user id can take, AT-04), `aud`,
`client_id`, `iat`, `exp`, `jti`, `scope`, and ours: `organisation_id`, `credential_id`,
`secret_id` (so rotating a secret away also ends the tokens it obtained); a token limited to some
events also carries `authorization_details` (RFC 9396 §9.1; auth/partners/authorization_details.py).

Verification (RS-01..05) trusts nothing in the token's header beyond `kid`/`alg`/`typ`: keys come
only from our key ring (`jku`, `x5u`, `jwk`, `x5c` are ignored), the algorithm must be an
asymmetric one on our allowlist *and* the one the key was made for, `typ` must be `at+jwt`,
`iss` must match exactly, `aud` must contain our audience, and `exp` is enforced with 30 s leeway.
Before any of that the string must be of bounded length and in canonical base64url (RS-11), so
one token has exactly one accepted string form.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

import jwt

from auth.partners.authorization_details import granted_event_ids
from auth.partners.credential_directory import CredentialState
from auth.partners.jws import b64url, is_canonical_compact
from auth.partners.secret_state import SecretState
from auth.partners.signing_keys import VERIFICATION_LEEWAY, KeyRing, SigningKeyError

TOKEN_TYPE = "at+jwt"  # noqa: S105 (the JWT typ, RFC 9068 §2.1)
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
ALLOWED_ALGORITHMS = frozenset({"ES256", "EdDSA", "RS256"})
SUBJECT_PREFIX = "client:"
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"]
# Our tokens are under 1.5 KB with an issuer URL of ordinary length, and under 7 KB limited to
# the most events a credential may name (RS256, tested); the bound caps what a stranger's string
# costs to parse before anything about it is known.
MAX_TOKEN_LENGTH = 8 * 1024


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    scope: str
    expires_in: int
    # The `authorization_details` claim as JSON, for the token response (RFC 9396 §7); None for
    # a token that reaches every event.
    authorization_details: str | None = None


def issue_access_token(
    *,
    key_ring: KeyRing,
    issuer: str,
    audience: str,
    credential: CredentialState,
    secret: SecretState,
    scopes: list[str],
    now: datetime,
    lifetime: timedelta,
    authorization_details: str | None = None,
) -> IssuedToken:
    key = key_ring.active
    if key is None:
        raise SigningKeyError("no active signing key")
    issued_at = int(now.timestamp())
    expires_in = int(lifetime.total_seconds())
    jti = _new_jti()
    scope = " ".join(scopes)
    fixed = _fixed_claims(
        issuer,
        audience,
        credential.client_id,
        credential.organisation_id_text,
        credential.id_text,
        secret.id_text,
    )
    # jti is base64url and scope names are RFC 6749 scope-tokens without '"' or '\\', so the
    # per-token members need no JSON escaping; the rest was encoded by json.dumps once.
    details = (
        "" if authorization_details is None else f',"authorization_details":{authorization_details}'
    )
    payload = (
        f'{{{fixed},"iat":{issued_at},"exp":{issued_at + expires_in},'
        f'"jti":"{jti}","scope":"{scope}"{details}}}'
    )
    token = key.signer.sign_payload(payload.encode())
    return IssuedToken(
        token=token,
        jti=jti,
        scope=scope,
        expires_in=expires_in,
        authorization_details=authorization_details,
    )


_JTI_BYTES = 16
_jti_pool = bytearray()


def _new_jti() -> str:
    """128 random bits from the OS CSPRNG, read in batches: one getrandom call per 256 tokens."""
    global _jti_pool
    if not _jti_pool:
        _jti_pool = bytearray(secrets.token_bytes(_JTI_BYTES * 256))
    chunk = bytes(_jti_pool[:_JTI_BYTES])
    del _jti_pool[:_JTI_BYTES]
    return b64url(chunk).decode("ascii")


@lru_cache(maxsize=65_536)
def _fixed_claims(
    issuer: str,
    audience: str,
    client_id: str,
    organisation_id: str,
    credential_id: str,
    secret_id: str,
) -> str:
    """The claims that are the same for every token of one secret, as JSON members."""
    members = json.dumps(
        {
            "iss": issuer,
            "sub": SUBJECT_PREFIX + client_id,
            "aud": audience,
            "client_id": client_id,
            "organisation_id": organisation_id,
            "credential_id": credential_id,
            "secret_id": secret_id,
        },
        separators=(",", ":"),
    )
    return members[1:-1]


class InvalidAccessToken(Exception):
    """The token is not one of ours, or not valid now; the message is for logs, not clients."""


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified token says, as the resource server and introspection need it. Held per
    live token in the verified-token cache, so it keeps no decoded JSON: `iss`, `aud` and `sub`
    follow from the issuer and audience it was verified against and its client ID, and strings
    that many tokens share (the scope, the issuer) are shared objects."""

    jti: str
    client_id: str
    organisation_id: UUID
    credential_id: UUID
    secret_id: UUID
    scopes: frozenset[str]
    issued_at: int
    expires_at: int
    key_id: str
    # The `scope` claim as issued (its order is the one introspection answers in).
    scope: str
    issuer: str
    audience: str
    # The events the token may reach; None: every event of the organisation. Narrowed by the
    # resource server to what the credential holds now (AuthorizationServer.active_token).
    event_ids: frozenset[str] | None = None
    # The token's own `authorization_details` event ids, in its order (None without the claim):
    # parsed once at verification, so answers that list them cost no parsing per call.
    named_event_ids: tuple[str, ...] | None = None

    @property
    def subject(self) -> str:
        return SUBJECT_PREFIX + self.client_id


# Scope claims repeat across every token of a credential (and mostly across credentials): one
# string and one set per distinct claim, for as many distinct claims as a worker plausibly sees.
_SCOPE_SETS_MAX = 4096
_scope_sets: dict[str, tuple[str, frozenset[str]]] = {}


def _shared_scope(scope: str) -> tuple[str, frozenset[str]]:
    known = _scope_sets.get(scope)
    if known is None:
        known = (scope, frozenset(scope.split()))
        if len(_scope_sets) < _SCOPE_SETS_MAX:
            _scope_sets[scope] = known
    return known


def effective_event_ids(claims: AccessTokenClaims) -> list[str] | None:
    """The events `claims` reach, in the token's order where it names them (a token issued before
    its credential was limited has no order of its own: sorted)."""
    event_ids = claims.event_ids
    if event_ids is None:
        return None
    named = claims.named_event_ids
    if named is None:
        return sorted(event_ids)
    if len(named) == len(event_ids):  # not narrowed since it was issued (event_ids ⊆ named)
        return list(named)
    return [event_id for event_id in named if event_id in event_ids]


def verify_access_token(
    token: str,
    *,
    key_ring: KeyRing,
    issuer: str,
    audience: str,
    verify_exp: bool = True,
) -> AccessTokenClaims:
    if not is_canonical_compact(token, max_length=MAX_TOKEN_LENGTH):
        raise InvalidAccessToken("not a canonical compact JWS")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise InvalidAccessToken(f"malformed token: {error}") from None
    typ = str(header.get("typ", "")).lower()
    if typ not in ACCEPTED_TYPES:
        raise InvalidAccessToken("wrong typ")
    algorithm = header.get("alg")
    key = key_ring.by_kid(str(header.get("kid", "")))
    if key is None:
        raise InvalidAccessToken("unknown kid")
    if algorithm not in ALLOWED_ALGORITHMS or algorithm != key.algorithm:
        raise InvalidAccessToken("algorithm not allowed")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            audience=audience,
            issuer=issuer,
            leeway=VERIFICATION_LEEWAY,
            options={"require": REQUIRED_CLAIMS, "verify_exp": verify_exp},
        )
        granted = granted_event_ids(claims)
        scope, scopes = _shared_scope(str(claims["scope"]))
        return AccessTokenClaims(
            jti=str(claims["jti"]),
            client_id=str(claims["client_id"]),
            organisation_id=UUID(str(claims["organisation_id"])),
            credential_id=UUID(str(claims["credential_id"])),
            secret_id=UUID(str(claims["secret_id"])),
            scopes=scopes,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            key_id=key.kid,
            scope=scope,
            issuer=issuer,
            audience=audience,
            event_ids=None if granted is None else frozenset(granted),
            named_event_ids=granted,
        )
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as error:
        raise InvalidAccessToken(f"invalid token: {type(error).__name__}") from None
