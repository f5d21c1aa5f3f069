"""JSON Feeds fetched from a real local server and parsed: good and hostile bodies, none of them a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from tests.support.feed_server import FeedServer, Route
from watcher.domain import Feed
from watcher.ingest.fetch import fetch_feed
from watcher.ingest.http import HttpSettings, make_session
from watcher.ingest.parse import MAX_ITEMS, ParseResult, parse_entries

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
LOCAL = HttpSettings(allow_private=True)
FEED_JSON = "application/feed+json"


def json_feed(items: Any, **top: Any) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items, **top}
    ).encode()


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    feeds = FeedServer()
    await feeds.start_under(aiohttp_server)
    return feeds


async def poll(server: FeedServer, path: str, route: Route) -> ParseResult:
    server.routes[path] = route
    feed = Feed(
        id=1, url=server.url(path), outlet="J", country="ZZ", language="en", leaning="unknown",
        ownership="unknown", interval_s=900,
    )  # fmt: skip
    async with make_session(LOCAL) as session:
        result = await fetch_feed(session, feed, LOCAL, now=NOW)
    assert result.ok and result.body is not None, result.error
    return parse_entries(result.body, result.final_url or feed.url, content_type=result.content_type, now=NOW)


async def test_a_json_feed_is_fetched_and_parsed(server: FeedServer) -> None:
    body = json_feed([{"id": "1", "url": "/a", "title": "Hello", "content_html": "<p>World</p>"}])

    parsed = await poll(server, "/feed.json", Route(body=body, content_type=FEED_JSON, gzip=True))

    assert parsed.title == "J" and [(a.title, a.text, a.url) for a in parsed.articles] == [
        ("Hello", "World", server.url("/a"))
    ]
    assert "application/feed+json" in server.last("/feed.json").headers["Accept"]


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        (b"[" * 500_000, "nested too deeply"),
        (b'{"items": ' + b"[]," * 2_000_000 + b"[]}", "values; not read"),
        (json_feed({"not": "a list"}), "not an array"),
        (json_feed([{"id": n, "title": f"t{n}"} for n in range(MAX_ITEMS + 1)]), "only the first"),
        (json_feed([{"id": "1", "title": "\u202e\x00x"}]).replace(b"x", b"\xff"), "not valid UTF-8"),
        (b'{"items": [1, "two", null, {"title": 3}]}', "not JSON objects"),
        (b"{" + b" " * 100 + b"truncated", "not valid JSON"),
    ],
)
async def test_hostile_json_feeds_are_warnings(server: FeedServer, body: bytes, warning: str) -> None:
    parsed = await poll(server, "/feed.json", Route(body=body, content_type=FEED_JSON))

    assert any(warning in w for w in parsed.warnings), parsed.warnings
    assert len(parsed.articles) <= MAX_ITEMS
