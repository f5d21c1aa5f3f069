"""Fixtures shared across test modules and tiers (registered as a plugin by tests/conftest.py).

``server``: a local feed server with the stories of tests.support.stories (Kyiv Post at /kyiv.xml, TASS
at /tass.xml). ``receiver``: a local webhook receiver that checks signatures with ``stories.SECRET``.
``make_pipeline``: ``await make_pipeline(settings, clock)`` opens a pipeline on the test's store with its
configuration synced, closed after the test. A module may define a fixture of the same name to serve
something else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.stories import DENIAL, SECRET, STRAIGHT, UNRELATED, fresh, rss
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import FeedSpec
from watcher.pipeline import Pipeline


@dataclass
class DaemonStub:
    """A daemon as the HTTP endpoints see it (watcher.web.DaemonState), over a real store."""

    store: SqlStore
    scheduler_running: bool = True
    last_cycle_monotonic: float | None = None
    last_progress_monotonic: float | None = None
    started_monotonic: float = 0.0
    database_problem: str | None = None


def loopback_settings(db_url: str, feeds: Sequence[FeedSpec], **fields: Any) -> Settings:
    """Settings for a pipeline that polls the loopback feed server: private addresses allowed, short timeouts,
    lexical matching, no HTTP endpoint; ``fields`` sets the rest (claims, destinations)."""
    return Settings(
        database_url=db_url,
        feeds=tuple(feeds),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
        **fields,
    )


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    # Dated a minute before the test starts: news. (Undated items of a feed's first poll are its backlog.)
    date = fresh()
    srv = FeedServer(
        {
            "/kyiv.xml": Route(body=rss("Kyiv Post", [STRAIGHT], pub_date=date), etag='"k1"'),
            "/tass.xml": Route(body=rss("TASS", [DENIAL, UNRELATED], pub_date=date), etag='"t1"'),
        }
    )
    await srv.start_under(aiohttp_server)
    return srv


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(secret=SECRET) as r:
        yield r


@pytest.fixture
async def make_pipeline(store: SqlStore) -> AsyncIterator[Callable[[Settings, Clock], Awaitable[Pipeline]]]:
    opened: list[Pipeline] = []

    async def make(settings: Settings, clock: Clock) -> Pipeline:
        p = await Pipeline.open(settings, store, clock=clock, load_model=False)
        await p.sync_config()
        opened.append(p)
        return p

    yield make
    for p in opened:
        await p.close()
