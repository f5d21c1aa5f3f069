"""Parsing in worker processes: the same records as parsing in place, hostile bodies included; dead workers."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.ingest.parse import parse_entries
from watcher.ingest.pool import ParsePool, WorkerDied

DATA = Path(__file__).resolve().parent.parent / "data"
FEED_URL = "https://feeds.example.org/world/rss.xml"
NOW = datetime(2025, 11, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pool() -> AsyncIterator[ParsePool]:
    p = ParsePool(2)
    try:
        yield p
    finally:
        p.close()


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.xml")))
async def test_a_worker_yields_what_parsing_in_place_yields(pool: ParsePool, name: str) -> None:
    # tests/data holds the hostile bodies too (entity bombs, XXE, broken encodings): the workers run
    # the same defences, and hand back the same records.
    body = (DATA / name).read_bytes()
    here = parse_entries(body, FEED_URL, content_type="application/xml", now=NOW)
    there = await pool.parse(body, FEED_URL, content_type="application/xml", now=NOW)
    assert there == here
    assert pool.pids() and os.getpid() not in pool.pids()


async def test_a_dead_worker_is_replaced(pool: ParsePool) -> None:
    body = (DATA / "rss2.xml").read_bytes()
    first = await pool.parse(body, FEED_URL, now=NOW)
    for pid in pool.pids():
        os.kill(pid, signal.SIGKILL)
    assert await pool.parse(body, FEED_URL, now=NOW) == first
    assert pool.pids()


async def test_a_pool_torn_down_while_it_starts_a_worker_is_replaced(pool: ParsePool) -> None:
    """A pool whose workers were killed may still be starting new ones when its own thread closes its pipes:
    the start then fails with EBADF (a race inside concurrent.futures, which no test can time; a pool that
    fails so stands in for it). The call is run on a new pool."""

    class TornDown(ProcessPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> Future[object]:
            raise OSError(errno.EBADF, "Bad file descriptor")

    body = (DATA / "rss2.xml").read_bytes()
    torn = TornDown(max_workers=1)
    pool._executor = torn
    try:
        assert await pool.parse(body, FEED_URL, now=NOW) == parse_entries(body, FEED_URL, now=NOW)
        assert pool._executor is not torn and pool.pids()
    finally:
        torn.shutdown()


async def test_a_body_that_takes_too_long_is_given_up_and_its_pool_replaced() -> None:
    items = "".join(
        f"<item><guid>g{i}</guid><title>Title {i}</title><description>Text {i}</description></item>"
        for i in range(5_000)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bulk</title>{items}</channel></rss>'.encode()
    pool = ParsePool(1, time_limit_s=0.05)  # starting a worker and parsing 5,000 items take far longer
    try:
        result = await pool.parse(body, FEED_URL, now=NOW)
        assert result.articles == [] and result.warnings == [
            "parsing took over 0.05 s; the body was given up"
        ]
        assert pool.pids() == []  # its worker was killed with its pool
        pool.time_limit_s = 600.0
        assert len((await pool.parse(body, FEED_URL, now=NOW)).articles) == 5_000  # on a new pool
    finally:
        pool.close()


async def test_the_time_limit_counts_a_calls_own_run_not_its_wait_behind_others() -> None:
    pool = ParsePool(1, time_limit_s=2.5)
    try:
        assert await pool.run(abs, -1) == 1  # the worker is up
        # Three calls of 1 s on one worker: the third ends 3 s after it was made, 1 s after it started.
        calls = [pool.run(time.sleep, 1.0) for _ in range(3)]
        assert await asyncio.gather(*calls) == [None, None, None]
    finally:
        pool.close()


async def test_a_cancelled_call_holds_its_worker_until_it_ends_and_no_longer_than_its_limit() -> None:
    pool = ParsePool(1, time_limit_s=30.0)
    try:
        running = asyncio.create_task(pool.run(time.sleep, 1.0))
        await asyncio.sleep(0.3)
        running.cancel()
        # The next call waits for the worker (it does not time out behind the cancelled one).
        assert await pool.run(abs, -2, time_limit_s=1.5) == 2
        hung = asyncio.create_task(pool.run(time.sleep, 600.0, time_limit_s=0.5))
        await asyncio.sleep(0.2)
        hung.cancel()
        started = time.monotonic()
        assert await pool.run(abs, -3) == 3  # on a new pool: the hung call's was killed at its limit
        assert time.monotonic() - started < 10.0  # not the 600 s of the hung call
    finally:
        pool.close()


async def test_closing_kills_a_worker_still_running_after_the_grace_period() -> None:
    pool = ParsePool(1)
    running = asyncio.create_task(pool.run(time.sleep, 600.0))
    await asyncio.sleep(0.5)
    pids = pool.pids()
    started = time.monotonic()
    await asyncio.to_thread(pool.close, 0.2)
    assert time.monotonic() - started < 10.0 and pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, and reaped
    with pytest.raises(WorkerDied):  # not run again on a new pool
        await running
    assert pool.pids() == []


async def test_closing_stops_the_workers_and_a_later_parse_starts_new_ones(pool: ParsePool) -> None:
    body = (DATA / "atom.xml").read_bytes()
    await pool.parse(body, FEED_URL, now=NOW)
    before = pool.pids()
    pool.close()
    assert pool.pids() == []
    for pid in before:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, and reaped
    assert (await pool.parse(body, FEED_URL, now=NOW)).articles


async def test_zero_workers_parse_in_a_thread() -> None:
    pool = ParsePool(0)
    body = (DATA / "rdf.xml").read_bytes()
    assert await pool.parse(body, FEED_URL, now=NOW) == parse_entries(body, FEED_URL, now=NOW)
    assert pool.pids() == []


OWNER = """
import asyncio, sys, time
from watcher.ingest.pool import ParsePool

async def main():
    pool = ParsePool(2)
    await asyncio.gather(*(pool.parse(open(sys.argv[1], "rb").read(), "https://x.example/") for _ in range(4)))
    print(*pool.pids(), flush=True)
    time.sleep(600)

asyncio.run(main())
"""


def test_workers_end_when_their_owner_is_killed() -> None:
    # A daemon killed with SIGKILL must not leave parser processes behind (they would hold its
    # stdout open, and memory, for ever).
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    with subprocess.Popen(
        [sys.executable, "-c", OWNER, str(DATA / "rss2.xml")], stdout=subprocess.PIPE, text=True, env=env
    ) as owner:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert workers
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed requirement
        while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
        assert owner.stdout.read() == ""  # EOF: nothing holds the owner's stdout any more


async def test_workers_with_the_fast_parser_yield_feedparser_records() -> None:
    pool = ParsePool(2, parser="fast")
    try:
        for path in sorted(DATA.glob("*.xml")):
            body = path.read_bytes()
            here = parse_entries(body, FEED_URL, content_type="application/xml", now=NOW)
            there = await pool.parse(body, FEED_URL, content_type="application/xml", now=NOW)
            assert (there.articles, there.title, there.ttl_s) == (here.articles, here.title, here.ttl_s)
    finally:
        pool.close()
