"""partner_api/web/observability/log_handler.py: a loop turn's lines reach the stream in one
write, in order, before the loop's next turn; nothing that matters waits."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from partner_api.web.observability.log_handler import BatchingStreamHandler


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def stream() -> CountingStream:
    return CountingStream()


@pytest.fixture
def logger(stream: CountingStream) -> Iterator[logging.Logger]:
    handler = BatchingStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    one = logging.getLogger("tests.log_handler")
    one.addHandler(handler)
    one.setLevel(logging.DEBUG)
    one.propagate = False
    yield one
    one.removeHandler(handler)


def lines(stream: CountingStream) -> list[str]:
    return stream.getvalue().splitlines()


async def test_a_loop_turns_lines_are_written_once_in_order_before_the_next_turn(
    logger: logging.Logger, stream: CountingStream
) -> None:
    for index in range(3):
        logger.info("line %d", index)
    assert stream.writes == 0, "held until the turn ends"

    await asyncio.sleep(0)

    assert lines(stream) == ["INFO line 0", "INFO line 1", "INFO line 2"]
    assert stream.writes == 1


async def test_a_warning_writes_itself_and_what_came_before_at_once(
    logger: logging.Logger, stream: CountingStream
) -> None:
    logger.info("first")
    logger.warning("second")

    assert lines(stream) == ["INFO first", "WARNING second"]
    await asyncio.sleep(0)
    assert lines(stream) == ["INFO first", "WARNING second"]


def test_outside_an_event_loop_every_line_is_written_at_once(
    logger: logging.Logger, stream: CountingStream
) -> None:
    logger.info("at start-up")

    assert lines(stream) == ["INFO at start-up"]


async def test_flush_writes_what_is_pending(logger: logging.Logger, stream: CountingStream) -> None:
    logger.info("pending")

    for handler in logger.handlers:
        handler.flush()

    assert lines(stream) == ["INFO pending"]


async def test_lines_from_another_thread_keep_their_order(
    logger: logging.Logger, stream: CountingStream
) -> None:
    logger.info("on the loop")
    await asyncio.to_thread(logger.info, "in a thread")

    assert lines(stream) == ["INFO on the loop", "INFO in a thread"]
