"""A feed server for benchmarks: N distinct RSS 2.0 news feeds on 127.0.0.1, with or without validators.

Usage: python -m bench.ingest_server --feeds 2000 --items 20 [--port 0] [--gzip] [--slow-every N --slow-s S]
                                     [--lazy] [--changed-every K]

Prints ``listening http://127.0.0.1:PORT`` on stdout once it accepts connections, then serves until
killed. ``/feeds/NNNN.xml`` are the feeds; ``/plain/NNNN.xml`` are the same feeds as many CMSs serve
them: always 200 with the same body, no ETag, Last-Modified or Cache-Control. ``/urls.txt`` lists the
feeds' URLs; ``/_stats`` returns the number of responses per status so far (a client that claims to
have fetched can be checked); ``/_validators`` the ETag and Last-Modified each feed has now (a client
can be given them up front, as if it had fetched every feed before); ``/_counts`` the number of
requests each feed got so far, and the times of the first and last feed request since the previous
``/_counts`` (bench/scale.py: was every feed polled exactly once, and how long did it take).

Every body is built once at start-up, so serving costs the server as little as possible: it runs
in its own process and must not be what the benchmark measures. With ``--lazy`` (tens of thousands
of feeds) a body is built when first sent instead: a 304 needs only the validators, which follow
from the feed's index and version. A conditional GET gets a 304: If-None-Match is compared with the
ETag (any of a list, weak or strong); without it, an If-Modified-Since at or after Last-Modified
matches (RFC 9110 §13.1.3). With ``--slow-every N``, every Nth feed (index N-1, 2N-1, ...) answers
each request ``--slow-s`` seconds late (bench/stragglers.py). With ``--changed-every K``, every Kth
feed (index K-1, 2K-1, ...) publishes a new version of itself (new items, new validators) before each
request, so it answers every request with a 200 and new items.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape

from aiohttp import web

SECTIONS = ("world", "politics", "business", "technology", "science", "health", "europe", "climate", "sport")
SUBJECTS = (
    "Parliament", "The central bank", "NATO", "The European Commission", "Ukraine's army", "Regulators",
    "The health ministry", "Tech giants", "Union leaders", "Scientists", "The UN Security Council",
    "Investors", "Farmers", "The opposition", "Energy ministers", "Prosecutors", "Climate negotiators",
    "Airline executives", "The Supreme Court", "Local officials",
)  # fmt: skip
VERBS = (
    "approves", "rejects", "weighs", "delays", "backs", "warns over", "pushes for", "launches probe into",
    "signals shift on", "agrees deal on", "faces pressure over", "unveils plan for", "raises concerns about",
)  # fmt: skip
OBJECTS = (
    "ammunition production", "interest rates", "grain exports", "a new sanctions package", "AI rules",
    "the 2026 budget", "gas storage targets", "drone defences", "housing reform", "a ceasefire proposal",
    "chip subsidies", "emissions caps", "pension changes", "border controls", "vaccine supply",
    "rail strikes", "data privacy fines", "nuclear power plans", "the trade agreement", "wildfire response",
)  # fmt: skip
PLACES = (
    "Brussels",
    "Kyiv",
    "Washington",
    "Berlin",
    "Warsaw",
    "Paris",
    "London",
    "Tokyo",
    "Nairobi",
    "Brasília",
)
SOURCES = ("officials said", "according to people familiar with the matter", "a spokesperson confirmed",
           "analysts told reporters", "documents seen by reporters show")  # fmt: skip
FILLER = (
    "The move follows weeks of negotiations between the main parties and is expected to be challenged.",
    "Critics argue the measure does not go far enough, while supporters say it strikes the right balance.",
    "Markets reacted cautiously, with bond yields edging higher in early trading.",
    "The decision comes as pressure mounts on the government ahead of next year's elections.",
    "Details of the plan are due to be published later this week, officials said.",
    "It is the third such announcement this year, and the most far-reaching so far.",
    "Several member states have already signalled they will seek exemptions.",
    "The figures, compiled from national statistics offices, have not been independently verified.",
)  # fmt: skip
WIRE_SHARE = 0.1  # items that are the same wire story, word for word, in several outlets


@dataclass(frozen=True, slots=True)
class Feed:
    body: bytes
    gzipped: bytes
    etag: str
    last_modified: str
    modified_at: datetime


def _headline(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} in {rng.choice(PLACES)}"


def _description(rng: random.Random, headline: str, link: str) -> str:
    lead = f"<p><strong>{escape(rng.choice(PLACES))}</strong> &ndash; {escape(headline)}, {rng.choice(SOURCES)}.</p>"
    body = "".join(f"<p>{escape(s)}</p>" for s in rng.sample(FILLER, rng.randint(2, 4)))
    more = f'<p><a href="{escape(link)}" rel="nofollow">Read more &raquo;</a></p>'
    image = f'<img src="{escape(link)}.jpg" alt="" width="640" height="360"/>' if rng.random() < 0.5 else ""
    return image + lead + body + more


def _wire_stories(count: int) -> list[tuple[str, str]]:
    rng = random.Random(7)
    out = []
    for _ in range(count):
        headline = _headline(rng)
        out.append((headline, _description(rng, headline, "https://wire.example/story")))
    return out


def build_feed(
    index: int, items: int, base: datetime, wire: list[tuple[str, str]], version: int = 0
) -> bytes:
    """RSS 2.0 for feed ``index``: deterministic, distinct from every other feed and from its other versions."""
    rng = random.Random(index if not version else f"{index}/{version}")
    host = f"www.outlet{index:04d}.example"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>Outlet {index:04d} News</title>\n<link>https://{host}/</link>\n"
        f"<description>Latest news from Outlet {index:04d}</description>\n<language>en-gb</language>\n"
        f"<lastBuildDate>{format_datetime(base, usegmt=True)}</lastBuildDate>\n"
    ]
    for n in range(items):
        section = rng.choice(SECTIONS)
        slug_id = rng.randrange(10**6, 10**7)
        if rng.random() < WIRE_SHARE:
            headline, description = rng.choice(wire)
        else:
            headline = _headline(rng)
            description = ""
        slug = "-".join(headline.lower().replace("'", "").split()[:8])
        link = f"https://{host}/{section}/{slug}-{slug_id}?utm_source=rss&utm_medium=feed"
        description = description or _description(rng, headline, link.split("?")[0])
        published = base - timedelta(minutes=n * 37 + rng.randrange(30))
        parts.append(
            "<item>\n"
            f"<title>{escape(headline)}</title>\n<link>{escape(link)}</link>\n"
            f'<guid isPermaLink="false">{host}:{section}:{slug_id}</guid>\n'
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>\n"
            f"<dc:creator>{escape(rng.choice(('Staff', 'Anna Kowalska', 'John Smith', 'Mei Tanaka')))}</dc:creator>\n"
            f"<category>{section.title()}</category>\n"
            f"<description><![CDATA[{description}]]></description>\n</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


class FeedSet:
    """The feeds served, by index: each one's current version, its validators and body, and its requests.

    Validators follow from the index and the version (the body is a function of both and of ``base``),
    so a conditional request is answered without building the body. Bodies are built up front unless
    ``lazy``; a feed keeps only its current version's.
    """

    def __init__(
        self,
        count: int,
        items: int,
        base: datetime,
        *,
        use_gzip: bool = False,
        lazy: bool = False,
        changed_every: int = 0,
    ) -> None:
        self.count = count
        self.items = items
        self.base = base.replace(microsecond=0)
        self.use_gzip = use_gzip
        self.changed_every = changed_every
        self.wire = _wire_stories(40)
        self.versions = array("L", bytes(array("L").itemsize * count))
        self.requests = array("L", bytes(array("L").itemsize * count))
        self._built: dict[int, tuple[int, Feed]] = {}
        if not lazy:
            for index in range(count):
                self.feed(index)

    def __len__(self) -> int:
        return self.count

    def changes(self, index: int) -> bool:
        """Whether the feed publishes a new version before each request (``changed_every``)."""
        return bool(self.changed_every) and index % self.changed_every == self.changed_every - 1

    def modified_at(self, index: int) -> datetime:
        return self.base + timedelta(seconds=self.versions[index])

    def etag(self, index: int) -> str:
        return f'"{index:x}-{self.versions[index]:x}-{int(self.base.timestamp()):x}"'

    def last_modified(self, index: int) -> str:
        return format_datetime(self.modified_at(index), usegmt=True)

    def publish(self, index: int) -> None:
        """A new version of the feed: new items and new validators."""
        self.versions[index] += 1

    def feed(self, index: int) -> Feed:
        """The feed's current version, its body built now if it was not yet."""
        version = self.versions[index]
        built = self._built.get(index)
        if built is not None and built[0] == version:
            return built[1]
        body = build_feed(index, self.items, self.modified_at(index), self.wire, version)
        feed = Feed(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6) if self.use_gzip else b"",
            etag=self.etag(index),
            last_modified=self.last_modified(index),
            modified_at=self.modified_at(index),
        )
        self._built[index] = (version, feed)
        return feed

    def body_bytes(self) -> int:
        """The size of the bodies built so far (all of them unless lazy)."""
        return sum(len(feed.body) for _, feed in self._built.values())


def not_modified(etag: str, modified_at: datetime, request: web.Request) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = request.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        return since >= modified_at
    return False


def make_app(feeds: FeedSet, *, slow_every: int = 0, slow_s: float = 0.0) -> web.Application:
    stats: Counter[str] = Counter()
    window: dict[str, float | None] = {"first_at": None, "last_at": None}  # feed requests since /_counts
    app = web.Application()

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        index = int(name) if name.isdigit() else -1
        if not 0 <= index < len(feeds):
            stats["404"] += 1
            raise web.HTTPNotFound()
        feeds.requests[index] += 1
        window["last_at"] = time.time()
        window["first_at"] = window["first_at"] or window["last_at"]
        if feeds.changes(index):
            feeds.publish(index)
        if slow_every and index % slow_every == slow_every - 1:
            await asyncio.sleep(slow_s)
        plain = request.path.startswith("/plain/")
        etag = feeds.etag(index)
        validators = (
            {}
            if plain
            else {"ETag": etag, "Last-Modified": feeds.last_modified(index), "Cache-Control": "max-age=60"}
        )
        if not plain and not_modified(etag, feeds.modified_at(index), request):
            stats["304"] += 1
            return web.Response(status=304, headers=validators)
        feed = feeds.feed(index)
        stats["200"] += 1
        headers = {
            **validators,
            "Content-Type": "application/rss+xml; charset=utf-8",
            "Vary": "Accept-Encoding",
        }
        if feeds.use_gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            stats["bytes"] += len(feed.gzipped)
            return web.Response(body=feed.gzipped, headers={**headers, "Content-Encoding": "gzip"})
        stats["bytes"] += len(feed.body)
        return web.Response(body=feed.body, headers=headers)

    async def urls(request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.Response(text="".join(f"{base}/feeds/{i:04d}.xml\n" for i in range(len(feeds))))

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(dict(stats))

    async def get_validators(request: web.Request) -> web.Response:
        return web.json_response([[feeds.etag(i), feeds.last_modified(i)] for i in range(len(feeds))])

    async def get_counts(request: web.Request) -> web.Response:
        times = dict(window)
        window.update(first_at=None, last_at=None)
        return web.json_response({"requests": feeds.requests.tolist(), **times})

    app.router.add_get("/feeds/{name}.xml", serve)
    app.router.add_get("/plain/{name}.xml", serve)
    app.router.add_get("/urls.txt", urls)
    app.router.add_get("/_stats", get_stats)
    app.router.add_get("/_validators", get_validators)
    app.router.add_get("/_counts", get_counts)
    return app


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gzip", action="store_true", help="gzip bodies for clients that accept it")
    parser.add_argument("--slow-every", type=int, default=0, help="every Nth feed answers late")
    parser.add_argument("--slow-s", type=float, default=0.0, help="how late, in seconds")
    parser.add_argument("--lazy", action="store_true", help="build each body when first sent")
    parser.add_argument(
        "--changed-every", type=int, default=0, help="every Kth feed has new items at every request"
    )
    args = parser.parse_args(argv)
    feeds = FeedSet(
        args.feeds,
        args.items,
        datetime.now(UTC) - timedelta(minutes=5),
        use_gzip=args.gzip,
        lazy=args.lazy,
        changed_every=args.changed_every,
    )
    app = make_app(feeds, slow_every=args.slow_every, slow_s=args.slow_s)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    print(f"listening http://127.0.0.1:{port} feeds={len(feeds)} bytes={feeds.body_bytes()}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
