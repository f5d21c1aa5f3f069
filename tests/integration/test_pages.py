"""Article pages from a real local server: extraction, stubs, robots.txt, politeness, limits, address guard."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohappyeyeballs import AddrInfoType
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from tests.support.article_pages import article_page, paywall_page
from tests.support.feed_server import FeedServer, Route, gzip_bomb, redirect
from watcher.ingest import pages as pages_module
from watcher.ingest.http import HttpSettings, PublicOnlyResolver, make_session, public_socket
from watcher.ingest.pages import PageFetcher, PageResult, PageSettings
from watcher.ingest.pool import ParsePool

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
HTML = "text/html; charset=utf-8"
LOCAL = HttpSettings(allow_private=True, total_timeout_s=5.0)
FAST = PageSettings(min_interval_s=0.0)
TITLE = "NATO overtakes Russia in shell production"
LEAD = "NATO members now produce more artillery shells than Russia, officials said on Wednesday."
FEED_TEXT = "NATO members now produce more shells than Russia."


def page(body: bytes = b"", **changes: object) -> Route:
    return Route(body=body, content_type=HTML, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    pages = FeedServer()
    await pages.start_under(aiohttp_server)
    return pages


async def fetch(
    url: str, http: HttpSettings = LOCAL, pages: PageSettings = FAST, feed_text: str = FEED_TEXT
) -> PageResult:
    async with make_session(http) as session:
        return await PageFetcher(session, http, pages).fetch_page(url, feed_text=feed_text, now=NOW)


async def test_a_news_article_yields_its_main_text_and_metadata(server: FeedServer) -> None:
    server.routes["/2025/11/nato"] = page(article_page(TITLE, LEAD, author="Jane Reporter"))

    result = await fetch(server.url("/2025/11/nato?utm_source=rss"))

    assert result.ok and result.error_kind is None, result.error
    assert result.status == 200 and result.final_url == server.url("/2025/11/nato?utm_source=rss")
    assert result.text is not None and LEAD in result.text and len(result.text) > 1000
    for chrome in ("Most read", "Cookie settings", "dataLayer", "Subscribe"):
        assert chrome not in result.text
    assert (result.title, result.author, result.language) == (TITLE, "Jane Reporter", "en")
    assert result.published_at == datetime(2025, 11, 5, tzinfo=UTC)
    sent = server.last("/2025/11/nato").headers
    assert sent["User-Agent"].startswith("watcher/") and "news claim monitor" in sent["User-Agent"]
    assert sent["Accept"].startswith("text/html")


async def test_the_language_is_detected_from_the_text_not_the_template(server: FeedServer) -> None:
    german = (
        "Die Nato-Staaten produzieren nach Angaben der Regierung inzwischen mehr Munition als Russland. "
        "Die Bundesregierung hat am Mittwoch neue Zahlen vorgelegt, die den Ausbau der Fabriken belegen."
    )
    server.routes["/de"] = page(article_page("Nato überholt Russland", german, paragraphs=0, lang="en"))

    result = await fetch(
        server.url("/de"), pages=PageSettings(min_interval_s=0, min_text_chars=50), feed_text=""
    )

    assert result.ok, result.error
    assert result.language == "de"


async def test_a_paywall_stub_keeps_the_feed_text(server: FeedServer) -> None:
    server.routes["/paid"] = page(paywall_page(TITLE, "Teaser line."))

    result = await fetch(server.url("/paid"))

    assert result.error_kind == "stub" and result.text is None
    assert result.error is not None and "paywall or stub" in result.error
    assert result.title == TITLE  # the metadata is still read
    assert (result.text or FEED_TEXT) == FEED_TEXT


async def test_a_page_no_longer_than_the_feed_text_is_a_stub(server: FeedServer) -> None:
    server.routes["/a"] = page(article_page(TITLE, LEAD, paragraphs=3))
    long_feed_text = "x" * 5_000

    result = await fetch(server.url("/a"), feed_text=long_feed_text)

    assert result.error_kind == "stub"


# -- robots.txt -----------------------------------------------------------------------------------------


async def test_robots_disallow_is_honoured_and_cached(server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(
        body=b"User-agent: *\nDisallow: /private/\n\nUser-agent: watcher\nDisallow: /no-bots/\n",
        content_type="text/plain",
    )
    server.routes["/private/a"] = page(article_page(TITLE, LEAD))
    server.routes["/no-bots/a"] = page(article_page(TITLE, LEAD))
    server.routes["/public/a"] = page(article_page(TITLE, LEAD))

    async with make_session(LOCAL) as session:
        fetcher = PageFetcher(session, LOCAL, FAST)
        results = [
            await fetcher.fetch_page(server.url(p), now=NOW) for p in ("/no-bots/a", "/public/a", "/public/a")
        ]

    assert [r.error_kind for r in results] == ["robots", None, None]
    assert results[0].error == "disallowed by robots.txt"
    assert server.hits("/no-bots/a") == 0 and server.hits("/public/a") == 2
    assert server.hits("/robots.txt") == 1


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True), (500, False), (503, False)])
async def test_robots_status_follows_rfc_9309(server: FeedServer, status: int, allowed: bool) -> None:
    server.routes["/robots.txt"] = Route(status=status, body=b"Disallow: /", content_type="text/plain")
    server.routes["/a"] = page(article_page(TITLE, LEAD))

    result = await fetch(server.url("/a"))

    assert result.ok is allowed, result.error
    assert server.hits("/a") == int(allowed)


async def test_robots_crawl_delay_spaces_requests(server: FeedServer) -> None:
    # urllib.robotparser reads whole seconds only.
    server.routes["/robots.txt"] = Route(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    stamps = _stamped(server, "/a", page(article_page(TITLE, LEAD)))

    async with make_session(LOCAL) as session:
        fetcher = PageFetcher(session, LOCAL, FAST)
        began = time.monotonic()
        await asyncio.gather(*(fetcher.fetch_page(server.url("/a"), now=NOW) for _ in range(2)))

    assert len(stamps) == 2 and stamps[1] - began >= 0.99, stamps


# -- politeness -----------------------------------------------------------------------------------------


def _stamped(server: FeedServer, path: str, route: Route, delay_s: float = 0.0) -> list[float]:
    """Serve ``route`` at ``path`` and record when each request arrived (and how many overlap)."""
    stamps: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        stamps.append(time.monotonic())
        await asyncio.sleep(delay_s)
        return web.Response(body=route.body, content_type="text/html", charset="utf-8")

    server.routes[path] = handler
    return stamps


async def test_per_host_minimum_interval(server: FeedServer) -> None:
    stamps = _stamped(server, "/a", page(article_page(TITLE, LEAD)))

    async with make_session(LOCAL) as session:
        fetcher = PageFetcher(session, LOCAL, PageSettings(min_interval_s=0.2, per_host=4))
        await fetcher.fetch_page(server.url("/a"), now=NOW)
        await asyncio.sleep(0.2)
        began = time.monotonic()
        results = await asyncio.gather(*(fetcher.fetch_page(server.url("/a"), now=NOW) for _ in range(4)))

    assert all(r.ok for r in results)
    # The k-th request cannot start before k intervals have passed (a busy machine only delays it).
    later = [stamp - began for stamp in stamps[1:]]
    assert all(at >= k * 0.2 - 0.01 for k, at in enumerate(later)), later


async def test_per_host_concurrency(server: FeedServer) -> None:
    in_flight = peak = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.1)
        in_flight -= 1
        return web.Response(body=article_page(TITLE, LEAD), content_type="text/html")

    server.routes["/a"] = handler
    async with make_session(LOCAL) as session:
        fetcher = PageFetcher(session, LOCAL, PageSettings(min_interval_s=0, per_host=2))
        results = await asyncio.gather(*(fetcher.fetch_page(server.url("/a"), now=NOW) for _ in range(6)))

    assert all(r.ok for r in results) and peak == 2


async def test_idle_hosts_are_forgotten_beyond_the_limit(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages_module, "MAX_HOSTS", 1)
    server.routes["/a"] = page(article_page(TITLE, LEAD))
    port = server.url("/").rsplit(":", 1)[1].strip("/")

    async with make_session(LOCAL) as session:
        fetcher = PageFetcher(session, LOCAL, PageSettings(min_interval_s=0, robots_ttl_s=0))
        for host in ("127.0.0.1", "localhost", "127.0.0.1"):
            assert (await fetcher.fetch_page(f"http://{host}:{port}/a", now=NOW)).ok
        assert len(fetcher._hosts) == 1


# -- limits and failures ----------------------------------------------------------------------------------


async def test_failures_are_results(server: FeedServer) -> None:
    server.routes["/missing"] = page(b"gone", status=404)
    server.routes["/pdf"] = Route(body=b"%PDF-1.7", content_type="application/pdf")
    server.routes["/big"] = page(b"<p>" + b"a" * (300 * 1024))
    server.routes["/tags"] = page(
        b"<p>x y</p>" * (pages_module.MAX_PAGE_TAGS // 2 + 1)
    )  # within the byte cap
    server.routes["/bomb"] = page(gzip_bomb(64 * 1024 * 1024), headers={"Content-Encoding": "gzip"})
    server.routes["/slow"] = page(article_page(TITLE, LEAD), delay_s=5)
    server.routes["/loop"] = redirect("/loop2", 302)
    server.routes["/loop2"] = redirect("/loop", 302)
    server.routes["/garbage"] = page(b"\x00\xff\xfe<<<<>>>>" * 1000)
    server.routes["/empty"] = page(b"")
    http = HttpSettings(allow_private=True, total_timeout_s=0.5)
    pages = PageSettings(min_interval_s=0, max_body_bytes=256 * 1024)

    async with make_session(http) as session:
        fetcher = PageFetcher(session, http, pages)
        results = {
            path: await fetcher.fetch_page(server.url(path), now=NOW)
            for path in ("/missing", "/pdf", "/big", "/tags", "/bomb", "/slow", "/loop", "/garbage", "/empty")
        }
        unsupported = await fetcher.fetch_page("ftp://example.org/a", now=NOW)
        invalid = await fetcher.fetch_page("http://[::1", now=NOW)

    kinds = {path: (r.error_kind, r.status) for path, r in results.items()}
    assert kinds == {
        "/missing": ("http", 404),
        "/pdf": ("not_html", 200),
        "/big": ("oversized", 200),
        "/tags": ("oversized", 200),
        "/bomb": ("oversized", 200),
        "/slow": ("timeout", None),
        "/loop": ("redirect", None),
        "/garbage": ("extract", 200),
        "/empty": ("extract", 200),
    }
    assert all(r.text is None and r.error for r in results.values())
    assert (unsupported.error_kind, invalid.error_kind) == ("refused", "refused")


async def test_pages_extract_in_worker_processes_and_one_past_the_time_limit_is_given_up(
    server: FeedServer,
) -> None:
    server.routes["/2025/11/nato"] = page(article_page(TITLE, LEAD, author="Jane Reporter"))
    url = server.url("/2025/11/nato")
    workers = ParsePool(1)
    try:
        async with make_session(LOCAL) as session:
            # Starting a worker and importing the extractor in it take far longer than 0.05 s.
            hurried = PageFetcher(session, LOCAL, replace(FAST, extract_time_limit_s=0.05), workers=workers)
            given_up = await hurried.fetch_page(url, feed_text=FEED_TEXT, now=NOW)
            assert workers.pids() == []  # its worker was killed with its pool
            fetcher = PageFetcher(session, LOCAL, FAST, workers=workers)
            result = await fetcher.fetch_page(url, feed_text=FEED_TEXT, now=NOW)
            assert len(workers.pids()) == 1  # extracted on a new pool
    finally:
        workers.close()

    assert (given_up.error_kind, given_up.status, given_up.text) == ("extract", 200, None)
    assert given_up.error == "extraction took over 0.05 s; the page was given up"
    assert result.ok and result.text is not None and LEAD in result.text
    assert (result.title, result.author, result.language) == (TITLE, "Jane Reporter", "en")
    async with make_session(LOCAL) as session:
        in_thread = await PageFetcher(session, LOCAL, FAST).fetch_page(url, feed_text=FEED_TEXT, now=NOW)
    assert replace(in_thread, elapsed_ms=0) == replace(result, elapsed_ms=0)


# -- the address guard --------------------------------------------------------------------------------------


@pytest.fixture
async def pretend_public(server: FeedServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A session with the production guard, except that ``server``'s port stands in for a public host.

    Nothing public can listen on this machine, so the "public" first hop is the local server; every
    other connection goes through the real guard (``PublicOnlyResolver`` and ``public_socket``).
    """
    port = int(server.url("/").rsplit(":", 1)[1].strip("/"))

    def socket_factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if sockaddr[1] == port:
            return socket.socket(family=family, type=type_, proto=proto)
        return public_socket(addr_info)

    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(), socket_factory=socket_factory)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_redirect_from_public_to_private_is_refused(
    server: FeedServer, aiohttp_server: AiohttpServer, pretend_public: aiohttp.ClientSession, host: str
) -> None:
    internal = FeedServer({"/secret": page(article_page("internal", "an internal page " * 50))})
    await internal.start_under(aiohttp_server)
    internal_port = internal.url("/").rsplit(":", 1)[1].strip("/")
    server.routes["/story"] = redirect(f"http://{host}:{internal_port}/secret", 302)
    guarded = HttpSettings(allow_private=False, total_timeout_s=5.0)

    result = await PageFetcher(pretend_public, guarded, FAST).fetch_page(server.url("/story"), now=NOW)

    assert result.error_kind == "refused", result.error
    assert result.error is not None and "not a public address" in result.error
    assert server.hits("/story") == 1
    assert internal.requests == []  # not even its robots.txt


async def test_the_default_session_refuses_private_pages(server: FeedServer) -> None:
    server.routes["/a"] = page(article_page(TITLE, LEAD))

    result = await fetch(server.url("/a"), HttpSettings())

    assert result.error_kind == "refused" and server.requests == []
