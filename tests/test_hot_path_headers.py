"""The one pass over each response's headers (partner_api/web/observability/middleware.py applying
partner_api/web/security_headers.py): what it adds, what it leaves alone, in which order, and what
it
records when the app fails before answering."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from partner_api.foundation.metrics import REQUEST_DURATION
from partner_api.web.observability import request_id
from partner_api.web.observability.middleware import ObservabilityMiddleware
from partner_api.web.security_headers import API_CONTENT_SECURITY_POLICY, SecurityHeaderPolicy

ID = (b"x-request-id", b"lb-1")
NOSNIFF = (b"x-content-type-options", b"nosniff")
DENY = (b"x-frame-options", b"DENY")
NO_REFERRER = (b"referrer-policy", b"no-referrer")
API_CSP = (b"content-security-policy", API_CONTENT_SECURITY_POLICY)
HSTS = (b"strict-transport-security", b"max-age=600; includeSubDomains")
JSON = (b"content-type", b"application/json")
HTML = (b"content-type", b"text/html; charset=utf-8")


def test_an_api_answer_gets_every_security_header_then_the_request_id() -> None:
    headers = [(b"cache-control", b"no-store"), (b"content-length", b"2"), JSON]

    result = SecurityHeaderPolicy(hsts_seconds=0).with_security_headers(headers, ID)

    assert result == [*headers, NOSNIFF, DENY, NO_REFERRER, API_CSP, ID]
    assert headers == [(b"cache-control", b"no-store"), (b"content-length", b"2"), JSON]


def test_hsts_only_when_configured() -> None:
    policy = SecurityHeaderPolicy(hsts_seconds=600)

    assert policy.with_security_headers([JSON], ID) == [
        JSON,
        NOSNIFF,
        DENY,
        NO_REFERRER,
        HSTS,
        API_CSP,
        ID,
    ]


def test_headers_the_response_has_are_left_alone() -> None:
    own = [
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"referrer-policy", b"same-origin"),
        (b"strict-transport-security", b"max-age=1"),
        (b"content-security-policy", b"default-src 'self'"),
        JSON,
    ]

    result = SecurityHeaderPolicy(hsts_seconds=600).with_security_headers(own, ID)

    assert result == [*own, NOSNIFF, ID]


@pytest.mark.parametrize(
    "content_type", [b"text/html", b"text/html; charset=utf-8", b"Text/HTML;charset=UTF-8"]
)
def test_html_without_a_policy_gets_no_api_policy(content_type: bytes) -> None:
    result = SecurityHeaderPolicy(hsts_seconds=0).with_security_headers(
        [(b"content-type", content_type)], ID
    )

    assert API_CSP not in result
    assert result[-4:] == [NOSNIFF, DENY, NO_REFERRER, ID]


@pytest.mark.parametrize(
    ("headers", "gets_policy"),
    [
        ([], True),  # no body type at all (a 307, an empty 200)
        ([(b"content-type", b"text/plain")], True),
        ([HTML, JSON], False),  # the first Content-Type decides
        ([JSON, HTML], True),
    ],
)
def test_api_policy_for_everything_that_is_not_html(
    headers: list[tuple[bytes, bytes]], gets_policy: bool
) -> None:
    result = SecurityHeaderPolicy(hsts_seconds=0).with_security_headers(headers, ID)

    assert (API_CSP in result) is gets_policy


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": "/nowhere",
        "headers": headers or [],
        "client": ("127.0.0.1", 1),
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _middleware(app: Any) -> ObservabilityMiddleware:
    return ObservabilityMiddleware(app, security_headers=SecurityHeaderPolicy(hsts_seconds=0))


def _count(status: str) -> int:
    return sum(REQUEST_DURATION.labels("unmatched", "GET", status).counts)


async def test_an_app_that_raises_before_answering_is_recorded_as_5xx() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    before = _count("5xx")
    sent = _Recorder()

    with pytest.raises(RuntimeError, match="boom"):
        await _middleware(failing)(_scope(), _receive, sent)

    assert _count("5xx") == before + 1
    assert sent.messages == []
    assert request_id.current_request_id.get() is None


async def test_the_response_start_carries_the_incoming_id_last_and_the_app_list_is_kept() -> None:
    own = [JSON]
    seen_ids: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen_ids.append(request_id.current_request_id.get())
        await send({"type": "http.response.start", "status": 404, "headers": own})
        await send({"type": "http.response.body", "body": b"{}"})

    before = _count("4xx")
    sent = _Recorder()

    await _middleware(app)(_scope([(b"x-request-id", b"lb-1")]), _receive, sent)

    assert seen_ids == ["lb-1"]
    assert sent.messages[0]["headers"] == [JSON, NOSNIFF, DENY, NO_REFERRER, API_CSP, ID]
    assert own == [JSON], "the app's own header list is not changed"
    assert sent.messages[1] == {"type": "http.response.body", "body": b"{}"}
    assert _count("4xx") == before + 1


def test_new_request_ids_are_distinct_hex_across_batches() -> None:
    ids = [request_id.new_request_id() for _ in range(3 * 256 + 7)]

    assert len(set(ids)) == len(ids)
    assert all(len(value) == 32 and set(value) <= set("0123456789abcdef") for value in ids)


def test_a_forked_child_does_not_reuse_the_parents_ids() -> None:
    request_id.new_request_id()
    remaining = request_id._batch[request_id._next :]

    request_id._forget_batch()  # what os.register_at_fork runs in the child

    assert request_id.new_request_id() not in remaining
