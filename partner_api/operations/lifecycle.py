"""Credential lifecycle signals: expires soon, stale, safe to end, exceeds the policy.

Pure functions of a credential (or secret), the moment `now` and the configured windows, so the
rules live in one place and the GraphQL types, the page and the tests all agree on them.
docs/credential-lifecycle.md explains each rule and its edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.credential import Credential, CredentialSecret
from models.enums import CredentialStatus
from partner_api.foundation.settings import Settings


@dataclass(frozen=True)
class LifecycleWindows:
    expires_soon: timedelta
    stale_after: timedelta
    # How long a rotation must be old before "not used since" means something: a system still on
    # the previous secret may hold an access token it got just before the rotation, and asks for a
    # new one (with whichever secret it has) only when that token expires; last-used times reach
    # the database up to one write interval late (auth/partners/usage.py).
    settle: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LifecycleWindows:
        return cls(
            expires_soon=timedelta(days=settings.expires_soon_days),
            stale_after=timedelta(days=settings.stale_after_days),
            settle=timedelta(
                seconds=settings.access_token_ttl_seconds
                + settings.last_used_write_interval_seconds
            ),
        )


def expires_soon(credential: Credential, *, now: datetime, window: timedelta) -> bool:
    """Active, with an expiry no later than `now + window` (the boundary counts as soon)."""
    if credential.status_at(now) is not CredentialStatus.ACTIVE or credential.expires_at is None:
        return False
    return credential.expires_at <= now + window


def last_activity(credential: Credential) -> datetime:
    """When the credential was last used, or created when it never was."""
    return credential.last_used_at or credential.created_at


def is_stale(credential: Credential, *, now: datetime, stale_after: timedelta) -> bool:
    """Active and unused for at least `stale_after` (a never-used one counts from creation)."""
    if credential.status_at(now) is not CredentialStatus.ACTIVE:
        return False
    return last_activity(credential) <= now - stale_after


def safe_to_end(
    secret: CredentialSecret,
    *,
    newer_secret_created_at: datetime | None,
    credential_active: bool,
    now: datetime,
    settle: timedelta,
) -> bool | None:
    """Whether a previous secret can be ended without breaking anyone; None for a current one.

    True when the secret is still in its grace period, has not been used since the newer secret
    was created (the rotation), and the rotation is at least `settle` old. "Used" is as of the
    last usage write, which lags by at most the last-used write interval.
    """
    if secret.expires_at is None or newer_secret_created_at is None:
        return None
    if not credential_active or not secret.is_live_at(now):
        return False
    if now < newer_secret_created_at + settle:
        return False
    return secret.last_used_at is None or secret.last_used_at < newer_secret_created_at


def exceeds_policy(credential: Credential, *, now: datetime, max_lifetime_days: int | None) -> bool:
    """Active and allowed to live longer than the organisation's policy would allow today.

    The policy applies when an expiry is set (create, update); credentials created before it are
    not cut short, and this flag lets an administrator find them.
    """
    if max_lifetime_days is None or credential.status_at(now) is not CredentialStatus.ACTIVE:
        return False
    limit = policy_limit(now, max_lifetime_days)
    return credential.expires_at is None or credential.expires_at > limit


def policy_limit(now: datetime, max_lifetime_days: int) -> datetime:
    """The latest expiry the policy allows for a credential created or changed at `now`."""
    return now + timedelta(days=max_lifetime_days)
