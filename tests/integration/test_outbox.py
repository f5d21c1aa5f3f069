"""The outbox through the pipeline: concurrent workers, retries with a stable webhook-id, 410 Gone.

Deliveries are prepared through the Store API (feed → articles → matches → events with their outbox
rows in one transaction, as detection writes them) and sent by ``Pipeline.deliver_due`` to real local
receivers that verify Standard Webhooks signatures and record every webhook-id they process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from storage.base import PollOutcome
from storage.sql import SqlStore, open_store
from tests.integration.receivers import Receiver
from tests.integration.test_pipeline import SECRET, Clock
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import (
    ArticleIn,
    Claim,
    Cue,
    Delivery,
    DeliveryStatus,
    Destination,
    Event,
    EventDraft,
    EventType,
    FeedSpec,
    Framing,
    MatchScore,
    Stance,
)
from watcher.notify.retry import JITTER
from watcher.pipeline import Pipeline

CLAIM_TEXT = "NATO has surpassed Russia in ammunition production"
EVENT_TYPES = (EventType.FIRST_SEEN, EventType.COVERAGE_SPIKE, EventType.NEW_SEGMENT, EventType.FRAMING_SHIFT)
DEFAULT_FEED = FeedSpec(url="https://feeds.example/kyiv.xml", outlet="Kyiv Post", country="UA", language="en")


def _article(i: int, now: datetime) -> ArticleIn:
    url = f"https://news.example/ammo-{i}"
    return ArticleIn(
        key=url,
        url=url,
        canonical_url=url,
        title=f"{CLAIM_TEXT}, report {i} says",
        text=f"{CLAIM_TEXT}, officials said on Thursday.",
        content_hash=f"ammo-{i}",
        published_at=now,
    )


async def seed_events(
    store: SqlStore,
    destinations: Sequence[Destination],
    count: int,
    now: datetime,
    *,
    feed: FeedSpec = DEFAULT_FEED,
    articles: int = 10,
    claim_name: str = "nato-ammo",
) -> list[Event]:
    """``count`` events for one claim, each with a pending delivery to every destination.

    Builds what the stages before delivery would have stored: a polled feed, matched articles, a claim.
    """
    await store.sync_feeds([feed], source="config", now=now)
    (leased,) = await store.lease_due_feeds(now, 1, lease_s=60, all=True)
    outcome = PollOutcome(polled_at=now, next_poll_at=now, status=200, error=None)
    article_ids = await store.record_poll(leased.id, outcome, [_article(i, now) for i in range(articles)])
    claim = await store.add_claim(Claim(id=0, name=claim_name, text=CLAIM_TEXT), now=now)
    framing = Framing(stance=Stance.SUPPORTS, skepticism=0.1, cues=(Cue(kind="attribution", text="said"),))
    results = [
        (
            MatchScore(
                claim_id=claim.id,
                article_id=aid,
                score=0.9,
                lexical=0.9,
                semantic=None,
                evidence=(f"{CLAIM_TEXT}.",),
                matched=True,
            ),
            framing,
        )
        for aid in article_ids
    ]
    await store.save_matches(article_ids, results, now)
    match_ids = [m.id for m in await store.matches_for_claim(claim.id)]
    await store.sync_destinations(destinations)
    drafts = [
        EventDraft(
            type=EVENT_TYPES[i % len(EVENT_TYPES)],
            claim_id=claim.id,
            dedupe_key=f"outbox:{i}",
            summary=f"Event {i} of {count}",
            details={"n": i},
            match_ids=(match_ids[i % len(match_ids)],),
            created_at=now + timedelta(milliseconds=i),
        )
        for i in range(count)
    ]
    events = await store.record_events(claim.id, drafts, destinations, now)
    assert len(events) == count
    return events


def webhook(name: str, receiver: Receiver) -> Destination:
    return Destination(name=name, kind="webhook", url=receiver.url(f"/{name}"), secret=SECRET)


def settings_for(db_url: str, destinations: Sequence[Destination], *, lease_s: float = 300.0) -> Settings:
    return Settings(
        database_url=db_url,
        destinations=tuple(destinations),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False, lease_s=lease_s),
    )


async def all_deliveries(store: SqlStore) -> list[Delivery]:
    return await store.list_deliveries(limit=10_000)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(secret=SECRET) as r:
        yield r


@pytest.fixture
async def pipelines() -> AsyncIterator[list[Pipeline]]:
    """Pipelines opened by a test, closed after it."""
    opened: list[Pipeline] = []
    yield opened
    for p in opened:
        await p.close()


async def open_pipeline(
    opened: list[Pipeline], settings: Settings, store: SqlStore, clock: Clock | None = None
) -> Pipeline:
    p = await Pipeline.open(settings, store, load_model=False, **({"clock": clock} if clock else {}))
    opened.append(p)
    return p


# -- two workers -------------------------------------------------------------------------------------


async def test_two_workers_deliver_100_alerts_each_exactly_once(
    db_url: str, receiver: Receiver, pipelines: list[Pipeline]
) -> None:
    """Two pipelines with their own stores (two connection pools, as two processes have) race for 100."""
    receiver.behave(delay_s=0.005)
    dest = webhook("cms", receiver)
    stores = [await open_store(db_url, upgrade=True) for _ in range(2)]
    try:
        events = await seed_events(stores[0], [dest], 100, datetime.now(UTC))
        workers = [await open_pipeline(pipelines, settings_for(db_url, [dest]), s) for s in stores]
        # Small batches, so that the workers interleave: each lease takes ten of what is left.
        results = await asyncio.gather(*(w.deliver_due(limit=10) for w in workers))
        assert [failed for _, failed in results] == [0, 0]
        assert sum(delivered for delivered, _ in results) == 100
        assert all(delivered for delivered, _ in results), "each worker took a share"
        assert receiver.duplicates == 0 and len(receiver.requests) == 100
        ids = [r.headers["webhook-id"] for r in receiver.requests]
        assert len(set(ids)) == 100 and set(ids) == {e.id for e in events}, "each webhook-id sent once"
        assert all(r.signature_error is None and r.answered == 200 for r in receiver.requests)
        rows = await all_deliveries(stores[0])
        assert len(rows) == 100
        assert {(d.status, d.attempts) for d in rows} == {(DeliveryStatus.DELIVERED, 1)}
        assert [await w.deliver_due() for w in workers] == [(0, 0), (0, 0)], "nothing left to send"
    finally:
        for s in stores:
            await s.close()


# -- retries -----------------------------------------------------------------------------------------


async def test_503_twice_then_delivered_with_the_same_webhook_id(
    store: SqlStore, db_url: str, receiver: Receiver, pipelines: list[Pipeline]
) -> None:
    clock = Clock()
    receiver.behave(fail_times=2, fail_status=503)
    dest = webhook("cms", receiver)
    (event,) = await seed_events(store, [dest], 1, clock.now)
    pipeline = await open_pipeline(pipelines, settings_for(db_url, [dest]), store, clock)

    assert await pipeline.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 1, 503)
    assert row.next_attempt_at is not None
    first_wait = row.next_attempt_at - clock.now
    assert timedelta(seconds=5 * (1 - JITTER)) <= first_wait <= timedelta(seconds=5 * (1 + JITTER))
    assert await pipeline.deliver_due() == (0, 0), "not due again before next_attempt_at"
    assert len(receiver.requests) == 1

    clock.now = row.next_attempt_at + timedelta(milliseconds=1)
    assert await pipeline.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 2, 503)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - clock.now >= timedelta(minutes=5 * (1 - JITTER)), "backs off"

    clock.now = row.next_attempt_at + timedelta(milliseconds=1)
    assert await pipeline.deliver_due() == (1, 0)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DELIVERED, 3, 200)
    assert row.delivered_at == clock.now and row.last_error is None and row.next_attempt_at is None

    answered = [r.answered for r in receiver.requests]
    assert answered == [503, 503, 200]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event.id}, "stable across retries"
    assert len({r.body for r in receiver.requests}) == 1, "the same body every time"
    assert all(r.signature_error is None for r in receiver.requests)
    assert receiver.processed_ids == [event.id] and receiver.duplicates == 0
    assert await pipeline.deliver_due() == (0, 0)


# -- 410 Gone ----------------------------------------------------------------------------------------


async def test_410_disables_the_destination_and_cancels_its_pending_deliveries(
    store: SqlStore, db_url: str, pipelines: list[Pipeline]
) -> None:
    clock = Clock()
    async with Receiver(secret=SECRET) as gone, Receiver(secret=SECRET) as live:
        gone.behave(status=410, body="gone")
        dests = [webhook("cms", gone), webhook("archive", live)]
        events = await seed_events(store, dests, 5, clock.now)
        pipeline = await open_pipeline(pipelines, settings_for(db_url, dests), store, clock)

        delivered, failed = await pipeline.deliver_due()
        assert delivered == 5 and failed >= 1
        assert gone.requests and gone.requests[0].answered == 410 and not gone.processed_ids
        assert sorted(live.processed_ids) == sorted(e.id for e in events), "other destinations unaffected"

        states = await store.destination_states()
        assert states["cms"] and "410" in states["cms"] and states["archive"] is None
        cancelled = await store.list_deliveries(status=DeliveryStatus.CANCELLED)
        assert len(cancelled) == 5 and {d.destination for d in cancelled} == {"cms"}
        assert {d.status for d in await all_deliveries(store) if d.destination == "archive"} == {
            DeliveryStatus.DELIVERED
        }

        # Later events are not queued for the disabled destination at all; nothing more reaches it.
        clock.advance(hours=1)
        sent_before = len(gone.requests)
        (later,) = await store.record_events(
            events[0].claim_id,
            [
                EventDraft(
                    type=EventType.COVERAGE_SPIKE,
                    claim_id=events[0].claim_id,
                    dedupe_key="outbox:later",
                    summary="later",
                    details={},
                    match_ids=events[0].match_ids,
                    created_at=clock.now,
                )
            ],
            dests,
            clock.now,
        )
        assert await pipeline.deliver_due() == (1, 0)
        assert len(gone.requests) == sent_before and live.processed_ids[-1] == later.id


async def test_nothing_more_is_sent_to_a_destination_after_its_410(
    store: SqlStore, db_url: str, pipelines: list[Pipeline]
) -> None:
    clock = Clock()
    async with Receiver(secret=SECRET) as gone:
        gone.behave(status=410, body="gone")
        dest = webhook("cms", gone)
        await seed_events(store, [dest], 5, clock.now)
        pipeline = await open_pipeline(pipelines, settings_for(db_url, [dest]), store, clock)
        await pipeline.deliver_due()
        assert len(gone.requests) == 1, f"{len(gone.requests)} requests to a destination that said 410 Gone"


# -- leases ------------------------------------------------------------------------------------------


async def test_a_batch_that_outlives_its_lease_is_not_sent_twice(
    store: SqlStore, db_url: str, pipelines: list[Pipeline]
) -> None:
    """The daemon runs deliver_due from two jobs (poll cycle, deliver tick); a slow batch must not overlap."""
    async with Receiver(secret=SECRET) as slow:
        slow.behave(delay_s=0.1)
        dest = webhook("cms", slow)
        await seed_events(store, [dest], 10, datetime.now(UTC))
        pipeline = await open_pipeline(pipelines, settings_for(db_url, [dest], lease_s=0.5), store)

        async def second_job() -> tuple[int, int]:
            await asyncio.sleep(0.7)  # the first batch (10 x 0.1 s) is still being sent; its lease ran out
            return await pipeline.deliver_due()

        await asyncio.gather(pipeline.deliver_due(), second_job())
        rows = await all_deliveries(store)
        assert {d.status for d in rows} == {DeliveryStatus.DELIVERED}
        assert slow.duplicates == 0 and len(slow.requests) == 10
