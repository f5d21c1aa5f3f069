"""Soak: ``watcher run`` for a long stretch under kill -9, with feeds that keep changing; prints what survived.

Usage: python -m bench.soak [--minutes 30] [--feeds 500] [--claims 20] [--seed 1] [--workers 1] [--database URL]

This process serves the feeds (tests/support/feed_server.py) and a signature-checking webhook
receiver (tests/support/receivers.py) on 127.0.0.1, and runs the daemon as a child process
(``python -m watcher --log-format json run``) on a fresh database: an SQLite file by default, a new
PostgreSQL database with ``--database postgresql+asyncpg://...`` (dropped afterwards). ``--workers N``
runs N such daemons on the same database (each kill picks one of them at random).

For ``--minutes`` it publishes new items on random feeds (about one in five is about one of the
claims, in the claim's own words; the others are about nothing any claim covers), makes a few feeds
fail for a while (HTTP 503) or answer slowly, and kills the daemon with SIGKILL at random moments
(``--kill-every`` seconds on average; the seed fixes when), starting it again each time. Then it stops
publishing and killing and waits for the daemon to settle: every published item stored and matched,
every event delivered. It prints the daemons' peak RSS (VmHWM, sampled every second and before each
kill) and the highest RSS of any worker in each five minutes of the soak, the counts, anything lost
or duplicated, the webhook re-sends (the same webhook-id sent again
after a kill: at-least-once delivery, which receivers deduplicate), and a table of the errors the
daemon logged. Exit status 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from bench.common import scratch_database, table
from storage.sql import open_store
from tests.support.feed_server import FeedServer, Route
from tests.support.ledger import Ledger, read_ledger
from tests.support.memory import peak_rss_mb, process_peak_rss_mb
from tests.support.receivers import Receiver

SECRET = "whsec_" + base64.b64encode(b"soak-webhook-signing-secret-0123").decode()
SETTLE_TIMEOUT_S = 600.0

CLAIMS = (
    ("nato-ammo", "NATO has surpassed Russia in ammunition production"),
    ("grain-corridor", "The Black Sea grain corridor has reopened for Ukrainian wheat exports"),
    ("kyiv-blackouts", "Rolling blackouts have returned to Kyiv after strikes on the power grid"),
    ("ecb-rates", "The European Central Bank will cut interest rates in December"),
    ("measles-outbreak", "Measles cases in Europe have tripled since last year"),
    ("lithium-mine", "Serbia has approved the Jadar lithium mine"),
    ("arctic-ice", "Arctic sea ice reached a record low this September"),
    ("chip-export", "The Netherlands has banned exports of advanced chipmaking machines to China"),
    ("rail-strike", "German train drivers have called an indefinite rail strike"),
    ("coffee-prices", "Arabica coffee prices hit a fifty year high after the Brazilian drought"),
    ("bird-flu", "Bird flu has spread to dairy cattle in Texas"),
    ("olympic-bid", "India has formally bid to host the 2036 Olympic Games"),
    ("panama-canal", "Drought has forced the Panama Canal to limit ship transits"),
    ("tiktok-ban", "Montana has banned TikTok on personal phones"),
    ("whale-strandings", "Hundreds of pilot whales stranded on a Tasmanian beach"),
    ("volcano-iceland", "A volcano erupted near Grindavik in Iceland"),
    ("fusion-record", "A fusion reactor produced more energy than the lasers delivered"),
    ("locust-swarm", "Desert locust swarms are devastating crops in East Africa"),
    ("salmon-farms", "Norway will tax salmon farms at forty percent"),
    ("metro-fares", "Paris metro fares will double during the Olympics"),
)
FILLER = (
    "Local bakery wins regional pastry award",
    "City council debates new parking rules for downtown",
    "Museum opens exhibition of medieval tapestries",
    "High school robotics team advances to national finals",
    "Weekend weather forecast brings mild temperatures",
    "Library extends opening hours over the holidays",
)
COUNTRIES = ("GB", "US", "DE", "FR", "UA", "PL", "IN", "BR", "JP", "ZA")


# -- what is published ----------------------------------------------------------------------------


@dataclass
class Feeds:
    """Every feed's items (newest first when served) and which claim each item is about."""

    count: int
    # per feed: (guid, title, text, pubDate): dated when published, as news feeds date their items (an undated item
    # of a feed's first poll is its backlog, which raises no alert)
    items: list[list[tuple[str, str, str, str]]] = field(default_factory=list)
    about: dict[str, str | None] = field(default_factory=dict)  # guid → claim name, None for filler
    versions: list[int] = field(default_factory=list)
    failing_until: dict[int, float] = field(default_factory=dict)  # feed → time.monotonic() it recovers

    def __post_init__(self) -> None:
        self.items = [[] for _ in range(self.count)]
        self.versions = [0] * self.count

    def publish(self, feed: int, claim: tuple[str, str] | None) -> str:
        guid = f"soak-{feed:04d}-{len(self.items[feed]):05d}"
        if claim is None:
            topic = FILLER[len(self.about) % len(FILLER)]
            title, text = f"{topic} ({guid})", f"{topic}. Residents welcomed the news, item {guid}."
        else:
            title = f"{claim[1]}, report {guid} says"
            text = f"{claim[1]}, officials said in {guid}. The announcement followed weeks of speculation."
        self.items[feed].append((guid, title, text, format_datetime(datetime.now(UTC), usegmt=True)))
        self.about[guid] = claim[0] if claim else None
        self.versions[feed] += 1
        return guid

    def body(self, feed: int) -> bytes:
        items = "".join(
            f'<item><guid isPermaLink="false">{g}</guid><title>{t}</title>'
            f"<link>https://soak.example/{g}</link><description>{d}</description><pubDate>{when}</pubDate></item>"
            for g, t, d, when in reversed(self.items[feed])
        )
        title = f"Soak outlet {feed:04d}"
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'.encode()


def path_of(feed: int) -> str:
    return f"/soak/{feed:04d}.xml"


def refresh_route(server: Any, feeds: Feeds, feed: int, *, slow: bool) -> None:
    now = time.monotonic()
    if feeds.failing_until.get(feed, 0) > now:
        server.routes[path_of(feed)] = Route(status=503, body=b"maintenance", headers={"Retry-After": "5"})
        return
    version = f'"v{feeds.versions[feed]}"'
    server.routes[path_of(feed)] = Route(body=feeds.body(feed), etag=version, delay_s=0.5 if slow else 0.0)


# -- the daemon -----------------------------------------------------------------------------------


def process_rss_mb(pid: int) -> float | None:
    """Another process's resident set size now (VmRSS), or None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


class Daemon:
    """One worker: the child process, started again after every kill; JSON logs in one file per run."""

    def __init__(self, tmp: Path, db_url: str, worker: int = 0) -> None:
        self.tmp = tmp
        self.worker = worker
        self.config = tmp / "soak.yaml"
        self.env = {**os.environ, "WATCHER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
        self.env.pop("WATCHER_CONFIG", None)
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0
        self.kills: list[float] = []  # seconds since the start of the soak
        self.peak_rss_mb = 0.0
        self.peak_by_run: list[float] = []
        self.rss_mb = 0.0  # resident set size at the last sample

    def log_path(self, run: int) -> Path:
        return self.tmp / f"run-w{self.worker}-{run:03d}.log"

    def write_config(
        self, args: argparse.Namespace, feed_urls: Sequence[str], hook: str, claims: int
    ) -> None:
        lines = [
            f"http: {{allow_private: true, total_timeout: 10s, per_host: {args.per_host}}}",
            "matching: {model: null}",
            f"daemon: {{tick: 1s, lease: {args.lease}s, shutdown_timeout: 5s, server: {{enabled: false}}}}",
            f"defaults: {{interval: {args.interval}s, language: en}}",
            "feeds:",
        ]
        lines += [
            f"  - {{url: '{url}', outlet: 'Outlet {i:04d}', country: {COUNTRIES[i % len(COUNTRIES)]}}}"
            for i, url in enumerate(feed_urls)
        ]
        lines += ["claims:"] + [f"  - {{name: {n}, text: '{t}'}}" for n, t in CLAIMS[:claims]]
        lines += [
            "destinations:",
            f"  - {{name: cms, kind: webhook, url: '{hook}', secret: '{SECRET}', allow_private: true}}",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    async def start(self) -> None:
        self.runs += 1
        self.peak_by_run.append(0.0)
        with self.log_path(self.runs).open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "watcher", "--config", str(self.config), "--log-format", "json", "run",
                cwd=self.tmp, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    def sample(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        mb = process_peak_rss_mb(self.proc.pid)
        if mb is not None:
            self.peak_by_run[-1] = max(self.peak_by_run[-1], mb)
            self.peak_rss_mb = max(self.peak_rss_mb, mb)
        self.rss_mb = process_rss_mb(self.proc.pid) or 0.0

    async def kill(self, at_s: float) -> None:
        assert self.proc is not None
        self.sample()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills.append(at_s)

    async def stop(self) -> int:
        assert self.proc is not None
        self.sample()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def records(self) -> list[dict[str, Any]]:
        out = []
        for log in sorted(self.tmp.glob(f"run-w{self.worker}-*.log")):
            for line in log.read_text(errors="replace").splitlines():
                with contextlib.suppress(json.JSONDecodeError):
                    out.append(json.loads(line))
        return out

    def tail(self) -> str:
        return self.log_path(self.runs).read_text(errors="replace")[-3000:]


@dataclass
class Workers:
    """``--workers`` daemons on one database; a kill picks one at random."""

    daemons: list[Daemon]
    kills: list[tuple[float, int]] = field(default_factory=list)  # (seconds since the start, worker)
    exits: list[tuple[float, int, int]] = field(default_factory=list)  # unasked: (seconds, worker, status)
    rss_windows: dict[int, float] = field(default_factory=dict)  # 5-minute window → highest RSS of a worker

    @property
    def runs(self) -> int:
        return sum(d.runs for d in self.daemons)

    @property
    def peak_rss_mb(self) -> float:
        return max(d.peak_rss_mb for d in self.daemons)

    @property
    def peak_by_run(self) -> list[float]:
        return [mb for d in self.daemons for mb in d.peak_by_run]

    async def start(self) -> None:
        for d in self.daemons:
            if not d.alive():
                await d.start()

    def sample(self, elapsed: float | None = None) -> None:
        for d in self.daemons:
            d.sample()
            if elapsed is not None:
                window = int(elapsed // 300)
                self.rss_windows[window] = max(self.rss_windows.get(window, 0.0), d.rss_mb)

    async def revive(self, at_s: float) -> None:
        """Start again, and count, any worker that exited without being killed (a crash)."""
        for d in self.daemons:
            if d.proc is not None and d.proc.returncode is not None:
                self.exits.append((at_s, d.worker, d.proc.returncode))
                print(f"  worker {d.worker} exited by itself with status {d.proc.returncode}:", flush=True)
                print("    " + d.tail()[-1500:].replace("\n", "\n    "), flush=True)
                await d.start()

    async def kill_one(self, rng: random.Random, at_s: float) -> Daemon:
        daemon = rng.choice(self.daemons)
        await daemon.kill(at_s)
        self.kills.append((at_s, daemon.worker))
        return daemon

    async def stop(self) -> int:
        codes = [await d.stop() for d in self.daemons]
        return max(codes, key=abs)

    def records(self) -> list[dict[str, Any]]:
        return [r for d in self.daemons for r in d.records()]

    def kill_all(self) -> list[Daemon]:
        alive = [d for d in self.daemons if d.alive() and d.proc is not None]
        for d in alive:
            assert d.proc is not None
            d.proc.kill()
        return alive


# -- the database ---------------------------------------------------------------------------------


# -- the run --------------------------------------------------------------------------------------


@dataclass
class World:
    """The feeds this process serves and changes, and the daemon it kills."""

    args: argparse.Namespace
    rng: random.Random
    feeds: Feeds
    claims: Sequence[tuple[str, str]]
    slow: set[int]
    server: Any
    daemon: Workers
    store: Any

    def new_item(self, feed: int) -> None:
        about = self.rng.choice(self.claims) if self.rng.random() < self.args.match_share else None
        self.feeds.publish(feed, about)

    def serve(self, feed: int) -> None:
        refresh_route(self.server, self.feeds, feed, slow=feed in self.slow)

    def publish(self, count: int) -> None:
        for _ in range(count):
            feed = self.rng.randrange(self.args.feeds)
            self.new_item(feed)
            self.serve(feed)

    def outages(self, now: float) -> None:
        """Now and then a feed goes down (HTTP 503) for 10 s to 2 min; feeds whose time is up recover."""
        if self.rng.random() < self.args.outage_rate:
            feed = self.rng.randrange(self.args.feeds)
            self.feeds.failing_until[feed] = now + self.rng.uniform(10, 120)
            self.serve(feed)
        for feed, until in list(self.feeds.failing_until.items()):
            if until <= now:
                del self.feeds.failing_until[feed]
                self.serve(feed)

    async def progress(self, elapsed: float) -> None:
        c = await self.store.counts()
        print(
            f"  {elapsed:6.0f} s: {len(self.feeds.about)} published, {c['articles']} stored "
            f"({c['articles_pending']} unmatched), {c['matches']} matches, {c['events']} events, "
            f"{c.get('deliveries_delivered', 0)} delivered, {len(self.daemon.kills)} kills, "
            f"peak RSS {self.daemon.peak_rss_mb:.0f} MB, RSS now "
            f"{'/'.join(f'{d.rss_mb:.0f}' for d in self.daemon.daemons)} MB",
            flush=True,
        )

    async def run(self) -> float:
        """Publish, break feeds and kill the daemon for ``--minutes``; returns the seconds it took."""
        started = time.monotonic()
        await self.daemon.start()
        next_kill = started + self.rng.uniform(0.5, 1.5) * self.args.kill_every
        next_report = started + 30
        owed = 0.0
        while (now := time.monotonic()) < started + self.args.minutes * 60:
            owed += self.args.items_per_minute / 60
            self.publish(int(owed))
            owed -= int(owed)
            self.outages(now)
            if now >= next_kill:
                killed = await self.daemon.kill_one(self.rng, now - started)
                await asyncio.sleep(self.rng.uniform(0.0, 2.0))
                await killed.start()
                next_kill = time.monotonic() + self.rng.uniform(0.5, 1.5) * self.args.kill_every
            if now >= next_report:
                next_report += 30
                await self.progress(now - started)
            self.daemon.sample(now - started)
            await self.daemon.revive(now - started)
            await asyncio.sleep(1.0)
        return time.monotonic() - started

    async def settle(self) -> float:
        """No more kills, items or outages: wait until every item is stored and matched and every alert sent."""
        for feed in list(self.feeds.failing_until):
            del self.feeds.failing_until[feed]
            self.serve(feed)
        await self.daemon.start()
        started = time.monotonic()
        matches = sum(1 for claim in self.feeds.about.values() if claim is not None)
        while time.monotonic() - started < SETTLE_TIMEOUT_S:
            self.daemon.sample()
            stored = await read_ledger(self.store)
            if (
                len({a.guid for a in stored.articles}) >= len(self.feeds.about)
                and all(a.processed for a in stored.articles)
                and stored.undetected == 0
                and len(stored.matches) >= matches
                and all(d.status == "delivered" for d in stored.deliveries)
            ):
                break
            await asyncio.sleep(2.0)
        return time.monotonic() - started


async def soak(args: argparse.Namespace, tmp: Path) -> int:

    rng = random.Random(args.seed)
    db_url, drop = await scratch_database(args.database, tmp, "watcher_soak")
    server = FeedServer()
    await server.start()
    receiver = Receiver(secret=SECRET)
    await receiver.start()
    store = await open_store(db_url, upgrade=True)
    slow = set(rng.sample(range(args.feeds), max(1, args.feeds // 50)))
    workers = Workers([Daemon(tmp, db_url, worker) for worker in range(args.workers)])
    world = World(args, rng, Feeds(args.feeds), CLAIMS[: args.claims], slow, server, workers, store)
    try:
        for feed in range(args.feeds):
            for _ in range(args.initial_items):
                world.new_item(feed)
            world.serve(feed)
        urls = [server.url(path_of(i)) for i in range(args.feeds)]
        for daemon in workers.daemons:
            daemon.write_config(args, urls, receiver.url("/hook"), len(world.claims))
        print(
            f"soak: {args.feeds} feeds ({len(slow)} slow), {len(world.claims)} claims, {args.minutes:g} min, "
            f"{args.workers} worker(s), kill -9 every ~{args.kill_every:g} s (seed {args.seed}), "
            f"database {db_url.split(':', 1)[0]}",
            flush=True,
        )
        soaked = await world.run()
        settled = await world.settle()
        await asyncio.sleep(2.0)
        code = await world.daemon.stop()
        stored = await read_ledger(store)
        requests, processed = list(receiver.requests), list(receiver.processed_ids)
    finally:
        for daemon in workers.kill_all():
            assert daemon.proc is not None
            await daemon.proc.wait()
        await store.close()
        await receiver.stop()
        await server.close()
        await drop()
    return report(world.feeds, stored, world.daemon, requests, processed, soaked, settled, code)


def report(
    feeds: Feeds,
    stored: Ledger,
    daemon: Workers,
    requests: Sequence[Any],
    processed: Sequence[str],
    soaked: float,
    settled: float,
    code: int,
) -> int:
    published = feeds.about
    guids = Counter(a.guid for a in stored.articles)
    content = Counter((a.feed_url, a.content_hash) for a in stored.articles)
    missing = set(published) - set(guids)
    expected_matches = {(claim, g) for g, claim in published.items() if claim is not None}
    match_keys = Counter((m.claim, m.guid) for m in stored.matches)
    events = Counter((e.claim, e.dedupe_key) for e in stored.events)
    deliveries = Counter((d.event_id, d.destination) for d in stored.deliveries)
    event_ids = {e.id for e in stored.events}
    by_status = Counter(d.status for d in stored.deliveries)
    by_type = Counter(e.type for e in stored.events)
    resent = sum(1 for r in requests if r.answered == 200) - len(processed)
    problems = {
        "articles lost": len(missing),
        "articles stored twice (same guid)": sum(n - 1 for n in guids.values() if n > 1),
        "articles stored twice (same feed and content)": sum(n - 1 for n in content.values() if n > 1),
        "matches lost": len(expected_matches - set(match_keys)),
        "matches not expected": len(set(match_keys) - expected_matches),
        "matches stored twice": sum(n - 1 for n in match_keys.values() if n > 1),
        "events stored twice (claim, dedupe key)": sum(n - 1 for n in events.values() if n > 1),
        "deliveries stored twice (event, destination)": sum(n - 1 for n in deliveries.values() if n > 1),
        "events without a delivery": len(event_ids - {e for e, _ in deliveries}),
        "deliveries not delivered": sum(n for s, n in by_status.items() if s != "delivered"),
        "events never received": len(event_ids - set(processed)),
        "articles left unmatched": sum(not a.processed for a in stored.articles),
        "daemon exits without a kill": len(daemon.exits),
    }
    rows = [
        ("published items", f"{len(published):,}"),
        ("stored articles", f"{len(stored.articles):,}"),
        ("expected / stored matches", f"{len(expected_matches):,} / {len(stored.matches):,}"),
        ("events", f"{len(stored.events):,} ({', '.join(f'{t} {n}' for t, n in sorted(by_type.items()))})"),
        ("deliveries", ", ".join(f"{s} {n}" for s, n in sorted(by_status.items())) or "0"),
        ("received (distinct webhook-ids)", f"{len(processed):,}"),
        ("webhook re-sends after a kill", f"{resent}"),
        ("workers / daemon runs / kill -9", f"{len(daemon.daemons)} / {daemon.runs} / {len(daemon.kills)}"),
        ("exits without a kill (crashes)", str(len(daemon.exits))),
        ("daemon peak RSS (max over runs)", f"{daemon.peak_rss_mb:.0f} MB"),
        (
            "daemon peak RSS per run (min-max)",
            f"{min(daemon.peak_by_run):.0f}-{max(daemon.peak_by_run):.0f} MB",
        ),
        (
            "highest worker RSS per 5 min",
            " ".join(f"{mb:.0f}" for _, mb in sorted(daemon.rss_windows.items())) + " MB",
        ),
        ("soak / settle time", f"{soaked / 60:.1f} min / {settled:.0f} s"),
        ("final shutdown (SIGTERM) exit status", str(code)),
        ("this process's peak RSS", f"{peak_rss_mb():.0f} MB"),
    ]
    print()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"kills at (s, worker): {', '.join(f'{k:.0f} w{w}' for k, w in daemon.kills)}")
    print()
    print(table([("figure", "value"), *rows]))
    print()
    print(table([("lost or duplicated", "count"), *((k, str(v)) for k, v in problems.items())]))
    print()
    print(error_table(daemon.records(), stored.feed_errors))
    bad = {k: v for k, v in problems.items() if v}
    print()
    print(
        "verdict: "
        + ("nothing lost, nothing duplicated" if not bad and code == 0 else f"FAILED {bad or code}")
    )
    return 0 if not bad and code == 0 else 1


def error_table(records: Sequence[dict[str, Any]], feed_errors: Sequence[tuple[str, int]]) -> str:
    """Warnings and errors the daemon logged, grouped by logger and message shape, then feeds still failing."""
    groups: Counter[tuple[str, str, str]] = Counter()
    for r in records:
        if r.get("level") not in ("warning", "error", "critical"):
            continue
        shape = re.sub(r"evt_\w+|\d+", "N", str(r.get("msg", "")))[:90]
        cause = _exception_line(str(r.get("exc", "")))
        groups[(str(r["level"]), str(r.get("logger", "")), shape + (f" [{cause}]" if cause else ""))] += 1
    rows = [("level", "logger", "message (numbers as N)", "count")]
    rows += [(lvl, lg, msg, str(n)) for (lvl, lg, msg), n in groups.most_common(25)]
    if len(rows) == 1:
        rows.append(("-", "-", "no warnings or errors logged", "0"))
    feeds = [("feeds failing at the end: last error", "feeds")] + [(e[:100], str(n)) for e, n in feed_errors]
    if len(feeds) == 1:
        feeds.append(("none", "0"))
    return table(rows, left=3) + "\n\n" + table(feeds)


def _exception_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("(Background")]
    return lines[-1].strip()[:80] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to publish and kill")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--claims", type=int, default=20, choices=range(1, len(CLAIMS) + 1), metavar="1-20")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every", type=float, default=60.0, help="mean seconds between kills")
    parser.add_argument("--interval", type=int, default=30, help="feed poll interval, seconds")
    parser.add_argument(
        "--lease", type=int, default=15, help="daemon.lease, seconds: how long a killed run's work waits"
    )
    parser.add_argument("--items-per-minute", type=float, default=120.0, help="new items across all feeds")
    parser.add_argument("--initial-items", type=int, default=5, help="items per feed at the start")
    parser.add_argument("--match-share", type=float, default=0.2, help="share of items about a claim")
    parser.add_argument(
        "--outage-rate", type=float, default=0.05, help="chance per second that a feed goes down"
    )
    parser.add_argument(
        "--per-host", type=int, default=50, help="http.per_host (every feed is on one host here)"
    )
    parser.add_argument("--workers", type=int, default=1, help="daemon processes on the same database")
    parser.add_argument("--database", help="a PostgreSQL URL to create a scratch database on; default SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, SQLite file)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.keep:
        tmp = Path(tempfile.mkdtemp(prefix="watcher-soak-"))
        print(f"work folder: {tmp}")
        return asyncio.run(soak(args, tmp))
    with tempfile.TemporaryDirectory(prefix="watcher-soak-") as name:
        return asyncio.run(soak(args, Path(name)))


if __name__ == "__main__":
    sys.exit(main())
