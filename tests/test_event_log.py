"""partner_api/foundation/event_log.py: a hot line written through the service's handler without
a LogRecord is the very line the record would have given; anything else on the way makes the
record as usual."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest

from partner_api.foundation.event_log import log_event
from partner_api.web.observability.log_format import JsonFormatter, TextFormatter
from partner_api.web.observability.log_handler import BatchingStreamHandler
from partner_api.web.observability.request_id import RequestIdFilter, current_request_id

FIELDS = {"client_id": "pcl_example", "jti": "abc123", "secret": "never-printed"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.25)


@pytest.fixture
def request_id() -> Iterator[str]:
    token = current_request_id.set("req-1")
    yield "req-1"
    current_request_id.reset(token)


def attached(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(f"tests.event_log.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


@pytest.mark.parametrize("formatter", [JsonFormatter, TextFormatter])
def test_the_shortcut_writes_the_line_the_record_would_give(
    formatter: type[logging.Formatter], request_id: str
) -> None:
    logger, stream = attached(formatter())

    log_event(logger, logging.INFO, "access token issued", FIELDS)
    logger.info("access token issued", extra=dict(FIELDS))

    ours, theirs = stream.getvalue().splitlines()
    assert ours == theirs
    assert request_id in ours
    assert "never-printed" not in ours


def test_the_shortcut_makes_no_record(monkeypatch: pytest.MonkeyPatch) -> None:
    logger, stream = attached(JsonFormatter())

    def no_record(*args: object, **kwargs: object) -> logging.LogRecord:
        raise AssertionError("a record was made")

    monkeypatch.setattr(logger, "makeRecord", no_record)
    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert '"message":"access token issued"' in stream.getvalue()


def test_another_handler_on_the_way_gets_the_record_and_ours_the_same_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger, stream = attached(JsonFormatter())
    logger.propagate = True

    with caplog.at_level(logging.INFO, logger=logger.name):
        log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert [record.getMessage() for record in caplog.records] == ["access token issued"]
    assert caplog.records[0].jti == "abc123"  # type: ignore[attr-defined]
    assert '"jti":"abc123"' in stream.getvalue()


def test_a_filter_on_the_logger_still_decides() -> None:
    logger, stream = attached(JsonFormatter())
    logger.addFilter(lambda record: False)

    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert stream.getvalue() == ""


def test_a_level_the_logger_or_handler_turns_away_writes_nothing() -> None:
    logger, stream = attached(JsonFormatter())
    logger.setLevel(logging.WARNING)
    log_event(logger, logging.INFO, "access token issued", FIELDS)
    logger.setLevel(logging.INFO)
    logger.handlers[0].setLevel(logging.WARNING)
    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert stream.getvalue() == ""


def test_a_disabled_logger_writes_nothing() -> None:
    logger, stream = attached(JsonFormatter())
    logger.disabled = True

    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert stream.getvalue() == ""


def test_a_formatter_of_another_kind_gets_the_record() -> None:
    logger, stream = attached(logging.Formatter("%(message)s %(jti)s"))

    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert stream.getvalue() == "access token issued abc123\n"


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the stream is gone")


def test_a_broken_stream_is_reported_not_raised_into_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger, _ = attached(JsonFormatter())
    handler = logger.handlers[0]
    handler.setStream(BrokenStream())  # type: ignore[attr-defined]
    reported: list[logging.LogRecord | None] = []
    monkeypatch.setattr(handler, "handleError", reported.append)

    log_event(logger, logging.INFO, "access token issued", FIELDS)

    assert [record.getMessage() for record in reported if record] == ["access token issued"]
