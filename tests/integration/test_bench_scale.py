"""bench/scale.py's drain bookkeeping on a real PostgreSQL store, polled by a real pipeline from the bench's
own feed server on loopback."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from bench.ingest_server import FeedSet, make_app
from bench.scale import CpuMeter, get_json, register, served, wait_polled
from storage.sql import SqlStore, open_store
from tests.support.database import purge
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.ingest.pool import IngestSettings
from watcher.pipeline import CycleReport, Pipeline

FEEDS = 20
EARLY = 5  # feeds polled before the bench starts counting progress


@pytest.mark.postgres
async def test_polls_made_before_the_drain_is_watched_count_and_no_stall_is_reported(
    aiohttp_server: Any, postgres_url: str
) -> None:
    """A worker may poll its first batch as soon as the time travel commits, before the bench's ANALYZE is
    done and it starts watching. Progress counts from an answer count read before anything fell due, so
    the drain ends when the last feed is polled; counted from when watching began, those first polls were
    missing and the drain was reported stalled with every feed polled once."""
    server = await aiohttp_server(make_app(FeedSet(FEEDS, 1, datetime.now(UTC), lazy=True)))
    base_url = str(server.make_url("")).rstrip("/")
    store = await open_store(postgres_url, upgrade=True)
    assert isinstance(store, SqlStore)
    await purge(store)
    await register(store, FEEDS, base_url, [], datetime.now(UTC) + timedelta(hours=12))  # not due, not absurd
    settings = Settings(
        database_url=postgres_url,
        http=HttpSettings(allow_private=True, limit=4, limit_per_host=4),
        matching=MatchSettings(model=None),
        ingest=IngestSettings(parse_workers=0),
        daemon=DaemonSettings(server_enabled=False),
    )
    pipeline = await Pipeline.open(settings, store, load_model=False)
    conn = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
    meter = CpuMeter(os.getpid(), [], "-")
    try:
        async with aiohttp.ClientSession() as session:
            answered = served(await get_json(session, base_url + "/_stats"))  # before anything is due
            due_at = datetime.now(UTC)
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM feeds ORDER BY id")]
            fall_due = "UPDATE feeds SET next_poll_at = $1 WHERE id = any($2::int[])"
            await conn.execute(fall_due, due_at, ids[:EARLY])
            first = CycleReport()
            await pipeline.poll(first)
            assert first.feeds_polled == EARLY
            watching = served(await get_json(session, base_url + "/_stats"))  # where the bench used to start

            await conn.execute(fall_due, due_at, ids[EARLY:])
            rest = CycleReport()
            await pipeline.poll(rest)
            assert (rest.feeds_polled, rest.feeds_failed) == (FEEDS - EARLY, 0)

            stall_s = 3.0
            problems: list[str] = []
            started = time.monotonic()
            args = (conn, base_url, session, meter, [], due_at, FEEDS, problems)
            await wait_polled(*args, answered, stall_s)
            assert problems == [] and time.monotonic() - started < stall_s, "done as soon as all are polled"

            # Counted from where watching began, the first polls are missing: no new request comes, and
            # only the database, counted before a stall is declared, says that every feed was polled.
            started = time.monotonic()
            await wait_polled(*args, watching, stall_s)
            assert problems == [] and time.monotonic() - started >= stall_s
    finally:
        await conn.close()
        await pipeline.close()
        await store.close()
