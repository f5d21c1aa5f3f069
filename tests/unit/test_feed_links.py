"""Feed links in HTML pages: types, relative hrefs, base, order, duplicates, junk."""

from __future__ import annotations

import time

from watcher.ingest.discover import MAX_LINKS, MAX_SCAN_CHARS, feed_links

BASE = "https://site.example/news/index.html"


def urls(markup: str, base: str = BASE) -> list[str]:
    return [c.url for c in feed_links(markup, base)]


def test_rss_atom_and_json_feed_links_are_found_and_resolved() -> None:
    markup = """<html><head>
    <link rel="alternate" type="application/rss+xml" title="All news" href="/rss.xml">
    <link rel="stylesheet" href="/style.css">
    <LINK REL="Alternate" TYPE="application/atom+xml; charset=utf-8" HREF="atom.xml"/>
    <link rel="alternate" type="application/feed+json" href="https://cdn.example/feed.json">
    <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
    <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
    </head><body></body></html>"""

    found = feed_links(markup, BASE)

    assert [(c.url, c.media_type, c.title, c.source) for c in found] == [
        ("https://site.example/rss.xml", "application/rss+xml", "All news", "link"),
        ("https://site.example/news/atom.xml", "application/atom+xml", None, "link"),
        ("https://cdn.example/feed.json", "application/feed+json", None, "link"),
    ]


def test_main_feeds_come_before_comment_feeds_and_plain_json_last() -> None:
    markup = """
    <link rel="alternate" type="application/json" href="/api/feed">
    <link rel="alternate" type="application/rss+xml" title="Comments Feed" href="/comments/feed/">
    <link rel="alternate" type="application/feed+json" href="/feed.json">
    <link rel="alternate" type="application/rss+xml" title="Site &raquo; Feed" href="/feed/">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
    """
    assert urls(markup) == [
        "https://site.example/feed/",
        "https://site.example/feed.json",
        "https://site.example/api/feed",
        "https://site.example/comments/feed/",
    ]
    assert feed_links(markup, BASE)[0].title == "Site » Feed"


def test_base_href_duplicates_and_bad_hrefs() -> None:
    markup = """<head><base href="https://other.example/sub/">
    <link rel="alternate" type="application/rss+xml" href="feed.xml">
    <link rel="alternate" type="application/rss+xml" href="https://other.example/sub/feed.xml?utm_source=x">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="">
    <link rel="alternate" type="application/rss+xml">
    <link rel="alternate" type="application/atom+xml" href="http://[bad">
    """
    assert urls(markup) == ["https://other.example/sub/feed.xml"]


def test_no_links_in_junk() -> None:
    for markup in (
        "",
        "not html at all",
        "<<<>>>" * 1000,
        "<link rel=alternate",
        "<!-- <link rel='alternate' ",
    ):
        assert feed_links(markup, BASE) == []


def test_link_count_and_scan_are_bounded() -> None:
    many = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/f{n}">' for n in range(MAX_LINKS * 2)
    )
    late = "<p>" + "x" * MAX_SCAN_CHARS + '</p><link rel="alternate" type="application/rss+xml" href="/late">'
    assert len(feed_links(many, BASE)) == MAX_LINKS
    assert feed_links(late, BASE) == []


def test_an_unfinished_tag_to_the_end_of_the_page_is_read_in_linear_time() -> None:
    # CVE-2025-6069: HTMLParser.close() read "<a <a <a ..." again from every "<": 60 KB took 42 s.
    head = '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>'
    for tail in ("<a " * 300_000, "<a b " * 200_000, "<p x=" * 200_000):
        started = time.process_time()

        assert urls(head + tail) == ["https://site.example/rss.xml"]
        assert time.process_time() - started < 5
