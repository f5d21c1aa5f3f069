"""Publication time through the pipeline: backdated items and a new feed's backlog are recorded, never alerted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sqlalchemy import text

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.stories import CLAIM, SECRET
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import Destination, EventType, FeedSpec
from watcher.notify.payload import render_event
from watcher.shifts import ShiftSettings

SUPPORTS = "NATO has surpassed Russia in ammunition production, the alliance said on {day}. Report {n}."
DISPUTES = (
    "The Kremlin dismissed as nonsense the claim that NATO has surpassed Russia in ammunition production. "
    "There is no evidence for it, a spokesman said. Report {n}."
)

DAY = timedelta(days=1)
Item = tuple[str, str, str, datetime | None]  # guid, title, description, publication date


def rss(items: Sequence[Item]) -> bytes:
    """An RSS 2.0 feed; an item without a date has no pubDate."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>https://news.example/{g}</link>"
        f"<description>{d}</description>"
        + (f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>" if when is not None else "")
        + "</item>"
        for g, t, d, when in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()
    )


def supporting(n: int, when: datetime | None) -> Item:
    return (
        f"story-{n}",
        f"NATO out-produces Russia on shells ({n})",
        SUPPORTS.format(day="Monday", n=n),
        when,
    )


def settings_for(server: FeedServer, db_url: str, receiver: Receiver, **shifts: Any) -> Settings:
    return Settings(
        database_url=db_url,
        feeds=(FeedSpec(url=server.url("/wire.xml"), outlet="Wire", country="GB", language="en"),),
        destinations=(
            Destination(
                name="cms", kind="webhook", url=receiver.url("/hook"), secret=SECRET, allow_private=True
            ),
        ),
        claims=(CLAIM,),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        shifts=ShiftSettings(**shifts),
        daemon=DaemonSettings(server_enabled=False),
    )


async def test_backdated_items_make_no_spike_and_no_alert(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    now = clock()
    fresh = [supporting(0, now - timedelta(minutes=5))]
    server.routes["/wire.xml"] = Route(body=rss(fresh))
    server.routes["/agency.xml"] = Route(body=rss([]))
    settings = settings_for(server, db_url, receiver)
    agency = FeedSpec(url=server.url("/agency.xml"), outlet="Agency", country="GB", language="en")
    pipeline = await make_pipeline(dataclasses.replace(settings, feeds=(*settings.feeds, agency)), clock)
    await pipeline.cycle(all=True)
    assert [e.type for e in await store.list_events()] == [EventType.FIRST_SEEN]
    assert len(receiver.requests) == 1

    # Eight stories reach the feed at once, all published three days ago: no news, nothing to spike.
    clock.advance(minutes=20)
    backdated = [supporting(n, clock() - timedelta(days=3, minutes=n)) for n in range(1, 9)]
    server.routes["/wire.xml"] = Route(body=rss(fresh + backdated))
    report = await pipeline.cycle(all=True)
    assert (report.new_articles, report.matches, report.events, report.delivered) == (8, 8, 0, 0)
    stored = {m.article.id: m.article for m in await store.list_matches()}
    assert len(stored) == 9
    assert all(a.published_at is not None and a.published_at < a.first_seen_at for a in stored.values())
    assert len(receiver.requests) == 1, "no alert about old news"

    # Eight stories published now, by two outlets, would spike: the window holds them, not the backdated ones.
    clock.advance(minutes=20)
    current = [supporting(n, clock() - timedelta(minutes=n)) for n in range(11, 19)]
    server.routes["/wire.xml"] = Route(body=rss(fresh + backdated + current[:4]))
    server.routes["/agency.xml"] = Route(body=rss(current[4:]))
    report = await pipeline.cycle(all=True)
    spikes = [e for e in await store.list_events() if e.type is EventType.COVERAGE_SPIKE]
    assert len(spikes) == 1 and not spikes[0].backfill
    old_ids = {
        m.id for m in await store.list_matches() if m.article.first_seen_at - m.article.published > DAY
    }
    assert len(old_ids) == 8 and not old_ids & set(spikes[0].match_ids), "no backdated story in the spike"
    assert spikes[0].details["stories_in_window"] >= 5 and spikes[0].details["stories_in_baseline"] == 0
    assert sorted(r.json()["type"] for r in receiver.requests) == ["coverage_spike", "first_seen"]


async def test_first_import_of_500_old_items_is_recorded_as_backfill_and_not_delivered(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    now = clock()
    # A week of backlog, one story every twenty minutes, a disputing one now and then, none in the last day.
    old = [supporting(n, now - timedelta(days=1, hours=1, minutes=20 * n)) for n in range(500)]
    old[::50] = [
        (f"denial-{n}", f"Moscow rejects NATO claim ({n})", DISPUTES.format(n=n), when)
        for n, (_, _, _, when) in enumerate(old[::50])
    ]
    server.routes["/wire.xml"] = Route(body=rss(old))
    pipeline = await make_pipeline(settings_for(server, db_url, receiver), clock)
    report = await pipeline.cycle(all=True)

    assert report.new_articles == 500 and report.matches == 500
    events = await store.list_events()
    assert events and report.events == len(events)
    assert {EventType.FIRST_SEEN, EventType.FRAMING_SHIFT} <= {e.type for e in events}
    assert all(e.backfill for e in events)
    assert await store.list_deliveries() == [] and receiver.requests == []
    claim = await store.get_claim(CLAIM.name)
    assert all(render_event(e, claim, [])["backfill"] is True for e in events)

    # The backlog is the claim's baseline: a fresh story is news again, delivered as usual.
    clock.advance(minutes=20)
    fresh = (
        "fresh-denial",
        "Kremlin calls NATO shell figures a lie",
        DISPUTES.format(n="fresh") + " Analysts doubt the figures.",
        clock() - timedelta(minutes=2),
    )
    server.routes["/wire.xml"] = Route(body=rss([*old, fresh]))
    report = await pipeline.cycle(all=True)
    assert report.new_articles == 1
    new = [e for e in await store.list_events() if not e.backfill]
    assert report.delivered == len(new) == len(receiver.requests)
    assert all(r.json()["backfill"] is False for r in receiver.requests)


async def test_fresh_window_0_delivers_the_backlog_too(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    old = [supporting(n, clock() - timedelta(days=2, minutes=n)) for n in range(3)]
    server.routes["/wire.xml"] = Route(body=rss(old))
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, fresh_window_s=0), clock)
    await pipeline.cycle(all=True)
    events = await store.list_events()
    assert [e.type for e in events] == [EventType.FIRST_SEEN] and not events[0].backfill
    assert len(receiver.requests) == 1


async def test_an_undated_item_is_published_when_first_seen_and_a_future_date_is_clamped(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    items = [supporting(1, None), supporting(2, clock() + timedelta(minutes=5)), supporting(3, clock())]
    server.routes["/wire.xml"] = Route(body=rss(items))
    pipeline = await make_pipeline(settings_for(server, db_url, receiver), clock)
    await pipeline.cycle(all=True)
    basis = {m.article.url.rsplit("/", 1)[1]: m.article for m in await store.list_matches()}
    assert basis["story-1"].published_at_basis == "first_seen"
    assert basis["story-1"].published_at == basis["story-1"].first_seen_at
    assert basis["story-2"].published_at_basis == "clamped"
    assert basis["story-2"].published_at == basis["story-2"].first_seen_at
    assert basis["story-3"].published_at_basis == "published"


async def test_the_migration_dates_articles_stored_before(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        await upgrade(engine, "0001")
        seen = datetime(2025, 11, 6, 12, 0)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO feeds (id, url, outlet, country, language, leaning, ownership, interval_s, "
                    "source, enabled, next_poll_at, error_count, last_new_items, created_at) VALUES "
                    "(1, 'https://x.example/rss', 'X', 'ZZ', 'en', 'unknown', 'unknown', 900, 'config', 1, "
                    ":seen, 0, 0, :seen)"
                ),
                {"seen": seen},
            )
            for key, published in (("undated", None), ("later", seen + DAY), ("dated", seen - DAY)):
                await conn.execute(
                    text(
                        "INSERT INTO articles (feed_id, key, url, canonical_url, title, text, content_hash, "
                        "language, published_at, first_seen_at) VALUES "
                        "(1, :key, :key, :key, 't', 't', :key, 'en', :published, :seen)"
                    ),
                    {"key": key, "published": published, "seen": seen},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT key, published_at, published_at_basis FROM articles"))
            ).all()
    finally:
        await engine.dispose()
    got = {key: (str(published)[:16], basis) for key, published, basis in rows}
    assert got == {
        "undated": ("2025-11-06 12:00", "first_seen"),
        "later": ("2025-11-06 12:00", "clamped"),
        "dated": ("2025-11-05 12:00", "published"),
    }


async def test_a_new_feeds_undated_or_future_dated_backlog_is_quiet_and_later_undated_items_are_news(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    archive = [supporting(n, None) for n in range(6)] + [supporting(6, clock() + 3650 * DAY)]
    server.routes["/wire.xml"] = Route(body=rss(archive))
    pipeline = await make_pipeline(settings_for(server, db_url, receiver), clock)
    await pipeline.cycle(all=True)
    events = await store.list_events()
    assert [(e.type, e.backfill) for e in events] == [(EventType.FIRST_SEEN, True)], "no spike, nothing sent"
    assert receiver.requests == []
    assert all(m.article.backlog for m in await store.list_matches())

    # Later polls of the feed: an undated new item is news, and counts as published when first seen.
    clock.advance(minutes=30)
    server.routes["/wire.xml"] = Route(body=rss([*archive, supporting(7, None)]))
    await pipeline.cycle(all=True)
    (new,) = [m.article for m in await store.list_matches() if not m.article.backlog]
    assert new.published_at_basis == "first_seen" and new.url.endswith("/story-7")
