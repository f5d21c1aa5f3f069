"""The fast feed reader against feedparser: for every body it declines or yields the same records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.ingest_server import _wire_stories, build_feed
from bench.parse_diff import compare
from tests.hostile.test_hostile_feeds import SCRIPTED, SLACKED, encoded_feed, xxe_feed
from watcher.ingest import fastfeed
from watcher.ingest.parse import _to_safe_utf8, parse_entries

DATA = Path(__file__).resolve().parent.parent / "data"
NOW = datetime(2030, 1, 1, tzinfo=UTC)

# Text pieces chosen for the ways feedparser post-processes a value: escaped and CDATA markup (its
# HTML guess for RSS), entities, surrounding whitespace, UTF-8 read as Latin-1, cp1252 control
# characters, markup that is not well-formed, and child elements inside text.
TEXTS = st.sampled_from(
    [
        "NATO has surpassed Russia in ammunition production",
        "",
        "   padded   title \n",
        "Fish &amp; chips",
        "&lt;b&gt;bold&lt;/b&gt; claim",
        "&lt;p&gt;para&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;",
        "&lt;unknown&gt;tag&lt;/unknown&gt;",
        "<![CDATA[<p>In <b>CDATA</b> &amp; more</p>]]>",
        "<![CDATA[plain & loose]]>",
        "caf&#233; &#x263A;",
        "Ã©tÃ© UTF-8 read as Latin-1",
        "\u0093quoted\u0094 \u0080",
        "5 &lt; 6 &amp;&amp; 7 &gt; 3",
        "&amp;lt;!channel&amp;gt;",
        SCRIPTED[1],
        SLACKED[1],
        "Заявление НАТО",
    ]
)
LINK_TEXTS = (
    "https://news.example/a/story?id=1&amp;utm_source=rss",
    "/relative/path",
    "../up/one",
    "?q=1&amp;b=2",
    "story.html#frag",
    "http://news.example/caf\u00e9",
    "javascript:alert(1)",
    "  https://news.example/spaced  ",
    "",
    "https://news.example/a&amp;b;c",
)
LINKS = st.sampled_from(LINK_TEXTS)
DATES = st.sampled_from(
    [
        "Thu, 06 Nov 2025 15:02:00 GMT",
        "Thu, 06 Nov 2025 15:02:00 +0100",
        "06 Nov 2025 15:02 EST",
        "2025-11-06T15:02:00Z",
        "2025-11-06T15:02:00.123+02:00",
        "2025-11-06",
        "Mon, 31 Feb 2025 10:00:00 GMT",
        "1970-01-01T00:00:00Z",
        "2099-01-01T00:00:00Z",
        "yesterday",
        "",
    ]
)
# Rarely drawn: the fast path declines bodies with these, and most examples should reach it.
RARE_TEXTS = st.sampled_from(["x &nbsp; y", "a <b>child</b> element", "<![CDATA[]]>"])
RSS_KINDS = (
    "link", "description", "guid", "guid-false", "pubDate", "dc:date", "content:encoded",
    "category", "author", "dc:creator", "enclosure", "comments", "source", "Title", "media:content",
    "media:thumbnail", "wfw:commentRss", "slash:comments",
)  # fmt: skip
RSS_RARE_KINDS = (
    "media:title", "media:group", "atom:link", "foo:bar", "description-typed", "title-lang", "link-base",
)  # fmt: skip
LANGS = st.sampled_from([None, "en", "en_GB", "fr-FR", "xx", ""])


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    parts = [f"<title>{draw(TEXTS)}</title>"] if draw(st.integers(0, 4)) else []
    for _ in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(RSS_KINDS if draw(st.integers(0, 15)) else RSS_RARE_KINDS))
        text = draw(TEXTS if draw(st.integers(0, 7)) else RARE_TEXTS)
        if kind in ("link", "comments"):
            text = draw(LINKS)
        elif kind in ("pubDate", "dc:date"):
            text = draw(DATES)
        elif kind in ("guid", "guid-false"):
            text = draw(st.sampled_from(["id-1", "id-2", "", *LINK_TEXTS]))
        parts.append(
            {
                "guid": f"<guid>{text}</guid>",
                "guid-false": f'<guid isPermaLink="false">{text}</guid>',
                "enclosure": '<enclosure url="https://x.example/a.mp3" length="1" type="audio/mpeg"/>',
                "media:content": '<media:content url="https://x.example/a.jpg" medium="image"/>',
                "media:thumbnail": '<media:thumbnail url="https://x.example/t.jpg" width="1"/>',
                "media:group": f"<media:group><media:title>{text}</media:title></media:group>",
                "atom:link": '<atom:link rel="alternate" href="https://x.example/alt"/>',
                "source": f'<source url="https://s.example/rss">{text}</source>',
                "description-typed": f'<description type="text/plain">{text}</description>',
                "title-lang": f'<title xml:lang="de">{text}</title>',
                "link-base": f'<link xml:base="https://base.example/dir/">{draw(LINKS)}</link>',
            }.get(kind, f"<{kind}>{text}</{kind}>")
        )
    return "<item>" + "".join(parts) + "</item>"


@st.composite
def rss_feeds(draw: st.DrawFn) -> bytes:
    lang = draw(LANGS)
    root_lang = f' xml:lang="{lang}"' if lang is not None else ""
    channel = []
    if draw(st.booleans()):
        channel.append(f"<title>{draw(TEXTS)}</title>")
    if draw(st.booleans()):
        channel.append(f"<language>{draw(st.sampled_from(['en-gb', 'de', ' fr ', '']))}</language>")
    if draw(st.booleans()):
        channel.append(f"<ttl>{draw(st.sampled_from(['60', '0', 'x', '999999']))}</ttl>")
    if draw(st.booleans()):
        channel.append("<image><title>Logo</title><url>https://x.example/l.png</url></image>")
    channel.extend(draw(st.lists(rss_items(), min_size=1, max_size=4)))
    order = draw(st.permutations(channel))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0"{root_lang} xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
        'xmlns:foo="http://foo.example/ns">'
        f"<channel>{''.join(order)}</channel></rss>"
    ).encode()


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 7))):
        kind = draw(
            st.sampled_from(["title", "link", "id", "updated", "published", "summary", "content", "author"])
        )
        kind_attr = draw(st.sampled_from(["", ' type="text"', ' type="html"', ' type="html"']))
        if not draw(st.integers(0, 15)):
            kind_attr = draw(
                st.sampled_from(
                    [' type="xhtml"', ' type="text/html"', ' src="x"', ' xml:lang="de"', ' lang="de"']
                )
            )
        if kind == "link":
            rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"']))
            type_ = draw(st.sampled_from(["", ' type="text/html"', ' type="application/pdf"']))
            extra = draw(
                st.sampled_from(["", "", "", ' hreflang="en"', ' xml:base="https://base.example/d/"'])
            )
            parts.append(f'<link{rel}{type_}{extra} href="{draw(LINKS)}"/>')
        elif kind == "id":
            parts.append(f"<id>{draw(st.sampled_from(['urn:uuid:1', 'tag:x,2025:1', '/rel/id', '']))}</id>")
        elif kind in ("updated", "published"):
            parts.append(f"<{kind}>{draw(DATES)}</{kind}>")
        elif kind == "author":
            parts.append("<author><name>Anna</name><email>a@x.example</email></author>")
        else:
            text = draw(TEXTS if draw(st.integers(0, 7)) else RARE_TEXTS)
            parts.append(f"<{kind}{kind_attr}>{text}</{kind}>")
    return "<entry>" + "".join(parts) + "</entry>"


@st.composite
def atom_feeds(draw: st.DrawFn) -> bytes:
    lang = draw(LANGS)
    root_lang = f' xml:lang="{lang}"' if lang is not None else ""
    head = []
    if draw(st.booleans()):
        kind_attr = draw(st.sampled_from(["", ' type="html"']))
        head.append(f"<title{kind_attr}>{draw(TEXTS)}</title>")
    if draw(st.booleans()):
        head.append('<link rel="self" href="https://x.example/atom.xml"/><id>urn:feed</id>')
    head.extend(draw(st.lists(atom_entries(), min_size=1, max_size=4)))
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"{root_lang}>'
        f"{''.join(head)}</feed>"
    ).encode()


def assert_same(body: bytes) -> str:
    outcome, detail = compare(body)
    assert outcome != "differing", detail
    return outcome


@pytest.mark.parametrize("path", sorted(DATA.glob("*.xml")), ids=lambda p: p.name)
def test_repository_feeds_agree_or_are_declined(path: Path) -> None:
    assert_same(path.read_bytes())


PLAIN_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">
  <title type="html">The &lt;b&gt;World&lt;/b&gt; in brief</title>
  <link rel="self" href="https://example.org/atom.xml"/>
  <id>urn:example:feed</id>
  <updated>2025-11-06T10:00:00Z</updated>
  <entry>
    <id>tag:example.org,2025:1</id>
    <title type="html">NATO &lt;i&gt;surpasses&lt;/i&gt; Russia</title>
    <link rel="alternate" href="https://example.org/en/nato"/>
    <link rel="enclosure" type="image/jpeg" href="https://example.org/en/nato.jpg"/>
    <updated>2025-11-06T10:00:00+02:00</updated>
    <summary>Short</summary>
    <content type="html">&lt;p&gt;NATO has surpassed Russia.&lt;/p&gt;&lt;p&gt;Second.&lt;/p&gt;</content>
    <author><name>Anna</name></author>
  </entry>
  <entry>
    <id>https://example.org/en/2</id>
    <title>Text title with &lt;angle brackets&gt;</title>
    <published>2025-11-05T08:00:00Z</published>
    <content type="text">a &lt; b and c &gt; d</content>
  </entry>
</feed>
"""


def test_plain_rss_and_atom_are_read_by_the_fast_path() -> None:
    assert assert_same((DATA / "rss2.xml").read_bytes()) == "agreed"
    assert assert_same(PLAIN_ATOM) == "agreed"
    articles = parse_entries(PLAIN_ATOM, "https://example.org/", parser="fast").articles
    assert [a.url for a in articles] == ["https://example.org/en/nato", "https://example.org/en/2"]
    assert articles[0].language == "en"


def test_bench_feeds_agree() -> None:
    wire = _wire_stories(20)
    base = datetime(2025, 11, 6, tzinfo=UTC)
    for index in range(20):
        assert assert_same(build_feed(index, 20, base, wire)) == "agreed"


@pytest.mark.parametrize("declared", [b"utf-8", b"iso-8859-1", b"windows-1251", b"utf-16"])
def test_encoded_feeds_agree_or_are_declined(declared: bytes) -> None:
    titles = ["Caf\u00e9 NATO", "\u0417\u0430\u044f\u0432\u043b\u0435\u043d\u0438\u0435"]
    encoded = [t.encode(declared.decode(), errors="xmlcharrefreplace") for t in titles]
    assert_same(encoded_feed(declared, encoded))


def test_hostile_declarations_never_reach_the_fast_path() -> None:
    body = xxe_feed("http://127.0.0.1:9/evil.dtd")
    assert_same(body)
    assert fastfeed.parse_feed(b'<!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"/>') is None
    warnings: list[str] = []
    _to_safe_utf8((DATA / "billion_laughs.xml").read_bytes(), None, warnings)
    assert warnings  # a body that needed declarations removed goes to feedparser
    fast = parse_entries((DATA / "billion_laughs.xml").read_bytes(), "https://x.example/", parser="fast")
    slow = parse_entries((DATA / "billion_laughs.xml").read_bytes(), "https://x.example/")
    assert fast == slow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rss_feeds())
def test_generated_rss_agrees_or_is_declined(body: bytes) -> None:
    assert_same(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atom_feeds())
def test_generated_atom_agrees_or_is_declined(body: bytes) -> None:
    assert_same(body)


def test_threads_parsing_at_once_get_the_records_of_parsing_in_turn() -> None:
    wire = _wire_stories(20)
    base = datetime(2025, 11, 6, tzinfo=UTC)
    bodies = [build_feed(index, 20, base, wire) for index in range(16)]
    in_turn = [parse_entries(body, "https://x.example/", now=NOW, parser="fast") for body in bodies]
    with ThreadPoolExecutor(4) as threads:
        at_once = list(
            threads.map(lambda b: parse_entries(b, "https://x.example/", now=NOW, parser="fast"), bodies)
        )
    assert at_once == in_turn
