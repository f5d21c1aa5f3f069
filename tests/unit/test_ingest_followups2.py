"""Ingest follow-ups: AMP copies canonicalise as their pages, an empty link gives way to a permalink GUID, and an
episode's enclosure is the link of an item that has no other, the same through feedparser and the fast reader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.parse_diff import compare
from watcher.domain import ArticleIn
from watcher.ingest import fastfeed
from watcher.ingest.parse import Parser, _to_safe_utf8, parse_entries
from watcher.ingest.urls import MAX_AMP_PATH_CHARS, amp_origin, canonicalize, unwrap_redirect

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FEED = "https://feeds.example.com/podcast/rss.xml"
PARSERS: list[Parser] = ["feedparser", "fast"]


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    ).encode()


def atom(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Feed</title>'
        + "".join(f"<entry>{entry}</entry>" for entry in entries)
        + "</feed>"
    ).encode()


def articles(body: bytes, parser: Parser) -> list[ArticleIn]:
    return parse_entries(body, FEED, now=NOW, parser=parser).articles


def links(body: bytes, parser: Parser) -> list[tuple[str, str, str]]:
    return [(a.key, a.url, a.canonical_url) for a in articles(body, parser)]


def assert_fast_path_agrees(body: bytes) -> None:
    """The fast reader takes the body (it does not hand it to feedparser) and yields feedparser's records."""
    assert fastfeed.parse_feed(_to_safe_utf8(body, None, [])) is not None
    assert compare(body, FEED) == ("agreed", "")


# -- AMP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amp", "page"),
    [
        ("https://example.com/amp/2025/11/story", "https://example.com/2025/11/story"),
        ("https://example.com/2025/11/story/amp/", "https://example.com/2025/11/story/"),  # WordPress
        ("https://example.com/2025/11/story/amp", "https://example.com/2025/11/story"),
        ("https://example.com/story.amp", "https://example.com/story"),
        ("https://example.com/world/story.amp.html", "https://example.com/world/story.html"),
        ("https://example.com/story?amp=1", "https://example.com/story"),
        ("https://example.com/story?amp", "https://example.com/story"),
        ("https://example.com/story?AMP=true&id=7", "https://example.com/story?id=7"),
        ("https://example.com/story?outputType=amp", "https://example.com/story"),
        ("https://example.com/story?id=7&outputType=AMP&utm_source=x", "https://example.com/story?id=7"),
        (
            "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/story",
            "https://www.example.com/story",
        ),
        (
            "https://www-example-com.cdn.ampproject.org/v/s/www.example.com/2025/story/amp/?amp_js_v=0.1&usqp=mq3#a",
            "https://www.example.com/2025/story/",
        ),
        (
            "https://www-example-com.cdn.ampproject.org/c/www.example.com/story",
            "http://www.example.com/story",
        ),
        ("https://www.google.com/amp/s/www.example.com/story.amp", "https://www.example.com/story"),
        ("https://google.com/amp/s/www.example.com/amp/story?page=2", "https://www.example.com/story?page=2"),
        ("https://example.com/amp/news/story/amp/", "https://example.com/news/story/"),  # both markers
    ],
)
def test_an_amp_copy_canonicalises_as_its_page(amp: str, page: str) -> None:
    assert canonicalize(amp) == canonicalize(page) == page


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/camping/",
        "https://example.com/amp-stadium-opens",
        "https://example.com/news/amped-up-crowd",
        "https://example.com/2025/lamp/",
        "https://example.com/summer.camp",
        "https://example.com/story.amplified",
        "https://example.com/ampersand/story",
        "https://example.com/amp",  # a site's AMP home page: no rule maps it
        "https://example.com/amp/",
        "https://example.com/story?amp=0",
        "https://example.com/story?ampm=1",
        "https://example.com/story?outputType=html",
        "https://example.com/story?amp_id=4",
        "https://amp.example.com/story",  # a host of its own: its non-AMP host is the site's to say
        "https://www-example-com.cdn.ampproject.org/i/s/www.example.com/photo.jpg",  # an image, not a page
    ],
)
def test_amp_inside_a_word_or_without_a_page_is_left_alone(url: str) -> None:
    assert canonicalize(url) == url


def test_a_relative_amp_link_resolves_against_the_feed_first() -> None:
    assert canonicalize("/amp/2025/11/story", FEED) == "https://feeds.example.com/2025/11/story"
    assert canonicalize("story/amp/", FEED) == "https://feeds.example.com/podcast/story/"


def test_an_amp_cache_or_viewer_link_unwraps_to_the_publishers_page() -> None:
    cache = "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/2025/story/amp?amp_gsa=1&id=3"
    assert unwrap_redirect(cache) == "https://www.example.com/2025/story/amp?id=3"  # the page fetched
    assert (
        amp_origin("https://www.google.com/amp/s/news.example.org/a.amp") == "https://news.example.org/a.amp"
    )
    # A Google Alerts redirect to an AMP cache link: both unwrapped.
    alert = (
        "https://www.google.com/url?url=https://news-example-org.cdn.ampproject.org/c/s/news.example.org/a"
    )
    assert unwrap_redirect(alert) == "https://news.example.org/a"
    # Publishers' own AMP pages stay as published: only the canonical form drops the marker.
    assert unwrap_redirect("https://example.com/story/amp/") == "https://example.com/story/amp/"


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.ampproject.org/c/s/www.example.com/story",  # the bare suffix is no cache host
        "https://www-example-com.cdn.ampproject.org/r/s/www.example.com/script.js",
        "https://www-example-com.cdn.ampproject.org/c/s/",
        "https://www-example-com.cdn.ampproject.org/c/s/localhost/x",  # no host with a dot
        "https://x.cdn.ampproject.org/c/s/user@evil.example/x",
        "https://x.cdn.ampproject.org/c/s/bad host.example/x",
        "https://x.cdn.ampproject.org/c/s/www.example.com:99999/x",
        "ftp://x.cdn.ampproject.org/c/s/www.example.com/x",
        "https://www.google.com/search?q=amp",
        "https://www.google.com/amp",
        "https://evil.example/c/s/www.example.com/story",
        "https://cdn.ampproject.org.evil.example/c/s/www.example.com/story",
    ],
)
def test_what_is_no_amp_cache_page_is_not_unwrapped(url: str) -> None:
    assert amp_origin(url) is None
    assert unwrap_redirect(url) == url


_AMP_SEGMENTS = st.sampled_from(
    ["amp", "amp", "story", "x.amp", "amp.amp", ".amp", "", "camping", "y.amp.html", "s", "c", "v",
     "www.example.com", "www-example-com.cdn.ampproject.org", "www.google.com"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(
        ["example.com", "www-example-com.cdn.ampproject.org", "www.google.com", "Google.COM."]
    ),
    path=st.lists(_AMP_SEGMENTS, max_size=7).map(lambda parts: "/" + "/".join(parts)),
    query=st.sampled_from(["", "?amp=1", "?amp", "?a=1&outputType=amp", "?amp=0", "?amp_js_v=1&b=2"]),
)
def test_canonicalising_an_amp_url_twice_changes_nothing(
    scheme: str, host: str, path: str, query: str
) -> None:
    once = canonicalize(f"{scheme}://{host}{path}{query}")
    assert once is not None
    assert canonicalize(once) == once
    assert "amp=1" not in once and "outputType" not in once


def test_a_path_over_the_limit_is_left_as_it_is() -> None:
    long = "https://example.com/amp/" + "a" * MAX_AMP_PATH_CHARS + "/amp/"
    assert canonicalize(long) == long
    assert canonicalize(long.replace("a" * MAX_AMP_PATH_CHARS, "a")) == "https://example.com/a/"


@pytest.mark.parametrize("parser", PARSERS)
def test_the_same_story_through_its_amp_copies_has_one_canonical_url(parser: Parser) -> None:
    page = "https://www.example.com/2025/11/story"
    own = rss(f"<title>Story</title><link>{page}</link>")
    amp = rss("<title>Story</title><link>https://www.example.com/amp/2025/11/story</link>")
    cache = rss(
        "<title>Story</title>"
        "<link>https://www-example-com.cdn.ampproject.org/c/s/www.example.com/2025/11/story/amp</link>"
    )
    assert links(own, parser) == [(page, page, page)]
    # With no GUID the canonical URL is the key too, so the story is one item whatever the feed links to.
    assert links(amp, parser) == [(page, "https://www.example.com/amp/2025/11/story", page)]
    assert links(cache, parser) == [(page, "https://www.example.com/2025/11/story/amp", page)]
    for body in (own, amp, cache):
        assert_fast_path_agrees(body)


# -- an empty link beside a GUID --------------------------------------------------------------------


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    "item",
    [
        "<title>A</title><link/><guid>https://news.example/a</guid>",
        "<title>A</title><link></link><guid>https://news.example/a</guid>",
        "<title>A</title><link>  \n </link><guid>https://news.example/a</guid>",
        "<title>A</title><guid>https://news.example/a</guid><link/>",  # the GUID first
        '<title>A</title><link/><guid isPermaLink="true">https://news.example/a</guid>',
        "<title>A</title><guid>https://news.example/a</guid>",  # no link element: as before
    ],
)
def test_an_empty_link_gives_way_to_a_permalink_guid(parser: Parser, item: str) -> None:
    body = rss(item)
    assert links(body, parser) == [
        ("https://news.example/a", "https://news.example/a", "https://news.example/a")
    ]
    assert_fast_path_agrees(body)


@pytest.mark.parametrize("parser", PARSERS)
def test_an_empty_link_takes_no_guid_that_is_no_permalink(parser: Parser) -> None:
    body = rss(
        '<title>Not a link</title><link/><guid isPermaLink="false">https://news.example/c</guid>',
        "<title>Plain id</title><link/><guid>101</guid>",
        "<title>Path</title><link></link><guid>/2024/05/b.html</guid>",
        '<title>Permalink</title><link/><guid isPermaLink="true">https://news.example/d</guid>',
    )
    # feedparser does not keep isPermaLink: in a body where some GUID says it is none, an empty link stays empty
    # (the permalink too), in both readers alike.
    assert links(body, parser) == [
        ("https://news.example/c", "", ""),
        ("101", "", ""),
        ("/2024/05/b.html", "", ""),
        ("https://news.example/d", "", ""),
    ]
    assert_fast_path_agrees(body)
    without_false = rss(
        "<title>Plain id</title><link/><guid>101</guid>",
        "<title>Path</title><link></link><guid>/2024/05/b.html</guid>",
    )
    # A plain id is never a link; a permalink path resolves against the feed, as with no link element.
    assert links(without_false, parser) == [
        ("101", "", ""),
        (
            "/2024/05/b.html",
            "https://feeds.example.com/2024/05/b.html",
            "https://feeds.example.com/2024/05/b.html",
        ),
    ]
    assert_fast_path_agrees(without_false)


@pytest.mark.parametrize("parser", PARSERS)
def test_an_empty_atom_link_gives_way_to_the_entry_id(parser: Parser) -> None:
    body = atom(
        '<title>A</title><id>https://news.example/a</id><link href=""/>',
        '<title>B</title><id>tag:news.example,2025:b</id><link rel="alternate" href="  "/>',
        '<title>C</title><id>https://news.example/c</id><link rel="Alternate" type="TEXT/HTML" href="/c1"/>',
    )
    assert links(body, parser) == [
        ("https://news.example/a", "https://news.example/a", "https://news.example/a"),
        ("tag:news.example,2025:b", "", ""),
        ("https://news.example/c", "https://feeds.example.com/c1", "https://feeds.example.com/c1"),
    ]
    assert_fast_path_agrees(body)


# -- enclosures -------------------------------------------------------------------------------------

MP3 = '<enclosure url="https://cdn.example.com/ep1.mp3?utm_source=rss" length="1" type="audio/mpeg"/>'


@pytest.mark.parametrize("parser", PARSERS)
def test_an_episode_with_no_other_link_is_linked_to_its_enclosure(parser: Parser) -> None:
    body = rss(
        f"<title>Episode 1</title>{MP3}",
        f'<title>Episode 2</title><guid isPermaLink="false">ep-2</guid>{MP3.replace("ep1", "ep2")}',
        '<title>Episode 3</title><description>Notes</description><enclosure url="/media/ep3.m4a" type="audio/x-m4a"/>',
        '<description>Notes only</description><enclosure url="https://cdn.example.com/ep4.mp4" type="Video/MP4"/>',
    )
    assert links(body, parser) == [
        (
            "https://cdn.example.com/ep1.mp3",  # no GUID: keyed by the episode's canonical URL
            "https://cdn.example.com/ep1.mp3?utm_source=rss",
            "https://cdn.example.com/ep1.mp3",
        ),
        ("ep-2", "https://cdn.example.com/ep2.mp3?utm_source=rss", "https://cdn.example.com/ep2.mp3"),
        ("https://feeds.example.com/media/ep3.m4a", *["https://feeds.example.com/media/ep3.m4a"] * 2),
        ("https://cdn.example.com/ep4.mp4", *["https://cdn.example.com/ep4.mp4"] * 2),
    ]
    assert [a.title for a in articles(body, parser)] == ["Episode 1", "Episode 2", "Episode 3", ""]
    assert_fast_path_agrees(body)


@pytest.mark.parametrize("parser", PARSERS)
def test_a_better_link_comes_before_the_enclosure(parser: Parser) -> None:
    body = rss(
        f"<title>Own page</title><link>https://pod.example.com/ep1</link>{MP3}",
        f"<title>Permalink</title><guid>https://pod.example.com/ep2</guid>{MP3}",
        f"<title>Empty link</title><link/><guid>https://pod.example.com/ep3</guid>{MP3}",
        f"<title>Redirected</title><link>https://www.google.com/url?url=https://pod.example.com/ep4</link>{MP3}",
    )
    assert [a.url for a in articles(body, parser)] == [
        "https://pod.example.com/ep1",
        "https://pod.example.com/ep2",
        "https://pod.example.com/ep3",
        "https://pod.example.com/ep4",
    ]
    assert_fast_path_agrees(body)


@pytest.mark.parametrize("parser", PARSERS)
def test_only_an_audio_or_video_enclosure_is_a_link(parser: Parser) -> None:
    body = rss(
        '<title>Picture</title><enclosure url="https://cdn.example.com/default.jpg" type="image/jpeg"/>',
        '<title>Untyped</title><enclosure url="https://cdn.example.com/x.mp3"/>',
        '<title>Script</title><enclosure url="javascript:alert(1)" type="audio/mpeg"/>',
        '<title>Empty</title><enclosure url="" type="audio/mpeg"/>',
        '<title>First episode</title><enclosure url="https://cdn.example.com/p.jpg" type="image/jpeg"/>'
        '<enclosure url="https://cdn.example.com/e.ogg" type="audio/ogg"/>'
        '<enclosure url="https://cdn.example.com/e.mp4" type="video/mp4"/>',
    )
    # A picture shared by every item of a feed would make them one story: such items keep no link, as before.
    assert [(a.title, a.url) for a in articles(body, parser)] == [
        ("Picture", ""),
        ("Untyped", ""),
        ("Script", ""),
        ("Empty", ""),
        ("First episode", "https://cdn.example.com/e.ogg"),
    ]
    assert_fast_path_agrees(body)


@pytest.mark.parametrize("parser", PARSERS)
def test_an_enclosure_alone_is_still_an_empty_item(parser: Parser) -> None:
    result = parse_entries(rss(MP3, f"<title>Episode</title>{MP3}"), FEED, now=NOW, parser=parser)
    assert [a.title for a in result.articles] == ["Episode"]
    assert "1 empty items skipped" in result.warnings


@pytest.mark.parametrize("parser", PARSERS)
def test_an_atom_enclosure_link_is_the_link_of_an_entry_without_one(parser: Parser) -> None:
    body = atom(
        '<title>Episode</title><id>urn:uuid:1</id><link rel="ENCLOSURE" type="Audio/MPEG" href="/ep1.mp3" length="9"/>',
        '<title>With page</title><id>urn:uuid:2</id><link rel="enclosure" type="audio/mpeg" href="/ep2.mp3"/>'
        '<link href="https://pod.example.com/ep2"/>',
        '<title>Untyped</title><id>urn:uuid:3</id><link rel="enclosure" href="https://cdn.example.com/ep3.mp3"/>',
    )
    assert links(body, parser) == [
        ("urn:uuid:1", "https://feeds.example.com/ep1.mp3", "https://feeds.example.com/ep1.mp3"),
        ("urn:uuid:2", "https://pod.example.com/ep2", "https://pod.example.com/ep2"),
        ("urn:uuid:3", "", ""),  # feedparser calls a link without a type text/html
    ]
    assert_fast_path_agrees(body)


_LINKS = st.sampled_from(["", "<link/>", "<link> </link>", "<link>https://pod.example.com/p</link>"])
_GUIDS = st.sampled_from(
    ["", "<guid>https://pod.example.com/g</guid>", '<guid isPermaLink="false">https://pod.example.com/g</guid>',
     "<guid>g-1</guid>", "<guid>/rel/g</guid>"]
)  # fmt: skip
_ENCLOSURES = st.sampled_from(
    ["", MP3, '<enclosure url="/e.mp3" type="AUDIO/MPEG"/>', '<enclosure URL="https://c.example/e.mp4" type="video/mp4"/>',
     '<enclosure url="https://c.example/e.jpg" type="image/jpeg"/>', '<enclosure url="" type="audio/mpeg"/>',
     '<enclosure url="https://c.example/a.mp3" url2="x" length="3"/>']
)  # fmt: skip


@st.composite
def _podcast_items(draw: st.DrawFn) -> str:
    parts = [draw(_LINKS), draw(_GUIDS), draw(_ENCLOSURES), draw(_ENCLOSURES)]
    parts.append(draw(st.sampled_from(["<title>Episode</title>", "<description>Notes</description>", ""])))
    return "".join(draw(st.permutations(parts)))


@settings(max_examples=150, deadline=None)
@given(items=st.lists(_podcast_items(), min_size=1, max_size=4))
def test_both_readers_agree_on_links_guids_and_enclosures(items: list[str]) -> None:
    body = rss(*items)
    outcome, detail = compare(body, FEED)
    assert outcome == "agreed", detail
