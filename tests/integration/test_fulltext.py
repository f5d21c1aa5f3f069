"""Full text and JSON Feed through the pipeline: article pages fetched for candidates only, once, politely."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.sql import SqlStore
from storage.tables import ArticleRow
from tests.support.article_pages import article_page, paywall_page
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.stories import CLAIM
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import FeedSpec
from watcher.ingest.pages import PageSettings
from watcher.ingest.parse import parse_entries
from watcher.pipeline import Pipeline

HTML = "text/html; charset=utf-8"
LEAD = (
    "NATO has surpassed Russia in ammunition production, Secretary General Mark Rutte said on Thursday, "
    "adding that allied factories now turn out more artillery shells than Russian ones."
)


def title_only_rss(items: list[tuple[str, str, str]]) -> bytes:
    """RSS whose items carry a title, a link and at most a line: (guid, title, link)."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>{link}</link>"
        "<pubDate>Thu, 06 Nov 2025 15:02:00 GMT</pubDate></item>"
        for g, t, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()
    )


def settings(server: FeedServer, db_url: str, *paths: str, full_text: str = "auto") -> Settings:
    return Settings(
        database_url=db_url,
        feeds=tuple(
            FeedSpec(
                url=server.url(p), outlet=p.strip("/"), language="en", interval_s=600, full_text=full_text
            )
            for p in paths
        ),
        claims=(CLAIM,),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        pages=PageSettings(min_interval_s=0),
        daemon=DaemonSettings(server_enabled=False),
    )


async def pages_of(store: SqlStore) -> dict[str, Any]:
    """Each stored article's page columns, by its feed key."""
    q = select(ArticleRow.key, ArticleRow.page_text, ArticleRow.page_fetched_at, ArticleRow.page_error)
    async with store.engine.connect() as conn:
        return {r.key: r for r in (await conn.execute(q)).all()}


async def run_cycle(settings: Settings, store: SqlStore) -> None:
    pipeline = await Pipeline.open(settings, store, clock=Clock(), load_model=False)
    try:
        await pipeline.sync_config()
        await pipeline.cycle(all=True)
    finally:
        await pipeline.close()


async def test_candidate_pages_are_read_once_and_failures_keep_the_feed_text(
    server: FeedServer, store: SqlStore, db_url: str
) -> None:
    server.routes["/robots.txt"] = Route(
        body=b"User-agent: *\nDisallow: /blocked\n", content_type="text/plain"
    )
    server.routes["/story"] = Route(body=article_page("Rutte on allied output", LEAD), content_type=HTML)
    server.routes["/paywall"] = Route(
        body=paywall_page("NATO ammunition: what we know", "A short teaser."), content_type=HTML
    )
    server.routes["/blocked"] = Route(body=article_page("NATO plants", LEAD), content_type=HTML)
    server.routes["/weather"] = Route(body=article_page("Weather", "Cold."), content_type=HTML)
    server.routes["/wire.xml"] = Route(
        body=title_only_rss(
            [
                ("story", "Rutte speaks on NATO ammunition", server.url("/story")),
                ("paywall", "NATO ammunition: what we know", server.url("/paywall")),
                ("blocked", "NATO ammunition plants expand", server.url("/blocked")),
                ("weather", "Weather in Kyiv turns cold", server.url("/weather")),
            ]
        )
    )
    await run_cycle(settings(server, db_url, "/wire.xml"), store)

    pages = await pages_of(store)
    assert pages["story"].page_text is not None and LEAD[:60] in pages["story"].page_text
    assert pages["story"].page_error is None
    assert pages["paywall"].page_text is None and pages["paywall"].page_error  # a stub: feed text kept
    assert pages["blocked"].page_text is None and "robots" in pages["blocked"].page_error
    assert server.hits("/blocked") == 0
    assert server.hits("/weather") == 0 and pages["weather"].page_fetched_at is None  # not a candidate
    # Matching and stance read the page: its sentences are the evidence.
    matches = await store.matches_for_claim((await store.get_claim(CLAIM.name)).id)
    match = next(m for m in matches if m.article.url == server.url("/story"))
    assert any("surpassed Russia in ammunition production" in e for e in match.evidence)
    stored = {a.url: a for a in await store.articles_since(None)}
    assert LEAD[:60] in stored[server.url("/story")].text  # the text to analyse is the page's

    # Pages are fetched once per article, whatever happened.
    await run_cycle(settings(server, db_url, "/wire.xml"), store)
    assert (server.hits("/story"), server.hits("/paywall")) == (1, 1)


async def test_full_text_never_fetches_nothing_and_always_skips_the_prefilter(
    server: FeedServer, store: SqlStore, db_url: str
) -> None:
    server.routes["/weather"] = Route(body=article_page("Weather", "Cold. " * 80), content_type=HTML)
    server.routes["/a.xml"] = Route(body=title_only_rss([("w", "Weather in Kyiv", server.url("/weather"))]))
    await run_cycle(settings(server, db_url, "/a.xml", full_text="never"), store)
    assert server.hits("/weather") == 0
    await store.sync_feeds([], source="config", now=Clock()())  # the next feed is a new one
    server.routes["/b.xml"] = Route(body=title_only_rss([("w2", "Weather in Lviv", server.url("/weather"))]))
    await run_cycle(settings(server, db_url, "/b.xml", full_text="always"), store)
    assert server.hits("/weather") == 1


async def test_a_hostile_json_feed_through_the_pipeline(
    server: FeedServer, store: SqlStore, db_url: str
) -> None:
    nested: Any = "deep"
    for _ in range(200):
        nested = {"x": nested}
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Hostile <b>JSON</b>",
        "items": [
            {
                "id": "1",
                "url": "javascript:alert(1)",
                "title": "NATO \u0000has\u0007 surpassed Russia <script>alert(1)</script>",
                "content_html": "<p>Fine</p><script>steal()</script><img src=x onerror=alert(1)>",
                "date_published": "not a date",
                "_extension": nested,
            },
            {"id": 2, "title": ["not", "a", "string"], "content_text": {"no": "text"}},
            "not an item",
            {"id": "3", "title": "T" * 100_000, "content_text": "ok " * 10},
            {
                "id": "4",
                "title": "Fine item",
                "content_text": "Plain.",
                "date_modified": "2025-11-05T10:00:00Z",
            },
        ],
    }
    server.routes["/feed.json"] = Route(
        body=json.dumps(document).encode(), content_type="application/feed+json"
    )
    await run_cycle(settings(server, db_url, "/feed.json", full_text="never"), store)
    (feed,) = await store.list_feeds()
    assert feed.error_count == 0
    stored = await store.articles_since(None)
    assert stored and all("<script" not in a.text and "<script" not in a.title for a in stored)
    assert all("\u0000" not in a.title and len(a.title) <= 1000 for a in stored)
    fine = next(a for a in stored if a.title == "Fine item")
    assert fine.published_at is not None and fine.published_at.day == 5  # date_modified stands in
    parsed = parse_entries(json.dumps(document).encode(), server.url("/feed.json"))
    assert [a.updated_at.day if a.updated_at else None for a in parsed.articles][-1] == 5
