"""The outbox: concurrent workers, retries with a stable webhook-id, 410 Gone, leases, cancellation.

Deliveries are prepared through the Store API (feed → articles → matches → events with their outbox
rows in one transaction, as detection writes them) and sent by ``Outbox.deliver_due`` to real local
receivers that verify Standard Webhooks signatures and record every webhook-id they process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.sql import SqlStore, open_store
from tests.support.clock import Clock
from tests.support.database import destination_states
from tests.support.outbox import seed_events
from tests.support.receivers import Receiver
from tests.support.stories import SECRET
from watcher.domain import (
    Delivery,
    DeliveryStatus,
    Destination,
    EventDraft,
    EventType,
    utcnow,
)
from watcher.notify.retry import JITTER
from watcher.outbox import MISSING_FROM_CONFIG, Outbox, requeue
from watcher.outbox.sender import Sender


def webhook(name: str, receiver: Receiver) -> Destination:
    return Destination(
        name=name, kind="webhook", url=receiver.url(f"/{name}"), secret=SECRET, allow_private=True
    )


async def all_deliveries(store: SqlStore) -> list[Delivery]:
    return await store.list_deliveries(limit=10_000)


@pytest.fixture
async def outboxes() -> AsyncIterator[list[Outbox]]:
    """Outboxes opened by a test; their senders are closed after it."""
    opened: list[Outbox] = []
    yield opened
    for o in opened:
        await o.sender.close()


def open_outbox(
    opened: list[Outbox],
    store: SqlStore,
    destinations: Sequence[Destination],
    clock: Clock | None = None,
    *,
    lease_s: float = 300.0,
) -> Outbox:
    sender = Sender()  # the receivers listen on 127.0.0.1: each destination allows private addresses
    o = Outbox(store, sender, destinations, clock or utcnow, lease_s=lease_s)
    opened.append(o)
    return o


# -- two workers -------------------------------------------------------------------------------------


async def test_two_workers_deliver_100_alerts_each_exactly_once(
    db_url: str, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    """Two outboxes with their own stores (two connection pools, as two processes have) race for 100."""
    receiver.behave(delay_s=0.005)
    dest = webhook("cms", receiver)
    stores = [await open_store(db_url, upgrade=True) for _ in range(2)]
    try:
        events = await seed_events(stores[0], [dest], 100, datetime.now(UTC))
        workers = [open_outbox(outboxes, s, [dest]) for s in stores]
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
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    receiver.behave(fail_times=2, fail_status=503)
    dest = webhook("cms", receiver)
    (event,) = await seed_events(store, [dest], 1, clock.now)
    outbox = open_outbox(outboxes, store, [dest], clock)

    assert await outbox.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 1, 503)
    assert row.next_attempt_at is not None
    first_wait = row.next_attempt_at - clock.now
    assert timedelta(seconds=5 * (1 - JITTER)) <= first_wait <= timedelta(seconds=5 * (1 + JITTER))
    assert await outbox.deliver_due() == (0, 0), "not due again before next_attempt_at"
    assert len(receiver.requests) == 1

    clock.now = row.next_attempt_at + timedelta(milliseconds=1)
    assert await outbox.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.PENDING, 2, 503)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - clock.now >= timedelta(minutes=5 * (1 - JITTER)), "backs off"

    clock.now = row.next_attempt_at + timedelta(milliseconds=1)
    assert await outbox.deliver_due() == (1, 0)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DELIVERED, 3, 200)
    assert row.delivered_at == clock.now and row.last_error is None and row.next_attempt_at is None

    answered = [r.answered for r in receiver.requests]
    assert answered == [503, 503, 200]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event.id}, "stable across retries"
    assert len({r.body for r in receiver.requests}) == 1, "the same body every time"
    assert all(r.signature_error is None for r in receiver.requests)
    assert receiver.processed_ids == [event.id] and receiver.duplicates == 0
    assert await outbox.deliver_due() == (0, 0)


# -- 410 Gone ----------------------------------------------------------------------------------------


async def test_410_disables_the_destination_and_cancels_its_pending_deliveries(
    store: SqlStore, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    async with Receiver(secret=SECRET) as gone, Receiver(secret=SECRET) as live:
        gone.behave(status=410, body="gone")
        dests = [webhook("cms", gone), webhook("archive", live)]
        events = await seed_events(store, dests, 5, clock.now)
        outbox = open_outbox(outboxes, store, dests, clock)

        delivered, failed = await outbox.deliver_due()
        assert delivered == 5 and failed >= 1
        assert gone.requests and gone.requests[0].answered == 410 and not gone.processed_ids
        assert sorted(live.processed_ids) == sorted(e.id for e in events), "other destinations unaffected"

        states = await destination_states(store)
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
        assert await outbox.deliver_due() == (1, 0)
        assert len(gone.requests) == sent_before and live.processed_ids[-1] == later.id


async def test_nothing_more_is_sent_to_a_destination_after_its_410(
    store: SqlStore, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    async with Receiver(secret=SECRET) as gone:
        gone.behave(status=410, body="gone")
        dest = webhook("cms", gone)
        await seed_events(store, [dest], 5, clock.now)
        outbox = open_outbox(outboxes, store, [dest], clock)
        await outbox.deliver_due()
        assert len(gone.requests) == 1, f"{len(gone.requests)} requests to a destination that said 410 Gone"


# -- leases ------------------------------------------------------------------------------------------


async def test_a_batch_that_outlives_its_lease_is_not_sent_twice(
    store: SqlStore, outboxes: list[Outbox]
) -> None:
    """The daemon runs deliver_due from two jobs (poll cycle, deliver tick); a slow batch must not overlap."""
    async with Receiver(secret=SECRET) as slow:
        slow.behave(delay_s=0.1)
        dest = webhook("cms", slow)
        await seed_events(store, [dest], 10, datetime.now(UTC))
        outbox = open_outbox(outboxes, store, [dest], lease_s=0.5)

        async def second_job() -> tuple[int, int]:
            await asyncio.sleep(0.7)  # the first batch (10 x 0.1 s) is still being sent; its lease ran out
            return await outbox.deliver_due()

        await asyncio.gather(outbox.deliver_due(), second_job())
        rows = await all_deliveries(store)
        assert {d.status for d in rows} == {DeliveryStatus.DELIVERED}
        assert slow.duplicates == 0 and len(slow.requests) == 10


# -- cancellation ------------------------------------------------------------------------------------


async def test_a_send_cancelled_while_its_outcome_is_written_is_still_recorded(
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shutdown that cancels delivery after the request went out must not lose its outcome."""
    dest = webhook("cms", receiver)
    await seed_events(store, [dest], 1, datetime.now(UTC))
    outbox = open_outbox(outboxes, store, [dest])
    writing, release = asyncio.Event(), asyncio.Event()
    update_delivery = store.update_delivery

    async def slow_update(*args: Any, **kwargs: Any) -> bool:
        writing.set()
        await release.wait()
        return await update_delivery(*args, **kwargs)

    monkeypatch.setattr(store, "update_delivery", slow_update)
    job = asyncio.create_task(outbox.deliver_due())
    await asyncio.wait_for(writing.wait(), 10)
    job.cancel()
    await asyncio.sleep(0.05)
    assert not job.done(), "the cancellation waits for the outcome write"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await job
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert len(receiver.requests) == 1


# -- requeue (alerts retry) --------------------------------------------------------------------------


async def test_requeue_makes_a_cancelled_delivery_due_and_enables_its_destination(
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    dest = webhook("cms", receiver)
    await seed_events(store, [dest], 1, clock.now)
    assert await store.disable_destination("cms", "HTTP 410: gone", clock.now) == 1
    (cancelled,) = await all_deliveries(store)
    assert cancelled.status is DeliveryStatus.CANCELLED

    clock.advance(minutes=5)
    again = await requeue(store, cancelled.id, clock.now)
    assert (again.status, again.next_attempt_at) == (DeliveryStatus.PENDING, clock.now)
    assert (await destination_states(store))["cms"] is None
    assert await open_outbox(outboxes, store, [dest], clock).deliver_due() == (1, 0)


# -- head-of-line blocking ---------------------------------------------------------------------------


def later_event(claim_id: int, match_ids: Sequence[int], key: str, at: datetime) -> EventDraft:
    return EventDraft(
        type=EventType.COVERAGE_SPIKE,
        claim_id=claim_id,
        dedupe_key=key,
        summary=key,
        details={},
        match_ids=tuple(match_ids),
        created_at=at,
    )


async def test_a_hung_destination_does_not_hold_back_the_others(
    store: SqlStore, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    async with Receiver(secret=SECRET) as hung, Receiver(secret=SECRET) as live:
        hung.behave(delay_s=30)  # answers only when released
        cms, newsroom = webhook("cms", hung), webhook("newsroom", live)
        events = await seed_events(store, [cms], 3, clock.now)
        await store.sync_destinations([cms, newsroom])
        outbox = Outbox(store, Sender(), [cms, newsroom], clock, lease_s=300.0, lease_again_s=0.02)
        outboxes.append(outbox)
        job = asyncio.create_task(outbox.deliver_due())
        try:
            async with asyncio.timeout(5):
                while not all(d.leased_until for d in await all_deliveries(store)):  # noqa: ASYNC110 (the store)
                    await asyncio.sleep(0.01)
            # Queued once the hung receiver's three deliveries are leased and the first is being sent.
            (fresh,) = await store.record_events(
                events[0].claim_id,
                [later_event(events[0].claim_id, events[0].match_ids, "outbox:fresh", clock.now)],
                [newsroom],
                clock.now,
            )
            async with asyncio.timeout(5):
                while fresh.id not in live.processed_ids:  # noqa: ASYNC110 (another server)
                    await asyncio.sleep(0.01)
            assert not job.done() and not hung.requests, "sent while the other destination still hangs"
        finally:
            hung.release()
        assert await job == (4, 0)
        assert sorted(hung.processed_ids) == sorted(e.id for e in events) and hung.duplicates == 0
        assert {d.status for d in await all_deliveries(store)} == {DeliveryStatus.DELIVERED}


# -- destinations left out of the configuration ------------------------------------------------------


async def test_a_destination_left_out_of_the_configuration_gets_alerts_again_once_it_is_back(
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    cms, newsroom = webhook("cms", receiver), webhook("newsroom", receiver)
    events = await seed_events(store, [cms, newsroom], 2, clock.now)

    # "newsroom" is commented out of the configuration for a while: what was queued for it is cancelled.
    assert await open_outbox(outboxes, store, [cms], clock).deliver_due() == (2, 2)
    rows = {(d.destination, d.status, d.last_error) for d in await all_deliveries(store)}
    assert rows == {
        ("cms", DeliveryStatus.DELIVERED, None),
        ("newsroom", DeliveryStatus.CANCELLED, MISSING_FROM_CONFIG),
    }
    assert (await destination_states(store))["newsroom"] is None, "not disabled"

    # Put back under the same name: the next event reaches it.
    clock.advance(hours=1)
    await store.sync_destinations([cms, newsroom])
    (later,) = await store.record_events(
        events[0].claim_id,
        [later_event(events[0].claim_id, events[0].match_ids, "outbox:later", clock.now)],
        [cms, newsroom],
        clock.now,
    )
    assert await open_outbox(outboxes, store, [cms, newsroom], clock).deliver_due() == (2, 0)
    assert [r.headers["webhook-id"] for r in receiver.requests if r.path == "/newsroom"] == [later.id]


async def test_start_enables_a_destination_disabled_for_being_missing_and_warns_about_a_gone_one(
    store: SqlStore, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    cms, newsroom = webhook("cms", receiver), webhook("newsroom", receiver)
    await store.sync_destinations([cms, newsroom])
    # As earlier versions left them: one disabled for being missing from the configuration, one by a 410.
    await store.disable_destination("newsroom", "no longer in the configuration", clock.now)
    await store.disable_destination("cms", "HTTP 410: gone", clock.now)

    caplog.set_level(logging.WARNING)
    await store.sync_destinations([cms, newsroom])
    assert await destination_states(store) == {"cms": "HTTP 410: gone", "newsroom": None}
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "destination cms is disabled" in warning and "HTTP 410: gone" in warning
    assert "watcher alerts retry" in warning and "newsroom" not in warning


# -- the retry window --------------------------------------------------------------------------------


async def test_a_failure_past_the_retry_window_is_final_and_a_requeue_opens_a_new_window(
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    receiver.behave(fail_times=2, fail_status=503)
    dest = webhook("cms", receiver)
    await seed_events(store, [dest], 1, clock.now)
    clock.advance(days=3, seconds=1)  # the daemon was down: the delivery's window has passed
    outbox = open_outbox(outboxes, store, [dest], clock)
    assert await outbox.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert (row.status, row.attempts) == (DeliveryStatus.DEAD, 1)
    assert row.last_error == "retry window exhausted (3 days) after 1 attempts: HTTP 503: try again later"

    again = await requeue(store, row.id, clock.now)
    assert again.created_at == clock.now
    assert await outbox.deliver_due() == (0, 1)
    (row,) = await all_deliveries(store)
    assert row.status is DeliveryStatus.PENDING and row.next_attempt_at is not None
    clock.now = row.next_attempt_at
    assert await outbox.deliver_due() == (1, 0)


# -- digests -----------------------------------------------------------------------------------------


async def test_each_event_of_a_digest_links_to_its_claims_report(
    store: SqlStore, receiver: Receiver, outboxes: list[Outbox]
) -> None:
    clock = Clock()
    dest = Destination(
        name="daily",
        kind="webhook",
        url=receiver.url("/daily"),
        secret=SECRET,
        allow_private=True,
        digest_minutes=1,
    )
    events = await seed_events(store, [dest], 2, clock.now)
    outbox = Outbox(store, Sender(), [dest], clock, lease_s=300.0, public_url="https://watcher.example/")
    outboxes.append(outbox)
    clock.advance(minutes=2)
    assert await outbox.deliver_due() == (2, 0)
    (request,) = receiver.requests
    body = request.json()
    assert body["type"] == "digest" and [e["id"] for e in body["events"]] == [e.id for e in events]
    report = "https://watcher.example/claims/nato-ammo/report"
    assert [e["report_url"] for e in body["events"]] == [report, report]
