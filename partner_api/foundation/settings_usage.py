"""Usage counting and the bounds on the limits admins set (issue 16).

The limits themselves (`PARTNER_API_RATE_LIMIT_PER_MINUTE`, `PARTNER_API_TOKEN_QUOTA_PER_MINUTE`)
are the service defaults in settings.py; an organisation and a credential may set their own, at
most the maxima here.
"""

from __future__ import annotations

from dataclasses import dataclass

from partner_api.foundation.settings_reader import EnvironmentReader


@dataclass(frozen=True, kw_only=True)
class UsageSettings:
    # Count Partner API calls and token requests per credential (auth/partners/usage_counts.py).
    # Off only to measure what counting costs (bench/) or to shed every write in an emergency.
    counting: bool = True
    # How often each process adds its counts to the database: usage in GraphQL is at most this
    # old (plus the query).
    flush_seconds: int = 5
    # The most an organisation or a credential may be given, per minute.
    max_rate_limit_per_minute: int = 100_000
    max_token_quota_per_minute: int = 10_000


def read_usage(reader: EnvironmentReader) -> UsageSettings:
    defaults = UsageSettings()
    return UsageSettings(
        counting=reader.flag("PARTNER_API_USAGE_COUNTING", defaults.counting),
        flush_seconds=reader.integer(
            "PARTNER_API_USAGE_FLUSH_SECONDS", defaults.flush_seconds, 1, maximum=300
        ),
        max_rate_limit_per_minute=reader.integer(
            "PARTNER_API_MAX_RATE_LIMIT_PER_MINUTE", defaults.max_rate_limit_per_minute, 1
        ),
        max_token_quota_per_minute=reader.integer(
            "PARTNER_API_MAX_TOKEN_QUOTA_PER_MINUTE", defaults.max_token_quota_per_minute, 1
        ),
    )
