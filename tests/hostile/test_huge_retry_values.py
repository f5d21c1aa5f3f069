"""Absurd server hints: a max-age or Retry-After too large for a timedelta is the cap, never a crash.

A feed answering ``Cache-Control: max-age=99999999999999999999``, or 429/503 with ``Retry-After:
100000000000000`` (or 400 nines, which parses to infinity), goes through poll → store like any other:
its items are stored (200) or its error recorded (429/503), and it is polled again after the 24 h cap.
A webhook receiver asking for such a wait is waiting longer than the retry window: the delivery is
given up (dead) with its error recorded.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from tests.support.outbox import seed_events
from tests.support.receivers import Receiver
from tests.support.records import make_delivery
from tests.support.stories import CLAIM, SECRET, STRAIGHT, UNRELATED, rss
from watcher.config import Settings
from watcher.domain import DeliveryStatus, Destination, Feed, FeedSpec
from watcher.ingest.fetch import MAX_DELAY, FetchResult, next_poll_at, parse_retry_after
from watcher.notify.retry import Outcome, SendResult, apply_outcome
from watcher.outbox import Outbox
from watcher.outbox.sender import Sender

HUGE_MAX_AGE = "9" * 20  # past what a timedelta holds, still a plain int
HUGE_RETRY_AFTER = ("100000000000000", "9" * 400)  # 10**14 s; and a number float() reads as inf
INTERVAL_S = 600
T0 = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)


def settings_for(server: FeedServer, db_url: str, paths: list[str]) -> Settings:
    feeds = tuple(
        FeedSpec(url=server.url(p), outlet=p.strip("/"), interval_s=INTERVAL_S, full_text="never")
        for p in paths
    )
    return loopback_settings(db_url, feeds, claims=(CLAIM,))


# -- feeds ------------------------------------------------------------------------------------------


async def test_a_huge_max_age_stores_the_items_and_waits_the_cap(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    headers = {"Cache-Control": f"public, max-age={HUGE_MAX_AGE}"}
    server.routes["/huge-max-age.xml"] = Route(body=rss("Huge", [STRAIGHT, UNRELATED]), headers=headers)
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url, ["/huge-max-age.xml"]), clock)

    report = await pipeline.cycle(all=True)

    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (1, 0, 2), report.errors
    (feed,) = await store.list_feeds()
    assert (feed.last_status, feed.last_error, feed.error_count) == (200, None, 0)
    assert feed.next_poll_at == clock.now + MAX_DELAY


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("retry_after", HUGE_RETRY_AFTER, ids=["1e14", "400-nines"])
async def test_a_huge_retry_after_records_the_error_and_waits_the_cap(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str, status: int, retry_after: str
) -> None:
    server.routes["/huge-retry.xml"] = Route(status=status, headers={"Retry-After": retry_after})
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url, ["/huge-retry.xml"]), clock)

    report = await pipeline.cycle(all=True)

    assert (report.feeds_polled, report.feeds_failed) == (1, 1)
    (feed,) = await store.list_feeds()
    assert feed.last_status == status and feed.error_count == 1
    assert feed.last_error is not None and feed.last_error.startswith(f"HTTP {status}")
    assert feed.next_poll_at == clock.now + MAX_DELAY
    # Not due again on the next lease: the feed waits the cap rather than being fetched every cycle.
    clock.advance(minutes=INTERVAL_S // 60 + 1)
    again = await pipeline.cycle()
    assert again.feeds_polled == 0 and server.hits("/huge-retry.xml") == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("100000000000000", 86400), ("9" * 400, 86400), ("Fri, 31 Dec 9999 23:59:59 GMT", 86400),
     ("86399", 86399), ("0", 0)],
)  # fmt: skip
def test_parse_retry_after_clamps_to_the_cap(header: str, expected: int) -> None:
    assert parse_retry_after(header, T0) == expected


@pytest.mark.parametrize("seconds", [10**20, -(10**20), -5])
def test_next_poll_at_clamps_before_building_a_timedelta(seconds: int) -> None:
    feed = Feed(
        id=1, url="https://feeds.example/rss", outlet="Test", country="ZZ", language="en",
        leaning="unknown", ownership="unknown", interval_s=INTERVAL_S,
    )  # fmt: skip
    expected = MAX_DELAY if seconds > 0 else timedelta(seconds=INTERVAL_S)
    ok = FetchResult(status=200, body=b"", max_age_s=seconds, retry_after_s=seconds)
    assert next_poll_at(feed, ok, T0, ttl_s=seconds) == T0 + expected
    failed = FetchResult(status=503, error="HTTP 503", error_kind="http", retry_after_s=seconds)
    assert next_poll_at(feed, failed, T0) == T0 + expected


# -- webhooks ---------------------------------------------------------------------------------------


@pytest.fixture
async def outbox_sender() -> AsyncIterator[Sender]:
    sender = Sender()  # the receiver listens on 127.0.0.1: its destination allows private addresses
    yield sender
    await sender.close()


@pytest.mark.parametrize("retry_after", HUGE_RETRY_AFTER, ids=["1e14", "400-nines"])
async def test_a_receiver_asking_for_a_huge_wait_makes_the_delivery_dead(
    store: SqlStore, receiver: Receiver, outbox_sender: Sender, retry_after: str
) -> None:
    clock = Clock()
    receiver.behave(fail_times=1, fail_status=429, retry_after=retry_after)
    dest = Destination(
        name="cms", kind="webhook", url=receiver.url("/cms"), secret=SECRET, allow_private=True
    )
    await seed_events(store, [dest], 1, clock.now)
    outbox = Outbox(store, outbox_sender, [dest], clock, lease_s=300.0)

    assert await outbox.deliver_due() == (0, 1)

    (row,) = await store.list_deliveries()
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DEAD, 1, 429)
    assert row.next_attempt_at is None
    assert row.last_error is not None and row.last_error.startswith("gave up after 1 attempts")
    assert [r.answered for r in receiver.requests] == [429]
    assert await outbox.deliver_due() == (0, 0), "nothing left to send"


@pytest.mark.parametrize("retry_after_s", [1e14, math.inf, 1e300])
def test_apply_outcome_gives_up_on_a_retry_after_past_the_window(retry_after_s: float) -> None:
    delivery = make_delivery()
    result = SendResult(
        outcome=Outcome.RETRY, status=429, error="HTTP 429", retry_after_s=retry_after_s, elapsed_ms=1.0
    )
    update = apply_outcome(delivery, result, T0, random.Random(0))
    assert (update.status, update.next_attempt_at, update.last_status) == (DeliveryStatus.DEAD, None, 429)


@pytest.mark.parametrize("retry_after_s", [math.nan, -1.0])
def test_apply_outcome_ignores_a_meaningless_retry_after(retry_after_s: float) -> None:
    delivery = make_delivery()
    result = SendResult(
        outcome=Outcome.RETRY, status=503, error="HTTP 503", retry_after_s=retry_after_s, elapsed_ms=1.0
    )
    update = apply_outcome(delivery, result, T0, random.Random(0))
    assert update.status is DeliveryStatus.PENDING and update.next_attempt_at is not None
    assert update.next_attempt_at - T0 < timedelta(seconds=6), "the schedule's first delay"
