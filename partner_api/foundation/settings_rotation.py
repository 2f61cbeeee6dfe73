"""How long a rotated-away secret may keep working: the default grace period and its ceiling."""

from __future__ import annotations

from partner_api.foundation.settings_reader import ConfigurationError, EnvironmentReader


def read_rotation_grace(
    reader: EnvironmentReader, *, default_minutes: int, max_minutes: int
) -> tuple[int, int]:
    """(default, maximum) in minutes; the default may not exceed the maximum."""
    grace_default = reader.integer("PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES", default_minutes, 0)
    grace_max = reader.integer("PARTNER_API_ROTATION_GRACE_MAX_MINUTES", max_minutes, 0)
    if grace_default > grace_max:
        raise ConfigurationError(
            "PARTNER_API_ROTATION_GRACE_DEFAULT_MINUTES must not exceed "
            "PARTNER_API_ROTATION_GRACE_MAX_MINUTES"
        )
    return grace_default, grace_max
