"""Ingest throughput: cold, 304 and 200-unchanged polls of N local feeds, parsing in a pool or a thread, beside newsboat.

Usage: python -m bench.ingest [--feeds 2000] [--items 20] [--concurrency 100] [--per-host N]
                              [--parse-workers N] [--database postgresql+asyncpg://...] [--gzip]
                              [--no-newsboat]

Separate processes, so that each figure belongs to one program: bench/ingest_server.py serves the
feeds (RSS 2.0 with HTML descriptions) on 127.0.0.1, with ETag and Last-Modified under /feeds/ and
without any validator under /plain/. Each watcher run is a child of this script that runs the poll
stage (``Pipeline.poll(all=True)``) on a fresh database (SQLite in a temp dir, or a scratch
PostgreSQL database created and dropped):
- pool: parsing in ``--parse-workers`` processes (default: one per CPU); cold, then warm (all 304);
- fast: the same with ``ingest.parser: fast`` (lxml for plain RSS and Atom, feedparser for the rest);
- thread: the same with ``ingest.parse_workers: 0`` (parsing in a thread, as before the pool);
- unchanged: the /plain/ feeds: cold, then a cycle where every feed answers 200 with the body it
  sent before (not parsed again), then the same cycle with every fetch unconditional, which parses
  every body as watcher did before it remembered body digests (the baseline).
Then newsboat (``-x reload``) polls the same URLs with as many reload threads as watcher has
connections. A watcher run's CPU time and peak RSS cover its parser processes too (peak RSS: the sum
of each process's own peak, an upper bound of their peak together); the server is not counted. Prints
figures and checks only that every article was stored exactly once (exit status 1 otherwise).

All feeds live on one host here, so watcher's per-host connection limit is set to the global
concurrency (real feed lists spread over many hosts). Logging is at WARNING: at INFO watcher
writes one line per poll, which measures the terminal rather than the ingest path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import scratch_database, table
from tests.support.memory import peak_rss_mb

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_CONCURRENCY = 100  # watcher's default http.concurrency
TARGETS = {
    "cold_fps": 200.0,
    "warm_fps": 1000.0,
    "unchanged_fps": 2000.0,
    "unchanged_cpu_ms": 1.0,
    "rss_mb": 250.0,
}
RUNS = {  # run -> (URL prefix, cycles)
    "pool": ("feeds", ("cold", "warm")),
    "fast": ("feeds", ("cold", "warm")),
    "thread": ("feeds", ("cold", "warm")),
    "unchanged": ("plain", ("cold", "unchanged", "reparse")),
}


# -- machine --------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> list[tuple[str, str]]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("platform", platform.platform()),
        ("cpu", f"{cpu_model()} ({os.cpu_count()} cores visible; load average {load})"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("libraries", library_versions()),
    ]


def library_versions() -> str:
    from importlib.metadata import version

    names = ("aiohttp", "feedparser", "SQLAlchemy", "aiosqlite", "asyncpg")
    return ", ".join(f"{n} {version(n)}" for n in names)


# -- the feed server ------------------------------------------------------------------------------


class Server:
    """bench/ingest_server.py in a child process."""

    def __init__(self, feeds: int, items: int, use_gzip: bool, extra: Sequence[str] = ()) -> None:
        cmd = [sys.executable, "-m", "bench.ingest_server", "--feeds", str(feeds), "--items", str(items)]
        cmd += extra
        if use_gzip:
            cmd.append("--gzip")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # bodies are built before it listens
        if not line.startswith("listening "):
            self.close()
            raise SystemExit(f"feed server did not start (exit status {self.proc.poll()})")
        fields = line.split()
        self.base_url = fields[1]
        self.body_bytes = int(fields[3].split("=")[1])
        self.urls = [f"{self.base_url}/feeds/{i:04d}.xml" for i in range(feeds)]

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.base_url}/_stats", timeout=30) as response:
            data: dict[str, int] = json.load(response)
        return data

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("200", "304", "404", "bytes")}


@dataclass(slots=True)
class Phase:
    """One poll of every feed by one client."""

    wall_s: float
    feeds: int
    articles: int  # new articles the client stored
    failed: int = 0
    not_modified: int = 0
    cpu_s: float = 0.0
    rss_mb: float = 0.0  # the client's peak RSS so far
    served: dict[str, int] | None = None  # responses the server sent meanwhile

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.wall_s if self.wall_s else 0.0

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.wall_s if self.wall_s else 0.0


# -- watcher, in a child process ------------------------------------------------------------------


def run_watcher(args: argparse.Namespace, server: Server, run: str) -> dict[str, Any]:
    """Run ``--child`` mode for one run in a fresh process; returns its report."""
    workers = 0 if run == "thread" else args.parse_workers
    cmd = [
        sys.executable, "-m", "bench.ingest", "--child", run, "--base-url", server.base_url,
        "--feeds", str(args.feeds), "--items", str(args.items), "--concurrency", str(args.concurrency),
        "--per-host", str(args.per_host), "--database", args.database or "", "--parse-workers", str(workers),
    ]  # fmt: skip
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"watcher run {run} failed (exit status {proc.returncode})")
    report: dict[str, Any] = json.loads(lines[-1])
    return report


def descendants(pid: int) -> list[int]:
    """The ids of a process's children, theirs, and so on (the forkserver's workers are its children)."""
    out: list[int] = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(c) for c in tasks.read_text().split()]
        except OSError:
            continue
        for child_pid in children:
            out += [child_pid, *descendants(child_pid)]
    return out


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another live process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_cpu_s() -> float:
    """CPU seconds of this process (all threads) and its descendants alive now (the parser workers)."""
    return time.process_time() + sum(process_cpu_s(p) for p in descendants(os.getpid()))


def tree_peak_rss_mb() -> tuple[float, int]:
    """The sum of the peak RSS of this process and each live descendant, and how many processes."""
    each = peak_rss_each_mb()
    return sum(each), len(each)


def peak_rss_each_mb() -> list[float]:
    """The peak RSS of this process, then of each live descendant (forkserver, parser workers)."""
    return [process_peak_rss_mb(p) for p in [os.getpid(), *descendants(os.getpid())]]


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """The watcher side of one run: fresh database, feeds registered, then the run's cycles over all of them."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from storage.sql import open_store
    from watcher.config import DaemonSettings, HttpSettings, IngestSettings, MatchSettings, Settings
    from watcher.domain import FeedSpec
    from watcher.pipeline import CycleReport, Pipeline

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    prefix, cycles = RUNS[args.child]
    with tempfile.TemporaryDirectory(prefix="watcher-bench-") as tmp:
        url, drop = await scratch_database(args.database, Path(tmp), "watcher_bench")
        try:
            store = await open_store(url, upgrade=True)
            settings = Settings(
                database_url=url,
                http=HttpSettings(allow_private=True, limit=args.concurrency, limit_per_host=args.per_host),
                ingest=IngestSettings(
                    parse_workers=args.parse_workers, parser="fast" if args.child == "fast" else "feedparser"
                ),
                matching=MatchSettings(model=None),
                daemon=DaemonSettings(),
            )
            specs = [
                FeedSpec(
                    url=f"{args.base_url}/{prefix}/{i:04d}.xml",
                    outlet=f"Outlet {i:04d}",
                    country="GB",
                    language="en",
                )
                for i in range(args.feeds)
            ]
            await store.sync_feeds(specs, source="cli", now=datetime.now(UTC))
            pipeline = await Pipeline.open(settings, store, load_model=False)
            out: dict[str, Any] = {"database": store.dialect, "setup_rss_mb": peak_rss_mb()}
            try:
                for name in cycles:
                    if name == "reparse":
                        # Every fetch unconditional: each body is parsed, as before digests were kept.
                        pipeline.settings = replace(
                            settings, http=replace(settings.http, full_fetch_every_s=0)
                        )
                    before = fetch_stats(args.base_url)
                    report = CycleReport()
                    cpu, own, started = tree_cpu_s(), time.process_time(), time.perf_counter()
                    await pipeline.poll(report, all=True)
                    wall = time.perf_counter() - started
                    out[name] = {
                        "wall_s": wall,
                        "cpu_s": tree_cpu_s() - cpu,
                        "main_cpu_s": time.process_time() - own,
                        "feeds": report.feeds_polled,
                        "failed": report.feeds_failed,
                        "not_modified": report.not_modified,
                        "articles": report.new_articles,
                        "stored": (await store.counts())["articles"],
                        "rss_mb": tree_peak_rss_mb()[0],
                        "served": delta(fetch_stats(args.base_url), before),
                        "errors": report.errors[:5],
                    }
                out["peak_rss_mb"], out["processes"] = tree_peak_rss_mb()
                out["peak_rss_each_mb"] = peak_rss_each_mb()
            finally:
                await pipeline.close()
                await store.close()
        finally:
            await drop()
    return out


def fetch_stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_stats", timeout=30) as response:
        data: dict[str, int] = json.load(response)
    return data


# -- newsboat -------------------------------------------------------------------------------------


def run_newsboat(args: argparse.Namespace, server: Server, tmp: Path) -> tuple[dict[str, Phase], str | None]:
    """Cold, second and warm ``newsboat -x reload`` of the same URLs; returns (phases, why not)."""
    exe = shutil.which("newsboat")
    if exe is None:
        return {}, "newsboat is not installed (Debian: apt-get install newsboat)"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split(" - ")[0]
    urls, cache, config = tmp / "urls", tmp / "cache.db", tmp / "config"
    urls.write_text("".join(u + "\n" for u in server.urls))
    config.write_text(
        f"reload-threads {args.concurrency}\n"
        "download-timeout 60\n"
        "download-retries 1\n"
        "max-items 0\n"
        "show-read-feeds yes\n"
        "cleanup-on-quit no\n"
    )
    env = {**os.environ, "HOME": str(tmp)}  # nothing from the user's own newsboat set-up
    phases: dict[str, Phase] = {}
    stored = 0
    # newsboat 2.21 stores a feed's ETag and Last-Modified only from its second download (the first
    # creates the feed's row after trying to update it), so the second reload is unconditional too.
    for name in ("cold", "re-fetch", "warm"):
        before = server.stats()
        cmd = [exe, "-x", "reload", "-u", str(urls), "-c", str(cache), "-C", str(config)]
        log = tmp / f"{name}.log"
        with log.open("wb") as sink:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            return phases, f"{version} exited with status {code}: {log.read_text(errors='replace')[:300]}"
        count = newsboat_items(cache)
        phases[name] = Phase(
            wall_s=wall,
            feeds=len(server.urls),
            articles=count - stored,
            cpu_s=usage.ru_utime + usage.ru_stime,
            rss_mb=usage.ru_maxrss / 1024,
            served=delta(server.stats(), before),
        )
        stored = count
    return phases, None


def newsboat_items(cache: Path) -> int:
    with sqlite3.connect(cache) as db:
        return int(db.execute("SELECT count(*) FROM rss_item").fetchone()[0])


# -- report ---------------------------------------------------------------------------------------


HEADER = [
    "client, cycle",
    "wall s",
    "feeds/s",
    "articles/s",
    "new articles",
    "cpu ms/feed",
    "peak RSS MB",
    "200/304",
]


def phase_row(client: str, name: str, p: Phase) -> list[str]:
    served = p.served or {}
    return [
        f"{client} {name}",
        f"{p.wall_s:.2f}",
        f"{p.feeds_per_s:,.0f}",
        f"{p.articles_per_s:,.0f}",
        f"{p.articles:,}",
        f"{p.cpu_s * 1000 / p.feeds:.2f}" if p.feeds else "-",
        f"{p.rss_mb:.0f}",
        f"{served.get('200', 0)}/{served.get('304', 0)}",
    ]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def watcher_phases(report: dict[str, Any], run: str) -> dict[str, Phase]:
    phases = {}
    for name in RUNS[run][1]:
        r = report[name]
        phases[name] = Phase(
            wall_s=r["wall_s"], feeds=r["feeds"], articles=r["articles"], failed=r["failed"],
            not_modified=r["not_modified"], cpu_s=r["cpu_s"], rss_mb=r["rss_mb"], served=r["served"],
        )  # fmt: skip
    return phases


def check_watcher(run: str, report: dict[str, Any], feeds: int, items: int) -> list[str]:
    expected = feeds * items
    cold = report["cold"]
    problems = []
    if cold["stored"] != expected or cold["articles"] != expected or cold["failed"]:
        problems.append(
            f"{run} cold: {cold['stored']:,} articles stored, {cold['failed']} feeds failed; expected {expected:,}"
        )
    for name in RUNS[run][1][1:]:
        r = report[name]
        # A body parsed again (reparse) stores nothing new and is not "not modified".
        unchanged = 0 if name == "reparse" else feeds
        if r["articles"] or r["stored"] != expected or r["not_modified"] != unchanged or r["failed"]:
            problems.append(
                f"{run} {name}: {r['articles']} new, {r['not_modified']} not modified, {r['failed']} failed;"
                f" expected 0, {unchanged:,} and 0"
            )
    return problems


def check_newsboat(phases: dict[str, Phase], feeds: int, items: int) -> list[str]:
    problems = []
    if phases["cold"].articles != feeds * items:
        problems.append(
            f"newsboat cold: its cache holds {phases['cold'].articles:,} items, not {feeds * items:,}"
        )
    if (phases["cold"].served or {}).get("200") != feeds:
        problems.append(
            f"newsboat cold: {(phases['cold'].served or {}).get('200', 0)} feeds fetched, not {feeds:,}"
        )
    if (phases["warm"].served or {}).get("304") != feeds:
        problems.append(
            f"newsboat warm: {(phases['warm'].served or {}).get('304', 0)} answered 304, not {feeds:,}"
        )
    return problems


def print_report(
    args: argparse.Namespace,
    reports: dict[str, dict[str, Any]],
    newsboat: dict[str, Phase],
    why_not: str | None,
    problems: list[str],
) -> None:
    watcher = {run: watcher_phases(report, run) for run, report in reports.items()}
    rows = [HEADER]
    labels = {"warm": "warm (304)", "unchanged": "200 unchanged", "reparse": "200 parsed again (baseline)"}
    for run, phases in watcher.items():
        rows += [phase_row(f"watcher {run}", labels.get(n, n), p) for n, p in phases.items()]
    rows += [phase_row("newsboat", n, p) for n, p in newsboat.items()]
    print(table(rows))
    print()
    print("notes:")
    print(f"  watcher pool: parsing in {args.parse_workers} worker processes; thread: ingest.parse_workers=0")
    print("  watcher fast: as pool, with ingest.parser=fast; the other runs parse with feedparser")
    print(
        "  cpu ms/feed: the client's user+system time over the cycle per feed, its parser processes included;"
    )
    print("    on a shared machine it is the steadier figure: wall-clock rates move with the other load")
    print("  peak RSS: watcher, the sum of each process's own peak (VmHWM) over its process and its parser")
    print("    processes (an upper bound: their peaks need not coincide, and shared pages count in each);")
    print("    newsboat, ru_maxrss; the feed server is not counted")
    for run, report in reports.items():
        print(
            f"    watcher {run}: {report['peak_rss_mb']:.0f} MB over {report['processes']} processes"
            f" ({report['setup_rss_mb']:.0f} MB after start-up, before the first poll;"
            f" each: {', '.join(f'{mb:.0f}' for mb in report['peak_rss_each_mb'])})"
        )
    print("  200/304: responses the server sent during the cycle")
    print(
        "  cold CPU by process (ms/feed): the client process (event loop, HTTP, SQLite) + its parser processes;"
    )
    print("    the CPU-bound ceiling on 2 idle cores is min(1000 / client, 2000 / total) feeds/s")
    for run, report in reports.items():
        cold = report["cold"]
        main = cold["main_cpu_s"] * 1000 / cold["feeds"]
        total = cold["cpu_s"] * 1000 / cold["feeds"]
        print(
            f"    watcher {run}: client {main:.2f} + parsers {total - main:.2f} = {total:.2f};"
            f" ceiling {min(1000 / main, 2000 / total):,.0f} feeds/s"
        )
    if why_not:
        print(f"  newsboat not compared: {why_not}")
    else:
        print(
            "  newsboat re-fetch: its second reload; newsboat stores ETag/Last-Modified only from its second"
        )
        print("    download of a feed, so its first conditional (warm) reload is the third")
        for run in ("pool", "fast"):
            for name in ("cold", "warm"):
                ratio = watcher[run][name].feeds_per_s / newsboat[name].feeds_per_s
                print(f"  watcher {run} / newsboat, {name}: {ratio:.2f}x feeds/s")
        nb_cpu = newsboat["cold"].cpu_s * 1000 / newsboat["cold"].feeds
        for run in ("pool", "fast"):
            cold = watcher[run]["cold"]
            ms = cold.cpu_s * 1000 / cold.feeds
            print(
                f"  cold CPU ms/feed, watcher {run} vs newsboat: {ms:.2f} vs {nb_cpu:.2f} ({nb_cpu / ms:.2f}x less)"
            )
    print()
    pool, thread, plain = watcher["pool"], watcher["thread"], watcher["unchanged"]
    c, w, u, b = pool["cold"], pool["warm"], plain["unchanged"], plain["reparse"]
    f = watcher["fast"]["cold"]
    print("side by side (same run):")
    print(
        f"  cold, fast / pool (feedparser): {f.feeds_per_s / c.feeds_per_s:.2f}x feeds/s"
        f" ({f.feeds_per_s:,.0f} vs {c.feeds_per_s:,.0f}), cpu ms/feed"
        f" {f.cpu_s * 1000 / f.feeds:.2f} vs {c.cpu_s * 1000 / c.feeds:.2f},"
        f" peak RSS {reports['fast']['peak_rss_mb']:.0f} vs {reports['pool']['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  cold, pool / thread: {c.feeds_per_s / thread['cold'].feeds_per_s:.2f}x feeds/s, cpu ms/feed"
        f" {c.cpu_s * 1000 / c.feeds:.2f} vs {thread['cold'].cpu_s * 1000 / thread['cold'].feeds:.2f}"
    )
    print(
        f"  200 unchanged / parsed again: {u.feeds_per_s / b.feeds_per_s:.1f}x feeds/s;"
        f" 200 unchanged / 304: {u.feeds_per_s / w.feeds_per_s:.2f}x"
    )
    print()
    peak_mb = max(r["peak_rss_mb"] for r in reports.values())
    u_cpu = u.cpu_s * 1000 / u.feeds
    print("targets:")
    for run, cold in (("pool", c), ("fast", f)):
        cold_ok = cold.feeds_per_s >= TARGETS["cold_fps"]
        print(
            f"  cold ({run}) >= {TARGETS['cold_fps']:.0f} feeds/s: {cold.feeds_per_s:,.0f}  {verdict(cold_ok)}"
        )
        if newsboat:
            nb = newsboat["cold"].feeds_per_s
            ok = cold.feeds_per_s >= 2 * nb
            print(
                f"  cold ({run}) >= 2x newsboat ({nb:,.0f} feeds/s): {cold.feeds_per_s:,.0f}  {verdict(ok)}"
            )
    warm_ok = w.feeds_per_s >= TARGETS["warm_fps"]
    print(f"  warm (304) >= {TARGETS['warm_fps']:,.0f} feeds/s: {w.feeds_per_s:,.0f}  {verdict(warm_ok)}")
    u_ok = u.feeds_per_s >= TARGETS["unchanged_fps"]
    print(
        f"  200 unchanged >= {TARGETS['unchanged_fps']:,.0f} feeds/s: {u.feeds_per_s:,.0f}  {verdict(u_ok)}"
    )
    cpu_ok = u_cpu <= TARGETS["unchanged_cpu_ms"]
    print(
        f"  200 unchanged <= {TARGETS['unchanged_cpu_ms']:g} ms CPU per feed: {u_cpu:.2f}  {verdict(cpu_ok)}"
    )
    print(
        f"  peak RSS (all processes) <= {TARGETS['rss_mb']:.0f} MB: {peak_mb:.0f}  {verdict(peak_mb <= TARGETS['rss_mb'])}"
    )
    expected = args.feeds * args.items
    stored = ", ".join(f"{run} {r['cold']['stored']:,}" for run, r in reports.items())
    print(f"correctness: {'FAILED' if problems else 'ok'} (articles stored cold of {expected:,}: {stored})")
    for problem in problems:
        print(f"  {problem}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY,
        help="requests in flight: watcher's http.concurrency and newsboat's reload-threads",
    )  # fmt: skip
    parser.add_argument("--per-host", type=int, help="watcher's http.per_host (default: = --concurrency)")
    parser.add_argument(
        "--database", help="postgresql+asyncpg://... (a scratch database is created and dropped)"
    )
    parser.add_argument("--gzip", action="store_true", help="serve gzip to clients that accept it")
    parser.add_argument("--no-newsboat", action="store_true", help="skip the newsboat comparison")
    parser.add_argument(
        "--parse-workers", type=int, default=os.cpu_count() or 1,
        help="watcher's ingest.parse_workers for the pool runs (default: one per CPU)",
    )  # fmt: skip
    parser.add_argument("--child", choices=sorted(RUNS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.per_host = args.per_host or args.concurrency
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child(args))))
        return 0
    print("bench/ingest: " + shlex.join([Path(sys.executable).name, *(sys.argv if argv is None else argv)]))
    for key, value in machine():
        print(f"  {key:10} {value}")
    print(
        f"  workload   {args.feeds:,} feeds x {args.items} items (RSS 2.0) from one local server in its own process"
        f"{', gzip' if args.gzip else ''}\n"
        f"  settings   concurrency {args.concurrency}: watcher http.concurrency={args.concurrency},"
        f" per_host={args.per_host} (here every feed is on 127.0.0.1; real lists span many hosts),"
        f" logging at WARNING (INFO writes a line per poll); newsboat reload-threads {args.concurrency}\n"
        f"  parsing    pool runs: ingest.parse_workers={args.parse_workers}; thread run: 0"
    )
    server = Server(args.feeds, args.items, args.gzip)
    newsboat: dict[str, Phase] = {}
    why_not: str | None = "--no-newsboat"
    reports: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    try:
        for run in RUNS:
            reports[run] = run_watcher(args, server, run)
            problems += check_watcher(run, reports[run], args.feeds, args.items)
        if not args.no_newsboat:
            with tempfile.TemporaryDirectory(prefix="newsboat-bench-") as tmp:
                newsboat, why_not = run_newsboat(args, server, Path(tmp))
            if not why_not:
                problems += check_newsboat(newsboat, args.feeds, args.items)
    finally:
        server.close()
    print(
        f"  served     {server.body_bytes / 1e6:.1f} MB of RSS; watcher database: {reports['pool']['database']}"
    )
    print()
    print_report(args, reports, newsboat, why_not, problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
