"""Fetch an article's page politely and extract its main text and metadata; failures are results, never raises."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.robotparser
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import aiohttp
from yarl import URL

from watcher.ingest.fetch import ACCEPT_ENCODING, REDIRECTS, ErrorKind, _read_capped, describe_error
from watcher.ingest.http import HttpSettings
from watcher.ingest.parse import (
    EARLIEST_PUBLISHED,
    FUTURE_SLACK,
    MAX_TITLE_CHARS,
    _clean_line,
    _tidy,
)
from watcher.ingest.pool import ParsePool, WorkerDied, WorkerTimeout
from watcher.ingest.urls import HTTP_SCHEMES, redact_url
from watcher.text.language import detect_language, normalize_language

logger = logging.getLogger(__name__)

FullTextMode = Literal["never", "auto", "always"]
PageErrorKind = ErrorKind | Literal["robots", "not_html", "extract", "stub"]

SHORT_FEED_TEXT_CHARS = 500  # in auto mode, feed text shorter than this is "only a line"
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: parse at least the first 500 KiB
MAX_CRAWL_DELAY_S = 60.0  # a robots.txt Crawl-delay is honoured up to this
MAX_AUTHOR_CHARS = 200
MAX_HOSTS = (
    10_000  # per-host state kept; beyond it, hosts that are idle and due a new robots.txt are forgotten
)


def wants_full_text(mode: FullTextMode | str, feed_text: str, is_candidate: bool) -> bool:
    """Whether an item's page should be fetched for its full text.

    ``auto`` fetches only items whose feed text is short (under ``SHORT_FEED_TEXT_CHARS``) and
    that pass some active claim's lexical prefilter (``is_candidate``), so the crawl is bounded
    by candidates, not by feed volume.
    """
    if mode == "never":
        return False
    if mode == "always":
        return True
    if mode == "auto":
        return is_candidate and len(feed_text.strip()) < SHORT_FEED_TEXT_CHARS
    raise ValueError(f"full_text must be never, auto or always, not {mode!r}")


# A page with more "<" than this (tags, and any "<" in its scripts) is not extracted: the extractor's time grows
# with the square of the element count (20,000 one-line paragraphs took 2.6 s, 40,000 took 7.7 s; a 5 MB page
# of them, minutes), and a news article page has a few thousand tags.
MAX_PAGE_TAGS = 30_000


@dataclass(frozen=True, slots=True, kw_only=True)
class PageSettings:
    """Politeness and limits for article pages. Times are seconds, sizes bytes or characters."""

    per_host: int = 2  # page requests in flight per host
    min_interval_s: float = 1.0  # between the starts of two page requests to one host
    max_body_bytes: int = 5 * 1024 * 1024  # pages are smaller than feeds; counted after decompression
    robots_ttl_s: float = 3600.0  # how long a host's robots.txt is trusted
    robots_error_ttl_s: float = 600.0  # how long an unreachable robots.txt (5xx, network) blocks the host
    min_text_chars: int = 300  # extracted text shorter than this (or than the feed's) is a paywall or stub
    max_text_chars: int = 50_000
    fast_extraction: bool = (
        False  # skip trafilatura's fallback extractors: about a third of the CPU, less recall
    )
    # A page not extracted this long after a worker process took it is given up (its worker is
    # killed); with the tag cap the known worst case takes about 5 s. Pages extracted in a thread have no limit.
    extract_time_limit_s: float = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Extracted:
    """What a page yielded. ``text`` is plain text, one paragraph a line; ``published_at`` has day precision."""

    text: str
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PageResult:
    """The outcome of one page fetch; ``error`` is None exactly when the page added text to the feed's.

    ``text`` is the extracted main text, set only when it is longer than the feed text and than
    ``PageSettings.min_text_chars``: readers use ``page.text or feed_text``. On a stub
    (``error_kind == "stub"``) the metadata is still filled in. ``published_at`` has day precision:
    prefer the feed's date when it has one.
    """

    url: str
    final_url: str | None = None
    status: int | None = None
    text: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    language: str | None = None
    error: str | None = None  # short and human; never contains credentials or query values
    error_kind: PageErrorKind | None = None  # a bounded set, fit for a metrics label
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class _Refused(Exception):
    """Ends a page fetch early with the result to return."""

    def __init__(self, kind: PageErrorKind, error: str, status: int | None = None) -> None:
        super().__init__(error)
        self.kind = kind
        self.error = error
        self.status = status


@dataclass(slots=True)
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything is allowed
    expires: float
    disallow_all: bool = False


@dataclass(slots=True)
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    crawl_delay_s: float = 0.0
    robots: _Robots | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PageFetcher:
    """Fetches article pages over the shared session: address guard, body cap and timeouts from
    ``http``; robots.txt (cached per host), per-host concurrency and a per-host minimum interval
    from ``pages``. One per process; create it inside the running event loop.

    Pages are extracted in ``workers``' processes, each given up after ``pages.extract_time_limit_s``
    (an ``extract`` error), or in a thread without a limit when ``workers`` is None or has no processes.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        http: HttpSettings,
        pages: PageSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        workers: ParsePool | None = None,
    ) -> None:
        self.session = session
        self.http = http
        self.pages = pages or PageSettings()
        self.clock = clock
        self.workers = workers or ParsePool(0)
        self._hosts: dict[str, _Host] = {}

    async def fetch_page(self, url: str, *, feed_text: str = "", now: datetime | None = None) -> PageResult:
        """Fetch ``url`` and extract its main text (off the event loop); every failure is a result.

        :param feed_text: the item's text from its feed; a page yielding no more than this is a stub.
        :param now: for rejecting publication dates in the future; defaults to the current time.
        """
        started = self.clock()
        try:
            final_url, status, body = await self._download(url)
            extracted = await self._extract(body, final_url, status, now or datetime.now(UTC))
            result = self._judge(url, final_url, status, extracted, feed_text)
        except _Refused as refused:
            result = PageResult(url=url, status=refused.status, error=refused.error, error_kind=refused.kind)
        except TimeoutError:  # before ClientError: aiohttp's timeout errors are both
            result = PageResult(
                url=url, error=f"timed out after {self.http.total_timeout_s:g} s", error_kind="timeout"
            )
        except aiohttp.ClientError as exc:
            kind, error = describe_error(exc)
            result = PageResult(url=url, error=error, error_kind=kind)
        except Exception as exc:  # the extractor is third-party code fed hostile pages: contain anything
            logger.debug("page %s: extraction failed", redact_url(url), exc_info=True)
            result = PageResult(
                url=url, error=f"extraction failed: {type(exc).__name__}", error_kind="extract"
            )
        result = replace(result, elapsed_ms=round((self.clock() - started) * 1000))
        logger.debug("page %s: %s", redact_url(url), result.error or "ok", extra={"ms": result.elapsed_ms})
        return result

    async def _extract(self, body: bytes, url: str, status: int, now: datetime) -> Extracted | None:
        limit = self.pages.extract_time_limit_s
        try:
            extracted = await self.workers.run(
                extract_page,
                body,
                url,
                now=now,
                max_text_chars=self.pages.max_text_chars,
                fast=self.pages.fast_extraction,
                detect=False,
                time_limit_s=limit,
            )
        except WorkerTimeout:
            raise _Refused(
                "extract", f"extraction took over {limit:g} s; the page was given up", status
            ) from None
        except WorkerDied:
            raise _Refused("extract", "the extracting process died on this page", status) from None
        if extracted is None:
            return None
        detected = await asyncio.to_thread(detect_language, extracted.text)
        return replace(extracted, language=detected or extracted.language)

    def _judge(
        self, url: str, final_url: str, status: int, extracted: Extracted | None, feed_text: str
    ) -> PageResult:
        base = PageResult(url=url, final_url=final_url, status=status)
        if extracted is None:
            return replace(base, error="no main text found", error_kind="extract")
        result = replace(
            base,
            title=extracted.title,
            published_at=extracted.published_at,
            author=extracted.author,
            language=extracted.language,
        )
        needed = max(self.pages.min_text_chars, len(feed_text.strip()) + 1)
        if len(extracted.text) < needed:
            error = (
                f"page text of {len(extracted.text)} characters adds nothing to the feed's (paywall or stub)"
            )
            return replace(result, error=error, error_kind="stub")
        return replace(result, text=extracted.text)

    # -- HTTP -------------------------------------------------------------------------------------

    async def _download(self, url: str) -> tuple[str, int, bytes]:
        """(final URL, status, body) of a 2xx HTML page; redirects followed hop by hop, each checked."""
        try:
            target = URL(url)
        except ValueError:
            raise _Refused("refused", "invalid URL") from None
        seen: set[URL] = set()
        for _ in range(self.http.max_redirects + 1):
            if target.scheme not in HTTP_SCHEMES or not target.host:
                raise _Refused("refused", f"unsupported URL {redact_url(str(target))}")
            if target in seen:
                raise _Refused("redirect", "redirect loop")
            seen.add(target)
            host = await self._allowed(target)
            async with self._slot(host), asyncio.timeout(self.http.total_timeout_s):
                async with self.session.get(
                    target,
                    headers={"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
                    allow_redirects=False,
                    auto_decompress=False,  # decoded by _read_capped, which refuses a body cut short
                ) as response:
                    if response.status not in REDIRECTS:
                        return str(response.url), response.status, await self._body(response)
                    location = response.headers.get("Location", "").strip()
            try:
                target = target.join(URL(location)).with_fragment(None) if location else URL()
            except ValueError:
                target = URL()
            if not target.host:
                raise _Refused("redirect", "redirect without a valid Location")
        raise _Refused("redirect", f"more than {self.http.max_redirects} redirects")

    async def _body(self, response: aiohttp.ClientResponse) -> bytes:
        if not 200 <= response.status < 300:
            raise _Refused("http", f"HTTP {response.status}", response.status)
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media not in HTML_TYPES:
            raise _Refused("not_html", f"not an HTML page ({_clean_line(media[:60])})", response.status)
        body = await _read_capped(response, self.pages.max_body_bytes)
        if body is None:
            raise _Refused(
                "oversized", f"page larger than {self.pages.max_body_bytes} bytes", response.status
            )
        if body.count(b"<") > MAX_PAGE_TAGS:
            raise _Refused("oversized", f'page with more than {MAX_PAGE_TAGS} "<"', response.status)
        return body

    @asynccontextmanager
    async def _slot(self, host: _Host) -> AsyncIterator[None]:
        """At most ``per_host`` requests in flight, their starts at least the host's interval apart."""
        async with host.slots:
            now = self.clock()
            start = max(now, host.next_start)
            host.next_start = start + max(self.pages.min_interval_s, host.crawl_delay_s)
            if start > now:
                await asyncio.sleep(start - now)
            yield

    # -- robots.txt -------------------------------------------------------------------------------

    async def _allowed(self, url: URL) -> _Host:
        """The host's state, once robots.txt allows ``url``; raises _Refused when it does not."""
        origin = str(url.origin())
        host = self._hosts.get(origin)
        if host is None:
            if len(self._hosts) >= MAX_HOSTS:
                self._forget_idle_hosts()
            host = self._hosts[origin] = _Host(slots=asyncio.Semaphore(self.pages.per_host))
        async with host.robots_lock:  # one robots.txt request per host, however many pages wait
            if host.robots is None or host.robots.expires <= self.clock():
                host.robots = await self._robots(url.origin())
                delay = host.robots.parser.crawl_delay(self.http.user_agent) if host.robots.parser else None
                host.crawl_delay_s = min(float(delay or 0), MAX_CRAWL_DELAY_S)
        robots = host.robots
        if robots.disallow_all:
            raise _Refused("robots", "robots.txt could not be read; the host is skipped for now")
        if robots.parser is not None and not robots.parser.can_fetch(self.http.user_agent, str(url)):
            raise _Refused("robots", "disallowed by robots.txt")
        return host

    def _forget_idle_hosts(self) -> None:
        now = self.clock()
        for origin, host in list(self._hosts.items()):
            if host.next_start <= now and (host.robots is None or host.robots.expires <= now):
                del self._hosts[origin]

    async def _robots(self, origin: URL) -> _Robots:
        """RFC 9309: 2xx is parsed, 4xx allows everything, 5xx and network failures disallow everything.

        A host refused by the address guard raises: no page of it can be fetched either.
        """
        now = self.clock()
        unreachable = _Robots(parser=None, expires=now + self.pages.robots_error_ttl_s, disallow_all=True)
        try:
            async with asyncio.timeout(self.http.total_timeout_s):
                async with self.session.get(
                    origin / "robots.txt",
                    max_redirects=self.http.max_redirects,
                    headers={"Accept": "text/plain"},
                ) as response:
                    if 400 <= response.status < 500:
                        return _Robots(parser=None, expires=now + self.pages.robots_ttl_s)
                    if not 200 <= response.status < 300:
                        return unreachable
                    body = await _read_prefix(response, MAX_ROBOTS_BYTES)
        except TimeoutError:
            return unreachable
        except aiohttp.ClientError as exc:
            if describe_error(exc)[0] == "refused":
                raise  # the address guard's refusal is the page's error, not a robots.txt outcome
            return unreachable
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return _Robots(parser=parser, expires=now + self.pages.robots_ttl_s)


async def _read_prefix(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The first ``cap`` bytes of the body; the rest is not read."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) >= cap:
            response.close()
            break
    return bytes(body[:cap])


# -- extraction (sync, pure; runs in a thread) --------------------------------------------------------


def extract_page(
    body: bytes,
    url: str,
    *,
    now: datetime,
    max_text_chars: int = 50_000,
    fast: bool = False,
    detect: bool = True,
) -> Extracted | None:
    """The main text and metadata of an HTML page (trafilatura; htmldate for dates), or None when it has none.

    The language is detected from the extracted text, else taken from ``<html lang>`` (templates
    often declare one language for every page). The first call imports the extractor (seconds).

    :param detect: False: the language is the declared one only (the caller detects it from the text, where
        the detector is loaded already: it holds about 75 MiB).
    """
    import trafilatura

    # The extractor logs hostile pages at ERROR without context; the result carries the failure instead.
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    tree = trafilatura.load_html(body)
    if tree is None:
        return None
    declared = tree.get("lang") or None
    # Dates only from the page's metadata, structured data and URL: htmldate's extensive search
    # reads dates out of the text, and takes a footer's "© 2025" for the publication date.
    dates = {"extensive_search": False, "original_date": True, "max_date": now.strftime("%Y-%m-%d")}
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        date_extraction_params=dates,
    )
    text = _tidy(_field(document, "text"), max_text_chars)
    if not text:
        return None
    return Extracted(
        text=text,
        title=_clean_line(_field(document, "title"))[:MAX_TITLE_CHARS].rstrip() or None,
        published_at=_day(_field(document, "date"), now),
        author=_clean_line(_field(document, "author"))[:MAX_AUTHOR_CHARS].rstrip() or None,
        language=(detect_language(text) if detect else None) or normalize_language(declared),
    )


def _field(document: Any, name: str) -> str:
    value = getattr(document, name, None)  # a trafilatura Document, or None
    return value if isinstance(value, str) else ""


def _day(value: str, now: datetime) -> datetime | None:
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return when if EARLIEST_PUBLISHED <= when <= now + FUTURE_SLACK else None
