"""Fetch one feed politely: conditional GET, redirects, body cap, Retry-After and Cache-Control."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import math
import re
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import ModuleType
from typing import Any, Literal

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
CODING_STEP = 64 * 1024  # the most one decoding step inflates before the cap is checked again
DECODE_YIELD_BYTES = 1024 * 1024  # decoded output between two turns of the event loop
MAX_MEMBERS = 1024  # gzip members or zstd frames in one body, as aiohttp allows
ZSTD_WINDOW_LOG_MAX = 23  # an 8 MiB window, the most RFC 9659 asks an HTTP zstd decoder to accept
# The longest values the feeds table holds (storage/tables.py): a longer validator is dropped, never cut (a cut ETag
# is another validator), and a permanent redirect to a longer URL is the feed's error, not a move.
MAX_ETAG_CHARS = 512
MAX_LAST_MODIFIED_CHARS = 128
MAX_FEED_URL_CHARS = 2048

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*no-(?:cache|store)\s*(?:,|=|$)", re.IGNORECASE)
# The content codings aiohttp decodes, as its decoding errors name them ("brotli (br)", "gzip").
_CODING = re.compile(r"\b(br|zstd|gzip|deflate)\b")
_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]{1,32}")  # a coding name fit to show in an error


def _first_module(*names: str) -> ModuleType | None:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


# br and zstd decode only where their libraries are installed (aiohttp's speedups extra brings them).
# Brotli before 1.2 cannot bound its output, so it counts as missing.
_BROTLI = _first_module("brotli", "brotlicffi")
_BROTLI = _BROTLI if hasattr(getattr(_BROTLI, "Decompressor", None), "can_accept_more_data") else None
_ZSTD = _first_module("compression.zstd", "backports.zstd")
CODINGS = ("gzip", "deflate") + (("br",) if _BROTLI else ()) + (("zstd",) if _ZSTD else ())
ACCEPT_ENCODING = ", ".join(CODINGS)  # exactly what _read_capped decodes
_DECODING_ERRORS: tuple[type[Exception], ...] = (zlib.error,) + ((_ZSTD.ZstdError,) if _ZSTD else ())


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


class BodyDecodingError(aiohttp.ClientPayloadError):
    """A body that its Content-Encoding does not decode whole: corrupt, cut short, or a coding not decoded."""

    def __init__(self, coding: str, why: str = "") -> None:
        super().__init__(_cannot_decode(coding, why))


def describe_error(exc: aiohttp.ClientError) -> tuple[ErrorKind, str]:
    """A metrics kind and a short message for a client error, free of URLs and their secrets."""
    if isinstance(exc, BodyDecodingError):
        return "encoding", str(exc)
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
    # Clamped as a float: int() refuses more than 4,300 digits, and a server may send any number of them.
    return _clamp_s(float(match.group(1))) if match else None


def validator(value: str | None, max_chars: int) -> str | None:
    """An ETag or Last-Modified value fit to store and send back, else None.

    RFC 9110 validators are ASCII; aiohttp hands other bytes on as lone surrogates (undecodable) or
    non-ASCII text, which the database refuses or the next request would not send back as received.
    A value longer than its column is dropped too: a cut validator never matches.
    """
    if not value or len(value) > max_chars or not (value.isascii() and value.isprintable()):
        return None
    return value


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
        # The body is decoded by _read_capped, not by aiohttp, which takes a gzip body cut short for a
        # whole one and passes stacked or unknown codings through still encoded.
        async with session.get(
            url, headers=headers, allow_redirects=False, auto_decompress=False
        ) as response:
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
    if len(str(moved_to)) > MAX_FEED_URL_CHARS:
        # Not stored (the URL column holds no more), and polling the old URL forever is no answer either.
        error = f"permanent redirect to a URL longer than {MAX_FEED_URL_CHARS} characters"
        return result.failed("redirect", error)
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
            etag=_etag(headers, feed) or feed.etag,
            last_modified=_last_modified(headers, feed) or feed.last_modified,
        )
    if not 200 <= response.status < 300:
        return replace(common, error=_status_text(response.status), error_kind="http")
    body = await _read_capped(response, settings.max_body_bytes)
    if body is None:
        return replace(
            common, error=f"body larger than {settings.max_body_bytes} bytes", error_kind="oversized"
        )
    return replace(common, body=body, etag=_etag(headers, feed), last_modified=_last_modified(headers, feed))


def _etag(headers: Mapping[str, str], feed: Feed) -> str | None:
    return _checked_validator("ETag", headers.get("ETag"), MAX_ETAG_CHARS, feed)


def _last_modified(headers: Mapping[str, str], feed: Feed) -> str | None:
    return _checked_validator("Last-Modified", headers.get("Last-Modified"), MAX_LAST_MODIFIED_CHARS, feed)


def _checked_validator(name: str, value: str | None, max_chars: int, feed: Feed) -> str | None:
    kept = validator(value, max_chars)
    if value and kept is None:
        # The value itself is the far side's text: its length only. Only conditional GETs are lost.
        logger.info(
            "feed %s (%s): %s header dropped (%d characters, not printable ASCII or too long)",
            feed.id,
            redact_url(feed.url),
            name,
            len(value),
            extra={"feed_id": feed.id},
        )
    return kept


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes | None:
    """The body with its Content-Encoding undone (the request was sent with ``auto_decompress=False``), or None
    (connection dropped) as soon as it grows past ``cap``; raises BodyDecodingError for a body that does not
    decode whole.

    The bytes received count too, against a little more than ``cap`` (raw_cap): a body that decodes to little
    or nothing (a gzip name field of 200 MB, NUL padding, empty deflate blocks) stops there rather than at the
    timeout. Every DECODE_YIELD_BYTES of output the event loop gets a turn, so one inflating chunk does not hold
    up every other feed.
    """
    decoder = _decoder(response.headers.getall("Content-Encoding", ()))
    raw_cap = raw_cap_of(cap) if decoder is not None else cap
    if response.content_length is not None and response.content_length > raw_cap:
        response.close()
        return None
    body = bytearray()
    received = since_yield = 0
    try:
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            received += len(chunk)
            if received > raw_cap:
                response.close()  # drop the connection rather than drain the rest
                return None
            # Decoded in steps, so the cap applies after decompression and stops a bomb early.
            for piece in decoder.decode(chunk) if decoder is not None else (chunk,):
                body += piece
                if len(body) > cap:
                    response.close()
                    return None
                since_yield += len(piece)
                if since_yield >= DECODE_YIELD_BYTES:
                    since_yield = 0
                    await asyncio.sleep(0)
        if decoder is not None:
            decoder.end()
    except BodyDecodingError:
        response.close()
        raise
    return bytes(body)


def raw_cap_of(cap: int) -> int:
    """The most bytes an encoded body of at most ``cap`` decoded bytes can take: what gzip or deflate add to data
    they cannot compress (about 5 bytes per 64 KiB block, and headers), with room to spare."""
    return cap + cap // 256 + CHUNK_BYTES


# -- content codings --------------------------------------------------------------------------


class _Members:
    """gzip, deflate or zstd: one member (zstd: frame) after another, each with a fresh decompressor.

    A gzip body may be several members back to back (RFC 1952); so may a zstd body (RFC 8878).
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._stream: Any = None  # zlib's or zstd's decompressor for the current member
        self._members = 0

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Everything ``data`` decodes to, in pieces of at most CODING_STEP bytes."""
        while True:
            if self._stream is None or self._stream.eof:
                if self._stream is not None and self.coding == "gzip":
                    # NUL bytes after a whole member pad the body, as Python's gzip reads it
                    data = data.lstrip(b"\0")
                if not data:
                    return
                self._stream = self._next_member(data)
            try:
                out = self._stream.decompress(data, CODING_STEP)
            except _DECODING_ERRORS:
                raise BodyDecodingError(self.coding) from None
            # zlib hands back the input it had no room to decode; zstd keeps it.
            data = (
                self._stream.unused_data
                if self._stream.eof
                else getattr(self._stream, "unconsumed_tail", b"")
            )
            if out:
                yield out
            elif not data:
                return

    def end(self) -> None:
        """Raise if the body ended inside a member (an empty body decodes to nothing, as with aiohttp)."""
        if self._stream is not None and not self._stream.eof:
            raise BodyDecodingError(self.coding, "the stream is cut short")

    def _next_member(self, data: bytes) -> Any:
        self._members += 1
        if self._members > MAX_MEMBERS:
            raise BodyDecodingError(self.coding, f"more than {MAX_MEMBERS} members")
        if self.coding == "zstd":
            assert _ZSTD is not None
            window = {_ZSTD.DecompressionParameter.window_log_max: ZSTD_WINDOW_LOG_MAX}
            return _ZSTD.ZstdDecompressor(options=window)
        if self.coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # deflate is a zlib stream (RFC 9110); some servers send raw deflate, told apart as aiohttp does.
        return zlib.decompressobj(zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS)


class _Brotli:
    """br (RFC 7932): one stream."""

    coding = "br"

    def __init__(self, brotli: ModuleType) -> None:
        self._stream = brotli.Decompressor()
        self._error: type[Exception] = brotli.error
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Everything ``data`` decodes to, in pieces of about CODING_STEP bytes at most."""
        self._started = self._started or bool(data)
        while True:
            try:
                out = self._stream.process(data, output_buffer_limit=CODING_STEP)
            except self._error:
                raise BodyDecodingError(self.coding) from None
            data = b""
            if out:
                yield out
            if not out or self._stream.can_accept_more_data():
                return

    def end(self) -> None:
        if self._started and not self._stream.is_finished():
            raise BodyDecodingError(self.coding, "the stream is cut short")


# What may come before a feed's first character under a mislabel: white space, and the NUL bytes of UTF-16 or
# UTF-32 big-endian text without a byte order mark ("\x00\x00\x00<").
_BLANK = b" \t\r\n\x0b\x0c\x00"


class _Mislabelled:
    """A coding not known here, often a server's mistake for a charset or a type ("utf-8", "text/xml"): the body
    passes as it is when it begins as a feed's text does (after a byte order mark and white space, markup or
    JSON, in UTF-8, UTF-16 or UTF-32; or a UTF-16 byte order mark), as browsers read it; otherwise it is refused,
    not handed on encoded.

    Only the new bytes are read: white space passes on as it comes (and counts against the cap), and only the
    first bytes of a byte order mark split across chunks are held back."""

    _BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._pending = b""  # the start of a byte order mark, at the very start of the body
        self._started = False  # past the place of a byte order mark
        self._plain = False  # the body has shown it is text

    def decode(self, data: bytes) -> Iterator[bytes]:
        if not self._plain and not self._started:
            data = self._pending + data
            if any(bom.startswith(data) and len(data) < len(bom) for bom in self._BOMS):
                self._pending = data  # a byte order mark may begin here: wait for the rest
                return
            self._pending, self._started = b"", True
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                self._plain = True
            elif data.startswith(self._BOMS[0]):
                yield data[:3]
                data = data[3:]
        if not self._plain:
            start = data.lstrip(_BLANK)[:1]
            if not start:
                if data:
                    yield data  # white space so far
                return
            if start not in (b"<", b"{", b"["):
                raise BodyDecodingError(_shown(self.coding), "an unsupported coding")
            self._plain = True
        if data:
            yield data

    def end(self) -> None:
        """A body that ends inside what might have been a byte order mark is no text."""
        if self._pending:
            raise BodyDecodingError(_shown(self.coding), "an unsupported coding")


def _decoder(content_encoding: Sequence[str]) -> _Members | _Brotli | _Mislabelled | None:
    """The decoder for a response's Content-Encoding field lines; None for identity.

    Raises BodyDecodingError for br or zstd without their library and for stacked codings, which feeds do not
    use: refused, not passed on still encoded. An unknown coding is read as a mislabel (:class:`_Mislabelled`).
    """
    names = [name.strip().lower() for line in content_encoding for name in line.split(",")]
    # RFC 9110 8.4.1: x-gzip is gzip; identity is no coding at all.
    codings = ["gzip" if name == "x-gzip" else name for name in names if name not in ("", "identity")]
    if not codings:
        return None
    if len(codings) > 1:
        shown = ", ".join(_shown(coding) for coding in codings[:4])
        raise BodyDecodingError(
            shown + (", ..." if len(codings) > 4 else ""), "stacked codings are not decoded"
        )
    coding = codings[0]
    if coding in ("gzip", "deflate") or (coding == "zstd" and _ZSTD is not None):
        return _Members(coding)
    if coding == "br" and _BROTLI is not None:
        return _Brotli(_BROTLI)
    if coding in ("br", "zstd"):
        raise BodyDecodingError(coding, "no decoder for it is installed")
    return _Mislabelled(coding)


def _shown(coding: str) -> str:
    """A coding name fit for an error message: the header is the far side's text, of any length."""
    return coding if _TOKEN.fullmatch(coding) else ascii(coding[:32])


def _cannot_decode(coding: str, why: str = "") -> str:
    return f"body could not be decoded (Content-Encoding: {coding}{'; ' + why if why else ''})"


# -- helpers ----------------------------------------------------------------------------------


def _full_fetch_due(feed: Feed, settings: HttpSettings, now: datetime) -> bool:
    if feed.last_full_fetch_at is None:
        return True
    return now - feed.last_full_fetch_at >= timedelta(seconds=settings.full_fetch_every_s)


def _request_headers(feed: Feed, unconditional: bool) -> dict[str, str]:
    headers = {"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
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

    Where aiohttp decodes the body (robots.txt; feeds and pages are decoded by _read_capped), it reports it as a 400
    status (when it fails with the headers or the first packet: no decoder for the coding, a body that ends
    at once) or as a payload error (later in the body), both caused by a ContentEncodingError; the server's
    own status line said nothing of the kind.
    """
    cause: BaseException | None = exc
    for _ in range(4):  # the error aiohttp raises, the one it wraps, the decoder's own
        if cause is None:
            return None
        if isinstance(cause, ContentEncodingError):
            found = _CODING.search(cause.message.lower())
            coding = found.group(1) if found else "unknown"
            missing = "no decoder for it is installed" if "install" in cause.message else ""
            return _cannot_decode(coding, missing)
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
