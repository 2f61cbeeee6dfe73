"""A short reuse window for access tokens (default 1 s; `PARTNER_API_TOKEN_REUSE_SECONDS`, 0 = off).

Some integrations ask for a new token before every API call. Within the window, a request that
authenticates with the same secret for the same scope and the same events gets the token issued a
moment ago (with `expires_in` counting down) instead of a freshly signed one: signing dominates the
endpoint's cost, and such bursts are where it is paid needlessly. Authentication, address checks,
quotas, auditing and last-used tracking still run for every request. A token is never reused once
it was revoked, once the credential changed in any way (any change yields a new cached state), or
once the signing key rotated.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from auth.partners.access_tokens import IssuedToken
from auth.partners.credential_directory import CredentialState


@dataclass(frozen=True, slots=True)
class _Recent:
    issued: IssuedToken
    issued_at: float
    expires_at: int
    kid: str
    state: CredentialState


class RecentTokens:
    def __init__(self, *, window_seconds: float, max_entries: int = 50_000) -> None:
        self._window = window_seconds
        self._max_entries = max_entries
        # Keyed by secret, scope and `authorization_details` claim (None: every event).
        self._entries: OrderedDict[tuple[UUID, str, str | None], _Recent] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._window > 0

    def get(
        self,
        *,
        state: CredentialState,
        secret_id: UUID,
        scope: str,
        details: str | None,
        kid: str,
        now: float,
        revoked: dict[str, int],
    ) -> IssuedToken | None:
        key = (secret_id, scope, details)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if (
            now - entry.issued_at >= self._window
            or entry.state is not state
            or entry.kid != kid
            or entry.issued.jti in revoked
        ):
            del self._entries[key]
            return None
        issued = entry.issued
        return IssuedToken(
            token=issued.token,
            jti=issued.jti,
            scope=issued.scope,
            expires_in=max(1, entry.expires_at - int(now)),
            authorization_details=issued.authorization_details,
        )

    def put(
        self,
        *,
        state: CredentialState,
        secret_id: UUID,
        issued: IssuedToken,
        kid: str,
        now: float,
    ) -> None:
        if not self.enabled:
            return
        key = (secret_id, issued.scope, issued.authorization_details)
        self._entries[key] = _Recent(
            issued=issued,
            issued_at=now,
            expires_at=int(now) + issued.expires_in,
            kid=kid,
            state=state,
        )
        self._entries.move_to_end(key)
        # Entries are in the order they were put, so the ones past the window are at the front:
        # the cache holds the last window's tokens, not one token per credential ever served.
        entries = self._entries
        while entries:
            oldest = next(iter(entries.values()))
            if now - oldest.issued_at < self._window and len(entries) <= self._max_entries:
                break
            entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
