"""JSON Feed 1.0/1.1 parsing: the same records as RSS/Atom, and hostile bodies turned into warnings."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.ingest.jsonfeed import MAX_JSON_VALUES, is_json_body, parse_json_feed
from watcher.ingest.parse import MAX_ITEMS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, ParseResult, parse_entries

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
BASE = "https://news.example/feed.json"
V11 = "https://jsonfeed.org/version/1.1"


def feed(*items: Any, **top: Any) -> bytes:
    return json.dumps({"version": V11, "title": "Example News", "items": list(items), **top}).encode()


def parse(body: bytes, **kwargs: Any) -> ParseResult:
    return parse_json_feed(body, BASE, now=NOW, **kwargs)


def test_a_json_feed_1_1_item_becomes_an_article() -> None:
    body = feed(
        {
            "id": "urn:item:1",
            "url": "/2025/11/nato?utm_source=rss",
            "title": "NATO &amp; <b>ammunition</b>",
            "content_html": "<p>NATO has <em>surpassed</em> Russia.</p><script>alert(1)</script><p>Second.</p>",
            "summary": "short",
            "date_published": "2025-11-06T14:02:00+01:00",
            "date_modified": "2025-11-06T15:00:00Z",
            "authors": [{"name": "A. Writer"}],
            "language": "de-DE",
        },
        language="en",
    )

    result = parse(body)

    assert result.title == "Example News"
    assert result.warnings == []
    [article] = result.articles
    assert article.key == article.guid == "urn:item:1"
    assert article.url == "https://news.example/2025/11/nato?utm_source=rss"
    assert article.canonical_url == "https://news.example/2025/11/nato"
    assert article.title == "NATO & ammunition"
    assert article.text == "NATO has surpassed Russia.\nSecond."
    assert article.published_at == datetime(2025, 11, 6, 13, 2, tzinfo=UTC)
    assert article.language == "de"


def test_a_link_holding_a_lone_surrogate_is_no_link() -> None:
    # JSON may escape a lone surrogate ("\ud800"), which no URL (nor a database) holds: the item keeps its
    # other link, or none, and every field is storable as UTF-8
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        b'{"id": "a", "url": "https://news.example/x\\ud800y", "title": "One"},'
        b'{"id": "b", "url": "https://news.example/\\udfff", "external_url": "https://other.example/b",'
        b' "title": "Two"}]}'
    )
    first, second = parse(body).articles
    assert first.url == first.canonical_url == ""
    assert second.url == "https://other.example/b"
    for article in (first, second):
        for value in (article.url, article.canonical_url, article.key, article.title):
            value.encode("utf-8")


def test_an_integer_of_thousands_of_digits_costs_its_field_not_the_feed() -> None:
    # Python refuses to convert an integer of more than 4,300 digits: the feed was rejected whole
    huge = "9" * 5_000
    body = (
        f'{{"version": "{V11}", "items": [{{"id": {huge}, "url": "https://news.example/a", "title": "One"}},'
        f'{{"id": 7, "url": "https://news.example/b", "title": "Two", "extra": {huge}}}]}}'
    ).encode()
    result = parse(body)
    assert [a.title for a in result.articles] == ["One", "Two"]
    assert result.articles[0].guid is None and result.articles[1].guid == "7"


def test_json_feed_1_0_numeric_id_author_and_plain_text() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Old",
            "author": {"name": "Someone"},
            "items": [
                {"id": 42, "external_url": "https://elsewhere.example/a", "content_text": "Plain &amp; text"}
            ],
        }
    ).encode()

    [article] = parse(body, feed_language="fr").articles

    assert article.guid == "42"
    assert article.url == "https://elsewhere.example/a"
    assert article.text == "Plain & text"  # entities decoded, as for RSS plain text
    assert article.language == "fr"  # the configured language when the feed declares none
    assert article.published_at is None


def test_the_longest_body_wins_like_rss() -> None:
    item = {"id": "1", "title": "t", "content_text": "a much longer plain text body", "summary": "short"}
    assert parse(feed(item)).articles[0].text == "a much longer plain text body"


def test_modified_date_stands_in_for_a_missing_publication_date() -> None:
    item = {"id": "1", "title": "t", "date_modified": "Thu, 06 Nov 2025 10:00:00 GMT"}
    assert parse(feed(item)).articles[0].published_at == datetime(2025, 11, 6, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "1970-01-01T00:00:00Z",
        "2030-01-01T00:00:00Z",
        "yesterday",
        "0001-01-01T00:00:00+05:00",
        "9" * 100,
        "Mon, 01 Jan -1 00:00:00 GMT",
        "-0001-01-01T00:00:00Z",
    ],
)
def test_implausible_dates_are_dropped_with_a_warning(value: str) -> None:
    result = parse(feed({"id": "1", "title": "t", "date_published": value}))
    assert result.articles[0].published_at is None
    assert any("unreadable or implausible date" in w for w in result.warnings)


def test_keys_follow_the_rss_rules() -> None:
    same_id = [
        {"id": "dup", "title": f"story {n}", "date_published": f"2025-11-0{n}T00:00:00Z"} for n in (1, 2)
    ]
    no_id = {"url": "https://news.example/x?fbclid=1", "title": "linked"}
    nothing = {"title": "only a title"}

    result = parse(feed(*same_id, no_id, nothing, same_id[0]))

    keys = {a.title: a.key for a in result.articles}
    assert len(result.articles) == 4
    assert keys["story 1"] == "dup"  # the earliest keeps the bare id
    assert keys["story 2"].startswith("dup#")
    assert keys["linked"] == "https://news.example/x"
    assert keys["only a title"].startswith("sha256:")
    assert "1 repeated items dropped" in result.warnings


# -- dispatch from parse_entries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "prefix"),
    [
        ("application/feed+json", b""),
        ("application/json; charset=utf-8", b"  \n"),
        (None, b"\xef\xbb\xbf"),
        ("text/plain", b""),  # sniffed from the leading "{"
    ],
)
def test_parse_entries_reads_json_feeds(content_type: str | None, prefix: bytes) -> None:
    result = parse_entries(
        prefix + feed({"id": "1", "title": "hello"}), BASE, content_type=content_type, now=NOW
    )
    assert result.title == "Example News"
    assert [a.title for a in result.articles] == ["hello"]


def test_rss_mislabelled_as_json_is_still_read_as_rss() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title><item><title>x</title></item></channel></rss>'
    result = parse_entries(rss, BASE, content_type="application/json", now=NOW)
    assert result.title == "R" and [a.title for a in result.articles] == ["x"]


def test_is_json_body() -> None:
    assert is_json_body(b'{"a": 1}', None)
    assert is_json_body(b"[1]", "application/vnd.api+json")
    assert not is_json_body(b"<rss/>", "application/feed+json")
    assert not is_json_body(b"[1]", "text/html")


# -- hostile input ----------------------------------------------------------------------------------


def test_not_json_is_a_warning_and_not_a_feed() -> None:
    result = parse(b"{not json")
    assert result.title is None and result.articles == []
    assert result.warnings[0].startswith("not valid JSON")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null", b'{"hello": "world"}', b"42"])
def test_json_that_is_not_a_feed(body: bytes) -> None:
    result = parse_entries(body, BASE, content_type="application/json", now=NOW)
    assert result.title is None and result.articles == []
    assert result.warnings


@pytest.mark.parametrize("items", [{"id": "1"}, "items", 7, True])
def test_items_of_the_wrong_type(items: Any) -> None:
    result = parse(json.dumps({"version": V11, "title": "T", "items": items}).encode())
    assert result.title == "T" and result.articles == []
    assert any("not an array" in w for w in result.warnings)


def test_wrong_types_and_nulls_everywhere() -> None:
    items: list[Any] = [
        None,
        3,
        "string item",
        [],
        {"id": None, "title": None, "url": None, "content_html": None, "date_published": None},
        {"id": True, "title": 12, "url": ["x"], "content_html": {"a": 1}, "summary": 1.5, "language": 5},
        {"id": {"x": 1}, "title": "kept", "date_published": 20251106, "authors": "nobody", "tags": 3},
        {"id": 1.5, "title": "float id", "content_text": ["no"], "external_url": "javascript:alert(1)"},
    ]
    body = json.dumps({"version": 11, "title": ["no"], "language": {"x": 1}, "items": items}).encode()

    result = parse(body)

    assert result.title == ""  # a feed (it has items) with no usable title
    assert [(a.title, a.guid, a.url, a.text) for a in result.articles] == [
        ("kept", None, "", ""),
        ("float id", "1.5", "", ""),
    ]
    assert "4 items that are not JSON objects skipped" in result.warnings
    assert "2 empty items skipped" in result.warnings
    assert any("fields of the wrong type" in w for w in result.warnings)


def test_deep_nesting_is_a_warning_not_a_crash() -> None:
    for body in (b"[" * 200_000, b'{"items": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001):
        result = parse_entries(body, BASE, content_type="application/feed+json", now=NOW)
        assert result.articles == [] and result.title is None
        assert any("too deeply" in w or "values" in w for w in result.warnings)


def test_nesting_inside_an_item_field_is_ignored() -> None:
    deep: Any = "leaf"
    for _ in range(500):
        deep = [deep]
    result = parse(feed({"id": "1", "title": "ok", "content_html": deep, "_ext": {"x": deep}}))
    assert [a.title for a in result.articles] == ["ok"]


def test_too_many_values_are_refused_before_decoding() -> None:
    body = b'{"items": [' + b"[]," * MAX_JSON_VALUES + b"[]]}"
    started = time.perf_counter()
    result = parse(body)
    assert result.articles == [] and any("values; not read" in w for w in result.warnings)
    assert time.perf_counter() - started < 1


def test_huge_item_arrays_are_capped_like_rss() -> None:
    body = feed(*({"id": str(n), "title": f"item {n}"} for n in range(MAX_ITEMS + 50)))
    started = time.perf_counter()
    result = parse(body)
    assert len(result.articles) == MAX_ITEMS
    assert f"feed has {MAX_ITEMS + 50} items; only the first {MAX_ITEMS} were read" in result.warnings
    assert time.perf_counter() - started < 10


def test_huge_strings_are_capped() -> None:
    item = {"id": "x" * 100_000, "title": "T" * 100_000, "content_html": "<p>" + "word " * 200_000}
    [article] = parse(feed(item)).articles
    assert len(article.title) == MAX_TITLE_CHARS
    assert len(article.text) <= MAX_TEXT_CHARS
    assert article.key.startswith("sha256:")  # an over-long id is hashed, as an RSS GUID is


def test_invalid_utf8_is_replaced_with_a_warning() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "caf\xe9 \xff ok"}]}'
    )
    result = parse(body)
    assert result.articles[0].title == "caf\ufffd \ufffd ok"
    assert any("not valid UTF-8" in w for w in result.warnings)


def test_utf16_json_is_decoded() -> None:
    body = "\ufeff".encode("utf-16-le") + json.dumps({"items": [{"id": "1", "title": "Zürich"}]}).encode(
        "utf-16-le"
    )
    result = parse_entries(body, BASE, content_type="application/json", now=NOW)
    assert [a.title for a in result.articles] == ["Zürich"]


def test_control_characters_and_lone_surrogates_are_removed_and_bidi_marks_kept() -> None:
    # Bidi marks are part of right-to-left text; the RSS path keeps them too, and renderers escape them.
    title = "a\u0000b\u0007c\x1b[31m \ud800d \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd\u200f"
    body = json.dumps({"items": [{"id": "1\u0000", "title": title, "content_text": "x\u0008y"}]}).encode()

    [article] = parse(body).articles

    assert article.title == "abc[31m d \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd\u200f"
    assert article.guid == "1" and article.text == "xy"


@pytest.mark.parametrize("field", ["url", "external_url"])
def test_a_nul_in_a_json_feed_link_reaches_no_stored_field(field: str) -> None:
    # "\u0000" in a URL went into url, canonical_url and (without an id) the key; PostgreSQL refuses NUL.
    result = parse(feed({field: "https://x.example/a\u0000b", "title": "A"}, {"id": "2", "title": "Fine"}))

    assert [a.title for a in result.articles] == ["A", "Fine"]
    for article in result.articles:
        assert "\x00" not in article.url + article.canonical_url + article.key + (article.guid or "")


def test_a_json_feed_date_with_an_offset_no_place_uses_is_unreadable() -> None:
    result = parse(
        feed(
            {"id": "1", "title": "A", "date_published": "2025-11-06T12:00:00+20:00"},
            {"id": "2", "title": "B", "date_published": "Thu, 06 Nov 2025 12:00:00 +2000"},
            {"id": "3", "title": "C", "date_published": "2025-11-06T12:00:00+14:00"},
        )
    )

    dates = {a.title: a.published_at for a in result.articles}
    assert dates == {"A": None, "B": None, "C": datetime(2025, 11, 5, 22, 0, tzinfo=UTC)}
