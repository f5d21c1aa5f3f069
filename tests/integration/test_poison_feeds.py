"""Feeds whose data the database would refuse: stored cleanly, or failing alone, recorded and backed off.

A NUL in an item link, a header byte that is no UTF-8, an over-long validator or redirect target, or a max-age of
thousands of digits made the poll's write fail (PostgreSQL refuses NUL and over-long varchars; no driver encodes a
lone surrogate) or raised out of the fetch. Nothing was recorded on the feed, so it was fetched again at every
lease, never backed off and never showed as failing. Runs on SQLite and, where configured, on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import DataError

from storage.base import PollOutcome
from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route, redirect
from tests.support.fixtures import loopback_settings
from tests.support.net import RawServer
from tests.support.stories import STRAIGHT, rss
from watcher.domain import ArticleIn, FeedSpec
from watcher.ingest.fetch import MAX_DELAY
from watcher.pipeline import Pipeline

INTERVAL_S = 600
RSS_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
NUL_LINK = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>NulLink</title>'
    b"<item><title>Bad story</title><link>http://x.example/a&#0;b</link></item>"
    b"<item><title>Other fine story</title><link>http://x.example/fine</link></item></channel></rss>"
)
NUL_JSON = json.dumps(
    {"version": "https://jsonfeed.org/version/1.1", "title": "NulJson",
     "items": [{"url": "https://x.example/j\u0000b", "title": "Json story"}]}
).encode()  # fmt: skip


def specs(urls: dict[str, str]) -> list[FeedSpec]:
    return [FeedSpec(url=u, outlet=o, interval_s=INTERVAL_S, full_text="never") for o, u in urls.items()]


async def test_feeds_the_database_would_refuse_are_stored_cleanly(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    raw = {
        "EtagFF": RawServer(rss("EtagFF", [STRAIGHT]), RSS_HEAD + b'ETag: "v\xff1"\r\n'),
        "LastModE9": RawServer(rss("LastModE9", [STRAIGHT]), RSS_HEAD + b"Last-Modified: Mon, 01 Jan 2024\xe9\r\n"),
    }  # fmt: skip
    served = {
        "/nul-link.xml": Route(body=NUL_LINK),
        "/nul.json": Route(body=NUL_JSON, content_type="application/feed+json"),
        "/huge-etag.xml": Route(body=rss("HugeEtag", [STRAIGHT]), headers={"ETag": '"' + "e" * 8000 + '"'}),
        "/long-lastmod.xml": Route(body=rss("LongLastMod", [STRAIGHT]), headers={"Last-Modified": "M" * 233}),
        "/max-age.xml": Route(body=rss("MaxAge", [STRAIGHT]), headers={"Cache-Control": "max-age=" + "9" * 5000}),
    }  # fmt: skip
    server.routes.update(served)
    async with AsyncExitStack() as stack:
        urls = {outlet: await stack.enter_async_context(r) for outlet, r in raw.items()}
        urls |= {path.strip("/"): server.url(path) for path in served}
        clock = Clock()
        pipeline = await make_pipeline(loopback_settings(db_url, specs(urls)), clock)

        report = await pipeline.cycle(all=True)

    assert (report.feeds_polled, report.feeds_failed) == (7, 0), report.errors
    feeds = {f.outlet: f for f in await store.list_feeds()}
    for feed in feeds.values():
        assert (feed.last_status, feed.error_count, feed.last_error) == (200, 0, None), feed
        assert (feed.etag, feed.last_modified) == (None, None)
    assert feeds["max-age.xml"].next_poll_at == clock.now + MAX_DELAY
    titles = {a.title: a for a in await store.recent_articles(100)}
    assert {"Bad story", "Other fine story", "Json story"} <= set(titles)
    assert all("\x00" not in a.url + a.canonical_url for a in titles.values())


async def test_a_permanent_redirect_to_an_overlong_url_is_the_feeds_error(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    target = "/" + "x" * 3000
    server.routes["/moved.xml"] = redirect(target, 301)
    server.routes[target] = Route(body=rss("Moved", [STRAIGHT]))
    url = server.url("/moved.xml")
    clock = Clock()
    pipeline = await make_pipeline(loopback_settings(db_url, specs({"Moved": url})), clock)

    report = await pipeline.cycle(all=True)

    assert (report.feeds_polled, report.feeds_failed) == (1, 1)
    (feed,) = await store.list_feeds()
    assert (feed.url, feed.error_count) == (url, 1)
    assert feed.last_error == "permanent redirect to a URL longer than 2048 characters"
    assert feed.next_poll_at == clock.now + timedelta(seconds=INTERVAL_S)


class RefusingStore:
    """The real store, except that it refuses to store the articles of the feeds with URLs in ``refused``, as
    a database refuses data it cannot hold, the same way at every poll."""

    def __init__(self, store: SqlStore, refused: set[str], error: Exception) -> None:
        self._store = store
        self.refused = refused
        self.error = error
        self.refusals = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def record_poll(
        self, feed_id: int, outcome: PollOutcome, articles: Sequence[ArticleIn]
    ) -> list[int]:
        urls = {f.id: f.url for f in await self._store.list_feeds()}
        if articles and urls[feed_id] in self.refused:
            self.refusals += 1
            raise self.error
        return await self._store.record_poll(feed_id, outcome, articles)


@pytest.mark.parametrize(
    ("error", "recorded"),
    [(DataError("INSERT", {}, Exception('invalid byte sequence for encoding "UTF8": 0x00')),
      'storing failed: Exception: invalid byte sequence for encoding "UTF8": 0x00'),
     (UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"), "unexpected error: UnicodeEncodeError")],
    ids=["postgres-refuses", "sqlite-cannot-encode"],
)  # fmt: skip
async def test_a_feed_whose_store_fails_is_recorded_backs_off_and_fails_alone(
    server: FeedServer,
    store: SqlStore,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    recorded: str,
) -> None:
    server.routes["/poison.xml"] = Route(body=rss("Poison", [STRAIGHT]))
    server.routes["/good.xml"] = Route(body=rss("Good", [STRAIGHT]))
    poison = server.url("/poison.xml") + "?token=SECRET-TOKEN"
    settings = loopback_settings(db_url, specs({"Poison": poison, "Good": server.url("/good.xml")}))
    refusing = RefusingStore(store, {poison}, error)
    clock = Clock()
    pipeline = await Pipeline.open(settings, refusing, clock=clock, load_model=False)  # type: ignore[arg-type]
    try:
        await pipeline.sync_config()
        with caplog.at_level(logging.INFO, logger="watcher.pipeline"):
            report = await pipeline.cycle(all=True)

        assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (2, 1, 1)
        feeds = {f.outlet: f for f in await store.list_feeds()}
        assert (feeds["Good"].error_count, feeds["Good"].last_error) == (0, None)
        bad = feeds["Poison"]
        assert (bad.error_count, bad.last_error) == (1, recorded)
        # Backed off as any error is: interval × errors.
        assert bad.next_poll_at == clock.now + timedelta(seconds=INTERVAL_S)
        # The log names the feed by outlet and URL, never with its secret.
        failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(failed) == 1 and "'Poison'" in failed[0] and "/poison.xml?token=" in failed[0]
        assert "SECRET-TOKEN" not in caplog.text

        # Not fetched again at the next lease: it waits its backoff, then fails again and waits longer.
        clock.advance(seconds=INTERVAL_S // 2)
        assert (await pipeline.cycle()).feeds_polled == 0
        clock.advance(seconds=INTERVAL_S)
        again = await pipeline.cycle()
        assert (again.feeds_polled, again.feeds_failed) == (2, 1)
        (bad,) = [f for f in await store.list_feeds() if f.outlet == "Poison"]
        assert bad.error_count == 2 and bad.next_poll_at == clock.now + timedelta(seconds=2 * INTERVAL_S)
        assert server.hits("/poison.xml") == 2 and refusing.refusals == 2
    finally:
        await pipeline.close()
