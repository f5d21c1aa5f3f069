"""Feed discovery against a real local server: the URL itself, page links, usual paths, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_aiohttp import AiohttpServer

from tests.support.article_pages import home_page
from tests.support.feed_server import FeedServer, Route, redirect
from watcher.ingest.discover import Discovery, discover_feeds
from watcher.ingest.http import HttpSettings, make_session

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
LOCAL = HttpSettings(allow_private=True, total_timeout_s=5.0)
HTML = "text/html; charset=utf-8"
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Site News</title>'
    b"<item><title>One</title><link>https://site.example/1</link></item></channel></rss>"
)
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Site JSON",
        "items": [{"id": "1", "title": "One"}],
    }
).encode()


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    site = FeedServer()
    await site.start_under(aiohttp_server)
    return site


async def discover(url: str, http: HttpSettings = LOCAL, **kwargs: bool) -> Discovery:
    async with make_session(http) as session:
        return await discover_feeds(session, url, http, now=NOW, **kwargs)


async def test_a_page_with_discovery_links(server: FeedServer) -> None:
    links = (
        '<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments.xml">'
        '<link rel="alternate" type="application/rss+xml" title="News" href="/news.xml">'
        '<link rel="alternate" type="application/feed+json" title="News (JSON)" href="feed.json">'
    )
    server.routes["/"] = Route(body=home_page(links), content_type=HTML)

    found = await discover(server.url("/"))

    assert found.ok
    assert [(c.url, c.source, c.title) for c in found.candidates] == [
        (server.url("/news.xml"), "link", "News"),
        (server.url("/feed.json"), "link", "News (JSON)"),
        (server.url("/comments.xml"), "link", "Comments"),
    ]
    assert [r.path for r in server.requests] == ["/"]  # links are listed, not fetched


async def test_links_resolve_against_the_final_url(server: FeedServer) -> None:
    server.routes["/"] = redirect("/home/", 301)
    links = '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
    server.routes["/home/"] = Route(body=home_page(links), content_type=HTML)

    found = await discover(server.url("/"))

    assert [c.url for c in found.candidates] == [server.url("/home/atom.xml")]


@pytest.mark.parametrize(
    ("body", "content_type", "title"),
    [(RSS, "application/rss+xml", "Site News"), (JSON_FEED, "application/feed+json", "Site JSON")],
)
async def test_a_feed_url_is_its_own_candidate(
    server: FeedServer, body: bytes, content_type: str, title: str
) -> None:
    server.routes["/feed"] = Route(body=body, content_type=content_type)

    found = await discover(server.url("/feed"))

    assert [(c.url, c.source, c.media_type, c.title) for c in found.candidates] == [
        (server.url("/feed"), "self", content_type, title)
    ]


async def test_usual_paths_are_tried_when_the_page_has_no_links(server: FeedServer) -> None:
    server.routes["/"] = Route(body=home_page(""), content_type=HTML)
    server.routes["/rss"] = Route(body=home_page(""), content_type=HTML)  # a soft 404: HTML, not a feed
    server.routes["/atom.xml"] = Route(body=RSS)
    server.routes["/feed.xml"] = Route(body=RSS)

    found = await discover(server.url("/"))

    assert [(c.url, c.source, c.title) for c in found.candidates] == [
        (server.url("/atom.xml"), "guess", "Site News")
    ]
    assert [r.path for r in server.requests] == ["/", "/feed", "/rss", "/rss.xml", "/atom.xml"]


async def test_nothing_found(server: FeedServer) -> None:
    server.routes["/"] = Route(body=home_page(""), content_type=HTML)

    found = await discover(server.url("/"))
    unguessed = await discover(server.url("/"), guess=False)

    assert not found.ok and found.error_kind == "no_feed" and found.candidates == []
    assert server.hits("/feed.json") == 1 and unguessed.error_kind == "no_feed"


async def test_a_failing_page_is_an_error_result(server: FeedServer) -> None:
    server.routes["/"] = Route(body=b"down", status=503, content_type=HTML)

    found = await discover(server.url("/"))

    assert (found.error_kind, found.error) == ("http", "HTTP 503 Service Unavailable")


async def test_discovery_goes_through_the_address_guard(server: FeedServer) -> None:
    server.routes["/"] = Route(body=home_page(""), content_type=HTML)

    found = await discover(server.url("/"), HttpSettings())

    assert found.error_kind == "refused" and server.requests == []
