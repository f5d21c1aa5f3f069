"""Turn a feed body into ArticleIn records: safe XML handling, plain text, canonical URLs, stable keys."""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, Literal

import feedparser
import lxml.etree
from feedparser.datetimes import _parse_date
from feedparser.datetimes.iso8601 import _iso8601_matches
from feedparser.datetimes.rfc822 import _parse_date_rfc822
from feedparser.datetimes.w3dtf import _parse_date_w3dtf
from feedparser.encodings import convert_to_utf8

from watcher.domain import ArticleIn
from watcher.ingest import fastfeed
from watcher.ingest.urls import canonicalize, resolve, unwrap_redirect
from watcher.text.language import normalize_language

logger = logging.getLogger(__name__)

MAX_ITEMS = 5_000
MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 500
MAX_KEY_CHARS = 512  # longer GUIDs and links are replaced by their hash in the key
MAX_WARNING_CHARS = 200
EARLIEST_PUBLISHED = datetime(1995, 1, 1, tzinfo=UTC)  # before news feeds existed: a zero date
FUTURE_SLACK = timedelta(days=1)

_HTML_CHUNK = 32 * 1024
_UNPARSED_MAX = 1024  # unparsed markup longer than this at the end goes through lxml (_finish)
_PENDING_TAG_MAX = 64 * 1024  # a tag still unfinished after this many characters goes through lxml
_TAG_OPEN = re.compile(r"</?[A-Za-z]")
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe"})
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "table", "tr", "td", "th", "section", "article", "header", "footer", "aside",
        "figure", "figcaption", "address", "main", "nav", "details", "summary",
    }
)  # fmt: skip
# C0 and C1 controls (but tab and line ends), DEL and lone surrogates: a C1 control in decoded text is mojibake or
# a terminal escape ("\x9b" is CSI), never text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Titles are plain text, but some CMSs put escaped markup in them; one carrying HTML elements is read as HTML.
_HTML_ELEMENT = re.compile(
    r"</?(?:a|b|br|div|em|embed|font|form|i|iframe|img|input|link|meta|object|p|script|span|strong|style|svg)"
    r"\b[^<>]*>",
    re.IGNORECASE,
)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# Tokens that matter when finding where a markup declaration ends: quoted literals, comments and
# processing instructions (which may contain any of the others) and the bracket and end characters.
_DECLARATION_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|<\?.*?\?>|[\[\]>]", re.DOTALL)
_ROOT_START = re.compile(rb"<\w")
# A year written with a minus sign ("-0001-01-01T00:00:00Z", "Mon, 01 Jan -1 00:00:00 GMT"), and ISO 8601's
# truncated forms, which also begin with one ("-2401" for January 2024, "--11-06"): feedparser completes these
# with the current century or date (year -1 reads as 2000 or 1999), which is not when anything was published.
_SIGNED_YEAR = re.compile(
    r"^\s*-|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?:\d{1,2},?\s+)?-\s*\d",
    re.IGNORECASE,
)
# A numeric UTC offset after a time ("00:00:00 +0100", "T00:00:00.5+01:00", "00:00 GMT-05"). Offsets in use lie
# within ±14:00; feedparser applies any ("+9900" is 99 hours), which would move an item days back or forth.
_OFFSET = re.compile(
    r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:GMT|UTC)?\s*[+-](\d\d)(?::?(\d\d))?(?!\d)", re.IGNORECASE
)
MAX_OFFSET_MINUTES = 14 * 60

# An RFC 822 date with another language's day or month name ("mer, 16 nov 2022 00:38:15 +0100",
# "Seg, 24 Set 2018 19:42:40 -0300"): feedparser reads English names only, and refuses the whole date for
# a day name it does not know, although the day name is optional and adds nothing.
_LOCAL_RFC822 = re.compile(
    r"^\s*(?:[^\W\d_]{2,12}\.?,\s*)?(\d{1,2})\s+([^\W\d_]{3,12})\.?\s+(\d{4}(?:\s.*)?)$", re.DOTALL
)
# Month names by their first four, else three, letters: English, French, German, Spanish, Italian,
# Portuguese and Dutch (no prefix names two months).
_MONTHS = {
    "jan": "Jan", "gen": "Jan", "ene": "Jan", "feb": "Feb", "fév": "Feb", "fev": "Feb", "mar": "Mar",
    "mär": "Mar", "mrz": "Mar", "mrt": "Mar", "maa": "Mar", "apr": "Apr", "avr": "Apr", "abr": "Apr",
    "may": "May", "mai": "May", "mag": "May", "mei": "May", "jun": "Jun", "juin": "Jun", "giu": "Jun",
    "jul": "Jul", "juil": "Jul", "lug": "Jul", "aug": "Aug", "ago": "Aug", "aoû": "Aug", "aou": "Aug",
    "sep": "Sep", "set": "Sep", "oct": "Oct", "okt": "Oct", "ott": "Oct", "out": "Oct", "nov": "Nov",
    "dec": "Dec", "déc": "Dec", "dez": "Dec", "dic": "Dec",
}  # fmt: skip

# A date with the year first and slashes or dots between its parts ("2024/05/01 10:00:00").
_SLASHED_DATE = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})(|[\sT].*)$", re.DOTALL)
# A time followed by a time zone name ("10:00:00 CEST"), and the offsets of the names in use that feedparser does
# not know (it knows GMT, UT, Z, the North American zones, MET and MEST, and reads any other name as UTC).
# Ambiguous names (IST: India, Ireland or Israel) are left out.
_ZONE_NAME = re.compile(r"^(.*\d:\d\d(?::\d\d)?)\s*([A-Za-z]{3,5})\s*$", re.DOTALL)
_ZONES = {
    "UTC": "+0000", "WET": "+0000", "WEST": "+0100", "BST": "+0100", "CET": "+0100", "CEST": "+0200",
    "MEZ": "+0100", "MESZ": "+0200", "EET": "+0200", "EEST": "+0300", "MSK": "+0300", "HKT": "+0800",
    "SGT": "+0800", "AWST": "+0800", "JST": "+0900", "KST": "+0900", "ACST": "+0930", "ACDT": "+1030",
    "AEST": "+1000", "AEDT": "+1100", "NZST": "+1200", "NZDT": "+1300", "HST": "-1000", "AKST": "-0900",
    "AKDT": "-0800", "NST": "-0330", "NDT": "-0230",
}  # fmt: skip

# The start of a URL, not of a bare name: a scheme ("https:", "tag:") or an absolute path.
_URL_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|/")

Parser = Literal["feedparser", "fast"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseResult:
    """What a feed body yielded. ``title`` is None when the body is not a recognisable feed."""

    articles: list[ArticleIn] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ttl_s: int | None = None  # RSS <ttl>, in seconds
    title: str | None = None


def parse_entries(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    feed_language: str | None = None,
    now: datetime | None = None,
    parser: Parser = "feedparser",
) -> ParseResult:
    """Parse a feed body (RSS, Atom, RDF or JSON Feed) into articles; malformed input yields warnings, never an exception.

    :param url: the URL the body came from, the base for relative links.
    :param feed_language: the configured language, used when the feed declares none.
    :param now: for rejecting publish dates in the future; defaults to the current time.
    :param parser: ``"fast"`` reads plain, well-formed RSS 2.0 and Atom 1.0 with lxml and gives
        every other body to feedparser; ``"feedparser"`` gives it every body.
    """
    # Imported here: jsonfeed builds on this module's helpers.
    from watcher.ingest import jsonfeed

    if jsonfeed.is_json_body(body, content_type):
        return jsonfeed.parse_json_feed(
            body, url, content_type=content_type, feed_language=feed_language, now=now
        )
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    data = _to_safe_utf8(body, content_type, warnings)
    parsed = _read_feed(data, fast=parser == "fast" and not warnings)
    if parsed.get("bozo"):
        warnings.append(_short(f"malformed feed: {_describe(parsed.get('bozo_exception'))}"))
    entries: Sequence[Mapping[str, Any]] = parsed.get("entries") or []
    channel: Mapping[str, Any] = parsed.get("feed") or {}
    if not parsed.get("version") and not entries:
        warnings.append("not a recognised RSS, Atom or RDF feed")
        return ParseResult(warnings=warnings)
    if len(entries) > MAX_ITEMS:
        warnings.append(f"feed has {len(entries)} items; only the first {MAX_ITEMS} were read")
        entries = entries[:MAX_ITEMS]
    language = normalize_language(_text_value(channel.get("language"))) or normalize_language(feed_language)
    # Searched only where it decides something: an item with an empty link beside its GUID (rare).
    guid_links = not any(_blank_link(e) for e in entries) or not _NOT_PERMALINK.search(data)
    drafts = [d for d in (_draft(e, url, language, now, guid_links) for e in entries) if d is not None]
    undated = sum(1 for e in entries if _date_given(e) and _published(e, now) is None)
    if undated:
        warnings.append(
            f"{undated} items with an unreadable or implausible date (before 1995 or over a day ahead) "
            "stored without one"
        )
    if len(drafts) < len(entries):
        warnings.append(f"{len(entries) - len(drafts)} empty items skipped")
    articles = assign_keys(drafts, warnings)
    return ParseResult(
        articles=articles,
        warnings=warnings,
        ttl_s=_ttl_s(channel),
        title=_title(channel),
    )


def _read_feed(data: bytes, *, fast: bool) -> Mapping[str, Any]:
    """feedparser's result for ``data`` (safe UTF-8), from the fast reader where it takes the body."""
    if fast:
        parsed = fastfeed.parse_feed(data)
        if parsed is not None:
            return parsed
    return _feedparser(data)


# An element with more than MAX_ATTRIBUTES attributes: feedparser's strict parser looks every attribute up in a
# list of them all (quadratic: 40,000 attributes took 21 s), and no feed needs a tenth of these. Values cannot
# hold "<", so one match never spans two tags, and matching is linear.
MAX_ATTRIBUTES = 1_000
_ATTRIBUTE_FLOOD = re.compile(
    rb"<[^\s<>/!?]++(?:\s++[^\s=<>/]++\s*+=\s*+(?:\"[^\"<]*+\"|'[^'<]*+')){%d}" % (MAX_ATTRIBUTES + 1)
)


def _feedparser(data: bytes) -> Mapping[str, Any]:
    if flood := _ATTRIBUTE_FLOOD.search(data):
        reason = ValueError(
            f"an element has over {MAX_ATTRIBUTES} attributes (at byte {flood.start()}); not read"
        )
        return {"bozo": True, "bozo_exception": reason, "version": "", "feed": {}, "entries": []}
    try:
        # A BytesIO, never the bytes themselves: feedparser opens a bytes value that names an
        # existing file (a body of b"/etc/passwd" would be read from disk).
        parsed: Mapping[str, Any] = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:
        # feedparser itself fails on some hostile bodies (a namespace URI holding U+0085, which
        # its SAX layer splits on, ends in "too many values to unpack"): not a readable feed.
        return {"bozo": True, "bozo_exception": exc, "version": "", "feed": {}, "entries": []}
    return parsed


# -- XML safety ---------------------------------------------------------------------------------


# A character reference to a UTF-16 surrogate (U+D800 to U+DFFF, "&#xD800;", "&#55296;") names no character:
# feedparser fails on the whole feed when it meets one ("surrogates not allowed").
_SURROGATE_REF = re.compile(
    rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}"
    rb"|573[0-3][0-9]|5734[0-3]));"
)


def _to_safe_utf8(body: bytes, content_type: str | None, warnings: list[str]) -> bytes:
    """The body as UTF-8 with every markup declaration before the root element removed.

    feedparser's loose parser expands entities declared in the DOCTYPE itself, without limits
    (a 70 KB quadratic-blowup feed yields a title of hundreds of millions of characters), so
    no DOCTYPE, ENTITY or other declaration may reach it. Decoding first, with feedparser's
    own detection, means we strip exactly the text feedparser would read, whatever the
    encoding (UTF-16, EBCDIC, a lying charset).
    """
    detected: dict[str, Any] = {}
    headers = {"content-type": _decoding_type(content_type)} if content_type else {}
    try:
        data: bytes = convert_to_utf8(headers, body, detected)
    except (UnicodeError, ValueError, LookupError) as exc:
        # feedparser's detection itself chokes on some corrupt prologs (bytes that are not UTF-8
        # inside the XML declaration, NUL characters): read what we can as UTF-8 instead.
        warnings.append(_short(f"encoding: undecodable prolog ({type(exc).__name__}); read as UTF-8"))
        data = body.decode("utf-8", errors="replace").replace("\x00", "").encode("utf-8")
    if detected.get("bozo"):
        warnings.append(_short(f"encoding: {_describe(detected.get('bozo_exception'))}"))
    elif conflict := _charset_conflict(body, content_type, detected.get("encoding")):
        warnings.append(_short(conflict))
    data, removed = strip_declarations(data)
    if removed:
        warnings.append("DOCTYPE internal subset or entity declarations removed (not honoured)")
    data, replaced = _SURROGATE_REF.subn(b"&#xFFFD;", data)
    if replaced:
        warnings.append(f"{replaced} character reference(s) to a lone surrogate replaced with U+FFFD")
    return data


def _decoding_type(content_type: str) -> str:
    """The content type to decode the body by: a ``text/*`` type without a charset as ``application/xml``.

    RFC 7303 dropped RFC 3023's us-ascii default for ``text/xml``: without a charset the BOM and the
    XML declaration decide, as for ``application/xml``. feedparser still applies the old default,
    which reads a UTF-16 body as ASCII with a NUL in every other place (no feed at all) and flags every
    other non-ASCII body as mis-declared (a warning, and the fast reader is not used). The same holds for
    a feed served as ``text/html`` or ``text/plain``, as many servers do: what is read is XML.
    """
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    xml = media in ("text/xml", "text/html", "text/plain") or (
        media.startswith("text/") and media.endswith("+xml")
    )
    if not xml or _HTTP_CHARSET.search(params):
        return content_type
    return f"application/xml;{params}" if params.strip() else "application/xml"


def _charset_conflict(body: bytes, content_type: str | None, used: str | None) -> str | None:
    """A warning when the HTTP charset and the XML declaration name different encodings.

    The HTTP charset wins (RFC 7303), so a server that mislabels its feeds garbles every title; this
    makes the conflict visible on the feed.
    """
    said = _HTTP_CHARSET.search(content_type or "")
    declared = _XML_ENCODING.match(body, 0, 256)
    if said is None or declared is None:
        return None
    http, document = said.group(1), declared.group(1).decode("ascii")
    if _codec(http) == _codec(document):
        return None
    return f"encoding: HTTP says charset={http}, the document says {document}; read as {used or http}"


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def strip_declarations(data: bytes) -> tuple[bytes, bool]:
    """Remove comments and ``<!...>`` declarations before the root element.

    The second value says whether anything beyond a plain DOCTYPE (an internal subset, an
    ENTITY or another declaration) was removed. The prolog is scanned the way feedparser
    splits it (up to the first ``<`` followed by a word character), so nothing that
    feedparser would treat as a declaration survives, even inside a comment.
    """
    out = bytearray()
    pos = 0
    notable = False
    while (lt := data.find(b"<", pos)) >= 0:
        if _ROOT_START.match(data, lt):
            break
        out += data[pos:lt]
        end = _markup_end(data, lt)
        chunk = data[lt:end]
        if chunk.startswith(b"<?") and b"<" not in chunk[2:]:
            out += chunk  # the XML declaration and stylesheet instructions are harmless
        elif chunk.startswith(b"<!") and not chunk.startswith(b"<!--"):
            notable = notable or b"[" in chunk or not chunk[2:9].upper().startswith(b"DOCTYPE")
        pos = end
    out += data[pos:]
    return bytes(out), notable


def _markup_end(data: bytes, start: int) -> int:
    """Index just past the comment, processing instruction or declaration at ``start``."""
    for opener, closer in ((b"<!--", b"-->"), (b"<?", b"?>")):
        if data.startswith(opener, start):
            end = data.find(closer, start + len(opener))
            return len(data) if end < 0 else end + len(closer)
    if not data.startswith(b"<!", start):
        return start + 1  # a stray "<" in the prolog: plain text
    depth = 0
    for token in _DECLARATION_TOKEN.finditer(data, start + 2):
        kind = token.group()
        if kind == b"[":
            depth += 1
        elif kind == b"]":
            depth = max(0, depth - 1)
        elif kind == b">" and depth == 0:
            return token.end()
    return len(data)  # unterminated: everything after it is part of it


@dataclass(frozen=True, slots=True)
class _Draft:
    guid: str | None
    url: str
    canonical_url: str
    title: str
    text: str
    content_hash: str
    published_at: datetime | None
    language: str | None
    updated_at: datetime | None = None


def _draft(
    entry: Mapping[str, Any], base: str, feed_language: str | None, now: datetime, guid_links: bool
) -> _Draft | None:
    title = _clean_title(entry.get("title_detail"), entry.get("title"))
    text = _clean_text(_best_content(entry))
    link = unwrap_redirect(resolve(_entry_link(entry, guid_links), base) or "")
    if not (title or text or link):
        return None
    link = link or _enclosure_link(entry, base)
    guid = _clean_line(_text_value(entry.get("id")) or "") or None
    return _Draft(
        guid=guid,
        url=link,
        canonical_url=(canonicalize(link) or "") if link else "",
        title=title,
        text=text,
        content_hash=content_hash(title, text),
        published_at=_published(entry, now),
        language=_entry_language(entry) or feed_language,
        updated_at=_updated(entry, now),
    )


def _entry_link(entry: Mapping[str, Any], guid_links: bool) -> str:
    """The entry's link as written: FeedBurner's original link where there is one, and no GUID that is no URL.

    FeedBurner replaced every link with one through its own proxy (feedproxy.google.com, long gone) and kept
    the article's own in ``feedburner:origLink``. A GUID counts as the link unless ``isPermaLink="false"``
    (feedparser takes it as one when the item has no link), but many feeds give plain ids ("12345") without
    saying so: resolved against the feed, those became links to pages that do not exist, shared by unrelated
    items of feeds on one host. A GUID is taken as the link only when it has a scheme or an absolute path.

    An empty or blank link (``<link/>``, Atom ``href=""``) counts as none, so the GUID stands in for it as
    it would with no link element. feedparser does not keep ``isPermaLink``: ``guid_links`` is False when
    some GUID of the body may be marked as no permalink, and then an empty link stays empty.
    """
    original = _text_value(entry.get("feedburner_origlink")) or ""
    if resolve(original):
        return original
    link = _text_value(entry.get("link")) or ""
    guid = _text_value(entry.get("id")) or ""
    if guid_links and _blank_link(entry):
        link = guid
    if link == guid and not _URL_LIKE.match(link.strip()):
        return ""
    return link


# An isPermaLink attribute whose value is not exactly "true" (feedparser's test: "false", "False", " true "), or
# the name anywhere else (in escaped text): the GUIDs of such a body are not all permalinks.
_NOT_PERMALINK = re.compile(rb"(?i:ispermalink)\s*=\s*(?![\"']true[\"'])")


def _blank_link(entry: Mapping[str, Any]) -> bool:
    """Whether the entry has a link element with nothing in it, and a GUID that might stand in for it."""
    link, guid = entry.get("link"), entry.get("id")
    return isinstance(link, str) and not link.strip() and isinstance(guid, str) and bool(guid.strip())


# Enclosure types that make an item a podcast's or a video feed's episode: an image enclosure (a news item's
# picture) is no address for the item.
_EPISODE_TYPES = ("audio/", "video/")


def _enclosure_link(entry: Mapping[str, Any], base: str) -> str:
    """The address of the entry's first audio or video enclosure (RSS ``<enclosure url>``, Atom
    ``<link rel="enclosure">``), resolved against ``base``; "" without one.

    A podcast's item often has no link and no GUID that is a URL: its episode is the item, so the episode's
    address is its link (the item's own link or permalink GUID comes first). Only an item with a title or text
    is kept: an enclosure alone gives nothing to match or to show.
    """
    enclosures = entry.get("enclosures")
    for enclosure in enclosures if isinstance(enclosures, list) else ():
        if not isinstance(enclosure, Mapping):
            continue
        kind = _text_value(enclosure.get("type")) or ""
        href = resolve(_text_value(enclosure.get("href")) or "", base)
        if href and kind.strip().lower().startswith(_EPISODE_TYPES):
            return href
    return ""


def assign_keys(drafts: Sequence[_Draft], warnings: list[str]) -> list[ArticleIn]:
    """Give every entry a key that is stable across polls and unique within the feed.

    The key is the GUID, else the canonical link, else the content hash. When several entries
    share a key with different content (a CMS that reuses GUIDs, items that all link to the
    home page), the earliest published keeps the bare key and the others get
    ``key#<content hash prefix>``: deterministic for the same feed served again, whatever the
    order of its items, and an item already stored under the bare key keeps it when a newer
    one arrives. Exact repeats are dropped.
    """
    groups: dict[str, list[tuple[int, _Draft]]] = {}
    for position, draft in enumerate(drafts):
        groups.setdefault(_base_key(draft), []).append((position, draft))
    keyed: list[tuple[int, ArticleIn]] = []
    repeats = shared = 0
    for base, members in groups.items():
        seen: set[str] = set()
        for rank, (position, draft) in enumerate(sorted(members, key=_seniority)):
            if draft.content_hash in seen:
                repeats += 1
                continue
            seen.add(draft.content_hash)
            key = base if rank == 0 else f"{base}#{draft.content_hash[:16]}"
            shared += rank > 0
            keyed.append((position, _article(draft, key)))
    if repeats:
        warnings.append(f"{repeats} repeated items dropped")
    if shared:
        warnings.append(
            f"{shared} items reuse the GUID or link of an item with other content; kept apart by content"
        )
    return [article for _, article in sorted(keyed, key=lambda item: item[0])]


def _seniority(item: tuple[int, _Draft]) -> tuple[datetime, int, str]:
    position, draft = item
    # Undated entries rank after dated ones; among them, later in the document means older,
    # since feeds list their newest items first.
    return (draft.published_at or datetime.max.replace(tzinfo=UTC), -position, draft.content_hash)


def _base_key(draft: _Draft) -> str:
    key = draft.guid or draft.canonical_url or f"sha256:{draft.content_hash}"
    if len(key) > MAX_KEY_CHARS:
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def _article(draft: _Draft, key: str) -> ArticleIn:
    return ArticleIn(
        key=key,
        url=draft.url,
        canonical_url=draft.canonical_url,
        title=draft.title,
        text=draft.text,
        content_hash=draft.content_hash,
        published_at=draft.published_at,
        language=draft.language,
        updated_at=draft.updated_at,
        guid=draft.guid,
    )


def content_hash(title: str, text: str) -> str:
    """sha256 of the case-folded, whitespace-collapsed title and text."""
    normalised = _collapse(title).casefold() + "\n" + _collapse(text).casefold()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _best_content(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(value, type) of the fullest body: the longest of the content elements and the summary."""
    candidates: list[tuple[str, str]] = []
    for item in entry.get("content") or []:
        if isinstance(item, Mapping) and isinstance(item.get("value"), str):
            candidates.append((item["value"], str(item.get("type") or "text/html")))
    detail = entry.get("summary_detail")
    summary = entry.get("summary")
    if isinstance(summary, str):
        kind = detail.get("type") if isinstance(detail, Mapping) else None
        candidates.append((summary, str(kind or "text/html")))
    return max(candidates, key=lambda c: len(c[0]), default=("", "text/plain"))


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    details: Iterable[Any] = [
        *(entry.get("content") or []),
        entry.get("summary_detail"),
        entry.get("title_detail"),
    ]
    for detail in details:
        if isinstance(detail, Mapping):
            language = normalize_language(_text_value(detail.get("language")))
            if language:
                return language
    return None


def _date_given(entry: Mapping[str, Any]) -> bool:
    return any(
        isinstance(entry.get(n), str) and entry[n].strip() for n in ("published", "updated", "created")
    )


def _published(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    for name in ("published", "updated", "created"):
        when = _entry_date(entry.get(name), entry.get(name + "_parsed"), now)
        if when is not None:
            return when
    return None


def _updated(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    """The entry's own revision time (Atom ``updated``, RSS ``atom:updated``), if it has one.

    Read from the dict itself: feedparser's lookup would fall back to the publication date.
    """
    if not isinstance(entry, dict):
        return None
    return _entry_date(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"), now)


def _entry_date(text: Any, value: Any, now: datetime) -> datetime | None:
    """feedparser's reading ``value`` of the date ``text``, if plausible and not read from a signed year.

    Some readings are corrected first: a time zone name feedparser does not know (which it takes for UTC),
    and a date it completed with today's month or day; and some dates it cannot read are read.
    """
    if isinstance(text, str):
        text = text[:200]
        if (zoned := _with_offset(text)) is not None:
            text, value = zoned, _read_date(zoned)
        elif value is not None and _invented(text):
            value = None
        if value is None:
            value = _local_date(text) or _dashed_date(text)
    if not isinstance(value, time.struct_time):
        return None
    if isinstance(text, str) and (_SIGNED_YEAR.search(text[:200]) or _absurd_offset(text[:200])):
        return None
    return _plausible(value, now)


def _absurd_offset(text: str) -> bool:
    """Whether the date ``text`` has a numeric UTC offset that no place uses (beyond ±14:00, or 60 minutes on)."""
    match = _OFFSET.search(text)
    if match is None:
        return False
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    return minutes >= 60 or hours * 60 + minutes > MAX_OFFSET_MINUTES


def _read_date(text: str) -> time.struct_time | None:
    """feedparser's reading of the date ``text``, unless it made up part of it (see _invented)."""
    if _invented(text):
        return None
    parsed: time.struct_time | None = _parse_date(text)
    return parsed


def _invented(text: str) -> bool:
    """Whether feedparser would read ``text`` with its ISO 8601 handler matching a part of it that lacks the
    month or the day, or that ends inside a number: it takes what it did not read from the current date.
    "2024/05/01 10:00" reads as 2024, this month, the 1st; "2024-W18" as this month in 2024; a Unix time
    "1714557600" as 2017-05-25 (year 17, day 145). The other handlers come first and read the whole text."""
    text = text.strip()
    if not text[:1].isdigit():  # what the handler reads begins with a digit, or with "-" (see _SIGNED_YEAR)
        return False
    for match in _iso8601_matches:
        found = match(text)
        if found is None or found.end() == 0:
            continue
        if found.end() == len(text):
            return False
        fields = found.groupdict()
        whole_date = fields.get("ordinal") or (fields.get("month") and fields.get("day"))
        if whole_date and not text[found.end()].isdigit():
            return False
        return _parse_date_w3dtf(text) is None and _parse_date_rfc822(text) is None
    return False


def _dashed_date(text: str) -> time.struct_time | None:
    """feedparser's reading of a date written with slashes or dots ("2024/05/01 10:00", "2024.05.01") as if
    written with dashes, as ISO 8601 has it."""
    match = _SLASHED_DATE.match(text)
    if match is None:
        return None
    year, month, day, rest = match.groups()
    return _read_date(f"{year}-{int(month):02d}-{int(day):02d}{rest}")


def _with_offset(text: str) -> str | None:
    """``text`` with a time zone name that feedparser does not know (and reads as UTC) written as its offset."""
    match = _ZONE_NAME.match(text)
    if match is None:
        return None
    offset = _ZONES.get(match.group(2).upper())
    return f"{match.group(1)} {offset}" if offset else None


def _local_date(text: str) -> time.struct_time | None:
    """feedparser's reading of an RFC 822 date written with another language's day or month name."""
    match = _LOCAL_RFC822.match(text)
    if match is None:
        return None
    day, month, rest = match.groups()
    folded = month.casefold()
    english = _MONTHS.get(folded[:4]) or _MONTHS.get(folded[:3])
    if english is None:
        return None
    parsed: time.struct_time | None = _parse_date(f"{day} {english} {rest}")
    return parsed


def _plausible(value: time.struct_time, now: datetime) -> datetime | None:
    # feedparser's *_parsed values are UTC; year 0, 31 February and the like do not convert.
    try:
        when = datetime(*value[:5], min(value.tm_sec, 59), tzinfo=UTC)
    except (ValueError, OverflowError, TypeError):
        return None
    if when < EARLIEST_PUBLISHED or when > now + FUTURE_SLACK:
        return None
    return when


def _ttl_s(channel: Mapping[str, Any]) -> int | None:
    ttl = (_text_value(channel.get("ttl")) or "").strip()
    if not (ttl.isascii() and ttl.isdigit()) or int(ttl) <= 0:  # "²" passes isdigit() and int() refuses it
        return None
    return min(int(ttl), 7 * 24 * 60) * 60  # minutes; a week bounds absurd values


def _title(channel: Mapping[str, Any]) -> str:
    return _clean_title(channel.get("title_detail"), channel.get("title"))


# -- text -------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML fragment, one line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self._skipping = 0

    @property
    def skipping(self) -> bool:
        """Whether the parser is inside an element whose content is not text (a script, a style)."""
        return self._skipping > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:  # <br/>, <hr/>; a self-closed <script/> has no content to skip
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
            self.size += len(data)


def html_to_text(markup: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Visible text of an HTML fragment: no tags, scripts or styles; entities decoded; one
    line per block, whitespace collapsed; at most ``limit`` characters."""
    parts = _simple_html_parts(markup, limit)
    if parts is not None:
        return _tidy("".join(parts), limit)
    extractor = _TextExtractor()
    # Fed in chunks so that a huge body stops being parsed once there is text enough. The parser reads an
    # unfinished tag again from its start with every chunk: while a long one is pending, each chunk is twice
    # the last (a tag over many chunks would cost their number squared).
    start, chunk = 0, _HTML_CHUNK
    try:
        while start < len(markup):
            extractor.feed(markup[start : start + chunk])
            start += chunk
            if extractor.size > 2 * limit:
                break
            pending = extractor.rawdata
            if len(pending) > _PENDING_TAG_MAX and extractor.cdata_elem is None and _TAG_OPEN.match(pending):
                # The standard library's tag pattern keeps about 200 bytes of backtracking state per character
                # of a pending tag's attributes, on every chunk (15 MB of "<a b " took 3 GiB): lxml reads the
                # rest, without the attributes of so long a tag.
                extractor.rawdata = ""
                _replay(pending + markup[start:], extractor, limit)
                break
            chunk = 2 * chunk if len(pending) > _UNPARSED_MAX else _HTML_CHUNK
        else:
            _finish(extractor, limit)
    except AssertionError:  # the standard library's parser gives up on some declarations ("<![x ...")
        extractor = _TextExtractor()
        _replay(markup, extractor, limit)
    return _tidy("".join(extractor.parts), limit)


def _finish(extractor: _TextExtractor, limit: int) -> None:
    """Close the parser. What it has left unparsed (from an unfinished tag, comment or declaration on) goes
    through lxml instead when it is long: the standard library's parser reads it again from every "<" in it
    (quadratic: 30 KB of "<a " took 11 s; CVE-2025-6069, fixed in Python 3.11.13, 3.12.11, 3.13.4)."""
    rest = extractor.rawdata
    if len(rest) <= _UNPARSED_MAX or not rest.startswith("<"):  # text held back for a cut entity: linear
        extractor.close()
        return
    extractor.rawdata = ""
    extractor.close()
    if extractor.cdata_elem is None and not extractor.skipping:  # else it is a script's or a style's, no text
        _replay(rest, extractor, limit)


# A start or end tag as HTML5 tokenises it (libxml2 2.14 does): a quote opens a value only after "=", and the
# tag ends at the first ">" outside one. Possessive, so that matching is linear; group 2 is absent when the tag
# runs to the end of the markup (nothing of it is read).
_TAG = re.compile(
    r"<(/?[A-Za-z][^\t\n\f\r />]*+)"
    r"(?:[\t\n\f\r /]++|[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >]*+))?+)*+"
    r"(>)?"
)
_TAG_MAX = 1024  # a tag longer than this loses its attributes before lxml reads it
_REPLAY_CHUNK = 64 * 1024


def _shorten_tags(markup: str) -> str:
    """``markup`` with the attributes of every tag over _TAG_MAX characters dropped, and cut before such a tag
    that never ends. lxml builds every attribute of a tag, at about 200 bytes a character, and checks each against
    all the others (a 100 KB tag took 0.4 s, 1 MB 37 s); attributes are never text."""
    parts: list[str] = []
    pos = 0
    for match in _TAG.finditer(markup):
        if match.end() - match.start() <= _TAG_MAX:  # left as it is (inside a <title> it is text)
            continue
        parts.append(markup[pos : match.start()])
        if match.group(2) is None:  # runs to the end: libxml2 reads no text from it
            return "".join(parts)
        parts.append(f"<{match.group(1)[:_TAG_MAX]}>")
        pos = match.end()
    parts.append(markup[pos:])
    return "".join(parts)


class _ReplayTarget:
    """lxml parser target: hands tags and text to a _TextExtractor as its own parser would, skipping what is
    inside an element without text (a script, a style) but its end."""

    def __init__(self, extractor: _TextExtractor) -> None:
        self.extractor = extractor
        self._skipped: list[str] = []  # open elements inside a skipped one, the skipped one first

    def start(self, tag: str, attrib: Any) -> None:
        if self._skipped:
            self._skipped.append(tag)
            return
        self.extractor.handle_starttag(tag, [])
        if tag in _SKIP_TAGS:
            self._skipped.append(tag)

    def end(self, tag: str) -> None:
        if self._skipped:
            self._skipped.pop()
            if self._skipped:
                return
        self.extractor.handle_endtag(tag)

    def data(self, data: str) -> None:
        if not self._skipped:
            self.extractor.handle_data(data)

    def close(self) -> None:
        pass


def _replay(markup: str, extractor: _TextExtractor, limit: int) -> None:
    """Read ``markup`` with lxml's (libxml2's) HTML parser, which reads malformed markup in linear time (it may
    recover a different tree from it), and hand its tags and text to ``extractor`` as its own parser would.

    No tree is built, and reading stops once there is text enough, so memory stays bounded whatever the size.
    """
    data = _shorten_tags(_CONTROL.sub("", markup)).encode("utf-8")
    # As bytes, so that an XML declaration naming an encoding is no error; no depth limit.
    parser = lxml.etree.HTMLParser(
        encoding="utf-8", huge_tree=True, no_network=True, target=_ReplayTarget(extractor)
    )
    try:
        for start in range(0, len(data), _REPLAY_CHUNK):
            parser.feed(data[start : start + _REPLAY_CHUNK])
            if extractor.size > 2 * limit:
                break
        parser.close()
    except (lxml.etree.LxmlError, ValueError):  # nothing parseable
        return


# Markup that is only text, entities and plain tags (quoted or simple attribute values, no
# comments, declarations or stray "<") is split with one regular expression; _TextExtractor
# would see exactly these tags and text runs, so the result is the same, many times faster.
_WS = r"[ \t\n\r\f]"  # what HTMLParser ends a tag name on (\s would also take \v, \x1c, ...)
_SIMPLE_TAG = re.compile(
    rf"""<(?:/([a-zA-Z][a-zA-Z0-9]*){_WS}*"""  # an end tag
    rf"""|([a-zA-Z][a-zA-Z0-9]*)"""  # or a start tag, with attributes whose values are quoted
    rf"""(?:{_WS}+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:{_WS}*={_WS}*"""
    rf"""(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`/]+(?=[ \t\n\r\f>])))?)*"""  # or bare, never before "/"
    rf"""{_WS}*(/?))>"""
)
# Elements whose content HTMLParser (in some Python version) does not parse as markup, and
# those _TextExtractor skips: both need the full parser.
_RAW_TEXT_TAGS = _SKIP_TAGS | {
    "script",
    "style",
    "title",
    "textarea",
    "xmp",
    "noembed",
    "noframes",
    "plaintext",
}
_SPACE_OR_SEMICOLON = re.compile(r"[\s;]")


def _simple_html_parts(markup: str, limit: int) -> list[str] | None:
    """What _TextExtractor would collect from ``markup``, or None unless the markup is simple."""
    if len(markup) > _HTML_CHUNK:
        return None  # fed in chunks, with an early stop: leave it to the parser
    parts: list[str] = []
    size = pos = 0
    for match in _SIMPLE_TAG.finditer(markup):
        start = match.start()
        if start > pos:
            text = markup[pos:start]
            if "<" in text:
                return None
            data = html.unescape(text)
            parts.append(data)
            size += len(data)
        end_name, start_name = match.group(1, 2)
        tag = (end_name or start_name).lower()
        if tag in _RAW_TEXT_TAGS:
            return None
        if tag in _BLOCK_TAGS:
            parts.append("\n")
        pos = match.end()
    if pos < len(markup):
        tail = markup[pos:]
        if "<" in tail:
            return None
        # HTMLParser holds back trailing text that may end in a cut entity until close(), which
        # html_to_text skips once it has twice ``limit`` characters.
        amp = markup.rfind("&", max(pos, len(markup) - 34))
        held_back = amp >= 0 and not _SPACE_OR_SEMICOLON.search(markup, amp)
        if not (held_back and size > 2 * limit):
            parts.append(html.unescape(tail))
    return parts


def _clean_text(content: tuple[str, str]) -> str:
    value, kind = content
    if "html" in kind:
        return _escaped_twice(html_to_text(value), MAX_TEXT_CHARS)
    return _escaped_twice(_tidy(html.unescape(value), MAX_TEXT_CHARS), MAX_TEXT_CHARS)


def _clean_title(detail: Any, value: Any) -> str:
    if not isinstance(value, str):
        return ""
    kind = detail.get("type") if isinstance(detail, Mapping) else "text/plain"
    if "html" in str(kind) or _HTML_ELEMENT.search(value):
        text = html_to_text(value, MAX_TITLE_CHARS)
    else:
        text = html.unescape(value)
    return _clean_line(_escaped_twice(text, MAX_TITLE_CHARS))[:MAX_TITLE_CHARS].rstrip()


def _escaped_twice(text: str, limit: int) -> str:
    """``text`` read as HTML once more if it still begins with an HTML element: markup some CMSs escape twice
    ("&amp;lt;p&amp;gt;"), which one reading leaves as tags and entities in the text. Only at the start: text
    that mentions a tag ("the <script> element") is text."""
    return html_to_text(text, limit) if _HTML_ELEMENT.match(text) else text


def _tidy(text: str, limit: int) -> str:
    lines = (_collapse(line) for line in _CONTROL.sub("", text).split("\n"))
    return "\n".join(line for line in lines if line)[:limit].rstrip()


def _clean_line(text: str) -> str:
    return _collapse(_CONTROL.sub("", text))


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _text_value(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _describe(exc: Any) -> str:
    if exc is None:
        return "unknown problem"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _short(text: str) -> str:
    return text if len(text) <= MAX_WARNING_CHARS else text[: MAX_WARNING_CHARS - 1] + "…"
