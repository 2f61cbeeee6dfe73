"""The change feed in the process that published a change (SECURITY.md RS-10).

A process honours its own changes from the first request after their commit. The feed must not
count a change as read when a sync ran between the publishing transaction's insert and its
commit (the row was not visible yet), and it must not go on syncing before every request for
long when a publishing transaction rolled back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import pytest
from tortoise.transactions import in_transaction

import tests.database
from auth.partners import change_feed
from auth.partners.change_feed import ChangeFeed
from models.oauth import ChangeKind
from partner_api.foundation.clock import utcnow
from tests.helpers import counting_queries

POSTGRES_ONLY = pytest.mark.skipif(
    not tests.database.on_postgres(),
    reason="needs PostgreSQL: SQLite runs one transaction at a time on one connection, so no "
    "sync can read the feed between another transaction's insert and its commit",
)


@dataclass
class Heard:
    credentials: list[UUID] = field(default_factory=list)

    def credential_changed(self, credential_id: UUID) -> None:
        self.credentials.append(credential_id)

    def token_revoked(self, jti: str, expires_at: datetime) -> None:
        raise AssertionError("no token is revoked here")

    async def signing_keys_changed(self) -> None:
        raise AssertionError("no signing key changes here")


class StoppedClock:
    """The feed's poll clock, held still: a sync comes only from a local publication."""

    def __call__(self) -> float:
        return 0.0


class RolledBack(Exception):
    pass


@pytest.fixture
async def feed(db: object) -> tuple[ChangeFeed, Heard]:
    heard = Heard()
    one = ChangeFeed(heard, poll_interval_seconds=0.25, clock=StoppedClock())
    one.start_from(utcnow())
    await one.sync()
    return one, heard


async def publish_and_roll_back() -> None:
    try:
        async with in_transaction():
            await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=uuid4())
            raise RolledBack
    except RolledBack:
        return
    raise AssertionError("the transaction was to roll back")


@pytest.mark.postgres_only
@POSTGRES_ONLY
async def test_rs10_a_sync_before_the_publishing_commit_leaves_the_change_unread(
    feed: tuple[ChangeFeed, Heard],
) -> None:
    """A request's sync runs on another connection after `publish` and before the commit; the
    first request after the commit still syncs and hears the change."""
    one, heard = feed
    published = asyncio.Event()

    async def request_in_the_window() -> None:
        await published.wait()
        await one.sync_if_due()

    # Created outside the transaction, so its queries use a connection of their own.
    racing = asyncio.create_task(request_in_the_window())
    credential = uuid4()
    async with in_transaction():
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential)
        published.set()
        await racing
        assert heard.credentials == []

    await one.sync_if_due()

    assert heard.credentials == [credential]


async def test_rs10_a_committed_publication_is_heard_by_the_next_request(
    feed: tuple[ChangeFeed, Heard],
) -> None:
    one, heard = feed
    credential = uuid4()
    async with in_transaction():
        await change_feed.publish(ChangeKind.CREDENTIAL_CHANGED, credential_id=credential)

    await one.sync_if_due()

    assert heard.credentials == [credential]
    with counting_queries(pytest.MonkeyPatch()) as statements:
        await one.sync_if_due()
    assert statements == [], "once its own row is read, the feed waits for the next poll"


async def test_rs10_an_organisation_wide_publication_is_heard_whole(
    feed: tuple[ChangeFeed, Heard],
) -> None:
    one, heard = feed
    credentials = [uuid4() for _ in range(3)]
    async with in_transaction():
        await change_feed.publish_credentials_changed(credentials)

    await one.sync_if_due()

    assert sorted(heard.credentials) == sorted(credentials)


async def test_a_rolled_back_publication_is_waited_for_only_within_its_patience(
    feed: tuple[ChangeFeed, Heard], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, heard = feed
    moment = 1000.0
    monkeypatch.setattr(change_feed, "_now", lambda: moment)
    await publish_and_roll_back()

    with counting_queries(monkeypatch) as within_patience:
        await one.sync_if_due()
        await one.sync_if_due()
    moment += change_feed.OWN_ROW_PATIENCE_SECONDS
    with counting_queries(monkeypatch) as after_patience:
        await one.sync_if_due()
        await one.sync_if_due()
        await one.sync_if_due()

    assert heard.credentials == []
    assert len(within_patience) == 2, "each request syncs while its row may still commit"
    assert len(after_patience) == 1, "past the patience the feed waits for the next poll"


async def test_requests_queued_behind_a_sync_share_it_while_a_row_is_awaited(
    feed: tuple[ChangeFeed, Heard], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _heard = feed
    monkeypatch.setattr(change_feed, "_now", lambda: 1000.0)
    await publish_and_roll_back()

    with counting_queries(monkeypatch) as statements:
        await asyncio.gather(*(one.sync_if_due() for _ in range(20)))

    assert len(statements) <= 2, statements
