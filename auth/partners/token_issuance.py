"""Issuing an access token to an authenticated client (RFC 6749 §4.4.3, §5.1): the scope and the
events (RFC 9396) it asks for, the per-client issuance quota, a token reused within the short
reuse window (auth.partners.token_reuse) or a newly signed one (auth.partners.access_tokens), and
the usage record.

The quota is the credential's own (auth/partners/credential_limits.py). Over it, a credential in
ENFORCE mode is refused with 429, counted as TOKEN_REFUSED (reason `token_quota`) and
RATE_LIMITED; one in MONITOR mode gets its token, and the request is counted as WOULD_LIMIT. Both
are counted under the operation `POST /oauth/token`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from auth.partners.access_tokens import IssuedToken, issue_access_token
from auth.partners.authorization_details import claim_json, parse_request
from auth.partners.client_secrets import AuthenticatedClient
from auth.partners.credential_directory import CredentialState
from auth.partners.credential_limits import TOKEN_OPERATION
from auth.partners.oauth_errors import (
    InvalidAuthorizationDetails,
    InvalidScope,
    OAuth2Error,
    TooManyRequests,
)
from auth.partners.signing_keys import KeyRing, SigningKeyError
from auth.partners.token_reuse import RecentTokens
from auth.partners.usage import UsageRecorder
from auth.partners.usage_counts import UsageCounts
from models.tenancy import TenantScope
from models.usage import UsageMetric
from partner_api.foundation.event_log import log_event
from partner_api.foundation.settings import Settings
from partner_api.foundation.throttle import CounterFactory

logger = logging.getLogger("partner_api.oauth")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')


def resolve_scopes(requested: str | None, allowed: list[str]) -> list[str]:
    """TE-05/06: no scope → everything the credential holds; otherwise a subset, never more."""
    if requested is None or not requested.strip():
        return allowed
    names = requested.split(" ")
    if any(not name or not set(name) <= _SCOPE_TOKEN_CHARS for name in names):
        raise InvalidScope("The scope parameter is malformed.")
    held = set(allowed)
    if any(name not in held for name in names):
        raise InvalidScope("A requested scope is unknown or not granted to this client.")
    wanted = set(names)
    return [name for name in allowed if name in wanted]


class Grant(NamedTuple):
    """What one token will hold: its scopes and, for a token limited to events, those events."""

    scopes: list[str]
    event_ids: tuple[str, ...] | None


async def resolve_grant(
    credential: CredentialState, scopes: list[str], requested_details: str | None
) -> Grant:
    """ER-02: without `authorization_details`, the credential's own restriction (if any); with
    it, a subset of what the credential may reach (its events, or its organisation's when it is
    unrestricted) and, if `actions` are named, of the scopes — never more."""
    if not requested_details:  # RFC 6749 §3.1: a parameter without a value is omitted
        return Grant(scopes, credential.event_ids)
    requested = parse_request(requested_details)
    if requested.actions is not None:
        if not set(requested.actions) <= set(scopes):
            raise InvalidAuthorizationDetails("An action is not a scope this token may have.")
        scopes = [name for name in scopes if name in requested.actions]
    allowed = credential.event_id_set
    if allowed is not None:
        reachable = all(event_id in allowed for event_id in requested.event_ids)
    else:
        found = (
            await TenantScope(credential.organisation_id)
            .events()
            .filter(id__in=list(requested.event_ids))
            .count()
        )
        reachable = found == len(requested.event_ids)
    if not reachable:
        raise InvalidAuthorizationDetails("An event is not one this client may reach.")
    return Grant(scopes, requested.event_ids)


class TokenIssuer:
    def __init__(
        self,
        settings: Settings,
        counters: CounterFactory,
        usage: UsageRecorder,
        counts: UsageCounts,
    ) -> None:
        self._settings = settings
        self._lifetime = timedelta(seconds=settings.access_token_ttl_seconds)
        self._usage = usage
        self._counts = counts
        self._quota = counters(
            name="token-quota", limit=settings.token_quota_per_minute, window_seconds=60
        )
        self.recent_tokens = RecentTokens(window_seconds=settings.token_reuse_seconds)

    async def issue(
        self,
        client: AuthenticatedClient,
        *,
        requested_scope: str | None,
        requested_details: str | None = None,
        client_ip: str | None,
        key_ring: KeyRing,
        revoked: dict[str, int],
        now: datetime,
    ) -> IssuedToken:
        """A token for `client`, signed with `key_ring`'s active key; a token reused from the
        window only while its id is not in `revoked`."""
        credential, secret = client
        counts = self._counts
        try:
            scopes = resolve_scopes(requested_scope, credential.allowed_scopes())
            grant = await resolve_grant(credential, scopes, requested_details)
        except OAuth2Error as error:
            counts.event(credential, UsageMetric.TOKEN_REFUSED, reason=error.error)
            raise
        scopes = grant.scopes
        details = None if grant.event_ids is None else claim_json(tuple(scopes), grant.event_ids)
        wait = await self._quota.record(credential.client_id, credential.token_quota_per_minute)
        if wait:
            if not credential.monitor_only:
                counts.event(credential, UsageMetric.TOKEN_REFUSED, reason="token_quota")
                counts.event(credential, UsageMetric.RATE_LIMITED, operation=TOKEN_OPERATION)
                raise TooManyRequests(wait)
            counts.event(credential, UsageMetric.WOULD_LIMIT, operation=TOKEN_OPERATION)
        key = key_ring.active
        if key is None:
            raise SigningKeyError("no active signing key")
        timestamp = now.timestamp()
        issued = self.recent_tokens.get(
            state=credential,
            secret_id=secret.id,
            scope=" ".join(scopes),
            details=details,
            kid=key.kid,
            now=timestamp,
            revoked=revoked,
        )
        if issued is None:
            settings = self._settings
            issued = issue_access_token(
                key_ring=key_ring,
                issuer=settings.issuer,
                audience=settings.audience,
                credential=credential,
                secret=secret,
                scopes=scopes,
                now=now,
                lifetime=self._lifetime,
                authorization_details=details,
            )
            self.recent_tokens.put(
                state=credential, secret_id=secret.id, issued=issued, kid=key.kid, now=timestamp
            )
        log_event(
            logger,
            logging.INFO,
            "access token issued",
            {"client_id": credential.client_id, "jti": issued.jti},
        )
        counts.event(credential, UsageMetric.TOKEN_ISSUED)
        write_due = self._usage.token_issued(
            organisation_id=credential.organisation_id,
            credential_id=credential.id,
            client_id=credential.client_id,
            secret_id=secret.id,
            ip_address=client_ip,
            now=now,
        )
        if write_due:
            await self._usage.write_due(secret_id=secret.id, credential_id=credential.id, now=now)
        return issued
