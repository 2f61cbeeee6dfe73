"""Versioned keyed hashes (HMAC-SHA-256 with a server-side pepper) for client secrets (CR-03).

A stored value reads `v1$<pepper id>$<digest>`: the version names the algorithm, the pepper id
names which configured pepper made it, so peppers can be rotated (the old one is kept in
PARTNER_API_PREVIOUS_SECRET_PEPPERS until every secret hashed with it has been rotated).
HMAC-SHA-256 is fine for secrets of at least 112 bits (ASVS 6.5.2); ours carry 256.
"""

from __future__ import annotations

import hashlib
import hmac

from auth.partners.jws import b64url

_VERSION = "v1"


def _pepper_id(pepper: bytes) -> str:
    return hashlib.sha256(b"partner-api pepper id\x00" + pepper).hexdigest()[:8]


def _digest(pepper: bytes, value: str) -> str:
    mac = hmac.digest(pepper, value.encode("utf-8"), "sha256")
    return b64url(mac).decode("ascii")


# No pepper has this id: `matches` spends its HMAC and answers False.
_ABSENT_HASH = "v1$00000000$" + "A" * 43


class KeyedHasher:
    def __init__(self, peppers: tuple[bytes, ...]) -> None:
        if not peppers:
            raise ValueError("at least one pepper is required")
        self._current = peppers[0]
        self._by_id = {_pepper_id(pepper): pepper for pepper in peppers}

    def hash(self, value: str) -> str:
        return f"{_VERSION}${_pepper_id(self._current)}${_digest(self._current, value)}"

    def matches(self, value: str, stored: str) -> bool:
        """Constant-time comparison of `value` against a stored hash (CR-04)."""
        version, _, rest = stored.partition("$")
        pepper_id, _, expected = rest.partition("$")
        pepper = self._by_id.get(pepper_id)
        if version != _VERSION or pepper is None:
            # Still spend one HMAC so unknown formats do not answer faster.
            _digest(self._current, value)
            return False
        return hmac.compare_digest(_digest(pepper, value), expected)

    def spend_on_miss(self, value: str) -> None:
        """One HMAC of `value` for a presented secret that matched no stored row, so a miss costs
        what a wrong secret does and timing does not tell which lookup parts exist (CR-05). A
        comparison against a placeholder, so it takes exactly the path of a real one."""
        self.matches(value, _ABSENT_HASH)

    def recognises(self, stored: str) -> bool:
        """Whether `stored` was made with one of the configured peppers (its pepper id)."""
        version, _, rest = stored.partition("$")
        return version == _VERSION and rest.partition("$")[0] in self._by_id

    def needs_rehash(self, stored: str) -> bool:
        return not stored.startswith(f"{_VERSION}${_pepper_id(self._current)}$")
