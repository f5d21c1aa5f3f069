"""The whole pipeline on a real feed server, a real receiver and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from storage.sql import SqlStore, open_store
from tests.support.clock import Clock
from tests.support.database import purge
from tests.support.feed_server import FeedServer, Route, redirect
from tests.support.receivers import Receiver
from tests.support.stories import CLAIM, DENIAL, SECRET, STRAIGHT, UNRELATED, rss
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import DeliveryStatus, Destination, EventType, FeedSpec, Stance
from watcher.ingest.parse import ParseResult
from watcher.ingest.pool import IngestSettings, ParsePool
from watcher.pipeline import CycleReport, Pipeline


def settings_for(server: FeedServer, db_url: str, receiver: Receiver | None = None) -> Settings:
    feeds = (
        FeedSpec(
            url=server.url("/kyiv.xml"),
            outlet="Kyiv Post",
            country="UA",
            language="en",
            leaning="center",
            ownership="private",
            interval_s=600,
            full_text="never",  # the stories link to news.example: no page to fetch (see test_fulltext)
        ),
        FeedSpec(
            url=server.url("/tass.xml"),
            outlet="TASS",
            country="RU",
            language="en",
            ownership="state",
            interval_s=600,
            full_text="never",
        ),
    )
    dests = (
        (
            Destination(
                name="cms", kind="webhook", url=receiver.url("/hook"), secret=SECRET, allow_private=True
            ),
        )
        if receiver
        else ()
    )
    return Settings(
        database_url=db_url,
        feeds=feeds,
        destinations=dests,
        claims=(CLAIM,),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
    )


async def test_one_cycle_polls_matches_frames_detects_and_delivers(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url, receiver), clock)
    report = await pipeline.cycle(all=True)
    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (2, 0, 3)
    matches = await store.list_matches()
    by_outlet = {m.article.outlet: m for m in matches}
    assert set(by_outlet) == {"Kyiv Post", "TASS"}, "the unrelated article does not match"
    assert by_outlet["TASS"].stance is Stance.DISPUTES
    assert by_outlet["Kyiv Post"].stance is not Stance.DISPUTES
    assert (
        by_outlet["Kyiv Post"].evidence
        and by_outlet["Kyiv Post"].article.canonical_url == "https://news.example/kyiv-1"
    )
    events = await store.list_events()
    assert EventType.FIRST_SEEN in {e.type for e in events}
    assert report.events == len(events) and report.delivered == len(events)
    # Every event reached the receiver, signed, exactly once.
    assert all(r.signature_error is None and r.answered == 200 for r in receiver.requests)
    assert sorted(receiver.processed_ids) == sorted(e.id for e in events) and receiver.duplicates == 0
    body = receiver.requests[0].json()
    assert body["claim"]["name"] == "nato-ammo" and body["articles"][0]["claim"]["name"] == "nato-ammo"
    assert {d.status for d in await store.list_deliveries()} == {DeliveryStatus.DELIVERED}

    # Next cycle: both feeds answer 304; nothing new is stored, raised or sent.
    clock.advance(minutes=11)
    again = await pipeline.cycle()
    assert (again.feeds_polled, again.not_modified, again.new_articles, again.events) == (2, 2, 0, 0)
    assert server.last("/kyiv.xml").headers.get("If-None-Match") == '"k1"'
    assert len(receiver.requests) == len(events)


async def test_a_new_segment_later_raises_events_and_wire_copies_count_once(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    server.routes["/tass.xml"] = Route(body=rss("TASS", [UNRELATED]), etag='"t0"')
    pipeline = await make_pipeline(settings_for(server, db_url), clock)
    await pipeline.cycle(all=True)
    assert [e.type for e in await store.list_events()] == [EventType.FIRST_SEEN]

    # TASS now runs the Kyiv story word for word (a wire copy under another URL) and its own denial.
    copy = ("tass-copy", STRAIGHT[1], STRAIGHT[2])
    server.routes["/tass.xml"] = Route(body=rss("TASS", [UNRELATED, copy, DENIAL]), etag='"t2"')
    clock.advance(minutes=11)
    await pipeline.cycle()
    matches = await store.list_matches()
    copies = [m for m in matches if m.article.is_copy]
    assert len(copies) == 1 and copies[0].article.outlet == "TASS"
    events = await store.list_events()
    types = sorted(e.type.value for e in events)
    assert types.count("first_seen") == 1
    segments = {e.dedupe_key for e in events if e.type is EventType.NEW_SEGMENT}
    assert {"new_segment:country:RU", "new_segment:ownership:state"} <= segments
    assert any(e.type is EventType.FRAMING_SHIFT for e in events)


async def test_a_configured_feed_that_moved_is_not_added_again(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    kyiv = server.routes["/kyiv.xml"]
    server.routes["/kyiv-new.xml"] = kyiv
    server.routes["/kyiv.xml"] = redirect("/kyiv-new.xml", 301)
    settings = settings_for(server, db_url)
    pipeline = await make_pipeline(settings, clock)
    await pipeline.cycle(all=True)
    moved = {f.url for f in await store.list_feeds()}
    assert moved == {server.url("/kyiv-new.xml"), server.url("/tass.xml")}

    # The next start syncs the same feeds.yaml: the configured URL still names the moved feed.
    await pipeline.sync_config()
    clock.advance(minutes=11)
    again = await pipeline.cycle(all=True)
    feeds = await store.list_feeds(include_disabled=True)
    assert {f.url for f in feeds} == moved and all(f.enabled for f in feeds)
    assert again.feeds_polled == 2 and again.new_articles == 0
    assert (await store.counts())["articles"] == 3

    # A second sync at the same moment from another worker adds nothing either.
    specs = settings.feeds
    both = await asyncio.gather(*(store.sync_feeds(specs, source="config", now=clock()) for _ in range(2)))
    assert all(r.added == 0 and r.disabled == 0 for r in both)
    assert len(await store.list_feeds(include_disabled=True)) == 2


async def test_workers_syncing_feeds_at_once_store_each_feed_once(store: SqlStore) -> None:
    specs = [FeedSpec(url=f"https://feeds.example/{i}.xml", outlet=f"Outlet {i}") for i in range(50)]
    clock = Clock()
    reports = await asyncio.gather(*(store.sync_feeds(specs, source="config", now=clock()) for _ in range(3)))
    assert sum(r.added for r in reports) == 50
    assert len(await store.list_feeds()) == 50


async def test_http_allow_private_does_not_open_destinations(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    # Feeds on 127.0.0.1 are allowed by http.allow_private; the destination does not set its own switch.
    settings = settings_for(server, db_url, receiver)
    closed = replace(settings.destinations[0], allow_private=False)
    pipeline = await make_pipeline(replace(settings, destinations=(closed,)), Clock())
    report = await pipeline.cycle(all=True)
    assert report.feeds_polled == 2 and report.events >= 1
    assert receiver.requests == []
    deliveries = await store.list_deliveries()
    assert deliveries and all(d.status is DeliveryStatus.DEAD for d in deliveries)
    assert all("not public" in (d.last_error or "") for d in deliveries)


async def test_feed_errors_are_contained_and_recorded(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    server.routes["/tass.xml"] = Route(status=500, body=b"oops")
    server.routes["/kyiv.xml"] = Route(body=b"<html><body>not a feed</body></html>", content_type="text/html")
    pipeline = await make_pipeline(settings_for(server, db_url), clock)
    report = await pipeline.cycle(all=True)
    assert (report.feeds_polled, report.feeds_failed) == (2, 2)
    feeds = {f.outlet: f for f in await store.list_feeds()}
    assert feeds["TASS"].error_count == 1 and "500" in (feeds["TASS"].last_error or "")
    assert feeds["Kyiv Post"].error_count == 1 and "not a feed" in (feeds["Kyiv Post"].last_error or "")
    # Backoff: a failing feed is not due again after its normal interval … only later.
    assert feeds["TASS"].next_poll_at is not None and feeds["TASS"].next_poll_at >= clock.now + timedelta(
        minutes=10
    )


async def test_an_untitled_feed_with_nothing_to_store_is_no_error(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    # A recognised RSS feed with no channel title and only an item with nothing to read (an image): a feed.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title></title>'
        b'<description>&lt;img src="a.png"/&gt;</description></item></channel></rss>'
    )
    server.routes["/tass.xml"] = Route(body=body)
    server.routes["/kyiv.xml"] = Route(body=b"<html><body>not a feed</body></html>", content_type="text/html")
    pipeline = await make_pipeline(settings_for(server, db_url), Clock())
    report = await pipeline.cycle(all=True)
    assert (report.feeds_polled, report.feeds_failed) == (2, 1)
    feeds = {f.outlet: f for f in await store.list_feeds()}
    assert feeds["TASS"].error_count == 0 and feeds["TASS"].last_error is None
    assert feeds["Kyiv Post"].error_count == 1 and "not a feed" in (feeds["Kyiv Post"].last_error or "")


async def test_malformed_feed_ingests_what_parses_and_keeps_the_warning(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    broken = rss("Kyiv Post", [STRAIGHT]).replace(b"</channel></rss>", b"<item><title>cut off")
    server.routes["/kyiv.xml"] = Route(body=broken)
    pipeline = await make_pipeline(settings_for(server, db_url), Clock())
    report = await pipeline.cycle(all=True)
    feeds = {f.outlet: f for f in await store.list_feeds()}
    assert feeds["Kyiv Post"].error_count == 0 and feeds["Kyiv Post"].last_warning
    assert report.new_articles >= 1


class CountingParsePool(ParsePool):
    """Parses as ParsePool does, and counts the bodies it was given."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.bodies: list[bytes] = []

    async def parse(self, body: bytes, url: str, **kwargs: Any) -> ParseResult:
        self.bodies.append(body)
        return await super().parse(body, url, **kwargs)


async def test_an_unchanged_body_is_not_parsed_again_until_the_daily_full_fetch(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Many CMS feeds answer 200 with the same body and no ETag or Last-Modified.
    server.routes["/kyiv.xml"] = Route(body=rss("Kyiv Post", [STRAIGHT]))
    server.routes["/tass.xml"] = Route(body=rss("TASS", [UNRELATED]))
    clock = Clock()
    pipeline = await make_pipeline(settings_for(server, db_url), clock)
    pipeline.parser = parser = CountingParsePool(0)
    first = await pipeline.cycle(all=True)
    assert (first.new_articles, first.not_modified, len(parser.bodies)) == (2, 0, 2)
    digests = {f.outlet: f.body_digest for f in await store.list_feeds()}
    assert all(digests.values())

    clock.advance(minutes=11)
    caplog.set_level(logging.INFO, logger="watcher.pipeline")
    caplog.clear()  # the first cycle's lines are caught too when an earlier test left the logger at INFO
    same = await pipeline.cycle()
    assert (same.feeds_polled, same.feeds_failed, same.not_modified, same.new_articles) == (2, 0, 2, 0)
    assert len(parser.bodies) == 2, "an identical body is not parsed again"
    assert server.hits("/kyiv.xml") == server.hits("/tass.xml") == 2
    polls = [r for r in caplog.records if r.getMessage().startswith("poll feed=")]
    assert [getattr(r, "outcome", None) for r in polls] == ["unchanged", "unchanged"]
    assert all("status=200 unchanged" in r.getMessage() for r in polls)
    feeds = {f.outlet: f for f in await store.list_feeds()}
    assert {o: f.body_digest for o, f in feeds.items()} == digests
    assert all(f.last_status == 200 and f.last_polled_at == clock.now for f in feeds.values())

    # A changed body is parsed, and its new item stored.
    server.routes["/tass.xml"] = Route(body=rss("TASS", [DENIAL, UNRELATED]))
    clock.advance(minutes=11)
    changed = await pipeline.cycle()
    assert (changed.new_articles, changed.not_modified, len(parser.bodies)) == (1, 1, 3)
    assert {f.outlet: f.body_digest for f in await store.list_feeds()}["TASS"] != digests["TASS"]

    # The daily unconditional fetch parses every body, unchanged or not (a new parser or setting shows).
    clock.advance(days=1)
    daily = await pipeline.cycle()
    assert (daily.feeds_polled, daily.not_modified, daily.new_articles, len(parser.bodies)) == (2, 0, 0, 5)


@pytest.mark.parametrize("workers", [0, 2])
async def test_the_pipeline_parses_in_a_thread_or_in_worker_processes(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str, workers: int
) -> None:
    settings = replace(settings_for(server, db_url), ingest=IngestSettings(parse_workers=workers))
    pipeline = await make_pipeline(settings, Clock())
    report = await pipeline.cycle(all=True)
    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (2, 0, 3)
    assert {m.article.outlet for m in await store.list_matches()} == {"Kyiv Post", "TASS"}
    pids = pipeline.parser.pids()
    assert (len(pids) > 0) == (workers > 0) and os.getpid() not in pids
    await pipeline.close()
    assert pipeline.parser.pids() == []


async def one_story_feeds(
    aiohttp_server: Any, count: int, *, delay_s: float, letter: str = "f", full_text: str = "auto"
) -> tuple[FeedServer, dict[str, Route], tuple[FeedSpec, ...]]:
    """``count`` feeds of one story each, every answer ``delay_s`` late, served on loopback: the server,
    its routes (by path) and the feeds to configure."""
    routes = {
        f"/{letter}{i}.xml": Route(
            body=rss(f"{letter.upper()}{i}", [(f"{letter}{i}", f"Story {i}", "text")]), delay_s=delay_s
        )
        for i in range(count)
    }
    server = FeedServer(routes)
    await server.start_under(aiohttp_server)
    feeds = tuple(FeedSpec(url=server.url(p), outlet=p, interval_s=600, full_text=full_text) for p in routes)
    return server, routes, feeds


@pytest.mark.postgres
async def test_three_workers_poll_each_of_200_feeds_exactly_once_per_cycle(
    aiohttp_server: Any, postgres_url: str
) -> None:
    server, routes, feeds = await one_story_feeds(aiohttp_server, 200, delay_s=0.005)
    settings = Settings(
        database_url=postgres_url,
        feeds=feeds,
        http=HttpSettings(allow_private=True, limit_per_host=20),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(feed_batch=15, server_enabled=False),
    )
    stores = [await open_store(postgres_url, upgrade=True) for _ in range(3)]
    await purge(stores[0])
    clock = Clock()
    pipelines = [await Pipeline.open(settings, s, clock=clock, load_model=False) for s in stores]
    try:
        await pipelines[0].sync_config()
        for cycle in range(2):
            reports = [CycleReport() for _ in pipelines]
            await asyncio.gather(*(p.poll(r) for p, r in zip(pipelines, reports, strict=True)))
            assert sum(r.feeds_polled for r in reports) == 200
            assert all(r.feeds_polled for r in reports), "each worker took a share"
            assert {server.hits(p) for p in routes} == {cycle + 1}, "every feed exactly once per cycle"
            clock.advance(minutes=11)
        assert (await stores[0].counts())["articles"] == 200
    finally:
        for p in pipelines:
            await p.close()
        for s in stores:
            await s.close()


async def test_digest_destination_gets_one_message_after_its_window(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    from dataclasses import replace

    clock = Clock()
    settings = settings_for(server, db_url, receiver)
    settings = replace(settings, destinations=(replace(settings.destinations[0], digest_minutes=30),))
    pipeline = await make_pipeline(settings, clock)
    report = await pipeline.cycle(all=True)
    assert report.events >= 2 and report.delivered == 0 and receiver.requests == []  # window still open
    clock.advance(minutes=31)
    delivered, failed = await pipeline.outbox.deliver_due()
    assert (delivered, failed) == (report.events, 0)
    (request,) = receiver.requests
    assert request.signature_error is None and request.headers["webhook-id"].startswith("dig_")
    body = request.json()
    assert sorted(e["id"] for e in body["events"]) == sorted(e.id for e in await store.list_events())
    rows = await store.list_deliveries()
    assert {d.status for d in rows} == {DeliveryStatus.DELIVERED}
    assert {d.extra["digest_id"] for d in rows} == {request.headers["webhook-id"]}


async def until(what: str, check: Callable[[], Any], timeout_s: float = 120.0) -> None:
    """Wait for ``check()`` to hold; fails naming ``what`` if it does not within ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


class SlowFeed:
    """A feed (one unrelated story) that answers only once the test sets ``release``; ``asked`` is set when it
    is asked. Give its settings an HTTP timeout longer than the test (``HOLD_TIMEOUT_S``)."""

    HOLD_TIMEOUT_S = 300

    def __init__(self, server: FeedServer) -> None:
        self.asked, self.release = asyncio.Event(), asyncio.Event()
        server.routes["/slow.xml"] = self.answer
        self.spec = FeedSpec(url=server.url("/slow.xml"), outlet="Slow Times", interval_s=600)

    async def answer(self, request: web.Request) -> web.Response:
        self.asked.set()
        await self.release.wait()
        return web.Response(body=rss("Slow Times", [UNRELATED]), content_type="application/rss+xml")


async def test_a_slow_feed_holds_up_nobody_its_peers_are_matched_and_delivered_meanwhile(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    slow = SlowFeed(server)
    asked, release = slow.asked, slow.release
    settings = settings_for(server, db_url, receiver)
    settings = replace(
        settings,
        feeds=(*settings.feeds, slow.spec),
        http=replace(settings.http, total_timeout_s=SlowFeed.HOLD_TIMEOUT_S),  # the test ends the slow answer
    )
    pipeline = await make_pipeline(settings, Clock())
    cycle = asyncio.create_task(pipeline.cycle(all=True))
    try:
        await asyncio.wait_for(asked.wait(), 60)

        async def delivered() -> bool:
            # Both fast peers matched (they may land in separate rounds of the follower), and every event and
            # delivery so far delivered: checked together, as later rounds may still be adding to them.
            outlets = {m.article.outlet for m in await store.list_matches()}
            events = await store.list_events()
            statuses = {d.status for d in await store.list_deliveries()}
            return (
                outlets == {"Kyiv Post", "TASS"}
                and bool(events)
                and len(receiver.processed_ids) == len(events)
                and statuses == {DeliveryStatus.DELIVERED}
            )

        await until("the fast feeds' matches and alerts", delivered)
        # The slow feed is still answering; its peers' articles are matched, framed, detected and delivered.
        assert not cycle.done() and not release.is_set()
        slow_feed = next(f for f in await store.list_feeds() if f.outlet == "Slow Times")
        assert slow_feed.last_polled_at is None
    finally:
        release.set()
        report = await asyncio.wait_for(cycle, 120)  # a failure above must not leave the cycle running
    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (3, 0, 4)
    assert report.delivered == len(receiver.processed_ids) and receiver.duplicates == 0
    assert (await store.counts())["articles_pending"] == 0, "the slow feed's article was matched too"


async def test_in_the_daemon_feeds_falling_due_while_a_slow_one_answers_are_polled_meanwhile(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    from dataclasses import replace

    from aiohttp import web

    asked, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        asked.set()
        await release.wait()
        return web.Response(body=rss("Slow Times", [UNRELATED]), content_type="application/rss+xml")

    server.routes["/slow.xml"] = slow
    settings = settings_for(server, db_url)
    settings = replace(
        settings,
        feeds=(*settings.feeds, FeedSpec(url=server.url("/slow.xml"), outlet="Slow Times", interval_s=3600)),
        http=replace(settings.http, total_timeout_s=300),
        daemon=replace(settings.daemon, tick_s=0.05, lease_s=3600),  # outlasts the clock's jump below
    )
    clock = Clock()
    pipeline = await make_pipeline(settings, clock)
    stop = asyncio.Event()
    cycle = asyncio.create_task(pipeline.cycle(until=stop))
    try:
        await asyncio.wait_for(asked.wait(), 60)

        async def fast_ones_polled(times: int) -> bool:
            return server.hits("/kyiv.xml") == times == server.hits("/tass.xml")

        await until("the first polls", lambda: fast_ones_polled(1))
        clock.advance(minutes=11)  # the fast feeds fall due again; the slow one is still answering
        await until("the fast feeds' second polls", lambda: fast_ones_polled(2))
        assert not cycle.done() and server.hits("/slow.xml") == 1
    finally:
        release.set()
    report = await cycle
    assert (report.feeds_polled, report.not_modified, report.feeds_failed) == (5, 2, 0)
    assert server.hits("/slow.xml") == 1


@pytest.mark.postgres
async def test_poll_once_all_with_two_workers_polls_each_feed_exactly_once(
    aiohttp_server: Any, postgres_url: str
) -> None:
    """The second worker starts after the first has polled some feeds, and joins its pass."""
    server, routes, feeds = await one_story_feeds(aiohttp_server, 60, delay_s=0.02)
    settings = Settings(
        database_url=postgres_url,
        feeds=feeds,
        http=HttpSettings(allow_private=True, limit=4),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
    )
    stores = [await open_store(postgres_url, upgrade=True) for _ in range(2)]
    await purge(stores[0])
    pipelines = [await Pipeline.open(settings, s, load_model=False) for s in stores]  # the real clock
    try:
        await pipelines[0].sync_config()
        first = asyncio.create_task(pipelines[0].cycle(all=True))

        async def some_polled() -> bool:
            return len(server.requests) >= 10

        await until("the first worker to poll some feeds", some_polled)
        second = await pipelines[1].cycle(all=True)
        reports = [await first, second]
        assert {server.hits(p) for p in routes} == {1}, "every feed exactly once"
        assert sum(r.feeds_polled for r in reports) == 60 and second.feeds_polled > 0
        # That pass is over: the next --all polls every feed again.
        again = await pipelines[1].cycle(all=True)
        assert again.feeds_polled == 60 and {server.hits(p) for p in routes} == {2}
    finally:
        for p in pipelines:
            await p.close()
        for s in stores:
            await s.close()


async def test_a_pass_cut_short_hands_back_the_feeds_it_had_not_finished(
    aiohttp_server: Any, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    """Cancelled mid-pass (a shutdown, or a fetcher failing), the pass frees the feeds it leased and did not
    store: another worker, or the next start, polls them now, not when their leases run out. The two whose
    fetch was cancelled stored nothing: they are freed too."""
    server, routes, feeds = await one_story_feeds(
        aiohttp_server, 20, delay_s=30, letter="s", full_text="never"
    )
    settings = Settings(
        database_url=db_url,
        feeds=feeds,
        http=HttpSettings(allow_private=True, limit=2, limit_per_host=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
    )
    clock = Clock()
    pipeline = await make_pipeline(settings, clock)
    polling = asyncio.create_task(pipeline.poll(CycleReport()))
    async with asyncio.timeout(30):
        while sum(server.hits(p) for p in routes) < 2:  # noqa: ASYNC110 (both fetchers wait on the server)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the leasing task has filled the queue and leased the next batch
    polling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await polling
    free = await store.lease_due_feeds(clock(), 100, lease_s=300)
    assert len(free) == 20
    assert sum(server.hits(p) for p in routes) == 2


async def test_daemon_passes_of_three_workers_poll_each_feed_once_and_leave_none_leased(
    aiohttp_server: Any, db_url: str
) -> None:
    """Three workers' daemon passes (which take feeds falling due while they run) drain the due feeds
    together: each feed is polled once per interval, and once every pass has ended, no feed is left
    leased, polled or not."""
    from sqlalchemy import func, select

    from storage.tables import feeds_t

    server, routes, feeds = await one_story_feeds(
        aiohttp_server, 120, delay_s=0.005, letter="d", full_text="never"
    )
    settings = Settings(
        database_url=db_url,
        feeds=feeds,
        http=HttpSettings(allow_private=True, limit=4, limit_per_host=12),
        matching=MatchSettings(model=None),
        ingest=IngestSettings(parse_workers=0),
        daemon=DaemonSettings(tick_s=0.05, server_enabled=False),
    )
    stores = [await open_store(db_url, upgrade=True) for _ in range(3)]
    await purge(stores[0])
    clock = Clock()
    pipelines = [await Pipeline.open(settings, s, clock=clock, load_model=False) for s in stores]
    running = asyncio.Event()  # never set: each pass ends when nothing is due and its fetchers are idle
    try:
        await pipelines[0].sync_config()
        for interval in range(2):
            reports = await asyncio.gather(*(p.cycle(until=running) for p in pipelines))
            assert sum(r.feeds_polled for r in reports) == 120 and not any(r.feeds_failed for r in reports)
            assert {server.hits(p) for p in routes} == {interval + 1}, "every feed once per interval"
            async with stores[0].engine.connect() as conn:
                leased = await conn.scalar(
                    select(func.count()).select_from(feeds_t).where(feeds_t.c.leased_until.is_not(None))
                )
            assert leased == 0, "no feed left leased once the passes are over"
            clock.advance(minutes=11)
    finally:
        for p in pipelines:
            await p.close()
        for s in stores:
            await s.close()
