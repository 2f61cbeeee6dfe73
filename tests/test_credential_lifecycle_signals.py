"""The lifecycle rules (partner_api/operations/lifecycle.py) and their edges, without a database,
plus
the policy-aware expiry rules of partner_api/foundation/validation.py. GraphQL behaviour:
test_lifecycle_graphql.py, test_credential_policy.py and test_end_previous_secret.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.credential import Credential, CredentialSecret
from partner_api.foundation.settings import Settings
from partner_api.foundation.validation import (
    InvalidInput,
    clean_policy_expiry,
    clean_policy_lifetime,
)
from partner_api.operations.lifecycle import (
    LifecycleWindows,
    exceeds_policy,
    expires_soon,
    is_stale,
    safe_to_end,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
STALE = timedelta(days=90)
SETTLE = timedelta(minutes=16)
TICK = timedelta(microseconds=1)


def credential(
    *,
    created_at: datetime = NOW - timedelta(days=200),
    expires_at: datetime | None = None,
    last_used_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> Credential:
    return Credential(
        name="Box office",
        created_at=created_at,
        expires_at=expires_at,
        last_used_at=last_used_at,
        revoked_at=revoked_at,
    )


def previous_secret(
    *,
    expires_at: datetime | None = NOW + timedelta(hours=12),
    last_used_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> CredentialSecret:
    return CredentialSecret(
        created_at=NOW - timedelta(days=30),
        expires_at=expires_at,
        ended_at=ended_at,
        last_used_at=last_used_at,
    )


# -- expires soon ------------------------------------------------------------------------------


def test_expires_soon_exactly_at_the_window_boundary() -> None:
    assert expires_soon(credential(expires_at=NOW + WINDOW), now=NOW, window=WINDOW)
    assert not expires_soon(credential(expires_at=NOW + WINDOW + TICK), now=NOW, window=WINDOW)


def test_expires_soon_inside_the_window() -> None:
    assert expires_soon(credential(expires_at=NOW + timedelta(hours=1)), now=NOW, window=WINDOW)


def test_a_credential_without_expiry_never_expires_soon() -> None:
    assert not expires_soon(credential(), now=NOW, window=WINDOW)


def test_expired_and_revoked_credentials_never_expire_soon() -> None:
    expired = credential(expires_at=NOW - TICK)
    expiring_now = credential(expires_at=NOW)  # expiry is exclusive: at `expires_at` it is over
    revoked = credential(expires_at=NOW + timedelta(days=1), revoked_at=NOW - timedelta(days=1))
    for item in (expired, expiring_now, revoked):
        assert not expires_soon(item, now=NOW, window=WINDOW)


# -- stale -------------------------------------------------------------------------------------


def test_stale_exactly_at_the_threshold() -> None:
    assert is_stale(credential(last_used_at=NOW - STALE), now=NOW, stale_after=STALE)
    assert not is_stale(credential(last_used_at=NOW - STALE + TICK), now=NOW, stale_after=STALE)


def test_a_never_used_credential_counts_from_its_creation() -> None:
    assert is_stale(credential(created_at=NOW - STALE), now=NOW, stale_after=STALE)
    assert not is_stale(credential(created_at=NOW - timedelta(days=89)), now=NOW, stale_after=STALE)


def test_recent_use_makes_an_old_credential_fresh() -> None:
    old_but_used = credential(created_at=NOW - timedelta(days=400), last_used_at=NOW - TICK)
    assert not is_stale(old_but_used, now=NOW, stale_after=STALE)


def test_expired_and_revoked_credentials_are_never_stale() -> None:
    expired = credential(expires_at=NOW - timedelta(days=1))
    revoked = credential(revoked_at=NOW - timedelta(days=100))
    for item in (expired, revoked):
        assert not is_stale(item, now=NOW, stale_after=STALE)


# -- safe to end -------------------------------------------------------------------------------


def _safe(
    secret: CredentialSecret,
    *,
    rotated_at: datetime | None = NOW - timedelta(hours=1),
    active: bool = True,
) -> bool | None:
    return safe_to_end(
        secret, newer_secret_created_at=rotated_at, credential_active=active, now=NOW, settle=SETTLE
    )


def test_the_current_secret_has_no_safe_to_end_signal() -> None:
    current = previous_secret(expires_at=None)
    assert _safe(current, rotated_at=None) is None
    assert _safe(current) is None


def test_a_previous_secret_unused_since_the_rotation_is_safe_to_end() -> None:
    rotated = NOW - timedelta(hours=1)
    assert _safe(previous_secret(), rotated_at=rotated) is True
    assert _safe(previous_secret(last_used_at=rotated - TICK), rotated_at=rotated) is True


def test_a_previous_secret_used_since_the_rotation_is_not_safe_to_end() -> None:
    rotated = NOW - timedelta(hours=1)
    assert _safe(previous_secret(last_used_at=rotated), rotated_at=rotated) is False
    assert _safe(previous_secret(last_used_at=NOW - TICK), rotated_at=rotated) is False


def test_safe_to_end_waits_for_the_rotation_to_settle() -> None:
    """An access token obtained just before the rotation is renewed only when it expires."""
    assert _safe(previous_secret(), rotated_at=NOW - SETTLE + TICK) is False
    assert _safe(previous_secret(), rotated_at=NOW - SETTLE) is True


def test_ended_or_expired_secrets_and_inactive_credentials_are_not_safe_to_end() -> None:
    assert _safe(previous_secret(ended_at=NOW - TICK)) is False
    assert _safe(previous_secret(expires_at=NOW)) is False
    assert _safe(previous_secret(), active=False) is False


# -- organisation policy -----------------------------------------------------------------------


def test_exceeds_policy_only_with_a_policy_and_a_later_or_missing_expiry() -> None:
    no_expiry = credential()
    within = credential(expires_at=NOW + timedelta(days=30))
    beyond = credential(expires_at=NOW + timedelta(days=30) + TICK)
    assert not exceeds_policy(no_expiry, now=NOW, max_lifetime_days=None)
    assert exceeds_policy(no_expiry, now=NOW, max_lifetime_days=30)
    assert not exceeds_policy(within, now=NOW, max_lifetime_days=30)
    assert exceeds_policy(beyond, now=NOW, max_lifetime_days=30)


def test_revoked_and_expired_credentials_never_exceed_the_policy() -> None:
    revoked = credential(revoked_at=NOW - timedelta(days=1))
    expired = credential(expires_at=NOW - timedelta(days=1))
    for item in (revoked, expired):
        assert not exceeds_policy(item, now=NOW, max_lifetime_days=1)


def test_policy_expiry_defaults_to_the_maximum_when_creating() -> None:
    assert clean_policy_expiry(None, now=NOW, max_lifetime_days=30, required=False) == (
        NOW + timedelta(days=30)
    )
    assert clean_policy_expiry(None, now=NOW, max_lifetime_days=None, required=False) is None


def test_policy_expiry_accepts_the_maximum_and_refuses_anything_later() -> None:
    limit = NOW + timedelta(days=30)
    assert clean_policy_expiry(limit, now=NOW, max_lifetime_days=30, required=False) == limit
    with pytest.raises(InvalidInput) as refused:
        clean_policy_expiry(limit + TICK, now=NOW, max_lifetime_days=30, required=False)
    assert refused.value.field == "expiresAt"
    assert "30 days" in refused.value.message


def test_policy_expiry_refuses_clearing_the_expiry_on_update() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_policy_expiry(None, now=NOW, max_lifetime_days=30, required=True)
    assert refused.value.field == "expiresAt"
    assert clean_policy_expiry(None, now=NOW, max_lifetime_days=None, required=True) is None


def test_policy_expiry_still_applies_the_basic_expiry_rules() -> None:
    with pytest.raises(InvalidInput):
        clean_policy_expiry(NOW - TICK, now=NOW, max_lifetime_days=30, required=False)
    naive = datetime(2026, 6, 2, 12, 0)
    with pytest.raises(InvalidInput):
        clean_policy_expiry(naive, now=NOW, max_lifetime_days=30, required=False)


@pytest.mark.parametrize("days", [1, 90, 3650, None])
def test_policy_lifetime_bounds_accept(days: int | None) -> None:
    assert clean_policy_lifetime(days) == days


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_policy_lifetime_bounds_refuse(days: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_policy_lifetime(days)
    assert refused.value.field == "maxCredentialLifetimeDays"


def test_windows_come_from_the_settings() -> None:
    windows = LifecycleWindows.from_settings(
        Settings(
            expires_soon_days=3,
            stale_after_days=30,
            access_token_ttl_seconds=600,
            last_used_write_interval_seconds=60,
        )
    )
    assert windows.expires_soon == timedelta(days=3)
    assert windows.stale_after == timedelta(days=30)
    assert windows.settle == timedelta(seconds=660)
