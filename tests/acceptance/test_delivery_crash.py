"""kill -9 of the daemon during delivery of 200 alerts: restarts deliver every event, at least once.

The database is prepared through the Store API (a feed, ten matched articles, a claim, 200 events with
their outbox rows to one webhook destination, as detection writes them), so the daemon starts with
nothing to do but deliver. ``python -m watcher run`` sends them to a real, slightly slow,
signature-checking receiver and is killed with SIGKILL three times at seeded random points of the
delivery, and started again each time. What a killed process had leased waits for its lease
(``daemon.lease``) to run out; then the next process sends it.

The receiver may see a webhook-id twice: at-least-once delivery with a stable id, which receivers
deduplicate. Duplicates are counted and printed, split by cause: across a kill (sent, then killed
before the outcome was committed) and within one process (a batch that outlived its lease, taken
again by the daemon's other delivery job). A kill can only repeat what was in flight when it landed,
so the first kind is bounded; the second is not asserted here (see test_outbox's lease test).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.sql import SqlStore
from tests.support.cli import Watcher
from tests.support.feed_server import FeedServer, Route
from tests.support.outbox import seed_events
from tests.support.receivers import Receiver, Recorded
from tests.support.stories import SECRET, UNRELATED, rss
from watcher.domain import DeliveryStatus, Destination, FeedSpec

EVENTS = 200
KILLS = 3
SEED = 20251106
LEASE = "4s"  # daemon.lease: how long a killed process's leased deliveries wait before a restart sends them
RECEIVER_DELAY_S = 0.02  # a slightly slow receiver: 200 alerts take several seconds
# The daemon runs Outbox.deliver_due from two jobs (poll cycle and deliver tick), each with at most one request
# in flight per destination: a kill can repeat at most that many sends.
IN_FLIGHT_PER_KILL = 2
WAIT_S = 90.0


def write_config(w: Watcher, feed_url: str, hook_url: str) -> None:
    w.config.write_text(
        "\n".join(
            [
                "http: {allow_private: true, total_timeout: 5s}",
                "matching: {model: null}",
                f"daemon: {{tick: 1s, lease: {LEASE}, shutdown_timeout: 2s, server: {{enabled: false}}}}",
                "feeds:",
                f"  - {{url: '{feed_url}', outlet: Kyiv Post, country: UA, language: en, interval: 1h}}",
                "destinations:",
                f"  - {{name: cms, kind: webhook, url: '{hook_url}', secret: '{SECRET}', allow_private: true}}",
            ]
        )
        + "\n"
    )


async def wait_until(what: str, check: Callable[[], Awaitable[bool]], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.01)


async def deliveries_by_status(store: SqlStore) -> dict[str, int]:
    counts = await store.counts()
    return {s.value: counts.get(f"deliveries_{s.value}", 0) for s in DeliveryStatus}


class Daemon:
    """``watcher run`` as a child process; its log goes to a file per start (a full pipe would block it)."""

    def __init__(self, watcher: Watcher, logs: Path) -> None:
        self.watcher = watcher
        self.logs = logs
        self.starts: list[float] = []  # time.monotonic() of each start

    async def start(self) -> asyncio.subprocess.Process:
        self.starts.append(time.monotonic())
        with (self.logs / f"run-{len(self.starts)}.log").open("wb") as log:
            return await asyncio.create_subprocess_exec(
                *self.watcher.argv("run"),
                cwd=self.watcher.tmp,
                env=self.watcher.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    def last_log(self) -> str:
        return (self.logs / f"run-{len(self.starts)}.log").read_text(errors="replace")[-4000:]

    def run_of(self, monotonic: float) -> int:
        """Which start a request that arrived at ``monotonic`` came from (runs never overlap)."""
        return sum(1 for s in self.starts if s <= monotonic)


@dataclass(frozen=True, slots=True)
class Duplicates:
    across_kills: int  # a send repeated by a later process
    same_process: int  # a send repeated by the process that made it


def duplicates(requests: Sequence[Recorded], daemon: Daemon) -> Duplicates:
    runs: dict[str, list[int]] = {}
    for r in requests:
        if r.answered == 200:
            runs.setdefault(r.headers["webhook-id"], []).append(daemon.run_of(r.received_at))
    return Duplicates(
        across_kills=sum(len(set(v)) - 1 for v in runs.values()),
        same_process=sum(len(v) - len(set(v)) for v in runs.values()),
    )


async def test_kill_9_during_delivery_loses_no_event(
    aiohttp_server: Any, store: SqlStore, db_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    server = FeedServer({"/kyiv.xml": Route(body=rss("Kyiv Post", [UNRELATED]), etag='"k1"')})
    await server.start_under(aiohttp_server)
    async with Receiver(secret=SECRET) as receiver:
        receiver.behave(delay_s=RECEIVER_DELAY_S)
        feed = FeedSpec(
            url=server.url("/kyiv.xml"), outlet="Kyiv Post", country="UA", language="en", interval_s=3600
        )
        dest = Destination(
            name="cms", kind="webhook", url=receiver.url("/hook"), secret=SECRET, allow_private=True
        )
        events = await seed_events(store, [dest], EVENTS, datetime.now(UTC), feed=feed)
        assert (await deliveries_by_status(store))["pending"] == EVENTS

        watcher = Watcher(tmp_path, db_url)
        write_config(watcher, server.url("/kyiv.xml"), receiver.url("/hook"))
        daemon = Daemon(watcher, tmp_path)

        # Each kill comes once the receiver has processed a seeded random number of alerts, plus a random
        # few milliseconds, so that it lands anywhere in a send: before, during or after the request.
        marks = sorted(rng.sample(range(15, EVENTS - 15), KILLS))
        kills: list[tuple[int, int]] = []  # (alerts processed, deliveries pending) at each kill
        for mark in marks:
            proc = await daemon.start()

            async def reached(n: int = mark) -> bool:
                return len(receiver.processed_ids) >= n

            try:
                await wait_until(f"{mark} alerts processed", reached)
            except AssertionError:
                proc.kill()
                await proc.wait()
                raise AssertionError(daemon.last_log()) from None
            await asyncio.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
            assert await proc.wait() == -signal.SIGKILL
            pending = (await deliveries_by_status(store))["pending"]
            assert pending > 0, "the kill must land during the delivery"
            kills.append((len(receiver.processed_ids), pending))

        # A last start finishes the work, including what the killed processes had leased.
        proc = await daemon.start()

        async def all_delivered() -> bool:
            return (await deliveries_by_status(store))["delivered"] == EVENTS

        try:
            await wait_until("every delivery to be delivered", all_delivered)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 15)
        assert code == 0, daemon.last_log()
        requests = list(receiver.requests)
        processed = list(receiver.processed_ids)
        repeated = receiver.duplicates

    stored = await store.list_events(limit=EVENTS * 2)
    deliveries = await store.list_deliveries(limit=EVENTS * 2)
    assert len(stored) == EVENTS, "no event lost and none raised again"
    assert set(processed) == {e.id for e in stored} == {e.id for e in events}, "every event arrived"
    assert len(processed) == len(set(processed)) == EVENTS
    assert len(deliveries) == EVENTS and {d.status for d in deliveries} == {DeliveryStatus.DELIVERED}
    assert all(r.signature_error is None and r.answered == 200 for r in requests), "signed and accepted"
    assert len(requests) == EVENTS + repeated
    split = duplicates(requests, daemon)
    assert split.across_kills + split.same_process == repeated
    assert split.across_kills <= KILLS * IN_FLIGHT_PER_KILL, "a kill repeats only what was in flight"
    print(
        f"\n{db_url.split(':', 1)[0]}: {EVENTS} events, {KILLS} kills (alerts processed, deliveries pending: "
        f"{kills}), {len(requests)} requests, {repeated} duplicate webhook-ids ({split.across_kills} "
        f"across a kill, {split.same_process} within one process), {time.monotonic() - started:.1f}s"
    )
