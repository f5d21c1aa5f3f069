"""Feed bodies to ArticleIn records: formats, text, keys, dates, language and hostile XML."""

from __future__ import annotations

import pickle
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.domain import ArticleIn
from watcher.ingest import parse
from watcher.ingest.parse import (
    content_hash,
    html_to_text,
    parse_entries,
    strip_declarations,
)
from watcher.text.language import normalize_language

DATA = Path(__file__).resolve().parent.parent / "data"
FEED_URL = "https://feeds.example.org/world/rss.xml"
NOW = datetime(2025, 11, 7, 12, 0, tzinfo=UTC)


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"{channel}{items}</channel></rss>"
    ).encode()


def by_title(articles: list[ArticleIn]) -> dict[str, ArticleIn]:
    return {a.title: a for a in articles}


# -- formats ----------------------------------------------------------------------------------


def test_rss2() -> None:
    result = parse_entries(load("rss2.xml"), FEED_URL, now=NOW)

    assert result.title == "Example Times & Co"
    assert result.ttl_s == 3600
    assert result.warnings == []
    first, second, third = result.articles
    assert first.key == first.guid == "urn:example:article:1001"
    assert first.title == "NATO says it has surpassed Russia in ammunition production"
    assert first.canonical_url == "https://news.example.org/world/nato-ammo?id=7"
    assert first.url.startswith("https://News.Example.org:443/world/nato-ammo?utm_source=rss")
    assert first.published_at == datetime(2025, 11, 6, 14, 2, tzinfo=UTC)
    assert first.language == "en"
    # content:encoded is fuller than the description; scripts and styles are not text.
    assert first.text == (
        "NATO has now surpassed Russia in ammunition production, officials said.\n"
        'Moscow denied the claim & called it "propaganda".'
    )
    assert "trackReader" not in first.text and "color" not in first.text
    # No GUID: the canonical link, resolved against the feed URL.
    assert second.guid is None
    assert second.key == second.canonical_url == "https://feeds.example.org/local/story-2?a=1&b=2"
    assert second.title == "Relative link story"
    assert second.text == "Escaped HTML in the description."
    # No GUID, no link: the content hash.
    assert third.key == f"sha256:{third.content_hash}"
    assert third.url == third.canonical_url == ""


def test_atom() -> None:
    result = parse_entries(load("atom.xml"), FEED_URL, now=NOW)

    assert result.title == "Le Monde en bref"
    articles = by_title(result.articles)
    french = articles["L’OTAN dépasse la Russie"]
    assert french.key == "tag:example.org,2025:1"
    assert french.url == "https://example.org/fr/otan"
    assert french.text == "L’OTAN a dépassé la Russie.\nSecond paragraphe."
    assert french.published_at == datetime(2025, 11, 6, 8, 0, tzinfo=UTC)
    assert french.language == "fr"
    # type="text" is not HTML: angle brackets are text, not tags.
    german = articles["Text title with <angle brackets>"]
    assert german.text == "a < b and c > d"
    assert german.language == "de"
    assert german.published_at == datetime(2025, 11, 5, 8, 0, tzinfo=UTC)  # published, not updated


def test_rdf() -> None:
    result = parse_entries(load("rdf.xml"), FEED_URL, now=NOW)

    assert result.title == "RDF Daily"
    assert [a.key for a in result.articles] == ["https://rdf.example.net/a", "https://rdf.example.net/b"]
    assert result.articles[0].published_at == datetime(2025, 11, 4, 12, 0, tzinfo=UTC)
    assert {a.language for a in result.articles} == {"es"}


def test_malformed_xml_is_ingested_with_a_warning() -> None:
    result = parse_entries(load("malformed.xml"), FEED_URL, now=NOW)

    assert any(w.startswith("malformed feed") for w in result.warnings)
    assert [a.url for a in result.articles] == [
        "https://broken.example.com/1",
        "https://broken.example.com/2",
    ]
    assert result.articles[0].title == "First item & an unescaped ampersand"


def test_declared_utf8_but_latin1_bytes() -> None:
    result = parse_entries(load("wrong_encoding.xml"), FEED_URL, content_type="application/rss+xml", now=NOW)

    assert result.title == "Café Zürich"
    [article] = result.articles
    assert article.title == "Café prices rise to £5"
    assert article.text == "Zürich café owners blame the weather."
    assert any(w.startswith("encoding:") for w in result.warnings)


def test_utf16_feed() -> None:
    body = load("rss2.xml").decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    result = parse_entries(body, FEED_URL, now=NOW)

    assert result.title == "Example Times & Co"
    assert len(result.articles) == 3


@pytest.mark.parametrize(
    "content_type", ["text/xml", "text/rss+xml", "text/xml; format=rss", "text/html", "text/plain"]
)
def test_text_xml_without_a_charset_is_decoded_by_the_document(content_type: str) -> None:
    # RFC 7303: no us-ascii default for text/xml any more; the BOM and the XML declaration decide. A feed served
    # as text/html or text/plain is XML all the same.
    utf8 = rss("<item><title>Café à Zürich</title><link>https://example.org/1</link></item>")
    utf16 = utf8.decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")

    for body in (utf8, utf16):
        result = parse_entries(body, FEED_URL, content_type=content_type, now=NOW, parser="fast")
        assert result.warnings == []
        assert [a.title for a in result.articles] == ["Café à Zürich"]


def test_the_charset_of_text_xml_still_wins() -> None:
    body = rss("<item><title>Café</title></item>").replace(b'encoding="utf-8"', b'encoding="iso-8859-1"')
    result = parse_entries(body, FEED_URL, content_type="text/xml; charset=utf-8", now=NOW)

    assert [a.title for a in result.articles] == ["Café"]
    assert any(w.startswith("encoding: HTTP says charset=utf-8") for w in result.warnings)


@pytest.mark.parametrize("ref", ["&#xD800;", "&#xdfff;", "&#55296;", "&#057343;"])
def test_a_reference_to_a_lone_surrogate_costs_one_character_not_the_feed(ref: str) -> None:
    body = load("rss2.xml").replace(b"<title>", f"<title>{ref}".encode(), 2)
    result = parse_entries(body, FEED_URL, now=NOW)
    assert len(result.articles) == 3 and "\ufffd" in result.articles[0].title + (result.title or "")
    assert any("lone surrogate" in w for w in result.warnings)
    for article in result.articles:
        article.title.encode("utf-8")  # storable as it is


def test_not_a_feed() -> None:
    result = parse_entries(b"<html><body><p>Sorry, we moved.</p></body></html>", FEED_URL, now=NOW)

    assert result.articles == []
    assert result.title is None
    assert result.warnings


@pytest.mark.parametrize(
    "body", [b"", b"\x00\x01\x02", b"{}", b"<rss", "<rss>\udcff".encode("utf-8", "surrogateescape")]
)
def test_garbage_never_raises(body: bytes) -> None:
    result = parse_entries(body, FEED_URL, now=NOW)
    assert result.articles == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=1400), junk=st.binary(max_size=20))
def test_truncated_and_corrupted_feeds_never_raise(cut: int, junk: bytes) -> None:
    body = load("rss2.xml")
    result = parse_entries(body[:cut] + junk + body[cut + len(junk) :], FEED_URL, now=NOW)
    assert all(len(a.title) <= parse.MAX_TITLE_CHARS for a in result.articles)


def test_a_body_that_crashes_feedparser_gives_warnings() -> None:
    # A stray byte read as Latin-1 puts U+0085 in a namespace URI; feedparser's SAX layer splits
    # element names on it and fails with "too many values to unpack".
    body = load("rss2.xml").replace(b'xmlns:content="http', b'xmlns:content="h\x85\x8dp', 1)
    result = parse_entries(body, FEED_URL, now=NOW)
    assert result.warnings


# -- hostile XML --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion_laughs.xml", "quadratic_blowup.xml"])
def test_entity_bombs_are_not_expanded(name: str) -> None:
    started = time.monotonic()
    result = parse_entries(load(name), FEED_URL, now=NOW)

    assert time.monotonic() - started < 2
    assert result.title is not None and len(result.title) <= parse.MAX_TITLE_CHARS
    assert "lollol" not in result.title and "aaaa" not in result.title
    [article] = result.articles
    assert "lollol" not in article.text and "aaaa" not in article.text
    assert any("removed" in w for w in result.warnings)


def test_quadratic_blowup_hidden_in_a_comment_is_not_expanded() -> None:
    # feedparser reads DOCTYPE and ENTITY lines anywhere before the root element, comments included.
    entity = "a" * 20_000
    body = (
        f'<?xml version="1.0"?>\n<!--\n<!DOCTYPE x>\n<!ENTITY a "{entity}">\n-->\n'
        f'<rss version="2.0"><channel><title>{"&a;" * 2000}</title></channel></rss>'
    ).encode()
    result = parse_entries(body, FEED_URL, now=NOW)
    assert result.title is not None and "aaaa" not in result.title


def test_quadratic_blowup_in_utf16() -> None:
    body = load("quadratic_blowup.xml").decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    result = parse_entries(body.encode("utf-16"), FEED_URL, now=NOW)
    assert result.title is not None and "aaaa" not in result.title


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    body = load("xxe.xml").replace(b"file:///etc/passwd", secret.as_uri().encode())

    result = parse_entries(body, FEED_URL, now=NOW)

    [article] = result.articles
    everything = " ".join([result.title or "", article.title, article.text])
    assert "TOP-SECRET" not in everything
    assert "root:" not in everything


def test_a_body_naming_a_file_is_not_read_from_disk(tmp_path: Path) -> None:
    local = tmp_path / "local.xml"
    local.write_bytes(load("rss2.xml"))

    result = parse_entries(str(local).encode(), FEED_URL, now=NOW)

    assert result.articles == []


def test_strip_declarations() -> None:
    body = (
        b'<?xml version="1.0"?>\n<?xml-stylesheet href="s.xsl"?>\n<!-- note -->\n'
        b'<!DOCTYPE rss [ <!ENTITY x "a > ] b"> <!-- ] --> ]>\n<rss>&x;</rss>'
    )
    stripped, notable = strip_declarations(body)
    assert stripped == b'<?xml version="1.0"?>\n<?xml-stylesheet href="s.xsl"?>\n\n\n<rss>&x;</rss>'
    assert notable

    plain, notable = strip_declarations(
        b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd"><rss/>'
    )
    assert (plain, notable) == (b"<rss/>", False)

    # An unterminated internal subset swallows the rest: nothing of it reaches the parser.
    assert strip_declarations(b'<!DOCTYPE r [ <!ENTITY a "x"> <rss>&a;</rss>')[0] == b""


# -- keys ---------------------------------------------------------------------------------------


def test_duplicate_guids_are_disambiguated_and_exact_repeats_dropped() -> None:
    result = parse_entries(load("dup_guid.xml"), FEED_URL, now=NOW)
    articles = by_title(result.articles)

    assert len(result.articles) == 4
    assert "1 repeated items dropped" in result.warnings
    # The earliest published keeps the bare GUID, so a stored item keeps its key.
    assert articles["Original story"].key == "story"
    newer = articles["Newer story reusing the GUID"]
    assert newer.key == f"story#{newer.content_hash[:16]}"
    assert newer.guid == "story"
    # Items without GUIDs that share a link are disambiguated the same way.
    home = [a for a in result.articles if a.canonical_url == "https://dup.example.com/"]
    assert sorted(a.key for a in home)[0] == "https://dup.example.com/"
    assert len({a.key for a in result.articles}) == 4


def test_keys_are_the_same_when_the_feed_is_served_again_in_any_order() -> None:
    body = load("dup_guid.xml")
    first = {a.title: a.key for a in parse_entries(body, FEED_URL, now=NOW).articles}
    again = {a.title: a.key for a in parse_entries(body, FEED_URL, now=NOW).articles}
    head, _, rest = body.decode().partition("<item>")
    items = ["<item>" + part for part in rest.split("<item>")]
    items[-1], tail = items[-1].split("</channel>")
    swapped = head + "".join([items[1], items[0], *items[2:]]) + "</channel>" + tail
    reordered = {a.title: a.key for a in parse_entries(swapped.encode(), FEED_URL, now=NOW).articles}

    assert first == again
    assert {t: k for t, k in reordered.items() if "Home page" not in t} == {
        t: k for t, k in first.items() if "Home page" not in t
    }


def test_a_new_item_reusing_a_guid_does_not_take_the_stored_items_key() -> None:
    old = "<item><guid>g</guid><title>Old</title><pubDate>Mon, 03 Nov 2025 10:00:00 GMT</pubDate></item>"
    new = "<item><guid>g</guid><title>New</title><pubDate>Thu, 06 Nov 2025 10:00:00 GMT</pubDate></item>"
    before = parse_entries(rss(old), FEED_URL, now=NOW).articles
    after = by_title(parse_entries(rss(new + old), FEED_URL, now=NOW).articles)

    assert before[0].key == after["Old"].key == "g"
    assert after["New"].key.startswith("g#")


def test_very_long_guids_are_hashed() -> None:
    guid = "x" * 2000
    [article] = parse_entries(
        rss(f"<item><guid>{guid}</guid><title>a</title></item>"), FEED_URL, now=NOW
    ).articles
    assert article.key.startswith("sha256:") and len(article.key) < 100
    assert article.guid == guid


def test_content_hash_ignores_case_and_whitespace() -> None:
    assert content_hash("Title  One", "Body\n text") == content_hash("title one", "body text")
    assert content_hash("a", "b") != content_hash("a b", "")


# -- dates ----------------------------------------------------------------------------------------


def test_absurd_dates_become_none() -> None:
    result = parse_entries(load("bad_dates.xml"), FEED_URL, now=NOW)
    dates = {a.title: a.published_at for a in result.articles}

    assert len(dates) == 8
    for title in ("Year zero", "Year 9999", "Garbage", "February 31", "Epoch", "Missing"):
        assert dates[title] is None, title
    assert dates["Offset"] == datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
    assert all(d is None or d.tzinfo is UTC for d in dates.values())


def test_future_dates_beyond_a_day_become_none() -> None:
    def item(title: str, when: datetime) -> str:
        stamp = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return f"<item><title>{title}</title><pubDate>{stamp}</pubDate></item>"

    body = rss(item("soon", NOW + timedelta(hours=3)) + item("far", NOW + timedelta(days=3)))
    dates = {a.title: a.published_at for a in parse_entries(body, FEED_URL, now=NOW).articles}
    assert dates == {"soon": NOW + timedelta(hours=3), "far": None}


@pytest.mark.parametrize("parser", ["feedparser", "fast"])
def test_a_negative_year_is_no_date(parser: parse.Parser) -> None:
    """feedparser completes a year with a minus sign (and ISO 8601's truncated forms, which start with one)
    from the current century or date: year -1 is read as 2000 or 1999, and "-YYMM" as that month this century."""
    now = datetime.now(UTC)
    this_year = f"-{now.year % 100:02d}01-01T00:00:00Z"  # January of this year, by the truncated reading
    body = rss(
        "<item><guid>a</guid><title>A</title><pubDate>Mon, 01 Jan -001 00:00:00 GMT</pubDate></item>"
        "<item><guid>b</guid><title>B</title><pubDate>Mon, 01 Jan -1 00:00:00 GMT</pubDate></item>"
        "<item><guid>c</guid><title>C</title><pubDate>-0001-01-01T00:00:00Z</pubDate></item>"
        f"<item><guid>d</guid><title>D</title><pubDate>{this_year}</pubDate></item>"
        "<item><guid>e</guid><title>E</title><pubDate>Thu, 06 Nov 2025 10:00:00 -0500</pubDate></item>"
    )
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b"<entry><id>f</id><title>F</title><updated>-0001-01-01T00:00:00Z</updated></entry>"
        b"<entry><id>g</id><title>G</title><published>-0001-01-01T00:00:00Z</published>"
        b"<updated>2025-11-01T00:00:00-05:00</updated></entry></feed>"
    )
    rss_result = parse_entries(body, FEED_URL, now=now, parser=parser)
    atom_result = parse_entries(atom, FEED_URL, now=now, parser=parser)
    dates = {a.key: (a.published_at, a.updated_at) for a in rss_result.articles + atom_result.articles}
    assert dates == {
        "a": (None, None),
        "b": (None, None),
        "c": (None, None),
        "d": (None, None),
        "e": (datetime(2025, 11, 6, 15, 0, tzinfo=UTC), None),
        "f": (None, None),
        "g": (datetime(2025, 11, 1, 5, 0, tzinfo=UTC),) * 2,
    }
    assert any("4 items with an unreadable or implausible date" in w for w in rss_result.warnings)


@pytest.mark.parametrize("parser", ["feedparser", "fast"])
@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("Di, 15 Okt 2019 10:00:00 +0200", datetime(2019, 10, 15, 8, 0, tzinfo=UTC)),
        ("jeu., 3 juil. 2025 10:00:00 GMT", datetime(2025, 7, 3, 10, 0, tzinfo=UTC)),
        ("3 juin 2025", datetime(2025, 6, 3, tzinfo=UTC)),
        ("Seg, 24 Xyz 2018 19:42:40 -0300", None),
    ],
)
def test_dates_with_day_and_month_names_of_other_languages(
    parser: parse.Parser, date: str, expected: datetime | None
) -> None:
    body = rss(f"<item><title>A</title><pubDate>{date}</pubDate></item>")
    [article] = parse_entries(body, FEED_URL, now=NOW, parser=parser).articles

    assert article.published_at == expected


def test_updated_date_is_used_when_published_is_absurd() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>1</id><title>t</title>'
        b"<published>0000-01-01T00:00:00Z</published><updated>2025-11-01T00:00:00Z</updated></entry></feed>"
    )
    [article] = parse_entries(atom, FEED_URL, now=NOW).articles
    assert article.published_at == datetime(2025, 11, 1, tzinfo=UTC)


# -- text and language ----------------------------------------------------------------------------


def test_html_to_text() -> None:
    markup = (
        "<div><h1>Head&amp;line</h1><p>One&nbsp;two   three</p><script>var x = '<p>no</p>';</script>"
        "<style>.a{}</style><ul><li>a</li><li>b</li></ul>x<br>y<svg><text>chart</text></svg>"
        "<noscript>enable js</noscript>&#8220;q&#8221;</div>"
    )
    assert html_to_text(markup) == "Head&line\nOne two three\na\nb\nx\ny“q”"


def test_text_and_title_are_capped() -> None:
    big = "word " * 50_000
    body = rss(f"<item><title>{'t' * 5000}</title><description>{big}</description></item>")
    [article] = parse_entries(body, FEED_URL, now=NOW).articles
    assert len(article.title) == parse.MAX_TITLE_CHARS
    assert len(article.text) <= parse.MAX_TEXT_CHARS


def test_control_characters_are_removed() -> None:
    body = rss("<item><title>a&#1;b</title><description>c\x0bd &lt;p&gt;e&lt;/p&gt;</description></item>")
    [article] = parse_entries(body, FEED_URL, now=NOW).articles
    assert "\x01" not in article.title and "\x0b" not in article.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("en-US", "en"), ("EN", "en"), ("pt_BR", "pt"), ("iw", "he"), ("und", None), ("eng", None), ("", None),
     (None, None), ("x", None)],
)  # fmt: skip
def test_normalize_language(value: str | None, expected: str | None) -> None:
    assert normalize_language(value) == expected


def test_language_falls_back_to_the_configured_one() -> None:
    body = rss("<item><title>a</title></item>")
    assert parse_entries(body, FEED_URL, feed_language="uk", now=NOW).articles[0].language == "uk"
    assert parse_entries(body, FEED_URL, feed_language="und", now=NOW).articles[0].language is None
    declared = rss("<item><title>a</title></item>", channel="<language>de-AT</language>")
    assert parse_entries(declared, FEED_URL, feed_language="uk", now=NOW).articles[0].language == "de"


# -- limits ---------------------------------------------------------------------------------------


def test_items_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "MAX_ITEMS", 3)
    body = rss("".join(f"<item><guid>{i}</guid><title>n{i}</title></item>" for i in range(10)))
    result = parse_entries(body, FEED_URL, now=NOW)
    assert [a.key for a in result.articles] == ["0", "1", "2"]
    assert any("only the first 3" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [("30", 1800), ("0", None), ("-5", None), ("soon", None), ("\u00b2", None), ("\u0663\u0660", None)],
)
def test_ttl(ttl: str, expected: int | None) -> None:
    body = rss("<item><title>a</title></item>", channel=f"<ttl>{ttl}</ttl>")
    assert parse_entries(body, FEED_URL, now=NOW).ttl_s == expected


def test_parse_results_survive_pickling() -> None:
    # Parsing in worker processes hands results back pickled: they must come back equal.
    result = parse_entries(load("rss2.xml"), FEED_URL, now=NOW)
    assert result.articles and result.articles[0].published_at is not None
    assert pickle.loads(pickle.dumps(result)) == result


# -- what the database would refuse ---------------------------------------------------------


@pytest.mark.parametrize("parser", ["fast", "feedparser"])
@pytest.mark.parametrize(
    "item",
    ["<item><title>A</title><link>http://x.example/a&#0;b</link></item>",
     '<item><title>A</title><guid isPermaLink="true">http://x.example/g&#0;1</guid></item>',
     "<item><title>A</title><link>http://x.example/a\x00b</link></item>"],
    ids=["charref-link", "charref-guid", "raw-nul-link"],
)  # fmt: skip
def test_no_nul_reaches_any_field_of_an_article(parser: str, item: str) -> None:
    body = rss(item + "<item><title>Other fine story</title><link>http://x.example/fine</link></item>")

    articles = parse_entries(body, FEED_URL, now=NOW, parser=parser).articles

    assert "Other fine story" in by_title(articles)
    for article in articles:
        for name, value in vars_of(article).items():
            assert not (isinstance(value, str) and "\x00" in value), (name, value)


def vars_of(article: ArticleIn) -> dict[str, object]:
    return {name: getattr(article, name) for name in article.__slots__}


@pytest.mark.parametrize("parser", ["fast", "feedparser"])
@pytest.mark.parametrize(
    "date",
    ["<pubDate>Thu, 06 Nov 2025 12:00:00 +9900</pubDate>", "<pubDate>Thu, 06 Nov 2025 12:00:00 -1500</pubDate>",
     "<pubDate>Thu, 06 Nov 2025 12:00:00 +0190</pubDate>",
     "<atom:updated>2025-11-06T12:00:00+99:00</atom:updated>"],
)  # fmt: skip
def test_a_time_zone_offset_no_place_uses_makes_the_date_unreadable(parser: str, date: str) -> None:
    ns = 'xmlns:atom="http://www.w3.org/2005/Atom"'
    body = rss(f"<item><title>A</title><link>http://x.example/a</link>{date}</item>").replace(
        b'version="2.0"', b'version="2.0" ' + ns.encode()
    )

    result = parse_entries(body, FEED_URL, now=NOW, parser=parser)

    # Read as given, "+9900" moved the item 99 hours back, silently.
    [article] = result.articles
    assert article.published_at is None
    assert any("unreadable or implausible date" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("parser", ["fast", "feedparser"])
@pytest.mark.parametrize(
    ("date", "expected"),
    [("Thu, 06 Nov 2025 12:00:00 +1400", datetime(2025, 11, 5, 22, 0, tzinfo=UTC)),
     ("Thu, 06 Nov 2025 12:00:00 -1200", datetime(2025, 11, 7, 0, 0, tzinfo=UTC)),
     ("Thu, 06 Nov 2025 12:00:00 +0530", datetime(2025, 11, 6, 6, 30, tzinfo=UTC))],
)  # fmt: skip
def test_time_zone_offsets_in_use_are_applied(parser: str, date: str, expected: datetime) -> None:
    body = rss(f"<item><title>A</title><link>http://x.example/a</link><pubDate>{date}</pubDate></item>")

    [article] = parse_entries(body, FEED_URL, now=NOW, parser=parser).articles

    assert article.published_at == expected


def test_an_element_with_too_many_attributes_is_refused_before_feedparser() -> None:
    # feedparser's strict parser is quadratic in one element's attributes: 40,000 (429 KB) took 21 s.
    def body(n: int) -> bytes:
        attributes = b" ".join(b'a%d="1"' % i for i in range(n))
        return (
            b'<rss version="2.0"><channel><title>T</title><item '
            + attributes
            + b"><title>t</title></item></channel></rss>"
        )

    assert [a.title for a in parse_entries(body(parse.MAX_ATTRIBUTES), "https://example.com/").articles] == [
        "t"
    ]
    result = parse_entries(body(150_000), "https://example.com/")
    assert result.articles == []
    assert any(f"over {parse.MAX_ATTRIBUTES} attributes" in warning for warning in result.warnings)
