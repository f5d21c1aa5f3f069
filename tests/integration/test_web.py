"""The daemon's endpoints over a real store: /healthz, /metrics and the claim report."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from storage.sql import SqlStore, open_store
from tests.support.fixtures import DaemonStub
from watcher.config import DaemonSettings, MatchSettings, Settings
from watcher.daemon import Daemon
from watcher.domain import ClaimSpec, utcnow
from watcher.pipeline import Pipeline
from watcher.web import ServerLimits, make_app, start_server


async def test_healthz_reports_each_check(sqlite_store: SqlStore, aiohttp_client: AiohttpClient) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ok",
        "database": "ok",
        "scheduler": "running",
        "last_cycle_age_s": None,
        "last_progress_age_s": None,
    }
    state.scheduler_running = False
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["scheduler"] == "stopped"


async def test_healthz_fails_without_progress_for_six_ticks(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    stale = time.monotonic() - 120
    state = DaemonStub(store=sqlite_store, last_cycle_monotonic=stale, last_progress_monotonic=stale)
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["last_progress_age_s"] >= 120
    # A pass that has not ended for long is fine while it makes progress.
    state.last_progress_monotonic = time.monotonic()
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["last_cycle_age_s"] >= 120


async def test_metrics_and_unknown_report(sqlite_store: SqlStore, aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert "watcher_deliveries_by_status" in await resp.text()
    resp = await client.get("/claims/nope/report")
    assert resp.status == 404


TOKEN = "t0ken-0123456789abcdef"
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


async def test_every_response_carries_security_headers(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    for path in ("/healthz", "/metrics", "/claims/nope/report", "/nothing-here"):
        resp = await client.get(path)
        assert all(h in resp.headers for h in HEADERS), (path, dict(resp.headers))
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("metrics_public", [False, True])
async def test_a_token_guards_everything_but_healthz(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient, metrics_public: bool
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    app = make_app(state, tick_s=10.0, token=TOKEN, metrics_public=metrics_public)
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for wrong in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        resp = await client.get("/claims/nope/report", headers=wrong)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in await resp.text()
        assert all(h in resp.headers for h in HEADERS)
    assert (await client.get("/claims/nope/report", headers=bearer)).status == 404
    assert (await client.get("/metrics")).status == (200 if metrics_public else 401)
    assert (await client.get("/metrics", headers=bearer)).status == 200


async def test_healthz_reports_a_read_only_database(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic(), database_problem="read-only")
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 503 and (await resp.json())["database"] == "read-only"


async def test_a_daemon_on_a_read_only_database_says_so_once_and_on_healthz(
    tmp_path: Path, aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "w.db"
    writable = await open_store(f"sqlite+aiosqlite:///{file}", upgrade=True)
    await writable.sync_claims(
        [ClaimSpec(name="nato", text="NATO has surpassed Russia in ammunition production")], now=utcnow()
    )
    await writable.close()
    settings = Settings(
        database_url="", matching=MatchSettings(model=None), daemon=DaemonSettings(server_enabled=False)
    )
    store = await open_store(f"sqlite+aiosqlite:///file:{file}?mode=ro&uri=true")
    pipeline = await Pipeline.open(settings, store, load_model=False)
    try:
        daemon = Daemon(settings, store, pipeline, install_signal_handlers=False)
        client = await aiohttp_client(make_app(daemon, tick_s=10.0))
        caplog.set_level(logging.INFO, logger="watcher")
        for _ in range(3):
            await daemon._job("poll", daemon._poll)
        assert daemon.database_problem == "read-only"
        logged = [r for r in caplog.records if "unusable" in r.getMessage()]
        assert len(logged) == 1 and logged[0].levelno == logging.ERROR and logged[0].exc_info is None
        assert "read-only" in logged[0].getMessage()
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["database"] == "read-only"
    finally:
        await pipeline.close()
        await store.close()


# --- what clients may hold of the server (start_server: a real listening socket on loopback) -------------------


@pytest.fixture
async def serve(sqlite_store: SqlStore) -> AsyncIterator[Callable[[ServerLimits], Awaitable[int]]]:
    """Starts the daemon's server on a free loopback port with the given limits; gives the port."""
    runners: list[web.AppRunner] = []

    async def start(limits: ServerLimits) -> int:
        state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
        runner = await start_server(state, host="127.0.0.1", port=0, tick_s=10.0, limits=limits)
        runners.append(runner)
        return int(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


async def closed_after(reader: asyncio.StreamReader, within_s: float = 5.0) -> tuple[bytes, float]:
    """What the server sent before it closed the connection, and after how many seconds it did."""
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), within_s)
    return data, time.monotonic() - started


async def get_healthz(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_connections_beyond_the_cap_are_closed_at_once(
    serve: Callable[[ServerLimits], Awaitable[int]], caplog: pytest.LogCaptureFixture
) -> None:
    port = await serve(ServerLimits(max_connections=2, header_timeout_s=60, keepalive_timeout_s=60))
    caplog.set_level(logging.WARNING, logger="watcher.web")
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data, took = await closed_after(reader)
        assert data == b"" and took < 5  # closed unread, long before the 60 s head deadline
        writer.close()
    refusals = [r for r in caplog.records if "refusing connections" in r.getMessage()]
    assert len(refusals) == 1 and "2 open" in refusals[0].getMessage()  # one line per interval, not each
    held[0][1].close()  # a slot frees up once the server sees that connection go
    for _ in range(200):
        answer = await get_healthz(port)
        if answer:
            break
        await asyncio.sleep(0.01)
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:40]
    held[1][1].close()


@pytest.mark.parametrize(
    "sent", [b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"], ids=["idle", "unfinished-head"]
)
async def test_a_connection_without_a_request_head_is_closed_at_the_deadline(
    serve: Callable[[ServerLimits], Awaitable[int]], sent: bytes
) -> None:
    port = await serve(ServerLimits(header_timeout_s=0.2, keepalive_timeout_s=60))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    data, took = await closed_after(reader)
    assert data == b"" and 0.15 < took < 5
    writer.close()


async def test_a_head_sent_a_byte_at_a_time_is_closed_at_the_deadline(
    serve: Callable[[ServerLimits], Awaitable[int]],
) -> None:
    """Slowloris: each byte arrives in time, the head as a whole does not."""
    port = await serve(ServerLimits(header_timeout_s=0.3, keepalive_timeout_s=60))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
        if reader.at_eof() or writer.is_closing():
            break
        writer.write(bytes([byte]))
        await asyncio.sleep(0.02)
        if time.monotonic() - started > 5:
            break
    data, _ = await closed_after(reader)
    assert data == b"" and time.monotonic() - started < 5
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed(
    serve: Callable[[ServerLimits], Awaitable[int]],
) -> None:
    port = await serve(ServerLimits(header_timeout_s=60, keepalive_timeout_s=0.2))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 OK")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
    )
    await reader.readexactly(length)
    data, took = await closed_after(reader)
    assert data == b"" and 0.1 < took < 5
    writer.close()


async def test_failed_accepts_are_one_warning_line_per_interval(
    serve: Callable[[ServerLimits], Awaitable[int]], caplog: pytest.LogCaptureFixture
) -> None:
    """Out of descriptors, asyncio reports every failed accept() as an error with a traceback (72,000 lines in
    30 s in the review); this calls the loop's exception handler exactly as asyncio's accept loop does."""
    await serve(ServerLimits(log_interval_s=60))
    caplog.set_level(logging.DEBUG, logger="asyncio")
    loop = asyncio.get_running_loop()
    for _ in range(500):
        loop.call_exception_handler(
            {
                "message": "socket.accept() out of system resource",
                "exception": OSError(24, "Too many open files"),
            }
        )
    records = [r for r in caplog.records if r.name == "asyncio"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.WARNING and records[0].exc_info is None
    assert "Too many open files" in records[0].getMessage()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GARBAGE /<script> HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
    ],
    ids=["long-header", "long-url", "bad-method", "bare-cr"],
)
async def test_a_request_aiohttp_cannot_parse_gets_the_security_headers_and_no_echo(
    serve: Callable[[ServerLimits], Awaitable[int]], request_bytes: bytes
) -> None:
    port = await serve(ServerLimits())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes)
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].endswith("400 Bad Request"), lines[0]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert all(h in headers for h in HEADERS), headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert body == b"400 Bad Request\n"  # nothing of the request comes back
