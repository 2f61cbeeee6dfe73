"""No admin API token value in logs, metrics, the audit trail or error answers (PT-01, PT-03,
LG-02, CR-02).

Log records are captured raw (message, arguments and every extra field, before the production
formatter's scrubbing), at DEBUG on every logger: the proof is that nothing writes the token, not
that the scrubber would catch it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from models.audit import AuditEvent
from tests.helpers import gql, operation
from tests.test_api_tokens import forged, new_token, owner_session


class RawRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def raw_logs() -> Iterator[RawRecords]:
    handler = RawRecords()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_pt01_pt03_no_token_value_in_logs_metrics_audit_or_errors(
    client: httpx.AsyncClient, raw_logs: RawRecords
) -> None:
    """PT-01, PT-03, LG-02: a token's whole life — created, used for a query and a mutation,
    presented forged, sent to logout, revoked, presented after revocation — leaves neither the
    token nor its secret part in any log record, in /metrics, in an audit event, or in any
    answer but the one that creates it."""
    session = await owner_session(client)
    token, token_id = await new_token(client, session, name="Secrecy CI")
    wrong = forged(token)
    answers = [
        await gql(client, operation("Viewer"), token=token),
        await gql(
            client,
            operation("CreateCredential"),
            {"input": {"name": "Sync", "contactEmail": "it@sync.example", "accessLevel": "FULL"}},
            token=token,
        ),
        await gql(client, operation("Viewer"), token=wrong),
        await gql(client, operation("Logout"), token=token),
        await gql(client, operation("RevokeApiToken"), {"input": {"id": token_id}}, token=session),
        await gql(client, operation("Viewer"), token=token),
        await gql(client, operation("ApiTokens"), token=session),
        await gql(client, operation("AuditEvents"), token=session),
    ]
    scraped = await client.get("/metrics")
    metrics = scraped.text
    audit = [
        f"{event.actor_label} {event.before} {event.after} {event.user_agent}"
        for event in await AuditEvent.all()
    ]

    logs = "\n".join(raw_logs.texts)
    assert scraped.status_code == 200
    assert 'route="/graphql"' in metrics  # the requests above were measured
    assert "admin API token refused" in logs  # the refusals were logged, by their reason
    assert answers[0]["data"]["viewer"]["role"] == "ADMIN"
    assert answers[2]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answers[3]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for value in (token, token[16:], wrong, wrong[16:]):
        assert value not in logs
        assert value not in metrics
        assert value not in "\n".join(audit)
        assert value not in str(answers)
