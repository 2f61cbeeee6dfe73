"""Client assertions (private_key_jwt, RFC 7523; issue 17)."""

from __future__ import annotations

from dataclasses import dataclass

from partner_api.foundation.settings_reader import EnvironmentReader


@dataclass(frozen=True, kw_only=True)
class AssertionSettings:
    # The furthest ahead an assertion's `exp` may be: a short-lived assertion is all a client
    # needs, and its `jti` is remembered until `exp`, so this also bounds the replay store.
    max_seconds: int = 300


def read_assertions(reader: EnvironmentReader) -> AssertionSettings:
    defaults = AssertionSettings()
    return AssertionSettings(
        max_seconds=reader.integer(
            "PARTNER_API_ASSERTION_MAX_SECONDS", defaults.max_seconds, 30, maximum=3600
        ),
    )
