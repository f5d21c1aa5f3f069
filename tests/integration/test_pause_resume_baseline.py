"""A paused claim matches nothing: the span it was paused is no silence of the press to measure a spike against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from storage.base import PollOutcome
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.sql import SqlStore, open_store
from tests.support.records import CLAIM_TEXT, make_article_in, make_claim, make_match_score
from tests.support.wire import START
from watcher.domain import (
    Claim,
    ClaimPause,
    ClaimSpec,
    ClaimStatus,
    EventDraft,
    EventType,
    Feed,
    FeedSpec,
    Framing,
    Stance,
)
from watcher.shifts import _paused_spans, detect_shifts

# Tracked at START; covered every 10 minutes (six stories an hour, three outlets in turn) until PAUSED, paused
# 20 hours, RESUMED, then covered at the same pace again.
PAUSED = START + timedelta(hours=30)
RESUMED = PAUSED + timedelta(hours=20)
EVERY = timedelta(minutes=10)
OUTLETS = (("Alpha Wire", "GB"), ("Bravo Post", "DE"), ("Charlie Daily", "FR"))
SUPPORTS = Framing(stance=Stance.SUPPORTS, skepticism=0.0)


def every_10_minutes(start: datetime, end: datetime, *, per_tick: int = 1) -> list[datetime]:
    """``per_tick`` stories at each 10 minutes after ``start`` up to and including ``end``."""
    ticks = int((end - start) / EVERY)
    return [start + EVERY * n for n in range(1, ticks + 1) for _ in range(per_tick)]


async def tracked(store: SqlStore) -> tuple[Claim, list[Feed]]:
    specs = [
        FeedSpec(url=f"https://{c.lower()}.example/rss", outlet=o, country=c, language="en")
        for o, c in OUTLETS
    ]
    await store.sync_feeds(specs, source="config", now=START)
    feeds = await store.lease_due_feeds(START, 10, lease_s=60)
    claim = await store.add_claim(make_claim(name="nato-ammo"), now=START)
    return claim, sorted(feeds, key=lambda f: f.id)


async def publish(store: SqlStore, claim: Claim, feeds: Sequence[Feed], times: Sequence[datetime]) -> None:
    """One story on the claim at each of ``times`` (each its own piece), the outlets in turn, polled and
    matched the hour it was published, as the pipeline does while the claim is active."""
    polls: dict[datetime, list[tuple[Feed, Any]]] = {}
    for n, when in enumerate(times):
        feed = feeds[n % len(feeds)]
        key = f"{feed.outlet[0].lower()}-{when:%Y%m%d%H%M}-{n}"
        url = f"https://news.example/{key}"
        item = make_article_in(
            key=key,
            url=url,
            canonical_url=url,
            title=f"{feed.outlet}: NATO shells, {when:%d %b %H:%M} ({n})",
            text=f"{CLAIM_TEXT}, {feed.outlet} reports ({n}).",
            content_hash=key,
            published_at=when,
        )
        hour_end = when.replace(minute=0, second=0) + timedelta(hours=1)
        polls.setdefault(hour_end, []).append((feed, item))
    for polled_at, found in sorted(polls.items()):
        outcome = PollOutcome(polled_at=polled_at, next_poll_at=polled_at + EVERY, status=200, error=None)
        ids: list[int] = []
        for feed in feeds:
            ids += await store.record_poll(feed.id, outcome, [item for f, item in found if f.id == feed.id])
        scores = [
            (make_match_score(claim_id=claim.id, article_id=i, evidence=(f"{CLAIM_TEXT}.",)), SUPPORTS)
            for i in ids
        ]
        await store.save_matches(ids, scores, polled_at)


async def set_status(store: SqlStore, status: ClaimStatus, now: datetime) -> Claim:
    """What ``watcher claims pause|resume`` does."""
    claim = await store.get_claim("nato-ammo")
    return await store.update_claim(replace(claim, status=status), now=now)


async def detect(store: SqlStore, now: datetime) -> list[EventDraft]:
    """What the pipeline's detect stage computes for the claim (``Pipeline.detect``), with default settings."""
    claim = await store.get_claim("nato-ammo")
    matches = await store.matches_for_claim(claim.id)
    previous = await store.events_for_claim(claim.id)
    return detect_shifts(
        claim, matches, previous, now=now, revisions=await store.revisions_for_claim(claim.id)
    )


def spikes(drafts: Sequence[EventDraft]) -> list[dict[str, Any]]:
    return [d.details for d in drafts if d.type == EventType.COVERAGE_SPIKE]


async def test_a_resumed_claim_does_not_spike_on_coverage_at_its_usual_pace(store: SqlStore) -> None:
    claim, feeds = await tracked(store)
    await publish(store, claim, feeds, every_10_minutes(START, PAUSED))
    await set_status(store, ClaimStatus.PAUSED, PAUSED)
    await set_status(store, ClaimStatus.ACTIVE, RESUMED)
    await publish(store, claim, feeds, every_10_minutes(RESUMED, RESUMED + timedelta(hours=1)))

    drafts = await detect(store, RESUMED + timedelta(hours=1))

    # Six stories an hour, as for the 30 hours before the pause: no spike. Counting the 20 paused hours as
    # hours of silence made the rate 25 stories / 24 h, and the fifth story after the resume a 4.8x "spike".
    assert spikes(drafts) == []


async def test_a_claim_the_press_fell_silent_on_spikes_when_coverage_returns(store: SqlStore) -> None:
    """The same coverage with a claim never paused: 20 hours of silence were observed, and the return is news."""
    claim, feeds = await tracked(store)
    await publish(store, claim, feeds, every_10_minutes(START, PAUSED))
    await publish(store, claim, feeds, every_10_minutes(RESUMED, RESUMED + timedelta(hours=1)))

    (spike,) = spikes(await detect(store, RESUMED + timedelta(hours=1)))

    assert spike["trigger_at"] == "2025-11-08T14:50:00Z"
    assert (spike["stories_in_window"], spike["stories_in_baseline"]) == (5, 25)
    assert spike["baseline"]["span_s"] == 86400 and spike["ratio"] == 4.8


async def test_a_burst_after_a_resume_is_still_a_spike(store: SqlStore) -> None:
    claim, feeds = await tracked(store)
    await publish(store, claim, feeds, every_10_minutes(START, PAUSED))
    await set_status(store, ClaimStatus.PAUSED, PAUSED)
    await set_status(store, ClaimStatus.ACTIVE, RESUMED)
    burst = every_10_minutes(RESUMED, RESUMED + timedelta(hours=1), per_tick=3)
    await publish(store, claim, feeds, burst)

    (spike,) = spikes(await detect(store, RESUMED + timedelta(hours=1)))

    # 25 stories in the 4 h 20 min observed of the baseline's 24 h (19 h 50 min paused), over no less than
    # spike_min_baseline_s (6 h): 4.2 an hour expected, 15 came.
    assert spike["trigger_at"] == "2025-11-08T14:50:00Z"
    assert (spike["stories_in_window"], spike["stories_in_baseline"]) == (15, 25)
    assert spike["baseline"]["paused_s"] == 19 * 3600 + 50 * 60
    assert spike["baseline"]["span_s"] == 21600 and spike["ratio"] == 3.6


async def test_every_pause_within_the_baseline_is_left_out(store: SqlStore) -> None:
    claim, feeds = await tracked(store)
    await publish(store, claim, feeds, every_10_minutes(START, PAUSED))
    await set_status(store, ClaimStatus.PAUSED, PAUSED)
    back = PAUSED + timedelta(hours=10)
    await set_status(store, ClaimStatus.ACTIVE, back)
    await publish(store, claim, feeds, every_10_minutes(back, back + timedelta(hours=2)))
    await set_status(store, ClaimStatus.PAUSED, back + timedelta(hours=2))
    await set_status(store, ClaimStatus.ACTIVE, RESUMED)
    burst = every_10_minutes(RESUMED, RESUMED + timedelta(hours=1), per_tick=4)
    await publish(store, claim, feeds, burst)

    (spike,) = spikes(await detect(store, RESUMED + timedelta(hours=1)))

    # Baseline 13:50 the day before to 13:50: 10 h and then 7 h 50 min of it paused, 6 h 10 min observed.
    assert spike["trigger_at"] == "2025-11-08T14:50:00Z"
    assert spike["baseline"]["paused_s"] == (10 + 7) * 3600 + 50 * 60
    assert spike["baseline"]["span_s"] == 6 * 3600 + 10 * 60
    assert (spike["stories_in_window"], spike["stories_in_baseline"]) == (20, 37)


async def test_the_store_keeps_when_a_claim_was_paused_and_resumed(store: SqlStore) -> None:
    claim = await store.add_claim(make_claim(name="nato-ammo"), now=START)
    assert claim.pauses == ()
    held = await store.add_claim(make_claim(name="held", status=ClaimStatus.PAUSED), now=START)
    assert held.pauses == (ClaimPause(paused_at=START),)

    paused = await set_status(store, ClaimStatus.PAUSED, PAUSED)
    assert paused.pauses == (ClaimPause(paused_at=PAUSED),)
    # Pausing again, or editing while paused, keeps the one pause open; resuming closes it.
    await store.update_claim(replace(paused, text="NATO outproduces Russia"), now=PAUSED + EVERY)
    assert (await set_status(store, ClaimStatus.PAUSED, RESUMED)).pauses == paused.pauses
    resumed = await set_status(store, ClaimStatus.ACTIVE, RESUMED)
    assert resumed.pauses == (ClaimPause(paused_at=PAUSED, resumed_at=RESUMED),)
    # An update that does not change the status (update_claim ignores ``pauses``) leaves them be.
    assert (await store.update_claim(replace(resumed, pauses=()), now=RESUMED)).pauses == resumed.pauses

    listed = {c.name: c.pauses for c in await store.list_claims()}
    assert listed == {"nato-ammo": resumed.pauses, "held": held.pauses}


async def test_a_claim_the_configuration_pauses_and_resumes_keeps_its_pauses(store: SqlStore) -> None:
    spec = ClaimSpec(name="nato-ammo", text=CLAIM_TEXT, status="paused")
    await store.sync_claims([spec], now=START)
    await store.sync_claims([replace(spec, status="active")], now=PAUSED)
    await store.sync_claims([replace(spec, status="active", text="NATO shells")], now=RESUMED)

    claim = await store.get_claim("nato-ammo")
    assert claim.pauses == (ClaimPause(paused_at=START, resumed_at=PAUSED),)


async def test_detection_leases_claims_with_their_pauses(store: SqlStore) -> None:
    claim, feeds = await tracked(store)
    await set_status(store, ClaimStatus.PAUSED, START + EVERY)
    await set_status(store, ClaimStatus.ACTIVE, PAUSED)
    await publish(store, claim, feeds, [PAUSED + EVERY])

    (leased,) = await store.lease_claims_to_detect(RESUMED, lease_s=60)
    assert leased.pauses == (ClaimPause(paused_at=START + EVERY, resumed_at=PAUSED),)


async def test_a_backfill_leaves_the_span_it_matched_out_of_the_pauses(store: SqlStore) -> None:
    hour = timedelta(hours=1)
    claim = await store.add_claim(make_claim(name="nato-ammo"), now=START)
    for paused_at, resumed_at in (
        (START, START + hour),
        (START + 2 * hour, START + 4 * hour),
        (PAUSED, None),
    ):
        await set_status(store, ClaimStatus.PAUSED, paused_at)
        if resumed_at is not None:
            await set_status(store, ClaimStatus.ACTIVE, resumed_at)

    # `claims backfill --since START+3h`, run at RESUMED: the part of a pause before the span stays, the pause
    # within it goes, and the one still open goes on from when the backfill ran.
    await store.claim_observed(claim.id, START + 3 * hour, RESUMED)
    assert (await store.get_claim(claim.id)).pauses == (
        ClaimPause(paused_at=START, resumed_at=START + hour),
        ClaimPause(paused_at=START + 2 * hour, resumed_at=START + 3 * hour),
        ClaimPause(paused_at=RESUMED),
    )
    # A still open pause begun before the span is cut in two; a span before every pause changes nothing.
    await store.claim_observed(claim.id, RESUMED + hour, RESUMED + 2 * hour)
    await store.claim_observed(claim.id, None, START)
    assert (await store.get_claim(claim.id)).pauses[2:] == (
        ClaimPause(paused_at=RESUMED, resumed_at=RESUMED + hour),
        ClaimPause(paused_at=RESUMED + 2 * hour),
    )
    # Backfilling everything leaves only what is still to come.
    await store.claim_observed(claim.id, None, RESUMED + 3 * hour)
    assert (await store.get_claim(claim.id)).pauses == (ClaimPause(paused_at=RESUMED + 3 * hour),)


def test_pauses_that_overlap_are_one_and_one_not_resumed_lasts_until_now() -> None:
    now = RESUMED
    pauses = (
        ClaimPause(paused_at=START, resumed_at=START + timedelta(hours=2)),
        ClaimPause(paused_at=START + timedelta(hours=1), resumed_at=START + timedelta(hours=3)),
        ClaimPause(paused_at=PAUSED, resumed_at=PAUSED),  # resumed the instant it was paused: no time
        ClaimPause(paused_at=PAUSED + timedelta(hours=1)),
    )
    assert _paused_spans(pauses, now) == [
        (START, START + timedelta(hours=3)),
        (PAUSED + timedelta(hours=1), now),
    ]


async def test_claims_paused_before_the_upgrade_are_paused_since_their_last_update(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        await upgrade(engine, "0010")
        async with engine.begin() as conn:
            for name, status, deleted in (
                ("on", "active", None),
                ("off", "paused", None),
                ("gone", "paused", START),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO claims (name, text, keywords, status, source, created_at, updated_at, "
                        "deleted_at) VALUES (:name, 'NATO shells', '[]', :status, 'cli', :created, :updated, :deleted)"
                    ),
                    {
                        "name": name,
                        "status": status,
                        "created": "2025-11-06 12:00:00.000000",
                        "updated": "2025-11-07 18:00:00.000000",
                        "deleted": deleted and "2025-11-08 00:00:00.000000",
                    },
                )
        await upgrade(engine)
    finally:
        await engine.dispose()
    store = await open_store(sqlite_url)
    try:
        assert {c.name: c.pauses for c in await store.list_claims()} == {
            "on": (),
            "off": (ClaimPause(paused_at=START + timedelta(hours=30)),),
        }
        resumed = await store.update_claim(
            replace(await store.get_claim("off"), status=ClaimStatus.ACTIVE), now=RESUMED
        )
        assert resumed.pauses == (ClaimPause(paused_at=PAUSED, resumed_at=RESUMED),)
    finally:
        await store.close()
