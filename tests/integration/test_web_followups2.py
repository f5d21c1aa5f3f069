"""The server's per-client connection cap: one peer address cannot hold every connection, so another address (the
orchestrator's health probe) still gets in. Real server, real sockets on loopback: 127.0.0.1 and 127.0.0.2 are
two clients (Linux routes all of 127/8 to loopback)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from storage.sql import SqlStore
from tests.support.fixtures import DaemonStub
from watcher.config import load
from watcher.errors import ConfigError
from watcher.web import ServerLimits, _Gate, client_address, start_server

Serve = Callable[[ServerLimits], Awaitable[web.AppRunner]]
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def held_limits(max_connections: int, per_client: int | None = None) -> ServerLimits:
    """Limits whose deadlines outlive any test, so that a held connection stays open until the test closes it."""
    return ServerLimits(
        max_connections=max_connections,
        max_connections_per_client=per_client,
        header_timeout_s=60,
        keepalive_timeout_s=60,
    )


@pytest.fixture
async def serve(sqlite_store: SqlStore) -> AsyncIterator[Serve]:
    """Starts the daemon's server on a free loopback port with the given limits."""
    runners: list[web.AppRunner] = []

    async def start(limits: ServerLimits) -> web.AppRunner:
        state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
        runner = await start_server(state, host="127.0.0.1", port=0, tick_s=10.0, limits=limits)
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        await runner.cleanup()


opened: list[Stream] = []


@pytest.fixture(autouse=True)
async def _close_connections() -> AsyncIterator[None]:
    """Closes, at the end, every connection the test opened with :func:`connect`."""
    opened.clear()
    yield
    for _, writer in opened:
        writer.close()
    for _, writer in opened:
        try:
            await writer.wait_closed()
        except OSError:  # the server closed it first
            pass
    opened.clear()


async def connect(port: int, source: str, host: str = "127.0.0.1") -> Stream:
    stream = await asyncio.open_connection(host, port, local_addr=(source, 0))
    opened.append(stream)
    return stream


async def held_connection(port: int, source: str) -> Stream:
    """A connection from ``source`` that the server admitted: it answered a keep-alive /healthz and stays open."""
    reader, writer = await connect(port, source)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 OK"), head[:40]
    length = next(int(h[15:]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))
    await asyncio.wait_for(reader.readexactly(length), 5)
    return reader, writer


async def refused(port: int, source: str, host: str = "127.0.0.1") -> bool:
    """Whether a new connection from ``source`` is closed unread, long before any deadline of the server."""
    reader, writer = await connect(port, source, host)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:
        data = await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:  # the server closed with our request unread
        data = b""
    return data == b""


async def healthz_from(port: int, source: str) -> bytes:
    reader, writer = await connect(port, source)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("refusing connections")]


async def test_one_address_cannot_hold_every_connection(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    runner = await serve(held_limits(4, 2))
    port = int(runner.addresses[0][1])
    caplog.set_level(logging.WARNING, logger="watcher.web")
    for _ in range(2):
        await held_connection(port, "127.0.0.2")
    assert await refused(port, "127.0.0.2")
    assert await refused(port, "127.0.0.2")
    # The probe from another address gets in, and so does a second client up to its own cap.
    assert (await healthz_from(port, "127.0.0.1")).startswith(b"HTTP/1.1 200 OK")
    await held_connection(port, "127.0.0.1")
    await held_connection(port, "127.0.0.1")
    # Loopback is a client like any other: 127.0.0.1 is at its cap now.
    assert await refused(port, "127.0.0.1")
    lines = refusal_lines(caplog)
    assert len(lines) == 1, lines  # one line per interval, not one per refusal
    assert lines[0].startswith("refusing connections from 127.0.0.2: 2 open from that client")
    assert "daemon.server.max_connections_per_client" in lines[0]


async def test_the_global_cap_still_holds_across_addresses(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    runner = await serve(held_limits(3, 2))
    port = int(runner.addresses[0][1])
    caplog.set_level(logging.WARNING, logger="watcher.web")
    await held_connection(port, "127.0.0.2")
    await held_connection(port, "127.0.0.2")
    await held_connection(port, "127.0.0.3")
    assert await refused(port, "127.0.0.4")  # under its own cap, but the server is full
    lines = refusal_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith("refusing connections: 3 open, the limit"), lines


async def test_a_closed_connection_gives_its_address_its_place_back(serve: Serve) -> None:
    runner = await serve(held_limits(4, 1))
    port = int(runner.addresses[0][1])
    _, writer = await held_connection(port, "127.0.0.2")
    assert await refused(port, "127.0.0.2")
    writer.close()
    await writer.wait_closed()
    # The server frees the place once it sees that connection go: wait for that, not for a fixed time.
    for _ in range(500):
        answer = await healthz_from(port, "127.0.0.2")
        if answer:
            break
        await asyncio.sleep(0.01)
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:40]


async def test_by_default_one_address_holds_three_quarters_and_the_rest_stays_free(serve: Serve) -> None:
    runner = await serve(held_limits(8))
    port = int(runner.addresses[0][1])
    for _ in range(6):
        await held_connection(port, "127.0.0.2")
    assert await refused(port, "127.0.0.2")
    for _ in range(2):
        await held_connection(port, "127.0.0.1")


@pytest.mark.parametrize(
    ("max_connections", "per_client", "expected"),
    [(256, None, 192), (8, None, 6), (4, None, 3), (2, None, 2), (1, None, 1), (256, 10, 10), (8, 300, 8)],
)
def test_the_per_client_cap(max_connections: int, per_client: int | None, expected: int) -> None:
    limits = ServerLimits(max_connections=max_connections, max_connections_per_client=per_client)
    assert limits.per_client == expected


@pytest.mark.parametrize(
    ("peername", "expected"),
    [
        (("127.0.0.2", 5000), "127.0.0.2"),
        (("::ffff:127.0.0.2", 5000, 0, 0), "127.0.0.2"),
        (("::FFFF:7f00:2", 5000, 0, 0), "127.0.0.2"),
        (("2001:DB8::0:1", 5000, 0, 0), "2001:db8::/64"),
        (("::1", 5000, 0, 0), "::1"),
        (None, "unknown"),
        ("", "unknown"),
        (("not an address\n", 1), "unknown"),
    ],
)
def test_client_address(peername: object, expected: str) -> None:
    assert client_address(peername) == expected


def dual_stack_socket() -> socket.socket:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
    except OSError as exc:
        sock.close()
        pytest.skip(f"no dual-stack socket: {exc}")
    return sock


async def test_an_ipv4_mapped_peer_counts_as_its_ipv4_address(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """A dual-stack listening socket sees an IPv4 client as ::ffff:a.b.c.d: the same client all the same."""
    runner = await serve(held_limits(4, 1))
    assert runner.server is not None
    sock = dual_stack_socket()
    limits = held_limits(4, 1)
    listener = await asyncio.get_running_loop().create_server(_Gate(runner.server, limits), sock=sock)
    try:
        caplog.set_level(logging.WARNING, logger="watcher.web")
        port = int(sock.getsockname()[1])
        await held_connection(port, "127.0.0.2")
        assert await refused(port, "127.0.0.2")
        assert (await healthz_from(port, "127.0.0.3")).startswith(b"HTTP/1.1 200 OK")
        lines = refusal_lines(caplog)
        assert len(lines) == 1 and lines[0].startswith("refusing connections from 127.0.0.2: 1 open"), lines
    finally:
        listener.close()


async def test_a_refusal_line_names_the_address_and_nothing_the_client_sent(
    sqlite_store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    token = "t0ken-0123456789abcdef"
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    limits = held_limits(4, 1)
    runner = await start_server(state, host="127.0.0.1", port=0, tick_s=10.0, token=token, limits=limits)
    try:
        port = int(runner.addresses[0][1])
        caplog.set_level(logging.DEBUG, logger="watcher.web")
        await held_connection(port, "127.0.0.2")
        reader, writer = await connect(port, "127.0.0.2")
        writer.write(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""
        except ConnectionResetError:
            pass
        assert refusal_lines(caplog)
        assert all(token not in r.getMessage() and "Bearer" not in r.getMessage() for r in caplog.records)
    finally:
        await runner.cleanup()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_setting(tmp_path: Path) -> None:
    d = load(write(tmp_path, "daemon: {server: {}}\n"), environ={}).daemon
    assert d.server_max_connections_per_client is None
    text = "daemon: {server: {max_connections: 32, max_connections_per_client: 4}}\n"
    d = load(write(tmp_path, text), environ={}).daemon
    assert (d.server_max_connections, d.server_max_connections_per_client) == (32, 4)
    for bad in ("0", "-1", "100001", "lots"):
        with pytest.raises(ConfigError, match=r"daemon\.server\.max_connections_per_client"):
            load(write(tmp_path, f"daemon: {{server: {{max_connections_per_client: {bad}}}}}\n"), environ={})
