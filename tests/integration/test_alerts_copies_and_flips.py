"""Alerts through the pipeline on a real store: syndicated copies and a flipping live blog stay quiet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from tests.support.stories import CLAIM
from tests.support.wire import ATOM_TYPE, OUTLETS, START, WEATHER, WIRE_TEXT, WIRE_TITLE, rss
from tests.support.wire import live_atom as atom
from watcher.domain import Event, EventType, FeedSpec


def alerts(events: Sequence[Event]) -> list[tuple[str, str]]:
    """What the newsroom is sent: the events not recorded as backlog."""
    return [(str(e.type), e.dedupe_key) for e in events if not e.backfill]


async def test_a_wire_story_reprinted_under_other_addresses_is_neither_a_spike_nor_new_segments(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock(START)
    feeds = [FeedSpec(url=server.url(p), outlet=o, country=c, language="en") for p, o, c in OUTLETS]
    for path, _, _ in OUTLETS:
        server.routes[path] = Route(body=rss([]))
    broke = ("alpha-1", "NATO now out-produces Russia on shells", WIRE_TEXT.format(byline=""), START)
    server.routes["/a.xml"] = Route(body=rss([broke]))
    pipeline = await make_pipeline(loopback_settings(db_url, feeds, claims=(CLAIM,)), clock)
    await pipeline.cycle(all=True)
    assert alerts(await store.list_events()) == [("first_seen", "first_seen")]

    # Twelve hours on, six outlets reprint the wire within six minutes, each under its own link and byline:
    # stored as six stories (no shared URL or content), yet one story for a reader.
    clock.advance(hours=12)
    for n, (path, outlet, _) in enumerate(OUTLETS[1:]):
        text = WIRE_TEXT.format(byline=f"Additional reporting by {outlet} staff.")
        item = (f"wire-{n}", WIRE_TITLE, text, clock() - timedelta(minutes=6 - n))
        server.routes[path] = Route(body=rss([item]))
    report = await pipeline.cycle(all=True)

    assert report.matches == 6
    copies = [m for m in await store.list_matches() if m.article.title == WIRE_TITLE]
    assert len({m.article.story_id for m in copies}) == 6, "storage does not link them"
    assert alerts(await store.list_events()) == [("first_seen", "first_seen")]


async def test_a_live_blog_going_in_and_out_of_the_claim_is_one_alert_then_its_net_change(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock(START)
    published = START - timedelta(minutes=5)
    title = "LIVE: the war in Ukraine"
    feeds = [FeedSpec(url=server.url("/live.xml"), outlet="Live Wire", country="GB", language="en")]
    server.routes["/live.xml"] = Route(
        body=atom(title, WIRE_TEXT.format(byline=""), published, published), content_type=ATOM_TYPE
    )
    pipeline = await make_pipeline(loopback_settings(db_url, feeds, claims=(CLAIM,)), clock)
    await pipeline.cycle(all=True)

    # Every ten minutes the entry carries the latest update, about the claim one time in two.
    for n in range(1, 9):
        clock.advance(minutes=10)
        text = WEATHER + f" Update {n}." if n % 2 else WIRE_TEXT.format(byline=f"Update {n}.")
        server.routes["/live.xml"] = Route(body=atom(title, text, published, clock()), content_type=ATOM_TYPE)
        await pipeline.cycle(all=True)

    revised = [e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]
    assert [e.details["changes"] for e in revised] == [["unmatched"]]

    # Past the cooldown, the next update (out of the claim again) folds in what was held: nothing changed
    # for the claim since the alert, so nothing is sent; the one after it, back in the claim, is sent.
    clock.advance(hours=6)
    out = WEATHER + " Update 9."
    server.routes["/live.xml"] = Route(body=atom(title, out, published, clock()), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)
    assert len([e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]) == 1

    clock.advance(minutes=10)
    back = WIRE_TEXT.format(byline="Update 10.")
    server.routes["/live.xml"] = Route(body=atom(title, back, published, clock()), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)
    revised = sorted(
        (e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED),
        key=lambda e: str(e.details["trigger_at"]),
    )
    assert [e.details["changes"] for e in revised] == [["unmatched"], ["rematched"]]
    assert not any(e.backfill for e in revised)
