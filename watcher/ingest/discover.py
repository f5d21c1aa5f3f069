"""Find a site's feeds: the URL itself, its HTML page's ``<link rel="alternate">`` feeds, else the usual paths."""

from __future__ import annotations

import asyncio
import codecs
import logging
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from watcher.domain import FeedSpec, unsaved_feed
from watcher.ingest.fetch import ErrorKind, FetchResult, fetch_feed
from watcher.ingest.http import HttpSettings
from watcher.ingest.parse import parse_entries
from watcher.ingest.urls import canonicalize, display_url, resolve

logger = logging.getLogger(__name__)

# Media types of feed links, best first. WordPress also links its REST API as application/json,
# so that type ranks last and /wp-json/ links are dropped.
FEED_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 0,
    "application/rdf+xml": 0,
    "application/feed+json": 1,
    "application/json": 2,
}
GUESSED_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json")
MAX_SCAN_CHARS = 1_000_000  # feed links live in <head>; a page's first megabyte is plenty
MAX_LINKS = 50
_UNPARSED_MAX = (
    1024  # unparsed markup longer than this at the end is dropped, not read by close() (feed_links)
)
_HTTP_CHARSET = "charset="

Source = Literal["self", "link", "guess"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedCandidate:
    """A feed found for a URL: the URL itself (``self``), a page's link (``link``), or a usual path (``guess``).

    ``self`` and ``guess`` candidates were fetched and parse as feeds; ``link`` candidates are what
    the page declares and have not been fetched.
    """

    url: str
    source: Source
    media_type: str | None = None  # the link's type attribute, or the Content-Type a feed was served with
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """What discovery found for ``url``, best candidate first; ``error`` is set when nothing was found."""

    url: str
    candidates: list[FeedCandidate] = field(default_factory=list)
    error: str | None = None
    error_kind: ErrorKind | Literal["no_feed"] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def discover_feeds(
    session: aiohttp.ClientSession, url: str, http: HttpSettings, *, now: datetime, guess: bool = True
) -> Discovery:
    """Find the feeds of ``url`` with the shared session (address guard, body cap, timeouts); never raises.

    A URL that is itself a feed is its only candidate. Otherwise its HTML page's feed links are
    the candidates, and when it has none the usual paths on its host (``GUESSED_PATHS``) are tried
    in turn (unless ``guess`` is False) until one parses as a feed.
    """
    page = await _fetch(session, url, http, now)
    if not page.ok or page.body is None:
        return Discovery(url=url, error=page.error, error_kind=page.error_kind)
    base = page.final_url or url
    title = await _feed_title(page.body, page.content_type, base)
    if title is not None:
        problem = candidate_problem(base, url)
        if problem is not None:  # a redirect to a URL feeds.yaml would refuse
            return Discovery(
                url=url, error=f"the feed's URL cannot be stored: {problem}", error_kind="no_feed"
            )
        return Discovery(url=url, candidates=[_candidate(page, base, "self", title)])
    # Off the event loop: a page is up to a megabyte of markup from anywhere.
    links = await asyncio.to_thread(feed_links, _decode(page.body, page.content_type), base)
    if links:
        return Discovery(url=url, candidates=links)
    if guess:
        for path in GUESSED_PATHS:
            target = resolve(path, base)
            if target is None:
                break
            found = await _fetch(session, target, http, now)
            if found.ok and found.body is not None:
                target = found.final_url or target
                if candidate_problem(target, base) is not None:
                    continue
                if (title := await _feed_title(found.body, found.content_type, target)) is not None:
                    return Discovery(url=url, candidates=[_candidate(found, target, "guess", title)])
    return Discovery(
        url=url,
        error="no feed found: not a feed, no feed links, no feed at the usual paths",
        error_kind="no_feed",
    )


def candidate_problem(url: str, page_url: str) -> str | None:
    """Why a feed URL found from ``page_url`` cannot be stored, or None: the checks feeds.yaml and ``feeds add``
    make of a typed URL (http or https, length, spaces, control characters), and no credentials (userinfo)
    other than those of ``page_url`` (which a relative link inherits).
    """
    from watcher.config import feed_problem

    problem = feed_problem(url)
    if problem is not None:
        return problem
    try:
        given, typed = urlsplit(url), urlsplit(page_url)
    except ValueError:
        return "url: not a valid URL"
    if (given.username, given.password) != (typed.username, typed.password) and (
        given.username is not None or given.password is not None
    ):
        return "url: holds credentials (user:password@) that the page's own URL does not"
    return None


def feed_links(markup: str, base_url: str) -> list[FeedCandidate]:
    """The feeds an HTML page declares with ``<link rel="alternate" type=...>``, best first.

    Relative hrefs are resolved against ``<base href>`` or ``base_url``. Order: main feeds before
    comment feeds, RSS/Atom/RDF before JSON Feed before plain JSON, then the page's own order.
    Duplicates (the same canonical URL) are dropped, and so are links that could not be stored as a feed
    (see :func:`candidate_problem`), with a warning.
    """
    finder = _LinkFinder(base_url)
    # Fed in one piece: the parser reads a pending unfinished tag once per feed() call.
    finder.feed(markup[:MAX_SCAN_CHARS])
    if len(finder.rawdata) > _UNPARSED_MAX and finder.rawdata.startswith("<"):
        # An unfinished tag, comment or declaration up to the end, which close() would read again from every "<"
        # in it (quadratic: 60 KB of "<a " took 42 s; CVE-2025-6069, fixed in Python 3.11.13, 3.12.11, 3.13.4).
        # No feed link is in it: a tag that never ends declares nothing (parse._finish reads it with lxml).
        finder.rawdata = ""
    finder.close()
    seen: set[str] = set()
    ranked: list[tuple[tuple[bool, int, int], FeedCandidate]] = []
    for position, (href, media_type, title) in enumerate(finder.links):
        url = resolve(href, finder.base)
        key = canonicalize(url) if url else None
        if url is None or key is None or key in seen or "/wp-json/" in url:
            continue
        problem = candidate_problem(url, base_url)
        if problem is not None:
            logger.warning(
                "feed link skipped: %s (on %.100r, href %.100r)",
                problem,
                display_url(base_url),
                display_url(url),
            )
            continue
        seen.add(key)
        comments = "comment" in (title or "").lower() or "comment" in url.lower()
        rank = (comments, FEED_TYPES[media_type], position)
        ranked.append((rank, FeedCandidate(url=url, source="link", media_type=media_type, title=title)))
    return [candidate for _, candidate in sorted(ranked, key=lambda item: item[0])]


class _LinkFinder(HTMLParser):
    """Collects ``<link rel="alternate">`` elements of feed types, and the first ``<base href>``."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.links: list[tuple[str, str, str | None]] = []  # (href, media type, title)
        self._based = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "base") or len(self.links) >= MAX_LINKS:
            return
        values = {name: (value or "").strip() for name, value in attrs}
        href = values.get("href", "")
        if tag == "base":
            if href and not self._based:
                self.base = resolve(href, self.base) or self.base
                self._based = True
            return
        media_type = values.get("type", "").split(";", 1)[0].strip().lower()
        rels = values.get("rel", "").lower().split()
        if href and "alternate" in rels and media_type in FEED_TYPES:
            self.links.append((href, media_type, " ".join(values.get("title", "").split())[:200] or None))

    handle_startendtag = handle_starttag


async def _fetch(session: aiohttp.ClientSession, url: str, http: HttpSettings, now: datetime) -> FetchResult:
    return await fetch_feed(
        session, unsaved_feed(FeedSpec(url=url, outlet="")), http, now=now, force_full=True
    )


async def _feed_title(body: bytes, content_type: str | None, base: str) -> str | None:
    """The feed's title ("" when untitled) when the body parses as a feed, else None."""
    parsed = await asyncio.to_thread(parse_entries, body, base, content_type=content_type)
    return parsed.title


def _candidate(result: FetchResult, url: str, source: Source, title: str) -> FeedCandidate:
    media_type = (result.content_type or "").split(";", 1)[0].strip().lower() or None
    return FeedCandidate(url=url, source=source, media_type=media_type, title=title or None)


def _decode(body: bytes, content_type: str | None) -> str:
    charset = (content_type or "").lower().partition(_HTTP_CHARSET)[2].split(";", 1)[0].strip(" \"'")
    try:
        codec = codecs.lookup(charset).name if charset else "utf-8"
    except LookupError:
        codec = "utf-8"
    return body[: MAX_SCAN_CHARS * 4].decode(codec, errors="replace")
