"""Real-world feed quirks that stored wrong dates or wrong links, read by both parsers and through the pipeline.

- feedparser's ISO 8601 handler matches a prefix of a date and takes the fields it did not read from the current
  date: "2024/05/01 10:00" was stored as the 1st of this month, a Unix time "1714557600" as 2017-05-25;
- a time zone name feedparser does not know ("CEST", "BST", "JST") was read as UTC, hours off;
- a GUID without ``isPermaLink="false"`` that is a plain id ("101") became the link, resolved against the feed:
  a page that does not exist (or another one, whose text full-text extraction then took), shared by unrelated
  items of feeds on one host;
- markup escaped twice ("&amp;lt;p&amp;gt;") was stored as tags and entities in the title and text;
- FeedBurner's ``feedburner:origLink`` (the article's own link, next to a feedproxy.google.com one) was ignored,
  so the same story in another feed was not recognised as one;
- links through a redirector (Google Alerts' google.com/url, Bing News' click counter) were stored as such: the
  story was not recognised in other feeds, and full text was fetched from the redirector.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from storage.sql import SqlStore
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from watcher.domain import FeedSpec
from watcher.ingest.parse import Parser, parse_entries

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
ZONED_RFC822 = (  # JSON Feed dates are RFC 3339, but RFC 822 ones are common: the email parser reads them
    "Wed, 01 May 2024 10:00:00 CEST",
    "Wed, 01 May 2024 10:00:00 BST",
    "Wed, 01 May 2024 10:00:00 AEST",
    "Wed, 01 May 2024 10:00:00 EST",
)
PARSERS: list[Parser] = ["feedparser", "fast"]
FEEDBURNER = "http://rssnamespace.org/feedburner/ext/1.0"


def rss(items: str, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{namespaces}><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()


def dated(*dates: str) -> bytes:
    return rss(
        "".join(f"<item><title>Item {i}</title><pubDate>{d}</pubDate></item>" for i, d in enumerate(dates))
    )


def published(body: bytes, parser: Parser) -> list[datetime | None]:
    result = parse_entries(body, "https://news.example/feed", now=NOW, parser=parser)
    return [a.published_at for a in result.articles]


def at(hour: int, minute: int = 0) -> datetime:
    """A time on 1 May 2024, UTC: the day every dated item here was published."""
    return datetime(2024, 5, 1, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_date_feedparser_would_complete_from_today_is_read_whole_or_not_at_all(parser: Parser) -> None:
    dates = dated(
        "2024/05/01 10:00",  # year first, slashes: feedparser read the year and took this month, the 1st
        "2024.05.01 10:00:00 +0200",
        "2024/5/1",
        "1714557600",  # a Unix time: year 17, day 145
        "2024-W18",  # an ISO week: this month of 2024
        "2024-05-01T10:00:00 GMT",  # read whole, as before
    )
    assert published(dates, parser) == [at(10), at(8), at(0), None, None, at(10)]


@pytest.mark.parametrize("parser", PARSERS)
def test_time_zone_names_feedparser_does_not_know_are_applied(parser: Parser) -> None:
    dates = dated(
        "Wed, 01 May 2024 10:00:00 CEST",
        "Wed, 01 May 2024 10:00:00 BST",
        "Wed, 01 May 2024 10:00 JST",
        "Wed, 01 May 2024 10:00:00 AEST",
        "Wed, 01 May 2024 10:00:00 EST",  # feedparser's own: unchanged
        "Wed, 01 May 2024 10:00:00 IST",  # India, Ireland or Israel: read as UTC, as before
        "mer, 01 mai 2024 10:00:00 CEST",  # another language's names and a zone name
        "2024-05-01 10:00 CEST",  # ISO 8601 with a zone name: feedparser read the date only (midnight)
    )
    assert published(dates, parser) == [at(8), at(9), at(1), at(0), at(15), at(10), at(8), at(8)]


def test_time_zone_names_in_a_json_feed_are_applied() -> None:
    items = [{"id": str(i), "title": f"Item {i}", "date_published": d} for i, d in enumerate(ZONED_RFC822)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items}).encode()
    result = parse_entries(
        body, "https://news.example/feed.json", content_type="application/feed+json", now=NOW
    )
    assert [a.published_at for a in result.articles] == [at(8), at(9), at(0), at(15)]


@pytest.mark.parametrize("parser", PARSERS)
def test_a_guid_that_is_a_plain_id_is_no_link(parser: Parser) -> None:
    body = rss(
        "<item><title>Plain id</title><guid>101</guid></item>"
        "<item><title>Id and link alike</title><link>ep-7</link><guid>ep-7</guid></item>"
        "<item><title>Permalink</title><guid>https://news.example/a?utm_source=rss</guid></item>"
        "<item><title>Path</title><guid>/2024/05/b.html</guid></item>"
        '<item><title>Not a link</title><guid isPermaLink="false">https://news.example/c</guid></item>'
    )
    articles = parse_entries(body, "https://news.example/feed", now=NOW, parser=parser).articles
    assert [(a.key, a.url, a.canonical_url) for a in articles] == [
        ("101", "", ""),
        ("ep-7", "", ""),
        (
            "https://news.example/a?utm_source=rss",
            "https://news.example/a?utm_source=rss",
            "https://news.example/a",
        ),
        ("/2024/05/b.html", "https://news.example/2024/05/b.html", "https://news.example/2024/05/b.html"),
        ("https://news.example/c", "", ""),
    ]


@pytest.mark.parametrize("parser", PARSERS)
def test_markup_escaped_twice_is_read_as_markup(parser: Parser) -> None:
    body = rss(
        "<item><title>&amp;lt;b&amp;gt;Strike&amp;lt;/b&amp;gt; ends &amp;amp;amp; talks resume</title>"
        "<link>https://news.example/a</link><description>&amp;lt;p&amp;gt;Dockers return &amp;amp;amp; ships "
        "sail.&amp;lt;/p&amp;gt;&amp;lt;p&amp;gt;Talks resume.&amp;lt;/p&amp;gt;</description></item>"
        "<item><title>Browsers limit the &amp;lt;script&amp;gt; element</title><link>https://news.example/b</link>"
        "<description>Pages that load a &amp;lt;script&amp;gt; from elsewhere must say so.</description></item>"
    )
    articles = parse_entries(body, "https://news.example/feed", now=NOW, parser=parser).articles
    assert [(a.title, a.text) for a in articles] == [
        ("Strike ends & talks resume", "Dockers return & ships sail.\nTalks resume."),
        ("Browsers limit the <script> element", "Pages that load a <script> from elsewhere must say so."),
    ]


@pytest.mark.parametrize("parser", PARSERS)
def test_feedburner_orig_link_is_the_link(parser: Parser) -> None:
    body = rss(
        "<item><title>Proxied</title><link>http://feedproxy.google.com/~r/news/~3/abc/</link>"
        "<feedburner:origLink>https://news.example/a?utm_source=feedburner&amp;id=7</feedburner:origLink></item>"
        "<item><title>Relative original</title><link>https://news.example/b</link>"
        "<feedburner:origLink>/c</feedburner:origLink></item>",
        f' xmlns:feedburner="{FEEDBURNER}"',
    )
    articles = parse_entries(body, "https://news.example/feed", now=NOW, parser=parser).articles
    assert [(a.url, a.canonical_url) for a in articles] == [
        ("https://news.example/a?utm_source=feedburner&id=7", "https://news.example/a?id=7"),
        ("https://news.example/b", "https://news.example/b"),  # no absolute original: the item's link
    ]


@pytest.mark.parametrize("parser", PARSERS)
def test_links_through_a_redirector_are_the_articles_links(parser: Parser) -> None:
    google = "https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example/a%3Fid%3D7&amp;ct=ga&amp;usg=AOv"
    bing = "http://www.bing.com/news/apiclick.aspx?ref=FexRss&amp;url=https%3a%2f%2fnews.example%2fb&amp;c=1"
    body = rss(
        f"<item><title>Alert</title><link>{google}</link></item>"
        f"<item><title>Bing</title><link>{bing}</link></item>"
        "<item><title>Not a link</title><link>https://www.google.com/url?url=javascript:alert(1)</link></item>"
        "<item><title>Search</title><link>https://www.google.com/search?url=https://news.example/c</link></item>"
    )
    articles = parse_entries(body, "https://news.example/feed", now=NOW, parser=parser).articles
    assert [a.url for a in articles] == [
        "https://news.example/a?id=7",
        "https://news.example/b",
        "https://www.google.com/url?url=javascript:alert(1)",
        "https://www.google.com/search?url=https://news.example/c",
    ]


def test_links_through_a_redirector_in_a_json_feed_are_the_articles_links() -> None:
    item = {"id": "1", "title": "Alert", "url": "https://www.google.com/url?q=https://news.example/a&sa=U"}
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [item]}).encode()
    result = parse_entries(
        body, "https://news.example/feed.json", content_type="application/feed+json", now=NOW
    )
    assert [(a.url, a.canonical_url) for a in result.articles] == [
        ("https://news.example/a", "https://news.example/a")
    ]


async def test_quirky_feeds_store_the_right_links_stories_and_dates(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    """Three feeds carry one story (through FeedBurner, with a click id and a zone name, through Google Alerts),
    and two feeds on one host number their unrelated items alike: no link for those."""
    server.routes.update(
        {
            "/burner.xml": Route(
                body=rss(
                    "<item><title>Port strike ends after talks</title>"
                    "<link>http://feedproxy.google.com/~r/news/~3/xyz/</link>"
                    "<feedburner:origLink>https://news.example/port-strike?utm_source=feedburner"
                    '</feedburner:origLink><guid isPermaLink="false">fb-1</guid>'
                    "<description>Dock workers return on Monday.</description>"
                    "<pubDate>2024/05/01 10:00:00</pubDate></item>",
                    f' xmlns:feedburner="{FEEDBURNER}"',
                )
            ),
            "/wire.xml": Route(
                body=rss(
                    "<item><title>Dockers back at work as strike ends</title>"
                    "<link>https://news.example/port-strike?fbclid=abc</link><guid>w-1</guid>"
                    "<description>The union accepted the offer.</description>"
                    "<pubDate>Wed, 01 May 2024 12:30:00 CEST</pubDate></item>"
                )
            ),
            "/alerts.xml": Route(
                body=b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                b"<title>Google Alert - port strike</title><entry><id>tag:google.com,2013:googlealerts/feed:1</id>"
                b'<title type="html">&lt;b&gt;Port strike&lt;/b&gt; over: ships sail</title>'
                b'<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example/port-strike'
                b'%3Futm_source%3Dalerts&amp;ct=ga&amp;usg=AOvVaw"/><published>2024-05-01T10:05:00Z</published>'
                b'<content type="html">The first ships left the harbour.</content></entry></feed>',
                content_type="application/atom+xml",
            ),
            "/sport.xml": Route(body=rss("<item><title>Cup final tonight</title><guid>101</guid></item>")),
            "/weather.xml": Route(body=rss("<item><title>Storm warning</title><guid>101</guid></item>")),
        }
    )
    paths = ("/burner.xml", "/wire.xml", "/alerts.xml", "/sport.xml", "/weather.xml")
    feeds = [
        FeedSpec(url=server.url(p), outlet=p.strip("/"), interval_s=600, full_text="never") for p in paths
    ]
    pipeline = await make_pipeline(loopback_settings(db_url, feeds), Clock())

    report = await pipeline.cycle(all=True)

    assert (report.feeds_polled, report.feeds_failed) == (5, 0), report.errors
    stored = {a.title: a for a in await store.recent_articles(10)}
    strike, dockers = stored["Port strike ends after talks"], stored["Dockers back at work as strike ends"]
    assert strike.url == "https://news.example/port-strike?utm_source=feedburner"
    assert strike.canonical_url == dockers.canonical_url == "https://news.example/port-strike"
    alert = stored["Port strike over: ships sail"]
    assert alert.url == "https://news.example/port-strike?utm_source=alerts"
    assert strike.story_id == dockers.story_id == alert.story_id
    assert (strike.published_at, dockers.published_at) == (at(10), at(10, 30))
    assert (stored["Cup final tonight"].url, stored["Storm warning"].url) == ("", "")
    # Unrelated items without a link are each a story of their own: an empty link is no link to share.
    assert stored["Cup final tonight"].story_id != stored["Storm warning"].story_id
