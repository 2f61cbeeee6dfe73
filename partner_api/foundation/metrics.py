"""Prometheus metrics: one registry per process, label children made once.

Label values come from fixed sets chosen here or from route *templates*; never a client id, a
secret, a token or a raw path (SECURITY.md CR-02). Hot paths hold a child made in advance and call
`.inc()` / `.observe()` on it: plain arithmetic (see instruments.py), no lock, no label lookup.

The registry is this module's own, not prometheus_client's global one, so nothing another library
registers ends up in our exposition. Values are per process: with `serve --workers N` each worker
counts its own (docs/observability.md).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from partner_api.foundation.instruments import (
    Count,
    CounterFamily,
    HistogramFamily,
    register,
)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

TOKEN_REQUESTS = CounterFamily(
    "partner_api_token_requests",
    "Answers of POST /oauth/token: issued, or refused with the OAuth error (rate_limited for 429).",
    ["outcome", "reason"],
)
CLIENT_AUTHENTICATION_FAILURES = CounterFamily(
    "partner_api_client_authentication_failures",
    "Failed client authentications at the OAuth endpoints, by internal reason (all answer "
    "invalid_client alike).",
    ["reason"],
)
ACCESS_TOKEN_CHECKS = CounterFamily(
    "partner_api_access_token_checks",
    "Bearer-token checks of Partner API requests, by outcome.",
    ["outcome"],
)
RATE_LIMIT_HITS = CounterFamily(
    "partner_api_rate_limit_hits",
    "Requests refused, or events counted over the limit, by limiter.",
    ["limiter"],
)
RATE_LIMIT_STORE_ERRORS = CounterFamily(
    "partner_api_rate_limit_store_errors",
    "Redis errors of the rate-limit counters (they fail open), by limiter.",
    ["limiter"],
)
CACHE_REQUESTS = CounterFamily(
    "partner_api_cache_requests",
    "Look-ups in the in-process caches, by cache and result (hit or miss).",
    ["cache", "result"],
)
REQUEST_DURATION = HistogramFamily(
    "partner_api_http_request_duration_seconds",
    "Time from request to the end of the response, by route template, method and status class.",
    ["route", "method", "status"],
    # Sub-millisecond buckets: the hot paths answer in well under a millisecond of server time.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
USAGE_FLUSHES = CounterFamily(
    "partner_api_usage_flushes",
    "Flushes of the per-credential usage counts to the database, by outcome (a failed one keeps "
    "its counts for the next).",
    ["outcome"],
)
register(
    REGISTRY,
    USAGE_FLUSHES,
    TOKEN_REQUESTS,
    CLIENT_AUTHENTICATION_FAILURES,
    ACCESS_TOKEN_CHECKS,
    RATE_LIMIT_HITS,
    RATE_LIMIT_STORE_ERRORS,
    CACHE_REQUESTS,
    REQUEST_DURATION,
)

# -- children for the hot paths (made now, so they also show as 0 before the first event) -------

TOKEN_REFUSAL_REASONS = (
    "invalid_request",
    "invalid_client",
    "invalid_scope",
    "unsupported_grant_type",
    "rate_limited",
    "server_error",
)
TOKEN_ISSUED = TOKEN_REQUESTS.labels("issued", "none")
_TOKEN_REFUSED = {
    reason: TOKEN_REQUESTS.labels("refused", reason) for reason in TOKEN_REFUSAL_REASONS
}
_TOKEN_REFUSED_OTHER = TOKEN_REQUESTS.labels("refused", "other")


def count_token_refusal(error_code: str, status_code: int) -> None:
    """One refused token request: the OAuth error code, or rate_limited for a 429."""
    reason = "rate_limited" if status_code == 429 else error_code
    _TOKEN_REFUSED.get(reason, _TOKEN_REFUSED_OTHER).inc()


CLIENT_AUTHENTICATION_REASONS = (
    "malformed_secret",
    "unknown_secret",
    "wrong_secret",
    "credential_inactive",
    "secret_expired",
    "address_not_allowed",
    # private_key_jwt (auth/partners/client_assertions.py)
    "bad_assertion",
    "unknown_client",
    "assertion_replayed",
    "unknown_key",
    "keys_unavailable",
    "wrong_auth_method",
)
_CLIENT_AUTHENTICATION_FAILED = {
    reason: CLIENT_AUTHENTICATION_FAILURES.labels(reason)
    for reason in CLIENT_AUTHENTICATION_REASONS
}
_CLIENT_AUTHENTICATION_OTHER = CLIENT_AUTHENTICATION_FAILURES.labels("other")


def count_client_authentication_failure(reason: str) -> None:
    _CLIENT_AUTHENTICATION_FAILED.get(reason, _CLIENT_AUTHENTICATION_OTHER).inc()


ACCESS_TOKEN_OUTCOMES = ("valid", "missing_token", "invalid_token", "invalid_request")
ACCESS_TOKEN_VALID = ACCESS_TOKEN_CHECKS.labels("valid")
_ACCESS_TOKEN_REFUSED = {
    outcome: ACCESS_TOKEN_CHECKS.labels(outcome) for outcome in ACCESS_TOKEN_OUTCOMES
}
_ACCESS_TOKEN_OTHER = ACCESS_TOKEN_CHECKS.labels("other")


def count_access_token_refusal(error_code: str) -> None:
    _ACCESS_TOKEN_REFUSED.get(error_code, _ACCESS_TOKEN_OTHER).inc()


class CacheCounters:
    """`hit` and `miss` children of one cache."""

    def __init__(self, cache: str) -> None:
        self.hit: Count = CACHE_REQUESTS.labels(cache, "hit")
        self.miss: Count = CACHE_REQUESTS.labels(cache, "miss")


USAGE_FLUSH_WRITTEN = USAGE_FLUSHES.labels("written")
USAGE_FLUSH_FAILED = USAGE_FLUSHES.labels("failed")

CREDENTIAL_CACHE = CacheCounters("credential_directory")
VERIFIED_TOKEN_CACHE = CacheCounters("verified_tokens")


def exposition() -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)
