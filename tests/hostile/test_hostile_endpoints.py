"""Hostile requests and hostile stored text at the daemon's surfaces: the HTTP endpoints and the CLI's output.

Each case ends in a clean answer (a 401, a 404, a usage error) or a clean line, never a 500, a traceback or
a terminal that obeys what a feed, an OPML file or a receiver wrote.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from storage.sql import SqlStore, open_store
from tests.support.cli import Result, Watcher
from tests.support.fixtures import DaemonStub
from tests.support.records import make_delivery
from watcher.cli.render import delivery_line, emit_json, emit_lines, feed_line
from watcher.domain import ClaimSpec, Feed, utcnow
from watcher.web import make_app

TOKEN = "t0ken-0123456789abcdef"
TEXT = "NATO has surpassed Russia in ammunition production"
# Escape sequences that clear the screen and colour text, a carriage return and a line end that fake a line,
# a C1 control (CSI), a bidi override, and a Unicode line separator.
CONTROLS = ("\x1b", "\r", "\n", "\x00", "\x9b", "\u202e", "\u2028")


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    s = await open_store(sqlite_url, upgrade=True)
    await s.sync_claims([ClaimSpec(name="nato-ammo", text=TEXT)], now=utcnow())
    try:
        yield s
    finally:
        await s.close()


async def raw_get(port: int, path: bytes, headers: bytes = b"") -> tuple[bytes, bytes]:
    """One GET written byte for byte (a client library would refuse these bytes): status line, body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer \xff\xfe", b"Bearer t0ken-\xc3", b"\xff", b"Bearer " + TOKEN.encode() + b"\xff"],
)
async def test_an_authorization_header_that_is_not_utf8_is_refused_not_a_500(
    sqlite_store: SqlStore,
    aiohttp_client: AiohttpClient,
    caplog: pytest.LogCaptureFixture,
    authorization: bytes,
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    client = await aiohttp_client(make_app(state, tick_s=10.0, token=TOKEN))
    assert client.port is not None
    caplog.set_level(logging.ERROR)
    for path in (b"/metrics", b"/claims/nato-ammo/report"):
        status, body = await raw_get(client.port, path, b"Authorization: " + authorization + b"\r\n")
        assert status == b"HTTP/1.1 401 Unauthorized", (status, body)
        assert TOKEN.encode() not in body
    assert not [r for r in caplog.records if r.exc_info], "a refused token is no server error"
    ok, _ = await raw_get(client.port, b"/metrics", f"Authorization: Bearer {TOKEN}\r\n".encode())
    assert ok == b"HTTP/1.1 200 OK"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon \x1b[2J here\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /\x1b[2J\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["header-without-colon", "header-too-long", "control-bytes-in-path"],
)
async def test_a_malformed_request_is_one_warning_line_not_a_traceback(
    sqlite_store: SqlStore,
    aiohttp_client: AiohttpClient,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    assert client.port is not None
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(request_bytes)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.0 400 Bad Request"), answer[:60]
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records, "the malformed request is logged"
    for record in records:
        assert record.levelno <= logging.WARNING
        assert record.exc_info is None and not record.exc_text
        line = record.getMessage()
        assert line.startswith("malformed HTTP request from 127.0.0.1 answered 400 (")
        assert "\n" not in line and "\x1b" not in line and "aaaa" not in line
    # the endpoints still answer on a new connection
    ok = await client.get("/healthz")
    assert ok.status in (200, 503)


@pytest.mark.parametrize("claim", ["%C2%B2", "%C2%B9%C2%B2", "%E2%91%A0", "%D9%A1", "1%D9%A1"])
async def test_a_claim_id_in_other_digits_is_a_404(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture, claim: str
) -> None:
    """Digits such as "²", "①" and "١" pass str.isdigit(); "²" and "①" made int() fail in the store: a 500."""
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    caplog.set_level(logging.ERROR)
    resp = await client.get(f"/claims/{claim}/report")
    assert resp.status == 404
    assert "digits 0-9" in await resp.text()
    assert not [r for r in caplog.records if r.exc_info]
    assert (await client.get("/claims/1/report")).status == 200
    assert (await client.get("/claims/nato-ammo/report")).status == 200


async def test_a_claim_id_of_thousands_of_digits_is_a_404(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    """int() refuses more than 4,300 digits: the store raised ValueError, a 500 with a traceback."""
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    caplog.set_level(logging.ERROR)
    for claim in ("9" * 5000, "0" * 5000):
        resp = await client.get(f"/claims/{claim}/report")
        assert resp.status == 404
        assert "an id is a number from 1 to 9223372036854775807" in await resp.text()
    assert not [r for r in caplog.records if r.exc_info]


def assert_usage_error(r: Result, *words: str) -> None:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err, r.err
    for word in words:
        assert word in r.err, r.err


@pytest.fixture
def watcher(tmp_path: Path, sqlite_url: str) -> Watcher:
    w = Watcher(tmp_path, sqlite_url)
    w.config.write_text("matching: {model: null}\n")
    return w


async def test_a_claim_id_in_other_digits_is_a_usage_error_on_the_command_line(watcher: Watcher) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "nato-ammo")).code == 0
    for args in (
        ("report", "²"),
        ("report", "١"),
        ("matches", "list", "--claim", "²"),
        ("events", "list", "--claim", "①"),
    ):
        assert_usage_error(await watcher(*args), "digits 0-9")
    assert (await watcher("report", "1", "--out", "r.html")).code == 0


async def test_a_claim_id_of_thousands_of_digits_is_a_usage_error_on_the_command_line(
    watcher: Watcher,
) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "nato-ammo")).code == 0
    digits = "9" * 5000
    for args in (("report", digits), ("matches", "list", "--claim", digits)):
        assert_usage_error(await watcher(*args), "an id is a number from 1 to")


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><body>
  <outline type="rss" title="Daily&#x9B;2J&#x202E;fdp.exe&#x2028;x&#10;fake line" xmlUrl="https://news.example/rss"/>
</body></opml>
"""


async def test_an_outlet_from_an_opml_file_cannot_drive_the_terminal(
    watcher: Watcher, tmp_path: Path
) -> None:
    (tmp_path / "list.opml").write_text(OPML, encoding="utf-8")
    assert (await watcher("feeds", "import-opml", "list.opml")).code == 0
    listed = await watcher("feeds", "list")
    assert listed.code == 0 and "Daily" in listed.out
    assert len(listed.out.splitlines()) == 1, listed.out
    assert not any(c in listed.out.rstrip("\n") for c in CONTROLS), repr(listed.out)
    as_json = await watcher("feeds", "list", "--json")
    assert not any(c in as_json.out for c in CONTROLS if c != "\n"), repr(as_json.out)
    # The value comes back escaped in the JSON text; the import made its control character (CSI) a space.
    [feed] = as_json.json()
    assert feed["outlet"] == "Daily 2J\u202efdp.exe\u2028x\nfake line"


def test_text_lines_carry_no_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    """A delivery error stored from a receiver's answer (rows from before answers were cleaned)."""
    error = "HTTP 500: \x1b[2J\x1b[31mok\r\n2025-01-01 INFO delivered\x00\x9b\u202e"
    emit_lines([delivery_line(make_delivery(last_error=error))])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and not any(c in out.rstrip("\n") for c in CONTROLS), repr(out)
    assert "[2J [31mok 2025-01-01 INFO delivered" in out


def test_json_output_escapes_what_a_terminal_would_act_on(capsys: pytest.CaptureFixture[str]) -> None:
    value = {"outlet": "a\x9bb\u202ec\u2028d\x7fe\ud800f\x1bg"}
    emit_json(value)
    out = capsys.readouterr().out
    assert out.isascii() and json.loads(out) == value


def test_feed_lines_stay_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    feed = Feed(
        id=1,
        url="https://news.example/rss",
        outlet="Two\nlines\u202e",
        country="US",
        language="en",
        leaning="center",
        ownership="private",
        interval_s=900,
        error_count=1,
        last_error="x\ry",
    )
    emit_lines([feed_line(feed)])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\r" not in out and "\u202e" not in out
