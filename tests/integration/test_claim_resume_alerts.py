"""Pausing and resuming a claim on a real store: what was published meanwhile is no news when it resumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from tests.support.stories import CLAIM
from tests.support.wire import OUTLETS, START, WIRE_TEXT, WIRE_TITLE, rss
from watcher.domain import ClaimStatus, Event, EventType, FeedSpec
from watcher.pipeline import Pipeline


def alerts(events: Sequence[Event]) -> list[tuple[str, str]]:
    """What the newsroom is sent: the events not recorded as backlog."""
    return sorted((str(e.type), e.dedupe_key) for e in events if not e.backfill)


def coverage(outlet: str, guid: str, when: datetime) -> tuple[str, str, str, datetime]:
    """One outlet's own piece on the claim (its own headline: not a copy of the others')."""
    return (guid, f"{outlet}: {WIRE_TITLE}", WIRE_TEXT.format(byline=f"By {outlet} staff."), when)


async def start_tracking(server: FeedServer, make_pipeline: Any, db_url: str, clock: Clock) -> Pipeline:
    """Seven outlets' feeds, the claim tracked, and its first story (Alpha Wire's) alerted as first_seen."""
    feeds = [FeedSpec(url=server.url(p), outlet=o, country=c, language="en") for p, o, c in OUTLETS]
    for path, _, _ in OUTLETS:
        server.routes[path] = Route(body=rss([]))
    server.routes["/a.xml"] = Route(body=rss([coverage("Alpha Wire", "alpha-1", clock())]))
    pipeline: Pipeline = await make_pipeline(loopback_settings(db_url, feeds, claims=(CLAIM,)), clock)
    await pipeline.cycle(all=True)
    return pipeline


async def set_status(store: SqlStore, status: ClaimStatus, clock: Clock) -> None:
    """What ``watcher claims pause|resume`` does."""
    claim = await store.get_claim(CLAIM.name)
    await store.update_claim(replace(claim, status=status), now=clock())


def serve_burst(server: FeedServer, clock: Clock, tag: str) -> None:
    """Six other outlets each publish their own piece on the claim within half an hour before ``clock()``."""
    for n, (path, outlet, _) in enumerate(OUTLETS[1:]):
        item = coverage(outlet, f"{tag}-{n}", clock() - timedelta(minutes=30 - 5 * n))
        server.routes[path] = Route(body=rss([item]))


async def test_resuming_a_claim_does_not_alert_on_the_coverage_published_while_it_was_paused(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock(START)
    pipeline = await start_tracking(server, make_pipeline, db_url, clock)
    assert alerts(await store.list_events()) == [("first_seen", "first_seen")]

    await set_status(store, ClaimStatus.PAUSED, clock)
    clock.advance(hours=2)
    serve_burst(server, clock, "paused")  # a burst that would spike, polled while the claim is paused
    report = await pipeline.cycle(all=True)
    assert report.new_articles == 6 and report.matches == 0, "a paused claim matches nothing"

    # Resumed two days later: the articles stored meanwhile are not matched on resume (no backfill), so
    # nothing is read as a burst, and the next poll finds nothing new.
    clock.advance(days=2)
    await set_status(store, ClaimStatus.ACTIVE, clock)
    report = await pipeline.cycle(all=True)
    assert report.matches == 0
    assert alerts(await store.list_events()) == [("first_seen", "first_seen")]

    # Matching them on purpose (`claims backfill`) records what they raise as backlog, delivers nothing,
    # and raises no spike about a burst two days old.
    done = await pipeline.backfill(CLAIM.name, None)
    assert done.new_matches == 6
    # Its paused days are matched now: no longer a hole that its spike baseline leaves out.
    assert (await store.get_claim(CLAIM.name)).pauses == ()
    await pipeline.cycle(all=True)
    events = await store.list_events()
    assert alerts(events) == [("first_seen", "first_seen")]
    assert EventType.COVERAGE_SPIKE not in {e.type for e in events}
    assert {str(e.type) for e in events if e.backfill} == {"new_segment"}

    # Fresh coverage after the resume is news as usual: one more story is no spike.
    clock.advance(minutes=30)
    server.routes["/b.xml"] = Route(body=rss([coverage("Bravo Post", "resumed-1", clock())]))
    report = await pipeline.cycle(all=True)
    assert report.matches == 1
    assert alerts(await store.list_events()) == [("first_seen", "first_seen")]


async def test_a_burst_after_a_resume_is_a_spike_as_it_would_be_had_the_claim_never_paused(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock(START)
    pipeline = await start_tracking(server, make_pipeline, db_url, clock)
    await set_status(store, ClaimStatus.PAUSED, clock)
    clock.advance(days=2)
    await set_status(store, ClaimStatus.ACTIVE, clock)

    clock.advance(hours=1)
    serve_burst(server, clock, "live")
    report = await pipeline.cycle(all=True)

    assert report.matches == 6
    sent = alerts(await store.list_events())
    assert [kind for kind, _ in sent].count("coverage_spike") == 1
    assert ("first_seen", "first_seen") in sent
