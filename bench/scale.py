"""Scale-out on PostgreSQL: the tick's own cost at N feeds, then 1, 2, 4 ``watcher run`` workers sharing 50,000 feeds.

Usage: python -m bench.scale [--database postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                             [--sizes 5000,20000,50000] [--feeds 50000] [--workers 1,2,4]
                             [--changed-every 20] [--items 3] [--concurrency 100] [--ticks 12]
                             [--steady-s 30] [--stall-s 120] [--keep-logs DIR]
(also ``make bench-scale``)

--database is a server's admin URL: each part runs on a scratch database created there and dropped after.
Feeds are registered with one bulk INSERT (not a CLI call each), 15-minute intervals, as if every feed
had been fetched once: the server's ETag and Last-Modified stored, the daily unconditional fetch done.

1. Tick cost, for each of --sizes: the feeds' next polls spread over the next 15 minutes, then
   --ticks ticks of 5 s in simulated time (the clock given to the store jumps; nothing waits), each
   doing what a daemon tick does to the database, through the same Store calls: lease due feeds
   (``lease_due_feeds``, ``min(daemon.feed_batch, http.concurrency)`` at a time, until none is left), then
   record a 304 for each (``record_poll``, concurrently, so the polls share transactions as in the daemon).
   Also an idle cycle (``Pipeline.cycle`` with nothing due: the due query, the match, detect and deliver
   stages finding nothing, the cycle stamp), and PostgreSQL's own time for the due query (EXPLAIN ANALYZE
   of the statement the store sends) with the table's statistics as a bulk import leaves them (none) and
   after ANALYZE (autovacuum analyzes a table about a minute after such an import).
2. Scale-out: bench/ingest_server.py serves --feeds feeds in its own process (bodies built on demand;
   every --changed-every-th feed has new items at every request and answers 200, the others answer 304).
   For each of --workers, a fresh database gets the feeds, not due; the workers (``python -m watcher run``,
   JSON logs, ``daemon.tick: 1s``) start, and once every one is running all next polls are moved into the
   15 minutes before now (time travel): one whole interval of polls falls due at once, and the workers
   poll it as fast as they can. That is the interval compressed: feeds/s is what the workers sustain, and
   at 15-minute intervals they keep up with 900 s x that many feeds. Each feed must be polled exactly
   once (counted by the server, in the workers' poll log lines, and in the database). CPU of the server,
   the workers (their parser processes included), PostgreSQL (this database's backends; the shared
   background processes apart) and the whole machine is sampled with psutil over the run, which says
   what the limit was.

A drain with no new request for --stall-s seconds has failed; the report then says what it was waiting for:
the feeds not polled, grouped by lease (when it was taken, from ``leased_until``), the worker whose lease line
names them, each worker's last poll and last log line, this database's busy backends, and, after the workers
are stopped, which worker polled the missing feeds in the end. ``--keep-logs DIR`` keeps the workers' logs
and runs them with ``-v``, so that each lease batch is logged with its feed ids.

Run it under ``nice`` on a shared machine (the make target does); wall-clock figures move with other load,
the machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import event, insert, text

from bench.common import scratch_database, table
from bench.ingest import cpu_model
from storage.base import PollOutcome
from storage.sql import SqlStore, open_store
from storage.tables import feeds_t
from watcher.config import DaemonSettings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
INTERVAL_S = 900  # 15 minutes
DAEMON = DaemonSettings()  # the defaults: tick 5 s, lease 300 s, feed_batch 500
STALL_S = 120.0  # a scale-out run with no new poll for this long has failed (--stall-s)


# -- feeds ----------------------------------------------------------------------------------------


def feed_url(base_url: str, index: int) -> str:
    return f"{base_url}/feeds/{index:04d}.xml"


def spread(index: int, count: int) -> float:
    """Feed ``index``'s place in the interval, 0 ≤ x < 1: every feed its own, in no relation to its id."""
    return ((index * 7919) % count) / count  # 7919 is prime: a permutation of 0..count-1 unless it divides


async def register(
    store: SqlStore, count: int, base_url: str, validators: Sequence[Sequence[str]], next_poll: datetime
) -> float:
    """Insert ``count`` feeds as if each had been fetched once (validators stored); returns seconds taken."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    rows = [
        {
            "url": feed_url(base_url, i),
            "outlet": f"Outlet {i:05d}",
            "country": "GB",
            "language": "en",
            "leaning": "unknown",
            "ownership": "unknown",
            "interval_s": INTERVAL_S,
            "source": "cli",
            "full_text": "never",
            "enabled": True,
            "etag": validators[i][0] if validators else None,
            "last_modified": validators[i][1] if validators else None,
            "next_poll_at": next_poll + timedelta(seconds=INTERVAL_S * spread(i, count)),
            "last_full_fetch_at": now,
            "last_status": 200,
            "created_at": now,
            "error_count": 0,
            "last_new_items": 0,
        }
        for i in range(count)
    ]
    async with store.engine.begin() as conn:
        for chunk in range(0, count, 5000):
            await conn.execute(insert(feeds_t), rows[chunk : chunk + 5000])
    return time.perf_counter() - started


async def analyze(store: SqlStore) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("ANALYZE feeds"))


# -- 1. tick cost -----------------------------------------------------------------------------------


@dataclass(slots=True)
class TickCost:
    feeds: int
    register_s: float
    due: list[int] = field(default_factory=list)  # feeds due at each tick
    lease_ms: list[float] = field(default_factory=list)  # due queries + leases of each tick
    record_ms: list[float] = field(default_factory=list)  # the 304s written back
    idle_ms: list[float] = field(default_factory=list)  # Pipeline.cycle with nothing due
    cpu_ms: float = 0.0  # CPU of the ticks with feeds due: this process's and its PostgreSQL backends'
    pg_cpu_ms: float = 0.0  # of which PostgreSQL's
    idle_cpu_ms: list[float] = field(default_factory=list)  # CPU of each idle cycle, both sides
    plan_cold: tuple[str, float] = ("", 0.0)  # due query: scan, PostgreSQL ms, before ANALYZE
    plan: tuple[str, float] = ("", 0.0)  # and after

    @property
    def tick_ms(self) -> list[float]:
        return [a + b for a, b in zip(self.lease_ms, self.record_ms, strict=True)]

    @property
    def per_feed_ms(self) -> float:
        return sum(self.tick_ms) / max(1, sum(self.due))

    @property
    def per_feed_cpu_ms(self) -> float:
        return self.cpu_ms / max(1, sum(self.due))


def backends_cpu_s(database: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to ``database`` (on this machine)."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        if proc.info["name"] == "postgres" and f" {database} " in " ".join(proc.info["cmdline"] or ()):
            times = proc.info["cpu_times"]
            total += times.user + times.system if times else 0.0
    return total


class CpuClock:
    """CPU seconds of this process and of the database's backends, read around some work.

    The process's own clock is read next to the work, so that reading the backends' is not counted.
    """

    def __init__(self, database: str) -> None:
        self.database = database

    def begin(self) -> tuple[float, float]:
        pg = backends_cpu_s(self.database)
        return time.process_time(), pg

    def end(self) -> tuple[float, float]:
        own = time.process_time()
        return own, backends_cpu_s(self.database)


class DueQuery:
    """Catches the due query the store sends (SELECT ... FOR UPDATE SKIP LOCKED on feeds) to EXPLAIN it."""

    def __init__(self, store: SqlStore) -> None:
        self.statement: str | None = None
        self.params: Any = None
        event.listen(store.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FOR UPDATE SKIP LOCKED" in statement and "FROM feeds" in statement:
            self.statement, self.params = statement, params

    async def explain(self, store: SqlStore) -> tuple[str, float]:
        """(the scan the plan uses, PostgreSQL's execution ms) for the last due query, run again, rolled back."""
        assert self.statement is not None
        async with store.engine.connect() as conn:
            plan = (
                await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {self.statement}", self.params)
            ).scalar_one()
            await conn.rollback()
        doc = (json.loads(plan) if isinstance(plan, str) else plan)[0]
        return scan_of(doc["Plan"]), float(doc["Execution Time"])


def scan_of(node: dict[str, Any]) -> str:
    """The first scan node of a plan, with its index: "Index Scan ix_feeds_next_poll_at", "Seq Scan"."""
    if "Scan" in node["Node Type"]:
        index = node.get("Index Name") or next(
            (c["Index Name"] for c in node.get("Plans", ()) if "Index Name" in c), None
        )
        return f"{node['Node Type']} {index}" if index else node["Node Type"]
    return next(filter(None, (scan_of(child) for child in node.get("Plans", ()))), "")


async def tick_cost(args: argparse.Namespace, count: int, tmp: Path) -> TickCost:
    from watcher.config import HttpSettings, MatchSettings, Settings
    from watcher.pipeline import Pipeline

    url, drop = await scratch_database(args.database, tmp, f"watcher_scale_ticks_{count}")
    try:
        store = await open_store(url, upgrade=True)
        assert isinstance(store, SqlStore)
        t0 = datetime.now(UTC).replace(microsecond=0)
        result = TickCost(feeds=count, register_s=await register(store, count, "http://127.0.0.1:9", [], t0))
        due = DueQuery(store)
        batch = min(DAEMON.feed_batch, args.concurrency)
        # The due query as a bulk import leaves the table: no statistics yet.
        await store.lease_due_feeds(t0 - timedelta(seconds=1), batch, lease_s=DAEMON.lease_s)
        result.plan_cold = await due.explain(store)
        await analyze(store)
        clock = [t0]
        settings = Settings(
            database_url=url,
            http=HttpSettings(allow_private=True, limit=args.concurrency),
            matching=MatchSettings(model=None),
            daemon=DaemonSettings(),
        )
        pipeline = await Pipeline.open(settings, store, load_model=False, clock=lambda: clock[0])
        cpu = CpuClock(url.rsplit("/", 1)[1])
        try:
            clock[0] = t0 - timedelta(seconds=1)
            await pipeline.cycle()  # nothing due yet: loads the language detector, warms the connections
            for n in range(1, args.ticks + 1):
                now = clock[0] = t0 + timedelta(seconds=DAEMON.tick_s * n)
                (own, pg), started = cpu.begin(), time.perf_counter()
                leased = []
                while feeds := await store.lease_due_feeds(now, batch, lease_s=DAEMON.lease_s):
                    leased += feeds
                leased_at = time.perf_counter()
                outcome = PollOutcome(
                    polled_at=now, next_poll_at=now + timedelta(seconds=INTERVAL_S), status=304, error=None
                )
                await asyncio.gather(*(store.record_poll(f.id, outcome, []) for f in leased))
                result.due.append(len(leased))
                result.lease_ms.append((leased_at - started) * 1000)
                result.record_ms.append((time.perf_counter() - leased_at) * 1000)
                own_after, pg_after = cpu.end()
                result.cpu_ms += (own_after - own + pg_after - pg) * 1000
                result.pg_cpu_ms += (pg_after - pg) * 1000
                (own, pg), started = cpu.begin(), time.perf_counter()
                await pipeline.cycle()  # nothing is due any more at this clock
                result.idle_ms.append((time.perf_counter() - started) * 1000)
                own_after, pg_after = cpu.end()
                result.idle_cpu_ms.append((own_after - own + pg_after - pg) * 1000)
            await store.lease_due_feeds(clock[0], batch, lease_s=DAEMON.lease_s)
            result.plan = await due.explain(store)
        finally:
            await pipeline.close()
            await store.close()
    finally:
        await drop()
    return result


# -- 2. scale-out ---------------------------------------------------------------------------------


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


class FeedServer:
    """bench/ingest_server.py in a child process, bodies built on demand."""

    def __init__(self, feeds: int, items: int, changed_every: int) -> None:
        cmd = [
            sys.executable, "-m", "bench.ingest_server", "--feeds", str(feeds), "--items", str(items),
            "--lazy", "--changed-every", str(changed_every),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.close()
            raise SystemExit(f"feed server did not start (exit status {self.proc.poll()})")
        self.base_url = line.split()[1]

    async def get(self, session: aiohttp.ClientSession, path: str) -> Any:
        return await get_json(session, self.base_url + path)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class CpuMeter:
    """Cumulative CPU seconds by part (server, workers with their children, PostgreSQL), and the machine's."""

    def __init__(self, server_pid: int, worker_pids: Sequence[int], database: str) -> None:
        self.server = psutil.Process(server_pid)
        self.workers = [psutil.Process(p) for p in worker_pids]
        self.database = database
        self.seen: dict[str, dict[int, float]] = {}  # part -> pid -> its CPU seconds when last seen
        self.samples: list[tuple[float, dict[str, float]]] = []

    def _note(self, part: str, proc: psutil.Process) -> None:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            self.seen.setdefault(part, {})[proc.pid] = times.user + times.system

    def sample(self) -> None:
        self._note("server", self.server)
        for worker in self.workers:
            self._note("workers", worker)
            with contextlib.suppress(psutil.Error):
                for child in worker.children(recursive=True):
                    self._note("workers", child)
        for proc in psutil.process_iter(["name", "cmdline"]):
            if proc.info["name"] != "postgres":
                continue
            title = " ".join(proc.info["cmdline"] or ())
            if f" {self.database} " in title:
                self._note("postgres", proc)
            elif "(" not in title and title.startswith("postgres: "):  # no client: a background process
                self._note("postgres (shared background)", proc)
        self._note("bench", psutil.Process())
        cpu = psutil.cpu_times()
        totals = {part: sum(pids.values()) for part, pids in self.seen.items()}
        totals["machine"] = sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0)
        self.samples.append((time.time(), totals))

    def cores(self, start: float, end: float) -> tuple[float, dict[str, float]]:
        """Seconds between the samples nearest inside [start, end], and cores used by each part then."""
        inside = [s for s in self.samples if start <= s[0] <= end] or self.samples[-2:]
        (t0, a), (t1, b) = inside[0], inside[-1]
        span = max(t1 - t0, 1e-9)
        return span, {part: (b.get(part, 0.0) - a.get(part, 0.0)) / span for part in b}


@dataclass(slots=True)
class ScaleRun:
    workers: int
    registered: int
    steady: bool = False  # feeds falling due in real time (else: one interval due at once)
    wall_s: float = 0.0  # drain: the first feed request to the last; steady: how long it ran
    requests: list[int] = field(default_factory=list)  # requests each feed got at the server
    logged: list[int] = field(default_factory=list)  # poll log lines of each feed in the workers' logs
    polled: set[int] = field(default_factory=set)  # feeds the database says were polled in this run
    per_worker: list[int] = field(default_factory=list)  # poll lines per worker
    outcomes: Counter[str] = field(default_factory=Counter)
    db_failed: int = 0
    articles: int = 0
    due_queries: int = 0  # index scans of ix_feeds_next_poll_at
    seq_scans: int = 0  # sequential scans of feeds
    cpu_span_s: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    stall: list[str] = field(default_factory=list)  # what a stalled drain was waiting for
    early: int = 0  # feeds answered by the time the UPDATE and ANALYZE of the time travel were done
    stalled: dict[int, int] = field(
        default_factory=dict
    )  # feeds not polled at the stall: database id -> index

    @property
    def feeds(self) -> int:
        """Feeds polled in the run."""
        return len(self.polled)

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.wall_s if self.wall_s else 0.0

    def cpu_ms_per_feed(self, part: str) -> float:
        return self.cores.get(part, 0.0) * self.cpu_span_s * 1000 / max(1, self.feeds)

    @property
    def other_cores(self) -> float:
        """Cores busy with anything else: other programs on the machine (and this script)."""
        ours = sum(v for k, v in self.cores.items() if k not in ("machine", "bench"))
        return max(0.0, self.cores.get("machine", 0.0) - ours)

    def once(self) -> Counter[int]:
        """Feeds by the number of requests they got, over the feeds polled."""
        return Counter(self.requests[i] for i in self.polled)


def write_config(path: Path, concurrency: int) -> None:
    path.write_text(
        f"http: {{allow_private: true, concurrency: {concurrency}, per_host: {concurrency}}}\n"
        "matching: {model: null}\n"
        "daemon: {tick: 1s, server: {enabled: false}}\n"
        "feeds: []\n"
    )


async def feed_stats(conn: Any) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'ix_feeds_next_poll_at'),"
        " (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'feeds')"
    )
    return int(row[0] or 0), int(row[1] or 0)


def start_workers(
    config: Path, url: str, logs: Sequence[Path], *, verbose: bool = False
) -> list[subprocess.Popen[bytes]]:
    """``python -m watcher run`` on ``url``, one per log file (JSON lines; ``verbose``: debug lines too)."""
    env = {**os.environ, "WATCHER_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHER_CONFIG", None)
    cmd = [sys.executable, "-m", "watcher", "--config", str(config), "--log-format", "json"]
    cmd += ["-v", "run"] if verbose else ["run"]
    procs = []
    for log in logs:
        with log.open("wb") as sink:
            procs.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
            )
    return procs


async def wait_running(logs: Sequence[Path], procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Until every worker has logged that its daemon runs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"a worker exited with status {proc.returncode} while starting")
        if all("watcher running" in log.read_text(errors="replace") for log in logs):
            return
        await asyncio.sleep(0.2)
    raise SystemExit("workers did not start within 120 s")


FEED_INDEX = "substring(url from '/feeds/([0-9]+)[.]xml$')::int"  # the server's index of a feed


async def scale_out(
    args: argparse.Namespace,
    server: FeedServer,
    session: aiohttp.ClientSession,
    validators: Sequence[Sequence[str]],
    workers: int,
    tmp: Path,
    *,
    steady_s: float = 0.0,
) -> ScaleRun:
    """One run of ``workers`` workers: a whole interval due at once, or (``steady_s``) polls falling due in real time."""
    import asyncpg

    run = ScaleRun(workers=workers, registered=args.feeds, steady=bool(steady_s))
    name = f"watcher_scale_{'steady' if steady_s else 'drain'}_{workers}w"
    url, drop = await scratch_database(args.database, tmp, name)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        store = await open_store(url, upgrade=True)
        assert isinstance(store, SqlStore)
        # Not due until the bench makes them due; no further ahead than a poll can be scheduled (a day), which
        # a worker reads as a clock set back and polls at once.
        later = datetime.now(UTC) + timedelta(hours=12)
        await register(store, args.feeds, server.base_url, validators, later)
        await store.close()
        where = args.keep_logs or tmp
        stamp = f"-{datetime.now(UTC):%H%M%S}" if args.keep_logs else ""
        config = where / f"{name}{stamp}.yaml"
        write_config(config, args.concurrency)
        logs = [where / f"{name}{stamp}-{i}.log" for i in range(workers)]
        procs += start_workers(config, url, logs, verbose=args.keep_logs is not None)
        await wait_running(logs, procs)
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            meter = CpuMeter(server.proc.pid, [p.pid for p in procs], url.rsplit("/", 1)[1])
            before = (await server.get(session, "/_counts"))["requests"]  # also starts the server's window
            # Progress counts from here: a worker may poll its first feeds as soon as the UPDATE below
            # commits, before the ANALYZE after it is done.
            answered = served(await server.get(session, "/_stats"))
            scans_before = await feed_stats(conn)
            meter.sample()
            # Time travel: the feeds' next polls spread over the 15 minutes before now (all due at once),
            # or over the next 15 minutes (steady), each feed at spread(index) of the interval.
            due_at = datetime.now(UTC)
            await conn.execute(
                f"UPDATE feeds SET next_poll_at = $1::timestamptz {'+' if steady_s else '-'}"
                f" make_interval(secs => (({FEED_INDEX} * 7919) % $2) * $3::float8 / $2)",
                due_at,
                args.feeds,
                float(INTERVAL_S),
            )
            await conn.execute("ANALYZE feeds")
            run.early = served(await server.get(session, "/_stats")) - answered
            own_scans = 1  # the UPDATE
            stopped_s = 0.0
            if steady_s:
                await run_for(steady_s, meter, procs)
            else:
                own_scans += await wait_polled(
                    conn,
                    server.base_url,
                    session,
                    meter,
                    procs,
                    due_at,
                    args.feeds,
                    run.problems,
                    answered,
                    args.stall_s,
                )
                if run.problems:  # stalled: say on what, while the workers still hold it
                    await explain_stall(run, conn, logs, due_at)
                    own_scans += 1
                await asyncio.sleep(2.0)  # a feed polled twice would show now
            meter.sample()
            if not steady_s:
                counts = await server.get(session, "/_counts")
            stopping = datetime.now(UTC)
            await stop(procs)  # their backends report their statistics as they exit
            if steady_s:  # feeds keep falling due until the workers have stopped
                run.wall_s = (stopping - due_at).total_seconds()
                stopped_s = (datetime.now(UTC) - due_at).total_seconds()
                counts = await server.get(session, "/_counts")
            polled = await conn.fetch(f"SELECT {FEED_INDEX} FROM feeds WHERE last_polled_at >= $1", due_at)
            run.polled = {row[0] for row in polled}
            run.db_failed = await conn.fetchval("SELECT count(*) FROM feeds WHERE error_count > 0")
            run.articles = await conn.fetchval("SELECT count(*) FROM articles")
            own_scans += 2
        finally:
            await conn.close()  # which also reports its own statistics
        await asyncio.sleep(0.5)
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            scans_after = await feed_stats(conn)
        finally:
            await conn.close()
        if not steady_s:
            run.wall_s = (counts["last_at"] or 0.0) - (counts["first_at"] or 0.0)
            span = (counts["first_at"] or 0.0, counts["last_at"] or 0.0)
        else:
            span = (due_at.timestamp(), due_at.timestamp() + run.wall_s)
        run.requests = [a - b for a, b in zip(counts["requests"], before, strict=True)]
        run.due_queries = scans_after[0] - scans_before[0]
        run.seq_scans = scans_after[1] - scans_before[1] - own_scans
        run.cpu_span_s, run.cores = meter.cores(*span)
        read_logs(run, logs)
        if run.stalled:
            run.stall += polled_later(run, logs, due_at)
        check(run, args, stopped_s)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        await drop()
    return run


async def run_for(seconds: float, meter: CpuMeter, procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Sample CPU every half second for ``seconds``."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(0.5, left))
        meter.sample()
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited during the run; see its log")


async def wait_polled(
    conn: Any,
    server_url: str,
    session: aiohttp.ClientSession,
    meter: CpuMeter,
    procs: Sequence[subprocess.Popen[bytes]],
    since: datetime,
    count: int,
    problems: list[str],
    start: int,
    stall_s: float = STALL_S,
) -> int:
    """Sample CPU every half second until every feed has a poll recorded since ``since``, or none comes.

    Progress is read from the server, as feed responses since it had answered ``start`` (read before the
    feeds fell due); the database is counted (a scan of feeds) once the server has answered every feed,
    and before a stall is declared. Returns how many times it was counted.
    """
    done, progress_at, scans = 0, time.monotonic(), 0
    while True:
        await asyncio.sleep(0.5)
        meter.sample()
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited during the run; see its log")
        now = served(await get_json(session, server_url + "/_stats")) - start
        if now > done:
            done, progress_at = now, time.monotonic()
        elif time.monotonic() - progress_at > stall_s:
            scans += 1
            polled = await conn.fetchval("SELECT count(*) FROM feeds WHERE last_polled_at >= $1", since)
            if polled < count:
                problems.append(
                    f"no new request for {stall_s:.0f} s: the server answered {done:,} of {count:,},"
                    f" the database has {polled:,} polled"
                )
            return scans
        if done >= count:
            scans += 1
            if await conn.fetchval("SELECT count(*) FROM feeds WHERE last_polled_at >= $1", since) >= count:
                return scans


def served(stats: dict[str, int]) -> int:
    return stats.get("200", 0) + stats.get("304", 0)


async def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_logs(run: ScaleRun, logs: Sequence[Path]) -> None:
    run.logged = [0] * run.registered
    for log in logs:
        polls = 0
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                run.warnings[line[:120]] += 1
                continue
            if "outcome" in record and "feed_url" in record:
                run.logged[int(record["feed_url"].rsplit("/", 1)[1].split(".")[0])] += 1
                run.outcomes[record["outcome"]] += 1
                polls += 1
            if record.get("level") in ("warning", "error", "critical"):
                run.warnings[str(record.get("error") or record.get("msg", ""))[:120]] += 1
        run.per_worker.append(polls)


def _records(log: Path) -> list[dict[str, Any]]:
    records = []
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def _at(record: dict[str, Any], since: datetime) -> str:
    """When a log record was written, in seconds after ``since``: "+12.3 s"."""
    if "ts" not in record:
        return "?"
    return f"{(datetime.fromisoformat(record['ts']) - since).total_seconds():+.1f} s"


async def explain_stall(run: ScaleRun, conn: Any, logs: Sequence[Path], since: datetime) -> None:
    """What a stalled drain waits for, as the database and the workers' logs say (times after ``since``).

    The feeds not polled, grouped by lease (``leased_until`` less ``daemon.lease``: when they were leased);
    the worker whose lease line names them (the workers log each lease batch with ``-v``, which
    ``--keep-logs`` turns on); each worker's last poll and last line; what this database's backends are doing.
    """
    rows = await conn.fetch(
        f"SELECT id, {FEED_INDEX} AS idx, leased_until, last_polled_at, next_poll_at, error_count FROM feeds"
        " WHERE last_polled_at IS NULL OR last_polled_at < $1 ORDER BY leased_until NULLS FIRST, id",
        since,
    )
    run.stalled = {r["id"]: r["idx"] for r in rows}
    records = [_records(log) for log in logs]
    leased_by: dict[int, tuple[int, dict[str, Any]]] = {}  # feed id -> (worker, its latest lease line)
    for worker, recs in enumerate(records):
        for rec in recs:
            for feed_id in rec.get("leased_ids") or ():
                if feed_id in run.stalled:
                    leased_by[feed_id] = (worker, rec)
    groups: dict[Any, list[Any]] = {}
    for r in rows:
        groups.setdefault(r["leased_until"], []).append(r)
    out = [f"{len(rows):,} feeds not polled since the time travel (database ids, feed indexes):"]
    for until, group in groups.items():
        ids = [r["id"] for r in group]
        when = (
            "not leased"
            if until is None
            else f"leased at {(until - timedelta(seconds=DAEMON.lease_s) - since).total_seconds():+.1f} s"
            f" until {until:%H:%M:%S.%f}"
        )
        by = {leased_by[i][0] for i in ids if i in leased_by}
        lines = {_at(leased_by[i][1], since) for i in ids if i in leased_by}
        who = (
            f"; lease line of worker {'/'.join(map(str, sorted(by)))} at {', '.join(sorted(lines))}"
            if by
            else "; no lease line names them (workers without -v?)"
        )
        polled = {str(r["last_polled_at"]) for r in group}
        out.append(
            f"  {len(group)} {when}{who}; ids {ids[0]}..{ids[-1]}, indexes {sorted(r['idx'] for r in group)[:6]}"
            f"; next_poll_at from {min(r['next_poll_at'] for r in group)}; last_polled_at {sorted(polled)[:2]};"
            f" failing {sum(1 for r in group if r['error_count'])}"
        )
    for worker, recs in enumerate(records):
        polls = [r for r in recs if "outcome" in r and "feed_url" in r]
        cycles = [r for r in recs if str(r.get("msg", "")).startswith("cycle:")]
        last = recs[-1] if recs else {}
        out.append(
            f"  worker {worker}: {len(polls):,} polls, last at {_at(polls[-1], since) if polls else '-'};"
            f" last cycle line {_at(cycles[-1], since) if cycles else '-'}"
            f" ({str(cycles[-1].get('msg', ''))[:60] if cycles else ''});"
            f" last line {_at(last, since)}: {str(last.get('msg', ''))[:100]}"
        )
    backends = await conn.fetch(
        "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact, left(query, 90) AS query"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    busy = [b for b in backends if b["state"] != "idle"]
    out.append(f"  database: {len(backends)} other connections, {len(busy)} not idle")
    for b in busy:
        out.append(
            f"    pid {b['pid']} {b['state']} wait {b['wait_event_type']}/{b['wait_event']}"
            f" transaction {b['xact']}: {b['query']!r}"
        )
    run.stall += out


def polled_later(run: ScaleRun, logs: Sequence[Path], since: datetime) -> list[str]:
    """Which worker polled the feeds a stall waited for, and when (after the stall was reported)."""
    wanted = set(run.stalled.values())
    seen: dict[int, list[str]] = {}
    for worker, log in enumerate(logs):
        for rec in _records(log):
            url = rec.get("feed_url")
            if "outcome" in rec and url:
                index = int(url.rsplit("/", 1)[1].split(".")[0])
                if index in wanted:
                    seen.setdefault(worker, []).append(_at(rec, since))
    if not seen:
        return [f"  in the end: none of the {len(wanted):,} was polled (handed back or left leased)"]
    return [
        f"  in the end: worker {w} polled {len(times)} of them, from {min(times)} to {max(times)}"
        for w, times in sorted(seen.items())
    ]


def check(run: ScaleRun, args: argparse.Namespace, stopped_s: float) -> None:
    """Every feed polled exactly once, as the server, the logs and the database each count; none failed.

    Steady: every feed whose poll fell due up to 2 s before the workers were told to stop was polled, and
    none that fell due after they had stopped (``stopped_s`` after the time travel).
    """
    n = args.feeds
    offset = [INTERVAL_S * spread(i, n) for i in range(n)]
    if run.steady:
        must = {i for i in range(n) if offset[i] <= run.wall_s - 2.0}
        may = {i for i in range(n) if offset[i] <= stopped_s + 1.0}
    else:
        must = may = set(range(n))
    counts = {"server": run.requests, "worker logs": run.logged}
    for where, per_feed in counts.items():
        wrong = [i for i in range(n) if per_feed[i] != (i in run.polled)]
        if wrong:
            run.problems.append(
                f"{where}: {len(wrong)} feeds polled not once or not as the database says, e.g. {wrong[:5]}"
            )
    if not must <= run.polled:
        run.problems.append(
            f"{len(must - run.polled)} feeds due were not polled, e.g. {sorted(must - run.polled)[:5]}"
        )
    if not run.polled <= may:
        run.problems.append(f"{len(run.polled - may)} feeds were polled before they were due")
    if run.db_failed:
        run.problems.append(f"database: {run.db_failed} feeds failing")
    k = args.changed_every
    changed = sum(1 for i in run.polled if k and i % k == k - 1)
    if run.articles != changed * args.items:
        run.problems.append(f"database: {run.articles} articles, expected {changed * args.items}")


# -- report ---------------------------------------------------------------------------------------


def print_ticks(results: Sequence[TickCost]) -> None:
    print("1. tick cost (simulated 5 s ticks; 15-minute intervals; ms are wall time in this process)")
    rows = [
        [
            "feeds", "due/tick", "lease ms/tick", "304s ms/tick", "tick ms", "per due feed ms",
            "cpu ms/due feed (pg)", "idle cycle ms", "cpu", "due query: no stats", "analyzed",
        ]
    ]  # fmt: skip
    for r in results:
        rows.append(
            [
                f"{r.feeds:,}",
                f"{statistics.mean(r.due):.0f}",
                f"{statistics.median(r.lease_ms):.1f}",
                f"{statistics.median(r.record_ms):.1f}",
                f"{statistics.median(r.tick_ms):.1f}",
                f"{r.per_feed_ms:.3f}",
                f"{r.per_feed_cpu_ms:.3f} ({r.pg_cpu_ms / max(1, sum(r.due)):.3f})",
                f"{statistics.median(r.idle_ms):.1f}",
                f"{statistics.median(r.idle_cpu_ms):.1f}",
                f"{r.plan_cold[0]} {r.plan_cold[1]:.2f} ms",
                f"{r.plan[0]} {r.plan[1]:.2f} ms",
            ]
        )
    print(table(rows))
    print(
        "  due/tick: feeds falling due in 5 s (N x 5/900). lease: the due queries and leases of a tick\n"
        "  (batches of min(daemon.feed_batch, http.concurrency), then one that finds nothing); 304s: record_poll\n"
        "  of each leased feed, concurrent (group commit); tick ms: their sum, median of the ticks; per due feed:\n"
        "  all ticks' time over all feeds due; cpu ms/due feed: CPU of this process and of its PostgreSQL\n"
        "  backends over those ticks per feed due (PostgreSQL's share in brackets), the figure that moves least\n"
        "  with other load. idle cycle: Pipeline.cycle with nothing due (due query, match, detect, deliver, cycle\n"
        "  stamp), median wall ms and CPU ms (both sides). due query: PostgreSQL's execution time for the\n"
        "  store's statement (EXPLAIN ANALYZE), right after the bulk import (no statistics) and after ANALYZE."
    )
    print(f"  registering: {', '.join(f'{r.feeds:,} feeds in {r.register_s:.1f} s' for r in results)}")


def limit_of(run: ScaleRun, cpus: int) -> str:
    c = run.cores
    busy = c.get("machine", 0.0)
    parts = {k: v for k, v in c.items() if k != "machine"}
    top = max(parts, key=lambda k: parts[k])
    if busy >= 0.9 * cpus:
        return f"the machine: {busy:.2f} of {cpus} cores busy (largest part: {top}, {parts[top]:.2f})"
    if c.get("server", 0.0) >= 0.9:
        return f"the feed server's one core ({c['server']:.2f})"
    if c.get("postgres", 0.0) >= 0.9:
        return f"PostgreSQL ({c['postgres']:.2f} cores)"
    per_worker = c.get("workers", 0.0) / run.workers
    if per_worker >= 0.8:
        return f"each worker's event loop ({per_worker:.2f} cores per worker)"
    return f"none reached: {busy:.2f} of {cpus} cores busy"


def print_scale(args: argparse.Namespace, runs: Sequence[ScaleRun]) -> None:
    cpus = os.cpu_count() or 1
    print(
        f"2. scale-out: {args.feeds:,} feeds at 15-minute intervals, http.concurrency {args.concurrency} per worker;"
        " drain: one interval's polls due at once; steady: falling due in real time"
    )
    drains = [r for r in runs if not r.steady]
    base = drains[0].feeds_per_s if drains else 0.0
    rows = [
        [
            "run", "polled", "wall s", "feeds/s", "x first", "feeds per 15 min", "once: server/logs/db",
            "due queries/feed", "per worker", "cpu ms/feed: workers", "postgres", "server",
            "cores: workers", "server", "postgres", "pg shared", "other", "machine",
        ]
    ]  # fmt: skip
    for r in runs:
        polled = len(r.polled)
        rows.append(
            [
                f"{'steady' if r.steady else 'drain'}, {r.workers} worker{'s' if r.workers > 1 else ''}",
                f"{polled:,}",
                f"{r.wall_s:.1f}",
                f"{r.feeds_per_s:,.0f}",
                f"{r.feeds_per_s / base:.2f}" if base and not r.steady else "-",
                f"{r.feeds_per_s * INTERVAL_S:,.0f}" if not r.steady else "-",
                "/".join(
                    str(sum(1 for i in r.polled if per_feed[i] == 1)) for per_feed in (r.requests, r.logged)
                )
                + f"/{polled}",
                f"{r.due_queries / max(1, polled):.2f}",
                "/".join(f"{p:,}" for p in r.per_worker),
                f"{r.cpu_ms_per_feed('workers'):.2f}",
                f"{r.cpu_ms_per_feed('postgres'):.2f}",
                f"{r.cpu_ms_per_feed('server'):.2f}",
                f"{r.cores.get('workers', 0):.2f}",
                f"{r.cores.get('server', 0):.2f}",
                f"{r.cores.get('postgres', 0):.2f}",
                f"{r.cores.get('postgres (shared background)', 0):.2f}",
                f"{r.other_cores:.2f}",
                f"{r.cores.get('machine', 0):.2f}/{cpus}",
            ]
        )
    print(table(rows))
    print(
        "  wall: drain, the server's first feed request to its last; steady, how long it ran. feeds per 15 min:\n"
        "  feeds/s x 900, the most these workers keep up with at 15-minute intervals (no headroom). once: feeds\n"
        "  polled exactly once as the server counts requests, as the workers' poll log lines say, and as the\n"
        "  database's last_polled_at says. due queries/feed: index scans of ix_feeds_next_poll_at\n"
        "  (pg_stat_user_indexes) per feed polled. cpu ms/feed: CPU time over the run per feed polled (on a\n"
        "  shared machine the steadier figure). cores: in use over the run (psutil): workers with their parser\n"
        "  processes; postgres: this database's backends; pg shared: PostgreSQL's background processes (WAL\n"
        "  writer, checkpointer, ...; they serve every database); other: every other process (other load)."
    )
    for r in runs:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(r.outcomes.items()))
        limit = f"; limit: {limit_of(r, cpus)}" if not r.steady else ""
        print(
            f"  {'steady' if r.steady else 'drain'}, {r.workers}: {outcomes}; {r.articles:,} articles;"
            f" sequential scans of feeds {r.seq_scans}; answered before the time travel's ANALYZE was done"
            f" {r.early:,}{limit}"
        )
        for message, n in r.warnings.most_common(5):
            print(f"    logged {n}x: {message}")
        for problem in r.problems:
            print(f"    PROBLEM {problem}")
        for line in r.stall:
            print(f"    stall: {line}")


def machine_lines() -> list[str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = psutil.virtual_memory().total / 2**30
    return [
        f"  cpu        {cpu_model()} ({os.cpu_count()} cores visible, {mem:.0f} GiB; load average {load})",
        f"  python     {platform.python_implementation()} {platform.python_version()}, {platform.platform()}",
    ]


async def postgres_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return str(await conn.fetchval("SHOW server_version")).split()[0]
    finally:
        await conn.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    def ints(value: str) -> list[int]:
        return [int(v) for v in value.split(",") if v.strip()]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=DEFAULT_ADMIN_URL, help="PostgreSQL admin URL (scratch databases)"
    )
    parser.add_argument(
        "--sizes", type=ints, default=[5000, 20000, 50000], help="feed counts for the tick cost"
    )
    parser.add_argument("--feeds", type=int, default=50000, help="feeds for the scale-out")
    parser.add_argument("--workers", type=ints, default=[1, 2, 4], help="worker counts for the scale-out")
    parser.add_argument("--changed-every", type=int, default=20, help="every Kth feed has new items (5%%)")
    parser.add_argument("--items", type=int, default=3, help="items of a changed feed")
    parser.add_argument("--concurrency", type=int, default=100, help="http.concurrency (= http.per_host)")
    parser.add_argument("--ticks", type=int, default=12, help="simulated ticks per size")
    parser.add_argument(
        "--steady-s",
        type=float,
        default=30.0,
        help="seconds of one worker in real time after the drains (0: none)",
    )
    parser.add_argument(
        "--stall-s",
        type=float,
        default=STALL_S,
        help="a drain with no new request for this long has failed (its stall is explained)",
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        metavar="DIR",
        help="keep the workers' logs (JSON lines, with -v: each lease batch) and configs in DIR",
    )
    args = parser.parse_args(argv)
    if args.keep_logs is not None:
        args.keep_logs.mkdir(parents=True, exist_ok=True)
    if not args.database.startswith(("postgresql", "postgres:")):
        parser.error("--database takes a PostgreSQL URL")
    return args


async def main_async(args: argparse.Namespace) -> int:
    print(
        f"  postgres   {await postgres_version(args.database)} (scratch databases on {args.database.split('@')[-1]})"
    )
    print()
    problems = 0
    with tempfile.TemporaryDirectory(prefix="watcher-scale-") as tmp:
        ticks = [await tick_cost(args, n, Path(tmp)) for n in args.sizes]
        if ticks:
            print_ticks(ticks)
            print()
        runs: list[ScaleRun] = []
        if args.workers or args.steady_s:
            server = FeedServer(args.feeds, args.items, args.changed_every)
            try:
                async with aiohttp.ClientSession() as session:
                    validators = await server.get(session, "/_validators")
                    for workers in args.workers:
                        runs.append(await scale_out(args, server, session, validators, workers, Path(tmp)))
                    if args.steady_s:
                        steady = scale_out(
                            args, server, session, validators, 1, Path(tmp), steady_s=args.steady_s
                        )
                        runs.append(await steady)
            finally:
                server.close()
            print_scale(args, runs)
        problems = sum(len(r.problems) for r in runs)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after: {load}; correctness: {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print("bench/scale: " + shlex.join([Path(sys.executable).name, *(sys.argv if argv is None else argv)]))
    for line in machine_lines():
        print(line)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
