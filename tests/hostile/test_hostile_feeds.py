"""Hostile feeds through the whole pipeline: one cycle over a server that serves every attack at once.

The parse and fetch functions have their own tests for each attack (tests/unit/test_parse.py,
tests/integration/test_fetch.py). Here the same attacks go through poll → store → match → detect →
deliver together, next to good feeds, as they would reach a running daemon. One cycle runs for the
whole module (``scenario``); each test then checks one thing about its outcome:

- every hostile feed ends with a clear error or warning on its feed row and a log record tied to it;
- the good feeds' articles, matches, events and deliveries are all there, each exactly once;
- memory stays bounded (peak RSS printed; the 100 MB body and the gzip bomb measured on their own);
- a second cycle runs normally and changes nothing that was already stored.

Feed and webhook URLs on private or loopback addresses are refused by default; that has its own
pipeline below, since the scenario needs ``allow_private`` to reach its local servers at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import json
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from storage.sql import open_store
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route, redirect
from tests.support.ledger import Ledger, read_ledger
from tests.support.logs import record_text, records_about
from tests.support.memory import current_rss_mb, peak_rss_mb, reset_peak_rss
from tests.support.receivers import Receiver
from tests.support.stories import DENIAL, SECRET, STRAIGHT, UNRELATED, fresh, rss
from watcher.config import ClaimSpec, DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import DeliveryStatus, Destination, Feed, FeedSpec
from watcher.ingest.parse import MAX_ITEMS
from watcher.pipeline import CycleReport, Pipeline

DATA = Path(__file__).resolve().parents[1] / "data"
CLAIM = ClaimSpec(
    name="nato-ammo", text="NATO has surpassed Russia in ammunition production", keywords=("NATO",)
)
TOTAL_TIMEOUT_S = 3.0
MAX_BODY = HttpSettings().max_body_bytes  # the production default: 15 MiB
HUGE_BYTES = 100 * 2**20
BOMB_BYTES = 10 * 2**30  # inflates to 10 GiB from about 10 MB on the wire
BULK_ITEMS = 100_000
BOMB_RSS_BUDGET_MB = 100.0
CYCLE_RSS_BUDGET_MB = 300.0
CHUNK = 64 * 1024
INTERVAL_S = 600


# -- the hostile server side ----------------------------------------------------------------------


class Attacks:
    """aiohttp handlers for the attacks a static Route cannot express, with what each managed to send."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.rss_after_bombs_mb: float | None = None
        self.bombs_over = False  # whether every bomb had ended when rss_after_bombs_mb was read
        self.bulk_body = b""

    def _track(self, name: str) -> asyncio.Event:
        self.sent.setdefault(name, 0)
        return self.done.setdefault(name, asyncio.Event())

    async def _stream(
        self, request: web.Request, name: str, chunks: Iterator[bytes], headers: dict[str, str], **kw: Any
    ) -> web.StreamResponse:
        done = self._track(name)
        response = web.StreamResponse(headers=headers)
        if "content_length" in kw:
            response.content_length = kw["content_length"]
        try:
            await response.prepare(request)
            for chunk in chunks:
                await response.write(chunk)
                self.sent[name] += len(chunk)
                if kw.get("pause_s"):
                    await asyncio.sleep(kw["pause_s"])
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: exactly what it should do
        finally:
            done.set()
        return response

    async def gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        member = gzip.compress(bytes(16 * 2**20), compresslevel=9)  # 16 MiB of zeros in ~16 KB
        count = BOMB_BYTES // (16 * 2**20)
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        return await self._stream(request, "gzip-bomb", itertools.repeat(member, count), headers)

    async def huge_streamed(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(
            request, "huge-streamed", _huge_body(), {"Content-Type": "application/rss+xml"}
        )

    async def huge_declared(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/rss+xml"}
        return await self._stream(request, "huge-declared", _huge_body(), headers, content_length=HUGE_BYTES)

    async def slow_body(self, request: web.Request) -> web.StreamResponse:
        start = [b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>']
        drip = itertools.repeat(b"<!-- . -->")
        headers = {"Content-Type": "application/rss+xml"}
        return await self._stream(request, "slow-body", itertools.chain(start, drip), headers, pause_s=0.1)

    async def bulk(self, request: web.Request) -> web.Response:
        # Served once the bombs are over, so that the peak RSS they caused can be read on its own. They end when
        # the client has cut them off (by size, at the latest at its total timeout); on a loaded machine that can
        # take more than a second, so the wait leaves the bulk feed only the time it needs to be sent.
        if self.rss_after_bombs_mb is None:
            names = ("gzip-bomb", "huge-streamed", "huge-declared")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(self._track(n).wait() for n in names)), TOTAL_TIMEOUT_S - 0.5
                )
            self.bombs_over = all(self._track(n).is_set() for n in names)
            self.rss_after_bombs_mb = peak_rss_mb()
        return web.Response(body=self.bulk_body, content_type="application/rss+xml")


def _huge_body() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
    item = b"<item><title>padding</title><description>" + b"x" * 2000 + b"</description></item>"
    yield from itertools.repeat(item * (CHUNK // len(item)), HUGE_BYTES // CHUNK)
    yield b"</channel></rss>"


class Slowloris:
    """A TCP server that answers with a status line and headers one byte every 0.5 s, never ending them."""

    HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
    FILLER = b"X-Slow: still-coming\r\n"

    def __init__(self) -> None:
        self.connections = 0
        self.bytes_sent = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._drip(writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drip(self, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for byte in itertools.chain(self.HEAD, itertools.cycle(self.FILLER)):
                writer.write(bytes([byte]))
                await writer.drain()
                self.bytes_sent += 1
                await asyncio.sleep(0.5)
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


# -- the feeds --------------------------------------------------------------------------------------


def bulk_feed(items: int) -> bytes:
    """A feed of ``items`` small items, generated once and kept in the system temp folder."""
    cache = Path(tempfile.gettempdir()) / "watcher-hostile" / f"bulk-{items}-v1.xml"
    if cache.exists():
        return cache.read_bytes()
    body = "".join(
        f"<item><guid>urn:bulk:{i}</guid><title>Bulk item {i}</title><link>https://bulk.example/{i}</link></item>"
        for i in range(items)
    )
    data = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bulk</title>{body}</channel></rss>'.encode()
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(cache)
    return data


def xxe_feed(dtd_url: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
<!ENTITY % remote SYSTEM "{dtd_url}">
<!ENTITY xxe SYSTEM "file:///etc/passwd">
%remote;
]>
<rss version="2.0"><channel><title>XXE &xxe;</title>
<item><guid>xxe-1</guid><title>Leak &xxe;</title><link>https://xxe.example/1</link>
<description>Secret: &xxe;</description></item>
</channel></rss>""".encode()


def encoded_feed(declared: bytes, titles: list[bytes]) -> bytes:
    items = b"".join(
        b"<item><guid>enc-%d</guid><title>%s</title></item>" % (i, t) for i, t in enumerate(titles)
    )
    return (
        b'<?xml version="1.0" encoding="' + declared + b'"?><rss version="2.0"><channel><title>Encodings</title>'
        + items + b"</channel></rss>"
    )  # fmt: skip


# Two matching items from CMSs that do not escape what their writers type. The first carries HTML in
# its title (escaped once, as RSS titles are) and in its text: none of it may be stored. The second
# carries Slack control sequences in a plain-text title and, escaped twice, in its text, so that they
# reach the store as the literal characters "<!channel>" and "<http://evil.example|click>": stored as
# text, carried as text in webhook JSON, and escaped in Slack messages.
SCRIPTED = (
    "markup-1",
    "&lt;script&gt;alert(1)&lt;/script&gt;NATO has surpassed Russia in ammunition production "
    "&lt;b&gt;again&lt;/b&gt;",
    "&lt;p&gt;NATO has surpassed Russia in ammunition production, officials said.&lt;/p&gt;"
    "&lt;script&gt;steal(document.cookie)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;",
)
SLACKED = (
    "markup-2",
    "<![CDATA[<!channel> NATO has surpassed Russia in ammunition production <http://evil.example|click>]]>",
    "NATO has surpassed Russia in ammunition production &amp;lt;!channel&amp;gt; "
    "&amp;lt;http://evil.example|click here&amp;gt; &amp;lt;@U024BE7LH&amp;gt;, the ministry said.",
)
SLACK_CONTROLS = ("<!channel>", "<http://evil.example|click", "<@U024BE7LH>")


@dataclass(frozen=True, slots=True)
class Case:
    """A hostile feed and what its feed row and log must say afterwards."""

    name: str
    path: str
    field: str  # "last_error" or "last_warning"
    says: str  # a phrase the field and a log record tied to the feed must contain
    articles: int | None = None  # how many articles it must have stored, where any


CASES = (
    Case("billion laughs", "/billion-laughs.xml", "last_warning", "entity declarations removed", 1),
    Case("quadratic blowup", "/quadratic.xml", "last_warning", "entity declarations removed", 1),
    Case("external entities", "/xxe.xml", "last_warning", "entity declarations removed", 1),
    Case("gzip bomb", "/gzip-bomb.xml", "last_error", f"body larger than {MAX_BODY} bytes", 0),
    Case(
        "100 MB body, streamed", "/huge-streamed.xml", "last_error", f"body larger than {MAX_BODY} bytes", 0
    ),
    Case(
        "100 MB body, declared", "/huge-declared.xml", "last_error", f"body larger than {MAX_BODY} bytes", 0
    ),
    Case("endless slow body", "/slow-body.xml", "last_error", f"timed out after {TOTAL_TIMEOUT_S:g} s", 0),
    Case("slowloris headers", "slowloris", "last_error", f"timed out after {TOTAL_TIMEOUT_S:g} s", 0),
    Case("redirect loop", "/loop-a.xml", "last_error", "redirect loop", 0),
    Case(
        "undecodable brotli",
        "/bad-brotli.xml",
        "last_error",
        "body could not be decoded (Content-Encoding: br",
        0,
    ),
    Case("invalid UTF-8", "/invalid-utf8.xml", "last_warning", "declared as utf-8", 2),
    Case("charset lies (utf-16)", "/lying-utf16.xml", "last_warning", "declared as utf-16", 1),
    Case("charset lies (HTTP header)", "/lying-header.xml", "last_warning", "windows-1251", 1),
    Case("100,000 items", "/bulk.xml", "last_warning", f"only the first {MAX_ITEMS} were read", MAX_ITEMS),
    Case("absurd dates", "/dates.xml", "last_warning", "date", 8),
    Case("duplicate GUIDs", "/dup-guid.xml", "last_warning", "GUID", 4),
)
GOOD = {
    "/kyiv.xml": ("Kyiv Post", "UA", "private", [STRAIGHT]),
    "/tass.xml": ("TASS", "RU", "state", [DENIAL, UNRELATED]),
    "/scripted.xml": ("Script Weekly", "FR", "private", [SCRIPTED]),
    "/markup.xml": ("Markup Daily", "GB", "private", [SLACKED]),
}
MATCHING = {"kyiv-1", "tass-1", "markup-1", "markup-2"}


# -- the scenario -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the one cycle (and the second one) left behind, for the tests to check."""

    server: FeedServer
    slowloris_url: str
    slowloris: Slowloris
    attacks: Attacks
    webhook: Receiver
    slack: Receiver
    feeds: dict[str, Feed]  # by path (the slowloris feed under "slowloris")
    first: CycleReport
    second: CycleReport
    ledger: Ledger
    ledger_after_second: Ledger
    feeds_after_second: dict[str, Feed]
    records: list[logging.LogRecord]
    cycle_started: float  # time.time() when the first cycle began
    rss_before_mb: float
    rss_peak_mb: float
    cli_feeds: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, path: str) -> Feed:
        return self.feeds[path]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    db = tmp_path_factory.mktemp("hostile") / "watcher.db"
    bulk = bulk_feed(BULK_ITEMS)  # before the baseline: the server's copy is not the client's memory
    handler = _ListHandler()
    watcher_logger = logging.getLogger("watcher")
    previous = watcher_logger.level
    watcher_logger.setLevel(logging.DEBUG)
    watcher_logger.addHandler(handler)
    try:
        outcome = asyncio.run(_run(f"sqlite+aiosqlite:///{db}", bulk))
    finally:
        watcher_logger.removeHandler(handler)
        watcher_logger.setLevel(previous)
    outcome.records = handler.records
    outcome.cli_feeds = _cli_feeds(f"sqlite+aiosqlite:///{db}", db.parent)
    print(
        f"\nhostile scenario: first cycle {outcome.first.elapsed_s:.1f} s "
        f"({outcome.first.feeds_polled} feeds, {outcome.first.feeds_failed} failed, "
        f"{outcome.first.new_articles} articles), second cycle {outcome.second.elapsed_s:.1f} s; "
        f"RSS before {outcome.rss_before_mb:.0f} MB, peak {outcome.rss_peak_mb:.0f} MB, "
        f"peak after the bombs {outcome.attacks.rss_after_bombs_mb or 0:.0f} MB"
    )
    return outcome


def _routes(attacks: Attacks, base: Callable[[str], str]) -> dict[str, Any]:
    routes: dict[str, Any] = {
        path: Route(body=rss(outlet, items, pub_date=fresh())) for path, (outlet, _, _, items) in GOOD.items()
    }
    routes |= {
        "/billion-laughs.xml": Route(body=(DATA / "billion_laughs.xml").read_bytes()),
        "/quadratic.xml": Route(body=(DATA / "quadratic_blowup.xml").read_bytes()),
        "/xxe.xml": Route(body=xxe_feed(base("/xxe.dtd"))),
        "/xxe.dtd": Route(body=b'<!ENTITY leak "fetched">', content_type="application/xml-dtd"),
        "/gzip-bomb.xml": attacks.gzip_bomb,
        "/huge-streamed.xml": attacks.huge_streamed,
        "/huge-declared.xml": attacks.huge_declared,
        "/slow-body.xml": attacks.slow_body,
        "/loop-a.xml": redirect("/loop-b.xml", 302),
        "/loop-b.xml": redirect("/loop-a.xml", 301),
        # Not brotli, whatever the header says (and whether or not a brotli decoder is installed).
        "/bad-brotli.xml": Route(body=b"<rss>not brotli</rss>" * 8, headers={"Content-Encoding": "br"}),
        "/invalid-utf8.xml": Route(
            body=encoded_feed(b"utf-8", [b"Caf\xc3\xa9 ok", b"broken \xff\xfe\xc3( bytes"]),
        ),
        "/lying-utf16.xml": Route(
            body=encoded_feed(b"utf-16", ["Привет, мир".encode()]),
            content_type="application/rss+xml; charset=utf-16",
        ),
        "/lying-header.xml": Route(
            body=encoded_feed(b"utf-8", ["Привет, мир".encode()]),
            content_type="text/xml; charset=windows-1251",
        ),
        "/bulk.xml": attacks.bulk,
        "/dates.xml": Route(body=(DATA / "bad_dates.xml").read_bytes()),
        "/dup-guid.xml": Route(body=(DATA / "dup_guid.xml").read_bytes()),
    }
    return routes


def _settings(db_url: str, urls: dict[str, str], webhook: Receiver, slack: Receiver) -> Settings:
    feeds = []
    for path, url in urls.items():
        outlet, country, ownership, _ = GOOD.get(path, (f"Hostile {path}", "ZZ", "unknown", []))
        feeds.append(
            FeedSpec(
                url=url,
                outlet=outlet,
                country=country,
                ownership=ownership,
                language="en",
                interval_s=INTERVAL_S,
            )
        )
    return Settings(
        database_url=db_url,
        feeds=tuple(feeds),
        destinations=(
            Destination(
                name="cms", kind="webhook", url=webhook.url("/hook"), secret=SECRET, allow_private=True
            ),
            Destination(
                name="newsroom",
                kind="slack",
                url=slack.url("/services/T000/B000/slack-token"),
                allow_private=True,
            ),
        ),
        claims=(CLAIM,),
        http=HttpSettings(
            allow_private=True,
            total_timeout_s=TOTAL_TIMEOUT_S,
            connect_timeout_s=1.0,
            limit_per_host=64,
        ),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
    )


async def _run(db_url: str, bulk: bytes) -> Outcome:
    attacks = Attacks()
    attacks.bulk_body = bulk
    server = FeedServer()
    slowloris = Slowloris()
    async with contextlib.AsyncExitStack() as stack:
        await server.start()
        stack.push_async_callback(server.close)
        slowloris_url = await slowloris.start() + "/feed.xml"
        stack.push_async_callback(slowloris.close)
        server.routes.update(_routes(attacks, server.url))
        webhook = await stack.enter_async_context(Receiver(secret=SECRET))
        slack = await stack.enter_async_context(Receiver())
        urls = {path: server.url(path) for path in GOOD}
        urls |= {c.path: (slowloris_url if c.path == "slowloris" else server.url(c.path)) for c in CASES}
        store = await open_store(db_url, upgrade=True)
        stack.push_async_callback(store.close)
        clock = Clock()
        pipeline = await Pipeline.open(
            _settings(db_url, urls, webhook, slack), store, clock=clock, load_model=False
        )
        stack.push_async_callback(pipeline.close)
        await pipeline.sync_config()

        # The peak is the process's: one an earlier test in this process reached (a model loaded, a large
        # corpus, then freed) would read as this cycle's growth. It starts over here; where the kernel does
        # not allow that, growth is counted from that earlier peak instead.
        rss_before = current_rss_mb() if reset_peak_rss() else max(current_rss_mb(), peak_rss_mb())
        started = time.time()
        first = await pipeline.cycle()
        rss_peak = peak_rss_mb()
        ledger = await read_ledger(store)
        by_url = {f.url: f for f in await store.list_feeds()}
        feeds = {path: by_url[url] for path, url in urls.items()}

        clock.advance(seconds=INTERVAL_S + 60)  # every feed is due again, failing ones after one backoff step
        second = await pipeline.cycle()
        by_url = {f.url: f for f in await store.list_feeds()}
        return Outcome(
            server=server,
            slowloris_url=slowloris_url,
            slowloris=slowloris,
            attacks=attacks,
            webhook=webhook,
            slack=slack,
            feeds=feeds,
            first=first,
            second=second,
            ledger=ledger,
            ledger_after_second=await read_ledger(store),
            feeds_after_second={path: by_url[url] for path, url in urls.items()},
            records=[],
            cycle_started=started,
            rss_before_mb=rss_before,
            rss_peak_mb=rss_peak,
        )
    raise AssertionError("unreachable")


def _cli_feeds(db_url: str, cwd: Path) -> list[dict[str, Any]]:
    """``watcher feeds list --json``, as an operator would read the feed rows."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "watcher", "--database", db_url, "feeds", "list", "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(out.stdout))


# -- per hostile feed -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_feed_is_recorded_on_its_row(scenario: Outcome, case: Case) -> None:
    feed = scenario.feed(case.path)
    value = getattr(feed, case.field) or ""
    assert case.says.lower() in value.lower(), f"{case.name}: {case.field} is {value!r}"
    if case.field == "last_error":
        assert feed.error_count == 1 and feed.last_status in (None, 200), feed
    else:
        assert feed.error_count == 0 and feed.last_error is None, feed
    cli = next(f for f in scenario.cli_feeds if f["id"] == feed.id)
    assert case.says.lower() in (cli[case.field] or "").lower(), "feeds list --json shows it"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_feed_is_logged_with_its_feed(scenario: Outcome, case: Case) -> None:
    feed = scenario.feed(case.path)
    tied = records_about(scenario.records, feed_id=feed.id)
    assert tied, f"{case.name}: no log record carries feed_id={feed.id}"
    naming = [r for r in tied if case.says.lower() in record_text(r).lower()]
    assert naming, (
        f"{case.name}: no log record tied to feed {feed.id} says {case.says!r}; "
        f"its records: {[r.getMessage() for r in tied]}"
    )
    assert max(r.levelno for r in naming) >= logging.WARNING, "the problem is logged as a warning or worse"


@pytest.mark.parametrize("case", [c for c in CASES if c.articles is not None], ids=lambda c: c.name)
def test_hostile_feed_stores_what_it_should(scenario: Outcome, case: Case) -> None:
    url = scenario.feed(case.path).url
    stored = scenario.ledger.articles_of(url)
    assert len(stored) == case.articles, [a.title for a in stored][:10]
    for article in stored:
        assert len(article.title) <= 500 and len(article.text) <= 20_000


def test_entity_tricks_expand_nothing_and_fetch_nothing(scenario: Outcome) -> None:
    for path in ("/billion-laughs.xml", "/quadratic.xml", "/xxe.xml"):
        for article in scenario.ledger.articles_of(scenario.feed(path).url):
            assert "lollol" not in article.title + article.text
            assert "aaaaaaaaaa" not in article.title + article.text
            assert "root:" not in article.title + article.text and "fetched" not in article.text
    assert scenario.server.hits("/xxe.dtd") == 0, "the external DTD was requested"


def test_oversized_bodies_are_cut_off_early(scenario: Outcome) -> None:
    sent = scenario.attacks.sent
    print(f"\nbytes the server got out before the client hung up: {sent}")
    # The client stops reading at the cap; what the server wrote beyond it sat in socket buffers.
    assert sent["huge-streamed"] < 3 * MAX_BODY
    assert sent["huge-declared"] < MAX_BODY, "a declared Content-Length over the cap is refused unread"
    assert sent["gzip-bomb"] < BOMB_BYTES // 1000, "the bomb was not read to the end"


def test_timeouts_cut_slow_servers(scenario: Outcome) -> None:
    assert scenario.slowloris.connections >= 1
    # 0.5 s per byte: within the total timeout the client can only have seen a handful of header bytes.
    assert scenario.slowloris.bytes_sent < 40
    assert scenario.attacks.sent["slow-body"] < 10_000


def test_bulk_feed_is_capped(scenario: Outcome) -> None:
    """A 100,000-item feed stores the first ``max_items`` articles and the cycle goes on (the test's own
    timeout bounds it; how long it takes is a benchmark's figure, printed here for the reader)."""
    feed = scenario.feed("/bulk.xml")
    record = next(r for r in records_about(scenario.records, feed_id=feed.id) if hasattr(r, "new_items"))
    took = record.created - scenario.cycle_started
    print(
        f"\n{BULK_ITEMS:,}-item feed: fetched, parsed and {MAX_ITEMS} articles stored {took:.1f} s into the cycle"
    )
    assert record.new_items == MAX_ITEMS
    assert len(scenario.ledger.articles_of(feed.url)) == MAX_ITEMS


def test_absurd_dates_are_stored_without_a_date(scenario: Outcome) -> None:
    stored = scenario.ledger.articles_of(scenario.feed("/dates.xml").url)
    dates = {a.title: a.published_at for a in stored}
    basis = {a.title: a.published_at_basis for a in stored}
    for title in ("Year zero", "Year 9999", "Garbage", "February 31", "Epoch", "Missing"):
        assert basis[title] == "first_seen", title  # published when first seen, flagged as such
    offset = dates["Offset"]
    assert offset is not None and offset.hour == 15, "a real date with an offset is kept, in UTC"


def test_duplicate_guids_keep_every_distinct_story_once(scenario: Outcome) -> None:
    stored = scenario.ledger.articles_of(scenario.feed("/dup-guid.xml").url)
    titles = sorted(a.title for a in stored)
    assert titles == [
        "Home page link one",
        "Home page link two",
        "Newer story reusing the GUID",
        "Original story",
    ]
    keys = {a.title: a.key for a in stored}
    assert keys["Original story"] == "story", "the older story keeps the bare GUID"


def test_encodings_are_read_as_text(scenario: Outcome) -> None:
    """Bytes that are not the declared encoding are still read as text, never as raw bytes or NULs.

    A charset in the HTTP header wins over the document's own declaration (RFC 7303), so the feed whose
    header lies is read as windows-1251: its title is mojibake, and the warning checked above says so.
    """
    titles = {path: [a.title for a in scenario.ledger.articles_of(scenario.feed(path).url)]
              for path in ("/invalid-utf8.xml", "/lying-utf16.xml", "/lying-header.xml")}  # fmt: skip
    assert "Café ok" in titles["/invalid-utf8.xml"]
    assert titles["/lying-utf16.xml"] == ["Привет, мир"], "UTF-8 declared as UTF-16 is read as UTF-8"
    for title in (t for ts in titles.values() for t in ts):
        assert title and "\x00" not in title and "\ufffd\ufffd\ufffd" not in title


# -- the good feeds ---------------------------------------------------------------------------------


def test_good_feeds_are_stored_matched_and_delivered_exactly_once(scenario: Outcome) -> None:
    ledger = scenario.ledger
    assert ledger.duplicates() == [] and ledger.orphans() == []
    for path, (_, _, _, items) in GOOD.items():
        stored = ledger.articles_of(scenario.feed(path).url)
        assert sorted(a.guid or "" for a in stored) == sorted(g for g, _, _ in items), path
        assert all(a.processed for a in stored), "every article went through matching"
    matched = {
        a.guid
        for a in ledger.articles
        if (a.feed_url, a.key) in {(m.feed_url, m.key) for m in ledger.matches}
    }
    assert matched == MATCHING, "exactly the three articles about the claim match, nothing hostile does"
    assert len(ledger.matches) == len(MATCHING)
    first_seen = [e for e in ledger.events if e.type == "first_seen"]
    assert len(first_seen) == 1
    # One delivery per event and destination, each delivered, each received once.
    assert sorted((d.event_id, d.destination) for d in ledger.deliveries) == sorted(
        (e.id, dest) for e in ledger.events for dest in ("cms", "newsroom")
    )
    assert {d.status for d in ledger.deliveries} == {DeliveryStatus.DELIVERED.value}
    assert sorted(scenario.webhook.processed_ids) == sorted(e.id for e in ledger.events)
    assert scenario.webhook.duplicates == 0
    assert all(r.signature_error is None for r in scenario.webhook.requests)
    assert len(scenario.slack.requests) == len(ledger.events)


def test_markup_is_not_stored_and_slack_controls_are_escaped(scenario: Outcome) -> None:
    urls = (scenario.feed("/scripted.xml").url, scenario.feed("/markup.xml").url)
    stored = {a.guid: a for a in scenario.ledger.articles if a.feed_url in urls}
    scripted = stored["markup-1"].title + "\n" + stored["markup-1"].text
    assert not re.search(r"<\s*/?\s*(script|p|b|img)\b", scripted, re.IGNORECASE), scripted
    assert "alert(" not in scripted and "steal(" not in scripted and "onerror" not in scripted
    assert stored["markup-1"].title == "NATO has surpassed Russia in ammunition production again"
    slacked = stored["markup-2"]
    assert "<!channel>" in slacked.title and "<!channel>" in slacked.text, "plain text is kept as written"

    # Slack: the only <...> sequences are watcher's own links to the articles.
    texts = [t for r in scenario.slack.requests for t in _strings(r.json())]
    for text in texts:
        for control in SLACK_CONTROLS:
            assert control not in text, text
        for angle in re.findall(r"<([^<>]*)>", text):
            assert angle.startswith("https://news.example/"), f"unescaped <{angle}> in {text!r}"
    assert any("&lt;!channel&gt;" in t for t in texts), "the control sequence is shown, escaped"

    # The webhook JSON carries the same text as plain text: no HTML escaping, no markup.
    carried = [
        a
        for r in scenario.webhook.requests
        for a in r.json()["articles"]
        if a["article"]["url"].endswith("markup-2?utm_source=rss")
    ]
    assert carried, "the article is in a webhook body"
    assert carried[0]["article"]["title"] == slacked.title
    evidence = " ".join(carried[0]["evidence"])
    assert "<!channel>" in evidence and "&lt;" not in evidence


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


# -- memory and the second cycle --------------------------------------------------------------------


def test_memory_stays_bounded(scenario: Outcome) -> None:
    bombs = (scenario.attacks.rss_after_bombs_mb or 0) - scenario.rss_before_mb
    whole = scenario.rss_peak_mb - scenario.rss_before_mb
    print(
        f"\npeak RSS {scenario.rss_peak_mb:.0f} MB; growth during the cycle: {whole:.0f} MB in all, "
        f"{bombs:.0f} MB by the time the 100 MB bodies and the 10 GiB gzip bomb had been cut off"
    )
    assert scenario.attacks.bombs_over, "the bulk feed was served after the bombs"
    assert bombs < BOMB_RSS_BUDGET_MB
    assert whole < CYCLE_RSS_BUDGET_MB


def test_a_second_cycle_runs_and_changes_nothing_stored(scenario: Outcome) -> None:
    second = scenario.second
    assert second.feeds_polled == len(scenario.feeds)
    assert second.new_articles == 0 and second.events == 0 and second.delivered == 0
    before, after = scenario.ledger, scenario.ledger_after_second
    assert after.duplicates() == []
    assert sorted((a.feed_url, a.key) for a in after.articles) == sorted(
        (a.feed_url, a.key) for a in before.articles
    )
    assert len(after.matches) == len(before.matches) and len(after.events) == len(before.events)
    assert len(scenario.webhook.requests) == len(before.events), "nothing is sent twice"
    for case in CASES:
        feed = scenario.feeds_after_second[case.path]
        assert feed.error_count == (2 if case.field == "last_error" else 0), case.name


# -- private and loopback addresses -----------------------------------------------------------------


async def test_private_addresses_are_refused_unless_allowed(
    aiohttp_server: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Feeds and alert URLs on loopback are refused by default; ``allow_private`` opens them explicitly.

    A pipeline with ``allow_private`` (tests, intranets) stores the article first, so that the guarded
    pipeline has an event to deliver; the guarded one then refuses both feeds (by IP and by name) and
    both default destinations, and delivers only to the one destination that allows private addresses.
    """
    server = FeedServer({"/kyiv.xml": Route(body=rss("Kyiv Post", [STRAIGHT], pub_date=fresh()))})
    await server.start_under(aiohttp_server)
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    store = await open_store(db_url, upgrade=True)
    clock = Clock()
    try:
        async with (
            Receiver(secret=SECRET) as webhook,
            Receiver() as slack,
            Receiver(secret=SECRET) as intranet,
        ):
            by_ip = server.url("/kyiv.xml")
            by_name = by_ip.replace("127.0.0.1", "localhost")
            feeds = (
                FeedSpec(url=by_ip, outlet="Kyiv Post", country="UA", language="en", interval_s=INTERVAL_S),
                FeedSpec(url=by_name, outlet="Kyiv Post", country="UA", language="en", interval_s=INTERVAL_S),
            )
            destinations = (
                Destination(name="cms", kind="webhook", url=webhook.url("/hook"), secret=SECRET),
                Destination(name="newsroom", kind="slack", url=slack.url("/services/T000/B000/slack-token")),
                Destination(
                    name="intranet",
                    kind="webhook",
                    url=intranet.url("/hook"),
                    secret=SECRET,
                    allow_private=True,
                ),
            )
            allowed = Settings(
                database_url=db_url,
                feeds=feeds,
                claims=(CLAIM,),
                http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
                matching=MatchSettings(model=None),
                daemon=DaemonSettings(server_enabled=False),
            )
            guarded = Settings(
                database_url=db_url,
                feeds=feeds,
                destinations=destinations,
                claims=(CLAIM,),
                http=HttpSettings(total_timeout_s=5, connect_timeout_s=2),  # allow_private defaults to False
                matching=MatchSettings(model=None),
                daemon=DaemonSettings(server_enabled=False),
            )
            first = await Pipeline.open(allowed, store, clock=clock, load_model=False)
            try:
                await first.sync_config()
                polled = CycleReport()
                await first.poll(polled)
            finally:
                await first.close()
            assert (polled.feeds_polled, polled.feeds_failed) == (2, 0), "allow_private reaches loopback"
            hits = len(server.requests)

            clock.advance(seconds=INTERVAL_S + 60)
            caplog.clear()
            caplog.set_level(logging.INFO, logger="watcher")
            second = await Pipeline.open(guarded, store, clock=clock, load_model=False)
            try:
                await second.sync_config()
                report = await second.cycle()
            finally:
                await second.close()
            sent = (len(webhook.requests), len(slack.requests), len(intranet.requests))
        stored = {f.url: f for f in await store.list_feeds()}
        deliveries = await store.list_deliveries()
    finally:
        await store.close()

    assert (report.feeds_polled, report.feeds_failed) == (2, 2)
    assert len(server.requests) == hits, "no request left for a loopback feed"
    for url in (by_ip, by_name):
        feed = stored[url]
        assert "is not a public address (set allow_private to allow it)" in (feed.last_error or ""), feed
        logged = records_about(caplog.records, feed_id=feed.id, text="not a public address")
        assert logged and max(r.levelno for r in logged) >= logging.WARNING
    assert "localhost (127.0.0.1)" in (stored[by_name].last_error or ""), "the name and what it resolved to"

    assert report.events >= 1
    by_destination: dict[str, set[str]] = {}
    for d in deliveries:
        by_destination.setdefault(d.destination, set()).add(d.status.value)
    assert by_destination == {"cms": {"dead"}, "newsroom": {"dead"}, "intranet": {"delivered"}}
    assert sent == (0, 0, report.events), "only the destination that allows private addresses was contacted"
    for d in deliveries:
        if d.destination != "intranet":
            assert d.last_error == "address is not public (set allow_private to allow it)", d
    refusals = [r for r in caplog.records if getattr(r, "destination", None) in ("cms", "newsroom")]
    assert refusals and all("not public" in r.getMessage() for r in refusals if r.levelno >= logging.WARNING)
    leaked = [
        r.getMessage()
        for r in caplog.records
        if webhook.url("") in record_text(r) or "slack-token" in record_text(r)
    ]
    assert not leaked, "destination URLs never reach the logs"
