"""Faults around the daemon: the database restarted, locked or full, the receiver down, the process killed.

Each case ends the same way: the fault is logged as a clear error tied to what it hit (a feed, a
destination, the job), the daemon or pipeline carries on, and the ledger of stored articles, matches,
events and deliveries has every expected row exactly once. Peak RSS is printed where a daemon runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from storage.engine import make_engine
from storage.sql import SqlStore, open_store
from storage.tables import deliveries_t, matches_t
from tests.support.clock import Clock
from tests.support.database import purge, require
from tests.support.feed_server import FeedServer, Route
from tests.support.ledger import Ledger, read_ledger
from tests.support.logs import record_text, records_about
from tests.support.memory import process_peak_rss_mb
from tests.support.receivers import Receiver
from tests.support.stories import SECRET, STRAIGHT, UNRELATED, fresh, rss
from watcher.config import ClaimSpec, DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import DeliveryStatus, Destination, FeedSpec
from watcher.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = (
    ClaimSpec(name="nato-ammo", text="NATO has surpassed Russia in ammunition production"),
    ClaimSpec(
        name="grain-corridor", text="The Black Sea grain corridor has reopened for Ukrainian wheat exports"
    ),
    ClaimSpec(
        name="kyiv-blackouts", text="Rolling blackouts have returned to Kyiv after strikes on the power grid"
    ),
)
FILLER = (
    "Local bakery wins regional pastry award",
    "City council debates new parking rules for downtown",
    "Museum opens exhibition of medieval tapestries",
    "High school robotics team advances to national finals",
    "Library extends opening hours over the holidays",
)
DB_ERROR = re.compile(
    r"connection|connect|terminat|shutting down|starting up|admin|closed|refused", re.IGNORECASE
)


# -- helpers ----------------------------------------------------------------------------------------


async def wait_until(what: str, check: Callable[[], Awaitable[bool]], timeout_s: float = 45.0) -> None:
    """Poll ``check`` until it holds; database errors while it runs count as "not yet"."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except Exception:  # the database may be restarting under the check itself
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def story(guid: str, claim: ClaimSpec | None, n: int) -> tuple[str, str, str]:
    """An item about ``claim`` (its text, verbatim) or, with None, about nothing any claim covers."""
    if claim is None:
        topic = FILLER[n % len(FILLER)]
        return guid, f"{topic} ({guid})", f"{topic}. Residents welcomed the news, item {guid}."
    return (
        guid,
        f"{claim.text}, report {guid} says",
        f"{claim.text}, officials said in {guid}. The announcement followed weeks of speculation.",
    )


@dataclass
class Published:
    """What the feed server publishes, per path, and which claim each item is about."""

    items: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    about: dict[str, str | None] = field(default_factory=dict)  # guid → claim name

    def add(
        self, server: FeedServer, path: str, guid: str, claim: ClaimSpec | None, *, delay_s: float = 0.0
    ) -> None:
        self.items.setdefault(path, []).append(story(guid, claim, len(self.about)))
        self.about[guid] = claim.name if claim else None
        # Newest first, as feeds list them; the body changes, so the next poll sees the item.
        body = rss(path.strip("/"), list(reversed(self.items[path])), pub_date=fresh())
        server.routes[path] = Route(body=body, delay_s=delay_s)

    def guids(self, path: str) -> set[str]:
        return {g for g, _, _ in self.items.get(path, [])}


def check_ledger(
    ledger: Ledger, published: Published, urls: dict[str, str], destinations: Sequence[str]
) -> None:
    """Every published item stored once, matched to its claim once; every event delivered once per destination."""
    assert ledger.duplicates() == [], ledger.duplicates()
    assert ledger.orphans() == [], ledger.orphans()
    for path, url in urls.items():
        stored = [a.guid or "" for a in ledger.articles_of(url)]
        assert sorted(stored) == sorted(published.guids(path)), f"{path}: stored {sorted(stored)}"
    assert all(a.processed for a in ledger.articles), "every article went through matching"
    by_key = {(a.feed_url, a.key): a.guid for a in ledger.articles}
    matched = sorted((m.claim, by_key[(m.feed_url, m.key)]) for m in ledger.matches)
    expected = sorted((claim, guid) for guid, claim in published.about.items() if claim is not None)
    assert matched == expected
    first_seen = sorted(e.claim for e in ledger.events if e.type == "first_seen")
    assert first_seen == sorted({c for c, _ in expected}), "one first_seen event per claim with coverage"
    want = sorted((e.id, d) for e in ledger.events for d in destinations)
    assert sorted((d.event_id, d.destination) for d in ledger.deliveries) == want
    assert {d.status for d in ledger.deliveries} <= {DeliveryStatus.DELIVERED.value}


class DaemonProcess:
    """``python -m watcher run`` with a feeds.yaml, JSON logs in a file, started again after each kill."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp = tmp
        self.config = tmp / "feeds.yaml"
        self.env = {**os.environ, "WATCHER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
        self.env.pop("WATCHER_CONFIG", None)
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0
        self.peak_rss_mb = 0.0

    def write_config(
        self,
        feeds: dict[str, str],
        *,
        hook: str | None,
        lease: str = "2s",
        interval: str = "1s",
        per_host: int = 8,
    ) -> None:
        lines = [
            f"http: {{allow_private: true, total_timeout: 5s, per_host: {per_host}}}",
            "matching: {model: null}",
            "defaults: {full_text: never}",  # the stories link to news.example: no page to fetch
            f"daemon: {{tick: 1s, lease: {lease}, shutdown_timeout: 2s, server: {{enabled: false}}}}",
            "feeds:",
            *(
                f"  - {{url: '{url}', outlet: '{path.strip('/')}', language: en, interval: {interval}}}"
                for path, url in feeds.items()
            ),
            "claims:",
            *(f"  - {{name: {c.name}, text: '{c.text}'}}" for c in CLAIMS),
        ]
        if hook is not None:
            lines += [
                "destinations:",
                f"  - {{name: cms, kind: webhook, url: '{hook}', secret: '{SECRET}', allow_private: true}}",
            ]
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def log_path(self) -> Path:
        return self.tmp / f"run-{self.runs}.log"

    async def start(self) -> asyncio.subprocess.Process:
        self.runs += 1
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "watcher", "--config", str(self.config), "--log-format", "json", "run",
                cwd=self.tmp, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        return self.proc

    def sample_rss(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.peak_rss_mb = max(self.peak_rss_mb, process_peak_rss_mb(self.proc.pid) or 0.0)

    async def kill(self) -> None:
        assert self.proc is not None
        self.sample_rss()
        try:
            self.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            # A daemon that exited on its own is the failure to report, with its log, not the kill that found it gone.
            code = await self.proc.wait()
            raise AssertionError(f"the daemon exited ({code}) before the kill\n{self.tail()}") from None
        assert await self.proc.wait() == -signal.SIGKILL

    async def stop(self) -> int:
        assert self.proc is not None
        self.sample_rss()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 20)

    def logs(self, run: int | None = None) -> list[dict[str, Any]]:
        runs = [run] if run is not None else range(1, self.runs + 1)
        out = []
        for n in runs:
            for line in (self.tmp / f"run-{n}.log").read_text(errors="replace").splitlines():
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


async def counts(store: SqlStore) -> dict[str, int]:
    c = await store.counts()
    async with store.engine.connect() as conn:
        c["deliveries_open"] = int(
            (
                await conn.execute(
                    select(func.count()).select_from(deliveries_t).where(deliveries_t.c.status != "delivered")
                )
            ).scalar_one()
        )
    return c


# -- PostgreSQL restarted mid-cycle ------------------------------------------------------------------


def _pg_cluster(port: int) -> tuple[str, str] | None:
    """The local cluster (version, name) that listens on ``port``, as pg_lsclusters lists it."""
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        return None
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == str(port):
            return version, name
    return None


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.postgres
async def test_postgres_restart_mid_cycle_is_survived(
    aiohttp_server: Any, postgres_url: str, tmp_path: Path
) -> None:
    host, port = _host_port(postgres_url)
    cluster = _pg_cluster(port)
    require(
        cluster is not None and os.geteuid() == 0 and host in ("127.0.0.1", "localhost", "::1"),
        "restarting PostgreSQL needs a local cluster, pg_ctlcluster and root",
    )
    assert cluster is not None
    store = await open_store(postgres_url, upgrade=True)
    await purge(store)
    # Slow feeds (0.3 s each, three at a time) keep a cycle in flight most of the time.
    paths = [f"/pg{i}.xml" for i in range(12)]
    server = FeedServer()
    await server.start_under(aiohttp_server)
    published = Published()
    for i, path in enumerate(paths):
        published.add(server, path, f"pg{i}-a", CLAIMS[0] if i == 0 else None, delay_s=0.3)
    urls = {p: server.url(p) for p in paths}
    daemon = DaemonProcess(tmp_path, postgres_url)
    try:
        async with Receiver(secret=SECRET) as receiver:
            daemon.write_config(urls, hook=receiver.url("/hook"), lease="3s", per_host=3)
            proc = await daemon.start()

            async def first_items_in() -> bool:
                c = await counts(store)
                return (
                    c["articles"] == len(paths) and c["articles_pending"] == 0 and c["deliveries_open"] == 0
                )

            await wait_until("the first items to be stored", first_items_in)
            pid = proc.pid
            restarted_at = time.time()
            # The server stays down until the daemon has met the outage: a restart so quick that no tick
            # touched the database in between would prove nothing (and made this test flaky).
            code, out = await _run("pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop")
            assert code == 0, out
            try:
                await wait_until(
                    "the daemon to log the outage", lambda: _outage_logged(daemon, restarted_at), 30
                )
            finally:
                code, out = await _run("pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start")
            assert code == 0, out
            await wait_until("PostgreSQL to accept connections", lambda: _pg_ready(host, port), 30)
            back_at = time.time()

            for i, path in enumerate(paths):
                published.add(server, path, f"pg{i}-b", CLAIMS[1] if i == 1 else None, delay_s=0.3)

            async def new_items_in() -> bool:
                c = await counts(store)
                return (
                    c["articles"] == 2 * len(paths)
                    and c["articles_pending"] == 0
                    and c["deliveries_open"] == 0
                )

            await wait_until("the items published after the restart", new_items_in)
            assert proc.returncode is None and proc.pid == pid, "the same daemon process carries on"
            await asyncio.sleep(1.0)
            daemon.sample_rss()
            assert await daemon.stop() == 0, daemon.tail()
            received = list(receiver.processed_ids)
            assert receiver.duplicates == 0
        ledger = await read_ledger(store)
    finally:
        if daemon.proc is not None and daemon.proc.returncode is None:
            daemon.proc.kill()
            await daemon.proc.wait()
        await store.close()

    check_ledger(ledger, published, urls, ["cms"])
    assert sorted(received) == sorted(e.id for e in ledger.events)
    logs = daemon.logs()
    failures = [
        r for r in logs if r["level"] in ("warning", "error") and restarted_at - 1 <= _ts(r) <= back_at + 10
    ]
    db_errors = [r for r in failures if DB_ERROR.search(r["msg"] + r.get("exc", "")[-600:])]
    assert db_errors, f"the database outage is logged: {[r['msg'] for r in failures]}"
    later = [r for r in logs if r["msg"].startswith("cycle:") and _ts(r) > back_at]
    assert later, "cycles run again after the restart"
    kinds = sorted({f"{r['msg'][:60]} ({_last_line(r.get('exc', ''))})" for r in db_errors})
    print(
        f"\nPostgreSQL restart: {len(db_errors)} records while it was down, same daemon pid {pid} carried on; "
        f"daemon peak RSS {daemon.peak_rss_mb:.0f} MB; logged: " + "; ".join(kinds)
    )


async def _pg_ready(host: str, port: int) -> bool:
    code, _ = await _run("pg_isready", "-h", host, "-p", str(port), "-q")
    return code == 0


def _host_port(url: str) -> tuple[str, int]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.host or "localhost", parsed.port or 5432


async def _outage_logged(daemon: DaemonProcess, since: float) -> bool:
    """Whether the daemon has logged a database error since ``since`` (a Unix time)."""
    return any(
        r["level"] in ("warning", "error")
        and _ts(r) >= since
        and DB_ERROR.search(r["msg"] + r.get("exc", "")[-600:])
        for r in daemon.logs()
    )


def _ts(record: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(record["ts"]).timestamp()


def _last_line(text: str) -> str:
    """The exception line of a formatted traceback (SQLAlchemy appends a "Background" link after it)."""
    lines = [
        line for line in text.strip().splitlines() if line.strip() and not line.startswith("(Background")
    ]
    return lines[-1][:200] if lines else ""


# -- SQLite locked, SQLite full -------------------------------------------------------------------


def _settings(db_url: str, feeds: dict[str, str], hook: str | None, **daemon: Any) -> Settings:
    return Settings(
        database_url=db_url,
        feeds=tuple(
            FeedSpec(url=u, outlet=p.strip("/"), language="en", interval_s=600, full_text="never")
            for p, u in feeds.items()
        ),
        destinations=(
            (Destination(name="cms", kind="webhook", url=hook, secret=SECRET, allow_private=True),)
            if hook
            else ()
        ),
        claims=CLAIMS,
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False, **daemon),
    )


@contextlib.asynccontextmanager
async def pipeline_for(settings: Settings, store: SqlStore, clock: Clock) -> AsyncIterator[Pipeline]:
    pipeline = await Pipeline.open(settings, store, clock=clock, load_model=False)
    try:
        await pipeline.sync_config()
        yield pipeline
    finally:
        await pipeline.close()


def _hold_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_sqlite_write_lock_held_elsewhere_is_waited_out(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another connection holds the write lock for 2 s: the cycle waits (busy timeout 30 s), then succeeds."""
    db = tmp_path / "watcher.db"
    url = f"sqlite+aiosqlite:///{db}"
    server = FeedServer()
    await server.start_under(aiohttp_server)
    published = Published()
    published.add(server, "/a.xml", "a-1", CLAIMS[0])
    published.add(server, "/b.xml", "b-1", None)
    urls = {p: server.url(p) for p in ("/a.xml", "/b.xml")}
    store = await open_store(url, upgrade=True)
    try:
        async with (
            Receiver(secret=SECRET) as receiver,
            pipeline_for(_settings(url, urls, receiver.url("/hook")), store, Clock()) as pipeline,
        ):
            locked = threading.Event()
            holder = threading.Thread(target=_hold_write_lock, args=(db, 2.0, locked))
            holder.start()
            try:
                assert await asyncio.to_thread(locked.wait, 10)
                started = time.monotonic()
                report = await pipeline.cycle()
                waited = time.monotonic() - started
            finally:
                await asyncio.to_thread(holder.join)
            assert receiver.duplicates == 0
        ledger = await read_ledger(store)
    finally:
        await store.close()
    print(f"\nSQLite write lock held 2 s elsewhere: the cycle took {waited:.1f} s and succeeded")
    assert waited >= 1.5, "the cycle waited for the lock"
    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (2, 0, 2)
    check_ledger(ledger, published, urls, ["cms"])
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


class Disk:
    """A database that can run out of space, and get it back: a small tmpfs where mounting is allowed,
    else SQLite's own cap on the database size (``PRAGMA max_page_count``, set on every connection).

    Either way SQLite answers the write that does not fit with SQLITE_FULL, "database or disk is full".
    """

    def __init__(self, root: Path) -> None:
        self.dir = root / "disk"
        self.dir.mkdir()
        self.mounted = _mount_tmpfs(self.dir, "8m")
        self.db = self.dir / "watcher.db"
        self.url = f"sqlite+aiosqlite:///{self.db}"
        self.page_cap: int | None = None
        self.ballast = self.dir / "ballast"

    @property
    def how(self) -> str:
        return "8 MB tmpfs" if self.mounted else "PRAGMA max_page_count"

    async def open(self) -> SqlStore:
        engine = make_engine(self.url)
        event.listen(engine.sync_engine, "connect", self._cap)
        store = SqlStore(engine)
        await store.upgrade()
        return store

    def _cap(self, dbapi_conn: Any, _record: Any) -> None:
        if self.page_cap is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count={self.page_cap}")

    async def fill(self, store: SqlStore, headroom: int = 256 * 1024) -> None:
        """Leave ``headroom`` bytes: small writes (leases, state) still fit, a feed's worth of articles does not."""
        if self.mounted:
            with self.ballast.open("wb") as f:
                chunk = bytes(64 * 1024)
                with contextlib.suppress(OSError):
                    while True:
                        f.write(chunk)
                        f.flush()
            stat = os.statvfs(self.dir)
            free = stat.f_bavail * stat.f_frsize
            with contextlib.suppress(OSError):
                os.truncate(self.ballast, max(0, self.ballast.stat().st_size - (headroom - free)))
        else:
            async with store.engine.connect() as conn:
                pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
            self.page_cap = int(pages) + headroom // 4096
            await store.engine.dispose()  # new connections get the cap

    async def free(self, store: SqlStore) -> None:
        if self.mounted:
            self.ballast.unlink()
        else:
            self.page_cap = None
            await store.engine.dispose()

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.dir)], check=False, capture_output=True)


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0


async def test_disk_full_fails_the_poll_cleanly_and_the_next_cycle_stores_everything_once(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disk = Disk(tmp_path)
    server = FeedServer()
    await server.start_under(aiohttp_server)
    published = Published()
    # A feed whose articles need about 2 MB, more than the space left; one of them is about a claim.
    big = [story(f"big-{i}", None, i) for i in range(400)]
    big = [(g, t, d + " " + "Background paragraph. " * 200) for g, t, d in big]
    for guid, title, text in big:
        published.items.setdefault("/big.xml", []).append((guid, title, text))
        published.about[guid] = None
    published.add(server, "/big.xml", "big-claim", CLAIMS[0])
    urls = {"/big.xml": server.url("/big.xml")}
    clock = Clock()
    try:
        store = await disk.open()
    except BaseException:
        disk.close()
        raise
    try:
        async with (
            Receiver(secret=SECRET) as receiver,
            pipeline_for(
                _settings(disk.url, urls, receiver.url("/hook"), lease_s=60), store, clock
            ) as pipeline,
        ):
            feed = (await store.list_feeds())[0]
            await disk.fill(store)
            caplog.clear()
            try:
                first = await pipeline.cycle()
                cycle_error = None
            except Exception as exc:  # what the daemon's job wrapper would log and retry
                first, cycle_error = None, exc
            full = await read_ledger(store)
            feed_after = (await store.list_feeds())[0]

            await disk.free(store)
            # The failure is the feed's, recorded with the usual backoff: polled again after its interval.
            clock.advance(minutes=11)
            second = await pipeline.cycle()
            clock.advance(minutes=11)
            third = await pipeline.cycle()
        ledger = await read_ledger(store)
        received, duplicates = list(receiver.processed_ids), receiver.duplicates
    finally:
        await store.close()
        disk.close()

    logged = records_about(caplog.records, feed_id=feed.id, text="database or disk is full")
    print(
        f"\ndisk full ({disk.how}): first cycle {'raised ' + repr(cycle_error) if cycle_error else first}; "
        f"logged: {[r.getMessage() for r in logged]}"
    )
    assert logged, (
        f"a record tied to feed {feed.id} says the disk is full: {[record_text(r) for r in caplog.records]}"
    )
    assert cycle_error is None and first is not None and first.feeds_failed == 1, "only the poll failed"
    assert full.articles == [], "nothing of the failed poll was stored"
    assert feed_after.error_count == 1 and "database or disk is full" in (feed_after.last_error or ""), (
        "the failure is recorded on the feed"
    )
    assert second.new_articles == len(big) + 1 and second.feeds_failed == 0
    assert third.new_articles == 0
    check_ledger(ledger, published, urls, ["cms"])
    assert sorted(received) == sorted(e.id for e in ledger.events) and duplicates == 0


# -- the receiver down for an hour ------------------------------------------------------------------


async def test_receiver_down_for_an_hour_keeps_the_backlog_then_delivers_once(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "watcher.db"
    url = f"sqlite+aiosqlite:///{db}"
    server = FeedServer({"/kyiv.xml": Route(body=rss("Kyiv Post", [STRAIGHT, UNRELATED], pub_date=fresh()))})
    await server.start_under(aiohttp_server)
    # Reserve a port, then close it: until the receiver comes back, connections are refused there.
    down = Receiver()
    await down.start()
    port = int(down.url("").rsplit(":", 1)[1])
    await down.stop()
    hook = f"http://127.0.0.1:{port}/hook"
    clock = Clock()
    start = clock.now
    store = await open_store(url, upgrade=True)
    attempts: list[tuple[float, int, str | None]] = []  # (minutes since the event, attempts, last error)
    back: Receiver | None = None
    try:
        async with pipeline_for(
            _settings(url, {"/kyiv.xml": server.url("/kyiv.xml")}, hook), store, clock
        ) as p:
            report = await p.cycle()
            assert report.events >= 1 and report.delivered == 0
            events = report.events

            async def step(**advance: float) -> None:
                clock.advance(**advance)
                await p.outbox.deliver_due()
                d = (await store.list_deliveries())[0]
                attempts.append(((clock.now - start).total_seconds() / 60, d.attempts, d.last_error))

            await step(seconds=6)  # second attempt: still refused
            back = Receiver()
            await back.start(port=port)
            back.behave(fail_times=1000, fail_status=503, fail_body="service unavailable")
            for _ in range(8):  # 5 min, 30 min ... the receiver answers 503 for the rest of the hour
                await step(minutes=8)
            pending = await store.list_deliveries()
            assert clock.now - start > timedelta(hours=1)
            assert {d.status for d in pending} == {DeliveryStatus.PENDING}, "the backlog is kept"
            alerts = _alerts_list(url, tmp_path)
            back.behave()  # the receiver is healthy again
            due = max(d.next_attempt_at for d in pending if d.next_attempt_at is not None)
            clock.now = due + timedelta(seconds=1)
            delivered, failed = await p.outbox.deliver_due()
            clock.advance(hours=12)
            again = await p.outbox.deliver_due()
        final = await store.list_deliveries()
        received, duplicates = list(back.processed_ids), back.duplicates
    finally:
        if back is not None:
            await back.stop()
        await store.close()

    print(f"\nreceiver down: attempts (minutes, count, last error): {attempts[:2] + attempts[-1:]}")
    assert [a["status"] for a in alerts] == ["pending"] * events
    assert all(a["attempts"] >= 4 and "HTTP 503" in (a["last_error"] or "") for a in alerts), alerts
    assert "Connection refused" in (attempts[0][2] or ""), attempts[0]
    assert (delivered, failed) == (events, 0) and again == (0, 0)
    assert {d.status for d in final} == {DeliveryStatus.DELIVERED}
    assert len(received) == events and duplicates == 0, "each event reaches the receiver exactly once"
    # Logged with the destination's name, never its URL.
    failures = [
        r for r in caplog.records if getattr(r, "destination", None) == "cms" and r.levelname == "WARNING"
    ]
    assert any("Connection refused" in r.getMessage() for r in failures)
    assert any("503" in r.getMessage() for r in failures)
    assert not [r for r in caplog.records if f":{port}" in record_text(r)], "the URL never reaches the logs"


def _alerts_list(db_url: str, cwd: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "watcher", "--database", db_url, "alerts", "list", "--json"],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return list(json.loads(out.stdout))


# -- kill -9 at random points -----------------------------------------------------------------------

KILL_FEEDS = 20
KILLS = 3
KILL_RUN_S = 15.0
KILL_SEED = 20251125


async def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    """20 feeds, 3 claims, items appearing all along; the daemon is killed 3 times at seeded random moments."""
    rng = random.Random(KILL_SEED)
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    server = FeedServer()
    await server.start_under(aiohttp_server)
    paths = [f"/k{i:02d}.xml" for i in range(KILL_FEEDS)]
    published = Published()
    for i, path in enumerate(paths):
        for j in range(2):
            published.add(server, path, f"k{i:02d}-{j}", CLAIMS[i % 3] if (i + j) % 5 == 0 else None)
    urls = {p: server.url(p) for p in paths}
    daemon = DaemonProcess(tmp_path, db_url)
    kill_at = sorted(rng.uniform(1.5, KILL_RUN_S) for _ in range(KILLS))
    store: SqlStore | None = None
    try:
        async with Receiver(secret=SECRET) as receiver:
            daemon.write_config(urls, hook=receiver.url("/hook"))
            await daemon.start()
            started = time.monotonic()
            serial = 0
            kills_done = 0
            while (now := time.monotonic() - started) < KILL_RUN_S or kills_done < KILLS:
                if kills_done < KILLS and now >= kill_at[kills_done]:
                    await daemon.kill()
                    kills_done += 1
                    await daemon.start()
                # New items appear all along, about a third of them about a claim.
                path = rng.choice(paths)
                serial += 1
                claim = rng.choice(CLAIMS) if rng.random() < 0.3 else None
                published.add(server, path, f"{path.strip('/').removesuffix('.xml')}-n{serial}", claim)
                daemon.sample_rss()
                await asyncio.sleep(0.25)
            store = await open_store(db_url)

            async def settled() -> bool:
                assert store is not None
                c = await counts(store)
                return (
                    c["articles"] == len(published.about)
                    and c["articles_pending"] == 0
                    and c["deliveries_open"] == 0
                    and await _undetected(store) == 0
                )

            try:
                await wait_until("every published item to be stored, matched and delivered", settled, 60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{daemon.tail()}") from None
            code = await daemon.stop()
            assert code == 0, daemon.tail()
            ledger = await read_ledger(store)
            requests = list(receiver.requests)
            processed = list(receiver.processed_ids)
    finally:
        if daemon.proc is not None and daemon.proc.returncode is None:
            daemon.proc.kill()
            await daemon.proc.wait()
        if store is not None:
            await store.close()

    check_ledger(ledger, published, urls, ["cms"])
    assert sorted(processed) == sorted(e.id for e in ledger.events), "every event reached the receiver"
    assert all(r.signature_error is None for r in requests)
    resent = len([r for r in requests if r.answered == 200]) - len(processed)
    errors = [r for r in daemon.logs() if r["level"] in ("error", "critical")]
    print(
        f"\nkill -9 x{KILLS} at {[round(t, 1) for t in kill_at]} s: {len(ledger.articles)} articles, "
        f"{len(ledger.matches)} matches, {len(ledger.events)} events, {len(ledger.deliveries)} deliveries, "
        f"0 lost, 0 duplicated in the database; {resent} webhook re-sends (same webhook-id, at-least-once); "
        f"{len(errors)} error records; daemon peak RSS {daemon.peak_rss_mb:.0f} MB"
    )


async def _undetected(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        q = select(func.count()).select_from(matches_t).where(matches_t.c.detected_at.is_(None))
        return int((await conn.execute(q)).scalar_one())
