"""Turn a JSON Feed 1.0/1.1 body into the same ArticleIn records as the RSS/Atom parser: pure, never raises."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from watcher.ingest.parse import (
    EARLIEST_PUBLISHED,
    FUTURE_SLACK,
    MAX_ITEMS,
    ParseResult,
    _absurd_offset,
    _clean_line,
    _clean_text,
    _clean_title,
    _Draft,
    _short,
    _with_offset,
    assign_keys,
    content_hash,
)
from watcher.ingest.urls import canonicalize, resolve, unwrap_redirect
from watcher.text.language import normalize_language

logger = logging.getLogger(__name__)

JSON_MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})
VERSION_PREFIX = "https://jsonfeed.org/version/"
# Every "[", "{" and "," may start a Python object; this bounds what json.loads may build from one
# body (a 15 MiB body of "[[],[],..." is millions of lists, hundreds of MiB) before it is called.
MAX_JSON_VALUES = 1_000_000
MAX_INT_DIGITS = 1_000  # a longer JSON integer is read as null (_integer)
_UTF8_BOM = b"\xef\xbb\xbf"
_UNREADABLE = object()  # what _load returns for a body that is not usable JSON (null is a JSON value)


def is_json_body(body: bytes, content_type: str | None) -> bool:
    """Whether a feed body is JSON: it starts with ``{``, or a JSON media type labels a body not starting with ``<``."""
    head = body[:1024].removeprefix(_UTF8_BOM).lstrip()
    if head.startswith(b"{"):
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return (media in JSON_MEDIA_TYPES or media.endswith("+json")) and not head.startswith(b"<")


def parse_json_feed(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    feed_language: str | None = None,
    now: datetime | None = None,
) -> ParseResult:
    """Parse a JSON Feed body into articles; the same contract as ``parse.parse_entries``.

    Invalid JSON, a JSON value that is not a feed, nesting too deep for the decoder and values of
    the wrong type yield warnings, never an exception. ``content_type`` is accepted for symmetry
    with ``parse_entries``: JSON is UTF-8 (or UTF-16/32, detected from the bytes) whatever it says.
    """
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    document = _load(body, warnings)
    if not isinstance(document, Mapping) or not _looks_like_feed(document):
        if document is not _UNREADABLE:
            warnings.append("not a recognised JSON Feed (no JSON Feed version and no items array)")
        return ParseResult(warnings=warnings)
    raw_items = document.get("items")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        warnings.append(f"items is a {_type_name(raw_items)}, not an array; no items read")
        raw_items = []
    if len(raw_items) > MAX_ITEMS:
        warnings.append(f"feed has {len(raw_items)} items; only the first {MAX_ITEMS} were read")
        raw_items = raw_items[:MAX_ITEMS]
    language = normalize_language(_string(document.get("language"))) or normalize_language(feed_language)
    items = [item for item in raw_items if isinstance(item, Mapping)]
    if len(items) < len(raw_items):
        warnings.append(f"{len(raw_items) - len(items)} items that are not JSON objects skipped")
    drafts = _drafts(items, url, language, now, warnings)
    return ParseResult(
        articles=assign_keys(drafts, warnings),
        warnings=warnings,
        title=_clean_title(None, document.get("title")),
    )


def _load(body: bytes, warnings: list[str]) -> Any:
    """The decoded JSON value, or _UNREADABLE (with a warning) when the body is not usable JSON."""
    values = body.count(b"[") + body.count(b"{") + body.count(b",")
    if values > MAX_JSON_VALUES:
        warnings.append(f"JSON body has over {MAX_JSON_VALUES} values; not read")
        return _UNREADABLE
    try:
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError:
        warnings.append("encoding: JSON body is not valid UTF-8; undecodable bytes replaced")
        text = body.decode(json.detect_encoding(body), errors="replace")
    try:
        return json.loads(text.removeprefix("\ufeff"), parse_int=_integer)
    except RecursionError:
        warnings.append("JSON nested too deeply; not read")
    except ValueError as exc:  # JSONDecodeError
        warnings.append(_short(f"not valid JSON: {exc}"))
    return _UNREADABLE


def _integer(digits: str) -> int | None:
    """A JSON integer; None for one of more digits than Python converts (sys.get_int_max_str_digits, 4,300 by
    default), which no feed field holds: the value is dropped, not the feed."""
    return int(digits) if len(digits) <= MAX_INT_DIGITS else None


def _looks_like_feed(document: Mapping[str, Any]) -> bool:
    version = document.get("version")
    return (isinstance(version, str) and version.startswith(VERSION_PREFIX)) or "items" in document


def _drafts(
    items: Sequence[Mapping[str, Any]], base: str, language: str | None, now: datetime, warnings: list[str]
) -> list[_Draft]:
    drafts: list[_Draft] = []
    undated = wrong_types = 0
    for item in items:
        wrong_types += _wrong_types(item)
        draft = _draft(item, base, language, now)
        if draft is None:
            continue
        undated += draft.published_at is None and _date_given(item)
        drafts.append(draft)
    if wrong_types:
        warnings.append(f"{wrong_types} item fields of the wrong type ignored")
    if undated:
        warnings.append(
            f"{undated} items with an unreadable or implausible date (before 1995 or over a day ahead) "
            "stored without one"
        )
    if len(drafts) < len(items):
        warnings.append(f"{len(items) - len(drafts)} empty items skipped")
    return drafts


_STRING_FIELDS = (
    "url", "external_url", "title", "content_html", "content_text", "summary", "date_published",
    "date_modified", "language",
)  # fmt: skip


def _wrong_types(item: Mapping[str, Any]) -> int:
    wrong = sum(
        1 for name in _STRING_FIELDS if item.get(name) is not None and not isinstance(item[name], str)
    )
    return wrong + (_guid(item.get("id")) is None and item.get("id") is not None)


def _draft(item: Mapping[str, Any], base: str, feed_language: str | None, now: datetime) -> _Draft | None:
    title = _clean_title(None, _string(item.get("title")))
    text = _clean_text(_best_content(item))
    link = _link(item, base)
    if not (title or text or link):
        return None
    return _Draft(
        guid=_guid(item.get("id")),
        url=link,
        canonical_url=(canonicalize(link) or "") if link else "",
        title=title,
        text=text,
        content_hash=content_hash(title, text),
        published_at=_date(item.get("date_published"), now) or _date(item.get("date_modified"), now),
        language=normalize_language(_string(item.get("language"))) or feed_language,
        updated_at=_date(item.get("date_modified"), now),
    )


def _guid(value: Any) -> str | None:
    # JSON Feed 1.0 readers must accept a number as an id and read it as a string.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    return (_clean_line(value) or None) if isinstance(value, str) else None


def _link(item: Mapping[str, Any], base: str) -> str:
    for name in ("url", "external_url"):
        link = resolve(_string(item.get(name)) or "", base)
        if link:
            return unwrap_redirect(link)
    return ""


def _best_content(item: Mapping[str, Any]) -> tuple[str, str]:
    """(value, type) of the fullest body, as for RSS: the longest of content_html, content_text and summary."""
    candidates = [
        (value, kind)
        for name, kind in (
            ("content_html", "text/html"),
            ("content_text", "text/plain"),
            ("summary", "text/plain"),
        )
        if (value := _string(item.get(name)))
    ]
    return max(candidates, key=lambda c: len(c[0]), default=("", "text/plain"))


def _date_given(item: Mapping[str, Any]) -> bool:
    return any((_string(item.get(name)) or "").strip() for name in ("date_published", "date_modified"))


def _date(value: Any, now: datetime) -> datetime | None:
    """An RFC 3339 date (the spec's), or an RFC 822 one (a common mistake), as UTC; None if implausible."""
    text = (_string(value) or "").strip()
    if not text or len(text) > 64 or _absurd_offset(text):
        return None
    when: datetime | None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            # A zone name the email parser does not know ("CEST") it reads as UTC: written as its offset first.
            when = parsedate_to_datetime(_with_offset(text) or text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # year 1 with a negative offset, year 9999 with a positive one
        return None
    if when < EARLIEST_PUBLISHED or when > now + FUTURE_SLACK:
        return None
    return when


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _type_name(value: Any) -> str:
    return {dict: "object", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
