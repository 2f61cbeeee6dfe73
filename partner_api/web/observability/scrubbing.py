"""Defence in depth for logs (SECURITY.md LG-02, CR-02): mask anything shaped like a credential.

Nothing in the service logs secrets on purpose; this catches what slips through anyway — an
exception message that quotes a request value, a path a client put a token into, a library that
logs a header. It masks our own formats by shape (client secrets `pcs_…`, session tokens
`pas_…`, also truncated), JSON Web Tokens (three base64url segments), and the value after an
HTTP `Bearer`/`Basic` scheme (a Basic value is base64 of `client_id:secret`, so the secret
cannot be matched by its prefix there), and passwords in connection URLs. Client ids (`pcl_…`)
and token ids (`jti`) stay: they identify, they do not authenticate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from auth.tokens import API_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, SESSION_TOKEN_PREFIX

MASK = "[redacted]"

# `Authorization: Bearer <x>` / `Basic <x>`, however it got into a message.
_AUTH_SCHEME = re.compile(r"\b((?i:bearer|basic))(\s+)[^\s,;\"'}\]]+")
# The token shapes start only where a run of their characters starts (a lookbehind, not
# `\b`): `\b` lets every position inside `a-a-a-…` start a scan to the end of the run, which is
# quadratic in the line; with the lookbehind each run is scanned once, so the scrubber stays
# linear whatever a log line quotes. A match from the run's start covers what `\b` found inside it.
_B64 = "0-9A-Za-z_-"
_CREDENTIAL = re.compile(
    # Our secrets, session and admin API tokens, also cut short: 8 characters after a prefix do.
    rf"\b(?:{CLIENT_SECRET_PREFIX}|{SESSION_TOKEN_PREFIX}|{API_TOKEN_PREFIX})[0-9A-Za-z]{{8,}}"
    # A JWS/JWT: its header is base64url JSON, so it starts with "eyJ".
    rf"|(?<![{_B64}])eyJ[{_B64}]*\.[{_B64}]+\.[{_B64}]*"
    # Any other three long base64url segments joined by dots.
    rf"|(?<![{_B64}])[{_B64}]{{16,}}\.[{_B64}]{{16,}}\.[{_B64}]{{16,}}"
)
# The password in a connection URL (`postgres://user:password@host`, `redis://:password@host`).
_URL_PASSWORD = re.compile(r"((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
# Extra fields whose *name* says they hold a credential are masked whatever their value.
_SENSITIVE_KEY = re.compile(r"(?i)(authorization|cookie|password|secret|token|pepper)$")


# All three shapes in one pattern: a string that matches none of them (nearly every one: a client
# id, a jti, a message) is answered after one scan instead of three substitutions.
_ANY_CREDENTIAL = re.compile(
    "|".join(f"(?:{pattern.pattern})" for pattern in (_AUTH_SCHEME, _URL_PASSWORD, _CREDENTIAL))
)


# Strings already found to hold nothing credential-shaped: log lines repeat their messages and
# identifiers (client ids, route templates), and the token endpoint writes a line per request.
# Only clean strings are kept, so the set never holds a credential; it is emptied when full.
_KNOWN_CLEAN: set[str] = set()
KNOWN_CLEAN_MAX = 4096


def scrub(text: str) -> str:
    """`text` with every credential-shaped part replaced by MASK."""
    if text in _KNOWN_CLEAN:
        return text
    if _ANY_CREDENTIAL.search(text) is None:
        if len(_KNOWN_CLEAN) >= KNOWN_CLEAN_MAX:
            _KNOWN_CLEAN.clear()
        _KNOWN_CLEAN.add(text)
        return text
    text = _AUTH_SCHEME.sub(rf"\1\2{MASK}", text)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    return _CREDENTIAL.sub(MASK, text)


@functools.lru_cache(maxsize=512)
def _is_sensitive(key: str) -> bool:
    """Whether a field's name says it holds a credential (field names repeat: cached)."""
    return _SENSITIVE_KEY.search(key) is not None


def scrub_value(value: Any, key: str = "") -> Any:
    """A JSON-ready copy of a log field: credential-named keys masked, strings scrubbed,
    containers walked, anything else rendered as a (scrubbed) string."""
    if key and value is not None and _is_sensitive(key):
        return MASK
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(name): scrub_value(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(item) for item in value]
    return scrub(str(value))
