"""Stragglers: cycle times and alert latency with a few slow or timing-out feeds, beside the all-fast run.

Usage: python -m bench.stragglers [--feeds 2000] [--items 20] [--claims 5] [--concurrency 100]
                                  [--database postgresql+asyncpg://...] [--latency-items 20] [--no-latency]

Cycles: for each scenario a fresh bench/ingest_server.py process serves ``--feeds`` × ``--items``
(every Nth feed answering each request S seconds late) and a fresh child process runs watcher's cycle
(``Pipeline.cycle(all=True)``: poll every feed, match against ``--claims`` claims, detect, deliver) on a
fresh database, twice: cold (every body new) and warm (every feed answers 304). Scenarios: all fast; 1% of
feeds answering after 8 s; 0.5% answering after 30 s, so that they time out at watcher's default
``http.total_timeout`` of 20 s. Targets: warm cycle <= max(fast warm cycle, S) × 1.2 and cold cycle <= 1.2 ×
fast cold cycle, S being 8 s and then 20 s (the timeout).

Latency: bench/latency.py's set-up (the real daemon, items published on fast feeds polled every 10 s, a
signed webhook receiver) without stragglers, then with ``--latency-slow`` more feeds answering 8 s late, then
with as many answering 30 s late (timing out at 20 s). Prints p50/p95 publish → webhook for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import latency
from bench.common import scratch_database
from bench.ingest import ROOT, Server, fetch_stats, machine, table, verdict
from bench.ingest_server import OBJECTS, SUBJECTS
from tests.support.memory import peak_rss_mb

logger = logging.getLogger("bench.stragglers")

HTTP_TIMEOUT_S = 20.0  # watcher's default http.total_timeout, used as is
SLACK = 1.2  # targets: within 20% of the bound


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    slow_every: int  # every Nth feed is slow (0: none)
    slow_s: float  # how late it answers
    bound_s: float  # what a straggler may cost a cycle: its answer, or the timeout

    def server_args(self) -> list[str]:
        if not self.slow_every:
            return []
        return ["--slow-every", str(self.slow_every), "--slow-s", f"{self.slow_s:g}"]


SCENARIOS = (
    Scenario("all fast", 0, 0.0, 0.0),
    Scenario("1% at 8 s", 100, 8.0, 8.0),
    Scenario("0.5% time out (20 s)", 200, 30.0, HTTP_TIMEOUT_S),
)


# -- the watcher side, in a child process ---------------------------------------------------------


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """Fresh database, feeds and claims registered, then a cold and a warm cycle over every feed."""
    from datetime import UTC, datetime

    from storage.sql import open_store
    from watcher.config import ClaimSpec, DaemonSettings, HttpSettings, MatchSettings, Settings
    from watcher.domain import FeedSpec
    from watcher.pipeline import Pipeline

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="watcher-stragglers-") as tmp:
        url, drop = await scratch_database(args.database, Path(tmp), "watcher_stragglers")
        try:
            store = await open_store(url, upgrade=True)
            claims = tuple(
                ClaimSpec(name=f"claim-{n}", text=f"{SUBJECTS[n * 3 % len(SUBJECTS)]} {OBJECTS[n]}")
                for n in range(args.claims)
            )
            settings = Settings(
                database_url=url,
                claims=claims,
                http=HttpSettings(
                    allow_private=True, limit=args.concurrency, limit_per_host=args.concurrency
                ),
                matching=MatchSettings(model=None),
                daemon=DaemonSettings(server_enabled=False),
            )
            specs = [
                FeedSpec(url=f"{args.base_url}/feeds/{i:04d}.xml", outlet=f"Outlet {i:04d}", language="en")
                for i in range(args.feeds)
            ]
            now = datetime.now(UTC)
            await store.sync_feeds(specs, source="cli", now=now)
            await store.sync_claims(claims, now=now)
            pipeline = await Pipeline.open(settings, store, load_model=False)
            out: dict[str, Any] = {"database": store.dialect}
            try:
                for name in ("cold", "warm"):
                    before = fetch_stats(args.base_url)
                    started = time.perf_counter()
                    report = await pipeline.cycle(all=True)
                    out[name] = {
                        "wall_s": time.perf_counter() - started,
                        "report": report.as_dict() | {"errors": report.errors[:3]},
                        "served": {
                            k: v - before.get(k, 0)
                            for k, v in fetch_stats(args.base_url).items()
                            if k != "bytes"
                        },
                        "rss_mb": peak_rss_mb(),
                    }
            finally:
                await pipeline.close()
                await store.close()
        finally:
            await drop()
    return out


def run_cycles(args: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    server = Server(args.feeds, args.items, False, scenario.server_args())
    try:
        cmd = [
            sys.executable, "-m", "bench.stragglers", "--child", "--base-url", server.base_url,
            "--feeds", str(args.feeds), "--items", str(args.items), "--claims", str(args.claims),
            "--concurrency", str(args.concurrency), "--database", args.database or "",
        ]  # fmt: skip
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise SystemExit(f"{scenario.name}: watcher run failed (exit status {done.returncode})")
        result: dict[str, Any] = json.loads(lines[-1])
        return result
    finally:
        server.close()


# -- latency --------------------------------------------------------------------------------------


async def run_latency(args: argparse.Namespace, slow_feeds: int, slow_s: float) -> latency.Results:
    ns = argparse.Namespace(
        items=args.latency_items, feeds=4, interval=10.0, seed=7, model=None, log=None, warmup_timeout=180.0
    )
    with tempfile.TemporaryDirectory(prefix="watcher-stragglers-latency-") as name:
        tmp = Path(name)
        database, drop = await scratch_database(args.database, tmp, "watcher_stragglers_latency")
        try:
            return await latency.measure(ns, tmp, database, slow_feeds=slow_feeds, slow_s=slow_s)
        finally:
            await drop()


# -- the report -----------------------------------------------------------------------------------


def cycle_rows(results: Sequence[tuple[Scenario, dict[str, Any]]]) -> tuple[list[list[str]], bool]:
    fast = results[0][1]
    rows = [
        ["scenario", "cycle", "wall s", "feeds", "failed", "304", "new articles", "matches", "target", ""]
    ]
    ok = True
    for scenario, result in results:
        for phase in ("cold", "warm"):
            r = result[phase]["report"]
            wall = result[phase]["wall_s"]
            if scenario.bound_s:
                limit = (
                    SLACK * fast["cold"]["wall_s"]
                    if phase == "cold"
                    else SLACK * max(fast["warm"]["wall_s"], scenario.bound_s)
                )
                met = wall <= limit
                ok = ok and met
                target, mark = f"<= {limit:.1f}", verdict(met)
            else:
                target, mark = "", ""
            rows.append(
                [
                    scenario.name,
                    phase,
                    f"{wall:.2f}",
                    str(r["feeds_polled"]),
                    str(r["feeds_failed"]),
                    str(r["not_modified"]),
                    str(r["new_articles"]),
                    str(r["matches"]),
                    target,
                    mark,
                ]
            )
    return rows, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20, help="items per feed")
    parser.add_argument("--claims", type=int, default=5)
    parser.add_argument(
        "--concurrency", type=int, default=100, help="watcher's http.concurrency (and per_host)"
    )
    parser.add_argument(
        "--database", help="postgresql+asyncpg://... (a scratch database is created and dropped)"
    )
    parser.add_argument("--latency-items", type=int, default=20, help="measured items per latency run")
    parser.add_argument("--latency-slow", type=int, default=2, help="slow feeds beside the 4 fast ones")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child(args))))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    print("bench/stragglers: " + shlex.join([Path(sys.executable).name, *sys.argv]))
    for key, value in machine():
        print(f"  {key:10} {value}")
    print(
        f"  workload   {args.feeds} feeds x {args.items} items on one local host, {args.claims} claims, "
        f"http.concurrency = per_host = {args.concurrency}, http.total_timeout {HTTP_TIMEOUT_S:g} s; "
        f"database {(args.database or 'sqlite').split(':', 1)[0]}",
        flush=True,
    )
    results = []
    for scenario in SCENARIOS:
        logger.info("cycles: %s", scenario.name)
        results.append((scenario, run_cycles(args, scenario)))
    rows, ok = cycle_rows(results)
    print()
    print(table(rows))
    if not args.no_latency:
        runs = [("no stragglers", 0, 0.0), (f"{args.latency_slow} feeds at 8 s", args.latency_slow, 8.0)]
        runs.append((f"{args.latency_slow} feeds timing out (20 s)", args.latency_slow, 30.0))
        measured = []
        for name, count, seconds in runs:
            logger.info("latency: %s", name)
            measured.append((name, asyncio.run(run_latency(args, count, seconds))))
        print()
        print(
            f"publish -> webhook, {args.latency_items} items on 4 fast feeds polled every 10 s "
            "(the real daemon, daemon.tick 1 s):"
        )
        for name, res in measured:
            missing = f"; {len(res.missing)} missing" if res.missing else ""
            print(f"  {name:32} {latency.summary(res.total)}{missing}")
        ok = ok and all(not res.missing for _, res in measured)
    print()
    print(f"targets: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
