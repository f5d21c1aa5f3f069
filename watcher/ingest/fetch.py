"""Fetch one feed politely: conditional GET, redirects, body cap, Retry-After and Cache-Control."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Literal

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError
from yarl import URL

from watcher.domain import Feed
from watcher.ingest.http import AddressRefusedError, HttpSettings
from watcher.ingest.retry_after import retry_after_seconds
from watcher.ingest.urls import HTTP_SCHEMES, redact_url

logger = logging.getLogger(__name__)

ErrorKind = Literal[
    "timeout", "http", "oversized", "network", "refused", "redirect", "tls", "parse", "encoding"
]

MAX_DELAY = timedelta(hours=24)  # no server hint or backoff keeps a feed unpolled for longer
MAX_DELAY_S = int(MAX_DELAY.total_seconds())
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
CHUNK_BYTES = 64 * 1024

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*no-(?:cache|store)\s*(?:,|=|$)", re.IGNORECASE)
# The content codings aiohttp decodes, as its decoding errors name them ("brotli (br)", "gzip").
_CODING = re.compile(r"\b(br|zstd|gzip|deflate)\b")


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """The outcome of one fetch; ``error`` is None exactly when the fetch succeeded.

    ``etag`` and ``last_modified`` are the validators to store for the next conditional GET:
    the response's on 200, the response's or the feed's previous ones on 304, the previous
    ones on error. ``new_url`` is set only after permanent redirects to a feed that answered.
    """

    status: int | None  # final HTTP status; None when no response arrived
    body: bytes | None = None  # decompressed body; None on 304 and on error
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None  # where the feed now lives (301/308), to store in place of feed.url
    error: str | None = None  # short and human; never contains credentials or query values
    error_kind: ErrorKind | None = None  # a bounded set, fit for a metrics label
    not_modified: bool = False
    retry_after_s: int | None = None
    max_age_s: int | None = None
    elapsed_ms: int = 0
    final_url: str | None = None  # the URL that answered; the base for relative links
    content_type: str | None = None  # Content-Type header as sent, charset included
    unconditional: bool = False  # sent without If-None-Match / If-Modified-Since

    @property
    def ok(self) -> bool:
        return self.error is None

    def failed(self, kind: ErrorKind, error: str) -> FetchResult:
        """This result turned into a failure, e.g. when the body turns out not to be a feed."""
        return replace(self, error=error, error_kind=kind, body=None)


async def fetch_feed(
    session: aiohttp.ClientSession,
    feed: Feed,
    settings: HttpSettings,
    *,
    now: datetime,
    force_full: bool = False,
) -> FetchResult:
    """GET ``feed.url`` and report what happened; network and HTTP failures are results, not raises.

    The GET is conditional unless ``force_full`` is set or the last unconditional one is older
    than ``settings.full_fetch_every_s``: a server whose 304s are wrong cannot starve the feed.
    """
    unconditional = force_full or _full_fetch_due(feed, settings, now)
    headers = _request_headers(feed, unconditional)
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.total_timeout_s):
            result = await _follow(session, feed, settings, headers, now)
    except TimeoutError:
        # Before ClientError: aiohttp's timeout errors are both.
        result = _failure(feed, "timeout", f"timed out after {settings.total_timeout_s:g} s")
    except aiohttp.ClientError as exc:
        result = _failure(feed, *describe_error(exc))
    result = replace(
        result, elapsed_ms=round((time.monotonic() - started) * 1000), unconditional=unconditional
    )
    _log(feed, result)
    return result


def next_poll_at(feed: Feed, result: FetchResult, now: datetime, ttl_s: int | None = None) -> datetime:
    """When to poll the feed next.

    Success: ``now + max(interval, ttl, max-age, Retry-After)``, the server's hints capped at
    24 h. Failure: ``now + interval × error_count`` (the count after this failure), capped at
    24 h, and never before a Retry-After.
    """
    interval = timedelta(seconds=feed.interval_s)
    retry_after = _capped(result.retry_after_s)
    if not result.ok:
        backoff = min(interval * error_count_after(feed, result), MAX_DELAY)
        return now + max(backoff, retry_after)
    return now + max(interval, _capped(ttl_s), _capped(result.max_age_s), retry_after)


def error_count_after(feed: Feed, result: FetchResult) -> int:
    """The feed's consecutive error count once this result is recorded: 0 after a success."""
    return 0 if result.ok else feed.error_count + 1


def describe_error(exc: aiohttp.ClientError) -> tuple[ErrorKind, str]:
    """A metrics kind and a short message for a client error, free of URLs and their secrets."""
    undecodable = _undecodable(exc)
    if undecodable is not None:
        return "encoding", undecodable
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _describe_connect(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "network", "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "network", "response body was cut short or badly encoded"
    if isinstance(exc, aiohttp.InvalidURL):
        return "refused", "invalid URL"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "http", f"malformed response (HTTP {exc.status})"
    return "network", type(exc).__name__


def body_digest(result: FetchResult) -> str | None:
    """A digest of what a 200 yields to the parser: the decompressed body, its Content-Type and the
    URL that answered (the base for relative links); None without a body.

    Two responses with the same digest parse to the same records, so the second need not be parsed.
    """
    if result.body is None:
        return None
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{result.content_type or ''}\n{result.final_url or ''}\n".encode("utf-8", "replace"))
    digest.update(result.body)
    return "blake2b:" + digest.hexdigest()


def parse_retry_after(value: str | None, reference: datetime) -> int | None:
    """Whole seconds to wait from a Retry-After header (delta-seconds or HTTP-date), at most
    ``MAX_DELAY_S``; None when absent or invalid."""
    seconds = retry_after_seconds(value, reference)
    return None if seconds is None else _clamp_s(seconds)


def parse_max_age(cache_control: str | None) -> int | None:
    """max-age in seconds from a Cache-Control header; None when absent or caching is refused."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


# -- the request ------------------------------------------------------------------------------


async def _follow(
    session: aiohttp.ClientSession,
    feed: Feed,
    settings: HttpSettings,
    headers: Mapping[str, str],
    now: datetime,
) -> FetchResult:
    # Redirects are followed here rather than by aiohttp so that each hop's status is known:
    # only an unbroken run of permanent redirects from feed.url moves the feed.
    try:
        url = URL(feed.url)
    except ValueError:
        return _failure(feed, "refused", "invalid URL")
    seen = {url}
    moved_to: URL | None = None
    permanent = True
    for _ in range(settings.max_redirects + 1):
        if url.scheme not in HTTP_SCHEMES:
            return _failure(feed, "refused", f"unsupported URL scheme {url.scheme!r}")
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            if response.status not in REDIRECTS:
                result = await _complete(response, feed, settings, now)
                return _with_move(result, feed, moved_to)
            target = _redirect_target(url, response)
        if target is None:
            return _failure(feed, "redirect", f"HTTP {response.status} redirect without a valid Location")
        permanent = permanent and response.status in PERMANENT_REDIRECTS
        moved_to = target if permanent else moved_to
        if target in seen:
            return _failure(feed, "redirect", "redirect loop")
        seen.add(target)
        url = target
    return _failure(feed, "redirect", f"more than {settings.max_redirects} redirects")


def _redirect_target(url: URL, response: aiohttp.ClientResponse) -> URL | None:
    location = response.headers.get("Location")
    if not location:
        return None
    try:
        # Joined onto our URL, not response.url: a relative Location keeps the feed's userinfo.
        target = url.join(URL(location.strip()))
    except ValueError:
        return None
    return target.with_fragment(None) if target.host else None


def _with_move(result: FetchResult, feed: Feed, moved_to: URL | None) -> FetchResult:
    # A permanent redirect to a feed that then fails is not worth following for good.
    if moved_to is None or not result.ok or str(moved_to) == feed.url:
        return result
    return replace(result, new_url=str(moved_to))


async def _complete(
    response: aiohttp.ClientResponse, feed: Feed, settings: HttpSettings, now: datetime
) -> FetchResult:
    headers = response.headers
    retry_after = headers.get("Retry-After")
    # Only a Retry-After date is read against the server's clock; most responses carry none.
    reference = (_date_header(headers.get("Date")) or now) if retry_after else now
    common = FetchResult(
        status=response.status,
        retry_after_s=parse_retry_after(retry_after, reference),
        max_age_s=parse_max_age(headers.get("Cache-Control")),
        final_url=str(response.url),
        content_type=headers.get("Content-Type"),
        etag=feed.etag,
        last_modified=feed.last_modified,
    )
    if response.status == 304:
        return replace(
            common,
            not_modified=True,
            etag=headers.get("ETag") or feed.etag,
            last_modified=headers.get("Last-Modified") or feed.last_modified,
        )
    if not 200 <= response.status < 300:
        return replace(common, error=_status_text(response.status), error_kind="http")
    body = await _read_capped(response, settings.max_body_bytes)
    if body is None:
        return replace(
            common, error=f"body larger than {settings.max_body_bytes} bytes", error_kind="oversized"
        )
    return replace(common, body=body, etag=headers.get("ETag"), last_modified=headers.get("Last-Modified"))


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes | None:
    """The decompressed body, or None (connection dropped) as soon as it grows past ``cap``."""
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if not encoded and response.content_length is not None and response.content_length > cap:
        response.close()
        return None
    body = bytearray()
    # response.content yields decompressed data, so the cap applies after decompression.
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > cap:
            response.close()  # drop the connection rather than drain the rest
            return None
    return bytes(body)


# -- helpers ----------------------------------------------------------------------------------


def _full_fetch_due(feed: Feed, settings: HttpSettings, now: datetime) -> bool:
    if feed.last_full_fetch_at is None:
        return True
    return now - feed.last_full_fetch_at >= timedelta(seconds=settings.full_fetch_every_s)


def _request_headers(feed: Feed, unconditional: bool) -> dict[str, str]:
    headers = {"Accept": ACCEPT}
    if not unconditional:
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
    return headers


def _failure(feed: Feed, kind: ErrorKind, error: str) -> FetchResult:
    return FetchResult(
        status=None, error=error, error_kind=kind, etag=feed.etag, last_modified=feed.last_modified
    )


def _describe_connect(exc: aiohttp.ClientConnectorError) -> tuple[ErrorKind, str]:
    if isinstance(exc.os_error, AddressRefusedError):
        return "refused", exc.os_error.strerror or "address refused"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "network", f"cannot resolve host {exc.host}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "tls", f"TLS error with {exc.host}:{exc.port}"
    reason = exc.strerror or type(exc.os_error).__name__
    return "network", f"cannot connect to {exc.host}:{exc.port}: {reason}"


def _undecodable(exc: BaseException) -> str | None:
    """What to say when ``exc`` comes of a body that its Content-Encoding does not decode, else None.

    aiohttp reports it as a 400 status (when it fails with the headers or the first packet: no decoder for
    the coding, a body that ends at once) or as a payload error (later in the body), both caused by a
    ContentEncodingError; the server's own status line said nothing of the kind.
    """
    cause: BaseException | None = exc
    for _ in range(4):  # the error aiohttp raises, the one it wraps, the decoder's own
        if cause is None:
            return None
        if isinstance(cause, ContentEncodingError):
            found = _CODING.search(cause.message.lower())
            coding = found.group(1) if found else "unknown"
            missing = "; no decoder for it is installed" if "install" in cause.message else ""
            return f"body could not be decoded (Content-Encoding: {coding}{missing})"
        cause = cause.__cause__ or cause.__context__
    return None


def _status_text(status: int) -> str:
    # The server's own reason phrase is not shown: it is arbitrary text from the far side.
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _date_header(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _capped(seconds: int | None) -> timedelta:
    return timedelta(seconds=_clamp_s(seconds))


def _clamp_s(seconds: float | None) -> int:
    """Whole seconds in [0, MAX_DELAY_S]: None, NaN and negatives are 0; huge values and inf the cap."""
    # Clamped before any timedelta or round(): a server's max-age or Retry-After can be any number of
    # digits, and timedelta() and round(inf) raise OverflowError long before the cap applies.
    if seconds is None or math.isnan(seconds) or seconds <= 0:
        return 0
    return MAX_DELAY_S if seconds >= MAX_DELAY_S else round(seconds)


def _log(feed: Feed, result: FetchResult) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return  # redacting the URL costs more than the rest of a 304
    url = redact_url(feed.url)
    extra = {"feed_id": feed.id, "feed_url": url, "status": result.status, "ms": result.elapsed_ms}
    if result.error is not None:
        # Debug only: the caller records the failure on the feed and logs the poll's outcome.
        logger.debug("fetch %s failed (%s): %s", url, result.error_kind, result.error, extra=extra)
    elif result.not_modified:
        logger.debug("fetch %s: not modified", url, extra=extra)
    else:
        size = len(result.body or b"")
        logger.debug("fetch %s: HTTP %s, %d bytes", url, result.status, size, extra=extra)
