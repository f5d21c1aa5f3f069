"""Fetching feeds from a real local HTTP server: validators, redirects, limits, hints, address guard."""

from __future__ import annotations

import asyncio
import gzip
import random
import socket
import time
import tracemalloc
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from pytest_aiohttp import AiohttpServer

from tests.support.feed_server import FeedServer, Route, gzip_bomb, redirect
from tests.support.net import RawServer
from watcher.domain import Feed
from watcher.ingest import fetch as fetch_module
from watcher.ingest.fetch import (
    ACCEPT_ENCODING,
    CODINGS,
    MAX_DELAY,
    MAX_DELAY_S,
    MAX_ETAG_CHARS,
    MAX_FEED_URL_CHARS,
    MAX_LAST_MODIFIED_CHARS,
    MAX_MEMBERS,
    FetchResult,
    body_digest,
    error_count_after,
    fetch_feed,
    next_poll_at,
    parse_max_age,
    parse_retry_after,
)
from watcher.ingest.http import (
    AddressRefusedError,
    HttpSettings,
    PublicOnlyResolver,
    is_public_address,
    make_session,
)

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 05 Nov 2025 10:00:00 GMT"
# Tests reach the server on 127.0.0.1, which the production guard refuses.
LOCAL = HttpSettings(allow_private=True)


def make_feed(url: str, **changes: Any) -> Feed:
    feed = Feed(
        id=7, url=url, outlet="Test", country="ZZ", language="en", leaning="unknown", ownership="unknown",
        interval_s=900,
    )  # fmt: skip
    return replace(feed, **changes)


async def fetch(feed: Feed, settings: HttpSettings = LOCAL, **kwargs: Any) -> FetchResult:
    async with make_session(settings) as session:
        return await fetch_feed(session, feed, settings, now=kwargs.pop("now", NOW), **kwargs)


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> FeedServer:
    feeds = FeedServer()
    await feeds.start_under(aiohttp_server)
    return feeds


# -- conditional GET ------------------------------------------------------------------------------


async def test_200_then_304_with_etag_and_last_modified(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=RSS, etag=ETAG, last_modified=LAST_MODIFIED)
    feed = make_feed(server.url("/rss"))

    first = await fetch(feed)
    assert first.ok and first.status == 200 and first.body == RSS
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    assert first.unconditional  # never fetched in full before
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert first.final_url == feed.url

    feed = replace(feed, etag=first.etag, last_modified=first.last_modified, last_full_fetch_at=NOW)
    second = await fetch(feed)
    assert second.ok and second.status == 304 and second.not_modified
    assert second.body is None
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)
    assert not second.unconditional
    sent = server.last("/rss").headers
    assert sent["If-None-Match"] == ETAG
    assert sent["If-Modified-Since"] == LAST_MODIFIED


async def test_304_by_last_modified_alone_keeps_the_stored_validators(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=RSS, last_modified=LAST_MODIFIED)
    feed = make_feed(server.url("/rss"), etag='"old"', last_modified=LAST_MODIFIED, last_full_fetch_at=NOW)

    result = await fetch(feed)

    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"old"', LAST_MODIFIED)


async def test_periodic_unconditional_fetch(server: FeedServer) -> None:
    # A server whose validators never change would answer 304 forever; a daily full GET gets the body.
    server.routes["/rss"] = Route(body=RSS, etag=ETAG)
    feed = make_feed(server.url("/rss"), etag=ETAG, last_full_fetch_at=NOW - timedelta(hours=1))

    assert (await fetch(feed)).not_modified
    stale = await fetch(replace(feed, last_full_fetch_at=NOW - timedelta(hours=25)))
    forced = await fetch(feed, force_full=True)

    for result in (stale, forced):
        assert result.status == 200 and result.body == RSS and result.unconditional
    assert all("If-None-Match" not in r.headers for r in server.requests[1:])


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 308])
async def test_permanent_redirect_reports_the_new_url(server: FeedServer, status: int) -> None:
    server.routes["/old"] = redirect("/new", status)
    server.routes["/new"] = Route(body=RSS)

    result = await fetch(make_feed(server.url("/old")))

    assert result.ok and result.body == RSS
    assert result.new_url == server.url("/new") == result.final_url


@pytest.mark.parametrize("status", [302, 303, 307])
async def test_temporary_redirect_keeps_the_url(server: FeedServer, status: int) -> None:
    server.routes["/old"] = redirect("/new", status)
    server.routes["/new"] = Route(body=RSS)

    result = await fetch(make_feed(server.url("/old")))

    assert result.ok and result.body == RSS
    assert result.new_url is None
    assert result.final_url == server.url("/new")


async def test_only_the_leading_permanent_redirects_count(server: FeedServer) -> None:
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect("/c", 302)
    server.routes["/c"] = redirect("/d", 301)
    server.routes["/d"] = Route(body=RSS)

    result = await fetch(make_feed(server.url("/a")))

    assert result.new_url == server.url("/b")
    assert result.final_url == server.url("/d")


async def test_permanent_redirect_to_a_broken_feed_is_not_followed_for_good(server: FeedServer) -> None:
    server.routes["/old"] = redirect("/gone", 301)

    result = await fetch(make_feed(server.url("/old")))

    assert result.status == 404 and result.new_url is None


async def test_redirect_loop(server: FeedServer) -> None:
    server.routes["/a"] = redirect("/b", 302)
    server.routes["/b"] = redirect("/a", 302)

    result = await fetch(make_feed(server.url("/a")))

    assert (result.error_kind, result.error) == ("redirect", "redirect loop")
    assert server.hits("/a") == 1 and server.hits("/b") == 1


async def test_too_many_redirects(server: FeedServer) -> None:
    for i in range(10):
        server.routes[f"/{i}"] = redirect(f"/{i + 1}", 302)

    result = await fetch(make_feed(server.url("/0")), replace(LOCAL, max_redirects=3))

    assert result.error_kind == "redirect" and result.error == "more than 3 redirects"
    assert server.hits("/4") == 0


async def test_redirect_without_location(server: FeedServer) -> None:
    server.routes["/rss"] = Route(status=302)
    result = await fetch(make_feed(server.url("/rss")))
    assert result.error_kind == "redirect"


# -- failures and backoff ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
async def test_http_errors_back_off(server: FeedServer, status: int, text: str) -> None:
    server.routes["/rss"] = Route(status=status, body=b"oops")
    feed = make_feed(server.url("/rss"), etag=ETAG, error_count=2, last_full_fetch_at=NOW)

    result = await fetch(feed)

    assert not result.ok
    assert (result.status, result.error, result.error_kind, result.body) == (status, text, "http", None)
    assert result.etag == ETAG  # validators survive a failure
    assert error_count_after(feed, result) == 3
    assert next_poll_at(feed, result, NOW) == NOW + timedelta(seconds=900 * 3)


async def test_timeout(server: FeedServer) -> None:
    server.routes["/slow"] = Route(body=RSS, delay_s=5)

    started = time.monotonic()
    result = await fetch(make_feed(server.url("/slow")), replace(LOCAL, total_timeout_s=0.3))

    assert time.monotonic() - started < 2
    assert (result.error_kind, result.status) == ("timeout", None)
    assert result.error == "timed out after 0.3 s"


async def test_connection_refused() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    result = await fetch(make_feed(f"http://127.0.0.1:{port}/rss"))

    assert result.error_kind == "network"
    assert result.error is not None and result.error.startswith(f"cannot connect to 127.0.0.1:{port}")


async def test_unsupported_scheme() -> None:
    result = await fetch(make_feed("ftp://example.org/rss"))
    assert result.error_kind == "refused"


async def test_error_text_never_shows_credentials_or_query_values(server: FeedServer) -> None:
    server.routes["/private"] = redirect("/missing?session=TOKEN123", 302)
    url = server.url("/private?api_key=TOKEN123").replace("http://", "http://alice:hunter2@")

    results = [
        await fetch(make_feed(url)),
        await fetch(make_feed(url), HttpSettings()),  # refused by the address guard
        await fetch(make_feed("http://bob:hunter2@127.0.0.1:9/rss?api_key=TOKEN123")),  # nothing listens
    ]

    for result in results:
        assert result.error is not None
        assert (
            "hunter2" not in result.error and "TOKEN123" not in result.error and "alice" not in result.error
        )


# -- body limits ------------------------------------------------------------------------------------


async def test_oversized_body_with_content_length(server: FeedServer) -> None:
    server.routes["/big"] = Route(body=b"x" * 300_000)

    result = await fetch(make_feed(server.url("/big")), replace(LOCAL, max_body_bytes=100_000))

    assert (result.error_kind, result.body, result.status) == ("oversized", None, 200)
    assert result.error == "body larger than 100000 bytes"


async def test_oversized_streamed_body_stops_at_the_cap(server: FeedServer) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()  # chunked: no Content-Length to reject early
        await response.prepare(request)
        try:
            for _ in range(10_000):
                await response.write(b"y" * 65_536)
                sent += 65_536
        except ConnectionError:
            pass
        return response

    server.routes["/endless"] = endless

    result = await fetch(make_feed(server.url("/endless")), replace(LOCAL, max_body_bytes=1_000_000))

    assert result.error_kind == "oversized"
    assert sent < 100 * 65_536  # the client hung up long before the server was done


async def test_gzip_body_is_decompressed(server: FeedServer) -> None:
    server.routes["/rss.gz"] = Route(body=RSS, gzip=True)

    result = await fetch(make_feed(server.url("/rss.gz")))

    assert result.ok and result.body == RSS


UNDECODABLE = {
    "br": b"these bytes are not brotli" * 4,
    "zstd": b"nor are these zstandard" * 4,
    "gzip": b"nor are these gzip" * 4,
    "deflate": b"nor are these deflate" * 4,
    "deflate, cut short": zlib.compress(RSS)[:-6],  # found out at the end of the body
    "gzip, then garbage": gzip.compress(random.Random(1).randbytes(512 * 1024)) + b"nor is this" * 4,
}


@pytest.mark.parametrize("case", UNDECODABLE)
async def test_a_body_its_content_encoding_does_not_decode_is_said_to_be_so(
    server: FeedServer, case: str
) -> None:
    """aiohttp reports these as an HTTP 400 (the server sent a 200) or as a body cut short: neither is what happened."""
    coding = case.split(",")[0]
    server.routes["/rss"] = Route(body=UNDECODABLE[case], headers={"Content-Encoding": coding})
    feed = make_feed(server.url("/rss"), etag=ETAG, error_count=1)

    result = await fetch(feed)

    assert (result.error_kind, result.body, result.etag) == ("encoding", None, ETAG)
    assert (result.error or "").startswith(f"body could not be decoded (Content-Encoding: {coding}"), result
    assert "400" not in (result.error or "")
    assert next_poll_at(feed, result, NOW) == NOW + timedelta(seconds=900 * 2), "backs off like any failure"


async def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(server: FeedServer) -> None:
    bomb = gzip_bomb(1024 * 1024 * 1024)  # 1 GiB of zeros in about 1 MB
    server.routes["/bomb"] = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    cap = 2 * 1024 * 1024

    tracemalloc.start()
    try:
        result = await fetch(make_feed(server.url("/bomb")), replace(LOCAL, max_body_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(bomb) < 2 * 1024 * 1024
    assert result.error_kind == "oversized" and result.body is None
    # A few buffers of the cap's size, not the gigabyte the body inflates to.
    assert peak < 8 * cap, f"peak {peak / 2**20:.0f} MiB"


# A feed of many distinct items: it compresses, but not to nothing, so that any cut leaves part of it.
LONG_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    + b"".join(b"<item><title>Item %d</title><guid>g-%d</guid></item>" % (i, i * 7919) for i in range(400))
    + b"</channel></rss>"
)
GZIPPED = gzip.compress(LONG_RSS)
DEFLATED = zlib.compress(LONG_RSS)
_raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
RAW_DEFLATED = _raw.compress(LONG_RSS) + _raw.flush()


def cut(body: bytes, share: float) -> bytes:
    return body[: int(len(body) * share)]


CUT_SHORT = {
    "gzip, its first 60%": ("gzip", cut(GZIPPED, 0.6)),
    "gzip, without its 8-byte trailer": ("gzip", GZIPPED[:-8]),
    "gzip, all but its last byte": ("gzip", GZIPPED[:-1]),
    "gzip, a whole member and half the next": ("gzip", GZIPPED + cut(GZIPPED, 0.5)),
    "gzip, its header only": ("gzip", GZIPPED[:10]),
    "deflate, its first 60%": ("deflate", cut(DEFLATED, 0.6)),
    "deflate, without its checksum": ("deflate", DEFLATED[:-4]),
    "raw deflate, its first 60%": ("deflate", cut(RAW_DEFLATED, 0.6)),
}


@pytest.mark.parametrize("case", CUT_SHORT)
async def test_a_compressed_stream_cut_short_is_refused_not_parsed(server: FeedServer, case: str) -> None:
    """The HTTP response is whole (its Content-Length is the length sent); the compressed stream in it is not."""
    coding, body = CUT_SHORT[case]
    server.routes["/rss"] = Route(body=body, headers={"Content-Encoding": coding})
    feed = make_feed(server.url("/rss"), etag=ETAG)

    result = await fetch(feed)

    assert (result.error_kind, result.body, result.etag) == ("encoding", None, ETAG)
    assert result.error == f"body could not be decoded (Content-Encoding: {coding}; the stream is cut short)"


DECODED = {
    "absent": (None, LONG_RSS),
    "identity": ("identity", LONG_RSS),
    "gzip": ("gzip", GZIPPED),
    "gzip, two members": ("gzip", gzip.compress(LONG_RSS[:5000]) + gzip.compress(LONG_RSS[5000:])),
    "x-gzip, gzip's old name": ("x-gzip", GZIPPED),
    "GZIP, in capitals": ("GZIP", GZIPPED),
    "identity, then gzip": ("identity, gzip", GZIPPED),
    "deflate": ("deflate", DEFLATED),
    "deflate, raw (no zlib header)": ("deflate", RAW_DEFLATED),
    # NUL bytes after a whole member pad the body (other bytes after it are refused: "gzip, then garbage")
    "gzip, padded with NUL bytes": ("gzip", GZIPPED + b"\0" * 16),
}


@pytest.mark.parametrize("case", DECODED)
async def test_a_whole_body_decodes_with_its_validators_and_digest_unchanged(
    server: FeedServer, case: str
) -> None:
    coding, body = DECODED[case]
    server.routes["/rss"] = Route(body=LONG_RSS, etag=ETAG, last_modified=LAST_MODIFIED)
    plain = await fetch(make_feed(server.url("/rss")))
    headers = {"Content-Encoding": coding} if coding is not None else {}
    server.routes["/rss"] = Route(body=body, headers=headers, etag=ETAG, last_modified=LAST_MODIFIED)

    result = await fetch(make_feed(server.url("/rss")))

    assert result.ok and result.body == LONG_RSS, result
    assert (result.status, result.etag, result.last_modified) == (200, ETAG, LAST_MODIFIED)
    assert body_digest(result) == body_digest(plain)
    assert server.last("/rss").headers["Accept-Encoding"] == ACCEPT_ENCODING


async def test_a_gzipped_200_then_a_304(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=GZIPPED, headers={"Content-Encoding": "gzip"}, etag=ETAG)
    feed = make_feed(server.url("/rss"))

    first = await fetch(feed)
    second = await fetch(replace(feed, etag=first.etag, last_full_fetch_at=NOW))

    assert (first.status, first.body, first.etag) == (200, LONG_RSS, ETAG)
    assert (second.status, second.not_modified, second.body, second.etag) == (304, True, None, ETAG)


def test_only_the_codings_decoded_are_asked_for() -> None:
    assert ACCEPT_ENCODING == ", ".join(CODINGS)
    assert CODINGS[:2] == ("gzip", "deflate")
    assert set(CODINGS) <= {"gzip", "deflate", "br", "zstd"}


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("gzip, gzip", "gzip, gzip"),  # legal HTTP, applied in that order; no feed needs it
        ("gzip,gzip", "gzip, gzip"),
        ("gzip, br", "gzip, br"),
        ("deflate, identity, gzip", "deflate, gzip"),
        ("gzip, gzip, gzip, gzip, gzip", "gzip, gzip, gzip, gzip, ..."),
    ],
)
async def test_stacked_codings_are_refused_naming_them(server: FeedServer, header: str, shown: str) -> None:
    server.routes["/rss"] = Route(body=gzip.compress(GZIPPED), headers={"Content-Encoding": header})

    result = await fetch(make_feed(server.url("/rss")))

    assert (result.error_kind, result.body) == ("encoding", None)
    assert (
        result.error
        == f"body could not be decoded (Content-Encoding: {shown}; stacked codings are not decoded)"
    )


async def test_codings_on_two_header_lines_are_stacked_too(server: FeedServer) -> None:
    async def twice(request: web.Request) -> web.Response:
        headers = CIMultiDict([("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")])
        return web.Response(body=gzip.compress(GZIPPED), headers=headers)

    server.routes["/rss"] = twice

    result = await fetch(make_feed(server.url("/rss")))

    assert (
        result.error
        == "body could not be decoded (Content-Encoding: gzip, gzip; stacked codings are not decoded)"
    )


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("compress", "compress"),
        ("x-compress", "x-compress"),
        ("x-foo", "x-foo"),
        ("X-Foo", "x-foo"),
        ("gzip2", "gzip2"),
        ("a" * 100, repr("a" * 32)),  # the far side's text, cut to size
        ("gzip; q=1", repr("gzip; q=1")),
    ],
)
async def test_an_unknown_coding_over_a_body_that_is_no_text_is_refused_naming_it(
    server: FeedServer, header: str, shown: str
) -> None:
    server.routes["/rss"] = Route(body=GZIPPED, headers={"Content-Encoding": header})
    feed = make_feed(server.url("/rss"), etag=ETAG)

    result = await fetch(feed)

    assert (result.error_kind, result.body, result.etag) == ("encoding", None, ETAG)
    assert result.error == f"body could not be decoded (Content-Encoding: {shown}; an unsupported coding)"


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("utf-8", LONG_RSS),
        ("UTF-8", b"\xef\xbb\xbf\r\n  " + LONG_RSS),
        ("text/xml", LONG_RSS),
        ("none", LONG_RSS),
        ("binary", LONG_RSS.decode().encode("utf-16")),
        ("x-foo", b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'),
    ],
)
async def test_a_plain_body_under_a_coding_name_that_means_nothing_is_read_as_it_is(
    server: FeedServer, header: str, body: bytes
) -> None:
    """Servers write a charset or a type where the coding goes; as in a browser, a body that begins as text is read."""
    server.routes["/rss"] = Route(body=body, headers={"Content-Encoding": header}, etag=ETAG)

    result = await fetch(make_feed(server.url("/rss")))

    assert result.ok and result.body == body and result.etag == ETAG, result


def _gzip_with_name(name_bytes: int) -> bytes:
    """A gzip member of a short feed whose FNAME header field is ``name_bytes`` long: it decodes to little."""
    whole = gzip.compress(b"<rss/>")
    header = bytearray(whole[:10])
    header[3] |= 0x08  # FNAME
    return bytes(header) + b"n" * name_bytes + b"\0" + whole[10:]


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("utf-8", b" " * (4 * 2**20)),  # white space under a mislabel: nothing to tell it by
        ("gzip", _gzip_with_name(4 * 2**20)),  # a file name field of 4 MiB
        ("gzip", GZIPPED + b"\0" * (4 * 2**20)),  # NUL padding
    ],
    ids=["mislabel-whitespace", "gzip-name-field", "gzip-nul-padding"],
)
async def test_a_body_that_decodes_to_little_is_capped_by_the_bytes_received(
    server: FeedServer, coding: str, body: bytes
) -> None:
    server.routes["/rss"] = Route(body=body, headers={"Content-Encoding": coding})

    result = await fetch(make_feed(server.url("/rss")), replace(LOCAL, max_body_bytes=2**20))

    assert (result.error_kind, result.body) == ("oversized", None), result


def test_a_mislabelled_body_is_read_whatever_its_chunks() -> None:
    """A byte order mark split across chunks, and white space that passes on as it comes."""
    for chunks in (
        [b"\xef", b"\xbb", b"\xbf<?xml version='1.0'?><rss/>"],
        [b"\xef\xbb\xbf<?xml version='1.0'?><rss/>"],
        [b"\xff", b"\xfe<\x00r\x00"],
        [b"  \r\n", b"\t", b" <rss/>"],
        ["<?xml version='1.0' encoding='utf-32be'?><rss/>".encode("utf-32-be")],  # no byte order mark
    ):
        decoder = fetch_module._Mislabelled("utf-8")
        out = b"".join(piece for chunk in chunks for piece in decoder.decode(chunk))
        decoder.end()
        assert out == b"".join(chunks)
    decoder = fetch_module._Mislabelled("utf-8")
    with pytest.raises(fetch_module.BodyDecodingError):
        list(decoder.decode(b"  \x1f\x8b\x08"))  # compressed after all
    decoder = fetch_module._Mislabelled("utf-8")
    assert list(decoder.decode(b"\xef\xbb")) == []
    with pytest.raises(fetch_module.BodyDecodingError):
        decoder.end()  # a body that ends inside a byte order mark is no text


def test_nul_padding_between_gzip_members_reads_the_same_whatever_the_chunks() -> None:
    member = gzip.compress(b"<rss/>")
    whole = member + b"\0\0" + member
    for chunks in ([whole], [member, b"\0\0", member], [member + b"\0", b"\0" + member]):
        decoder = fetch_module._Members("gzip")
        out = b"".join(piece for chunk in chunks for piece in decoder.decode(chunk))
        decoder.end()
        assert out == b"<rss/><rss/>"


async def test_gzip_members_beyond_the_limit_are_refused(server: FeedServer) -> None:
    member = gzip.compress(b"x")
    server.routes["/many"] = Route(body=member * MAX_MEMBERS, headers={"Content-Encoding": "gzip"})
    server.routes["/too-many"] = Route(body=member * (MAX_MEMBERS + 1), headers={"Content-Encoding": "gzip"})

    many = await fetch(make_feed(server.url("/many")))
    too_many = await fetch(make_feed(server.url("/too-many")))

    assert many.ok and many.body == b"x" * MAX_MEMBERS
    assert (
        too_many.error
        == f"body could not be decoded (Content-Encoding: gzip; more than {MAX_MEMBERS} members)"
    )


def _compress(coding: str, data: bytes) -> bytes:
    if coding == "br":
        return bytes(fetch_module._BROTLI.compress(data, quality=5))  # type: ignore[union-attr]
    return bytes(fetch_module._ZSTD.compress(data))  # type: ignore[union-attr]


@pytest.mark.parametrize("coding", ["br", "zstd"])
async def test_br_and_zstd_decode_where_their_library_is_installed_and_say_so_where_not(
    server: FeedServer, coding: str
) -> None:
    cap = 2 * 1024 * 1024
    if coding not in CODINGS:
        server.routes["/rss"] = Route(body=b"compressed, supposedly", headers={"Content-Encoding": coding})
        result = await fetch(make_feed(server.url("/rss")))
        assert result.error_kind == "encoding"
        assert (
            result.error
            == f"body could not be decoded (Content-Encoding: {coding}; no decoder for it is installed)"
        )
        return
    whole = _compress(coding, LONG_RSS)
    server.routes["/whole"] = Route(body=whole, headers={"Content-Encoding": coding})
    server.routes["/cut"] = Route(body=cut(whole, 0.6), headers={"Content-Encoding": coding})
    server.routes["/bomb"] = Route(
        body=_compress(coding, bytes(64 * 2**20)), headers={"Content-Encoding": coding}
    )
    results = [
        await fetch(make_feed(server.url(path)), replace(LOCAL, max_body_bytes=cap))
        for path in ("/whole", "/cut", "/bomb")
    ]
    assert results[0].ok and results[0].body == LONG_RSS
    assert (
        results[1].error == f"body could not be decoded (Content-Encoding: {coding}; the stream is cut short)"
    )
    assert (results[2].error_kind, results[2].body) == ("oversized", None)


# -- Retry-After and Cache-Control --------------------------------------------------------------------


async def test_429_with_retry_after_seconds(server: FeedServer) -> None:
    server.routes["/rss"] = Route(status=429, headers={"Retry-After": "7200"})
    feed = make_feed(server.url("/rss"))

    result = await fetch(feed)

    assert (result.status, result.error_kind, result.retry_after_s) == (429, "http", 7200)
    # The backoff alone would say 15 minutes; the server asked for two hours.
    assert next_poll_at(feed, result, NOW) == NOW + timedelta(hours=2)


async def test_503_with_retry_after_http_date(server: FeedServer) -> None:
    now = datetime.now(UTC)
    when = format_datetime(now + timedelta(seconds=600), usegmt=True)
    server.routes["/rss"] = Route(status=503, headers={"Retry-After": when})

    result = await fetch(make_feed(server.url("/rss")), now=now)

    assert result.status == 503
    assert result.retry_after_s is not None and 597 <= result.retry_after_s <= 601


async def test_cache_control_max_age_delays_the_next_poll(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=RSS, headers={"Cache-Control": "public, max-age=3600"})
    feed = make_feed(server.url("/rss"))

    result = await fetch(feed)

    assert result.ok and result.max_age_s == 3600
    assert next_poll_at(feed, result, NOW) == NOW + timedelta(hours=1)
    assert next_poll_at(feed, result, NOW, ttl_s=7200) == NOW + timedelta(hours=2)


def test_next_poll_at_success_takes_the_largest_hint_capped_at_a_day() -> None:
    feed = make_feed("https://example.org/rss", interval_s=600, error_count=4)
    ok = FetchResult(status=200, body=b"", max_age_s=60, retry_after_s=None)

    assert next_poll_at(feed, ok, NOW) == NOW + timedelta(minutes=10)
    assert next_poll_at(feed, ok, NOW, ttl_s=1800) == NOW + timedelta(minutes=30)
    assert next_poll_at(feed, replace(ok, max_age_s=10**9), NOW) == NOW + MAX_DELAY
    assert error_count_after(feed, ok) == 0  # a success resets the count
    # An interval configured longer than a day is honoured.
    assert next_poll_at(replace(feed, interval_s=3 * 86400), ok, NOW) == NOW + timedelta(days=3)


def test_backoff_grows_with_the_error_count_and_is_capped_at_24_hours() -> None:
    failed = FetchResult(status=500, error="HTTP 500", error_kind="http")
    feed = make_feed("https://example.org/rss", interval_s=3600)

    delays = [next_poll_at(replace(feed, error_count=n), failed, NOW) - NOW for n in (0, 1, 5, 30, 10**6)]

    assert delays == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=6), MAX_DELAY, MAX_DELAY]
    assert next_poll_at(feed, replace(failed, retry_after_s=10**9), NOW) == NOW + MAX_DELAY


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120), (" 5 ", 5), ("Thu, 06 Nov 2025 15:10:00 GMT", 600), ("Wed, 05 Nov 2025 15:00:00 GMT", 0),
     ("soon", None), ("-3", None), ("", None), (None, None)],
)  # fmt: skip
def test_parse_retry_after(header: str | None, expected: int | None) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("max-age=300", 300), ("public, max-age=60, must-revalidate", 60), ('max-age="90"', 90),
     ("s-maxage=100", None), ("no-cache, max-age=300", None), ("no-store", None), ("", None), (None, None)],
)  # fmt: skip
def test_parse_max_age(header: str | None, expected: int | None) -> None:
    assert parse_max_age(header) == expected


# -- identity and the address guard --------------------------------------------------------------------


async def test_user_agent_and_accept_are_sent(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=RSS)

    await fetch(make_feed(server.url("/rss")))

    headers = server.last("/rss").headers
    assert headers["User-Agent"].startswith("watcher/")
    assert "news claim monitor" in headers["User-Agent"]
    assert "application/rss+xml" in headers["Accept"]


async def test_private_addresses_are_refused_by_default(server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=RSS)
    port = server.url("/").rsplit(":", 1)[1].rstrip("/")

    literal = await fetch(make_feed(server.url("/rss")), HttpSettings())
    named = await fetch(make_feed(f"http://localhost:{port}/rss"), HttpSettings())

    for result in (literal, named):
        assert result.error_kind == "refused", result.error
        assert result.error is not None and "not a public address" in result.error
    assert server.hits("/rss") == 0

    allowed = await fetch(make_feed(server.url("/rss")), HttpSettings(allow_private=True))
    assert allowed.ok and server.hits("/rss") == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.216.34", True), ("2606:4700::1111", True), ("127.0.0.1", False), ("10.1.2.3", False),
     ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
     ("0.0.0.0", False), ("224.0.0.1", False), ("240.0.0.1", False), ("255.255.255.255", False),
     ("::1", False), ("::", False), ("fe80::1%eth0", False), ("fc00::1", False),
     ("::ffff:127.0.0.1", False), ("::ffff:93.184.216.34", True), ("64:ff9b::a00:1", False),
     ("2002:7f00:1::", False), ("not-an-ip", False)],
)  # fmt: skip
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


class _FixedResolver(AbstractResolver):
    """Answers from a table, standing in for DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        pass


async def test_resolver_drops_private_answers_and_refuses_hosts_with_none_left() -> None:
    resolver = PublicOnlyResolver(
        _FixedResolver({"mixed.test": ["10.0.0.5", "93.184.216.34"], "intranet.test": ["10.0.0.5", "::1"]})
    )

    assert [r["host"] for r in await resolver.resolve("mixed.test", 80)] == ["93.184.216.34"]
    with pytest.raises(AddressRefusedError, match=r"intranet\.test"):
        await resolver.resolve("intranet.test", 80)


async def test_gzip_bomb_helper_really_inflates() -> None:
    bomb = gzip_bomb(40 * 1024 * 1024, member_bytes=16 * 1024 * 1024)
    assert len(gzip.decompress(bomb)) == 40 * 1024 * 1024
    await asyncio.sleep(0)


# -- header values the database would refuse -----------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [b'ETag: "v\xff1"', b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\xe9", b'ETag: "caf\xc3\xa9"',
     b'ETag: "a\x01b"'],
)  # fmt: skip
async def test_a_validator_that_is_not_printable_ascii_is_dropped(header: bytes) -> None:
    # aiohttp hands undecodable bytes on as lone surrogates, which no database driver encodes.
    async with RawServer(
        RSS, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + header + b"\r\n"
    ) as url:
        result = await fetch(make_feed(url))

    assert result.ok and result.body == RSS
    assert (result.etag, result.last_modified) == (None, None)


async def test_a_304_with_a_validator_that_is_not_ascii_keeps_the_stored_ones() -> None:
    async with RawServer(b"", b'HTTP/1.1 304 Not Modified\r\nETag: "v\xff2"\r\n') as url:
        result = await fetch(make_feed(url, etag=ETAG, last_modified=LAST_MODIFIED))

    assert result.not_modified and (result.etag, result.last_modified) == (ETAG, LAST_MODIFIED)


async def test_validators_longer_than_their_columns_are_dropped_not_cut(server: FeedServer) -> None:
    long_etag, long_date = '"' + "e" * 8000 + '"', "Mon, 01 Jan 2024 00:00:00 GMT" + " " * 100 + "x" * 100
    server.routes["/long"] = Route(body=RSS, headers={"ETag": long_etag, "Last-Modified": long_date})
    fit = '"' + "e" * (MAX_ETAG_CHARS - 2) + '"'
    server.routes["/fit"] = Route(body=RSS, headers={"ETag": fit, "Last-Modified": LAST_MODIFIED})

    long = await fetch(make_feed(server.url("/long")))
    fits = await fetch(make_feed(server.url("/fit")))

    assert long.ok and (long.etag, long.last_modified) == (None, None)
    assert fits.ok and (fits.etag, fits.last_modified) == (fit, LAST_MODIFIED)
    assert len(long_date) > MAX_LAST_MODIFIED_CHARS


async def test_a_permanent_redirect_to_a_url_longer_than_the_column_is_the_feeds_error(
    server: FeedServer,
) -> None:
    target = "/" + "x" * 3000
    server.routes["/old"] = redirect(target, 301)
    server.routes[target] = Route(body=RSS)
    feed = make_feed(server.url("/old"))

    result = await fetch(feed)

    assert (result.error_kind, result.new_url, result.body) == ("redirect", None, None)
    assert result.error == f"permanent redirect to a URL longer than {MAX_FEED_URL_CHARS} characters"
    # It backs off as an error does.
    assert next_poll_at(feed, result, NOW) == NOW + timedelta(seconds=feed.interval_s)
    # A temporary redirect there is followed: the URL is not stored.
    server.routes["/tmp"] = redirect(target, 302)
    assert (await fetch(make_feed(server.url("/tmp")))).ok


@pytest.mark.parametrize("digits", [4301, 8000])  # aiohttp refuses a header line over 8,190 bytes
async def test_a_max_age_of_thousands_of_digits_is_the_cap(server: FeedServer, digits: int) -> None:
    # int() refuses over 4,300 digits: the ValueError came out of fetch_feed.
    server.routes["/rss"] = Route(body=RSS, headers={"Cache-Control": f"max-age={'9' * digits}"})
    feed = make_feed(server.url("/rss"))

    result = await fetch(feed)

    assert result.ok and result.max_age_s == MAX_DELAY_S
    assert next_poll_at(feed, result, NOW) == NOW + MAX_DELAY
    assert parse_max_age("max-age=" + "1" * digits) == MAX_DELAY_S
