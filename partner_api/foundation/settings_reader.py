"""Typed access to environment variables, and the one error every malformed setting raises.

The defaults live with the settings they belong to (partner_api/foundation/settings.py); this
module only
turns text into typed values and names the variable when the text does not fit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path


class ConfigurationError(Exception):
    """The environment describes a configuration the service refuses to run with."""


class EnvironmentReader:
    """Reads variables from one mapping; every malformed value is a ConfigurationError."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
        if value < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigurationError(f"{name} must be at most {maximum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name, "").lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"{name} must be true or false, not {raw!r}")

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        raw = self.text(name, "")
        try:
            return tuple(
                ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip()
            )
        except ValueError as error:
            raise ConfigurationError(f"{name}: {error}") from None

    def secret(self, name: str) -> str | None:
        """A secret from `NAME` or from the file named by `NAME_FILE` (for mounted secrets)."""
        direct = self._environ.get(name, "").strip()
        file_name = self._environ.get(f"{name}_FILE", "").strip()
        if direct and file_name:
            raise ConfigurationError(f"set {name} or {name}_FILE, not both")
        if file_name:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigurationError(f"{name}_FILE: {error.strerror}") from None
        return direct or None
