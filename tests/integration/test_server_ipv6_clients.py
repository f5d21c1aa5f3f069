"""The per-client connection cap groups an IPv6 client by its /64: a host handed a /64 cannot dodge the cap by
taking a new address for each connection."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.sql import SqlStore
from tests.support.fixtures import DaemonStub
from watcher.web import ServerLimits, _Gate, client_address, start_server


@pytest.mark.parametrize(
    ("peername", "expected"),
    [
        (("2001:db8:1:2::1", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:DB8:1:2:ffff:ffff:ffff:ffff", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:3::1", 5000, 0, 0), "2001:db8:1:3::/64"),
        (("fd00::2", 5000, 0, 0), "fd00::/64"),
        # link-local: the same /64 on every link, told apart by the zone
        (("fe80::1%eth0", 5000, 0, 2), "fe80::/64%eth0"),
        (("fe80::2%eth1", 5000, 0, 3), "fe80::/64%eth1"),
        # IPv4, and IPv4-mapped IPv6, by the whole IPv4 address
        (("192.0.2.1", 5000), "192.0.2.1"),
        (("192.0.2.2", 5000), "192.0.2.2"),
        (("::ffff:192.0.2.1", 5000, 0, 0), "192.0.2.1"),
        # the IPv6 loopback is one address, this host
        (("::1", 5000, 0, 0), "::1"),
        (None, "unknown"),
    ],
)
def test_the_client_of_a_peer_address(peername: object, expected: str) -> None:
    assert client_address(peername) == expected


class _PeerSocket(socket.socket):
    """An accepted loopback socket that names another peer: loopback has one IPv6 address (::1), and a client
    that takes several addresses of a /64 is what the cap must see through."""

    peer: tuple[Any, ...] = ()

    def getpeername(self) -> Any:
        return self.peer


@pytest.fixture
async def connect_as(sqlite_store: SqlStore) -> AsyncIterator[Any]:
    """``await connect_as(peer)``: a real loopback connection that the daemon's server (the connection gate of
    :func:`start_server`, per_client 2 of 8) accepts as coming from ``peer``; the client's end is returned."""
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    limits = ServerLimits(
        max_connections=8, max_connections_per_client=2, header_timeout_s=60, keepalive_timeout_s=60
    )
    runner = await start_server(state, host="127.0.0.1", port=0, tick_s=10.0, limits=limits)
    assert runner.server is not None
    gate = _Gate(runner.server, limits)
    loop = asyncio.get_running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    writers: list[asyncio.StreamWriter] = []

    async def connect(peer: tuple[Any, ...]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        opened = asyncio.open_connection(*listener.getsockname()[:2])
        (reader, writer), (accepted, _) = await asyncio.gather(opened, loop.sock_accept(listener))
        writers.append(writer)
        sock = _PeerSocket(accepted.family, accepted.type, accepted.proto, fileno=accepted.detach())
        sock.peer = peer
        await loop.connect_accepted_socket(gate, sock)
        return reader, writer

    yield connect
    for writer in writers:
        writer.close()
    listener.close()
    await runner.cleanup()


async def admitted(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
    """Whether the server answers a keep-alive /healthz on the connection (and keeps it open); False when it
    closed the connection unread."""
    reader, writer = stream
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    except (asyncio.IncompleteReadError, ConnectionResetError):
        return False
    assert head.startswith(b"HTTP/1.1 200 OK"), head[:40]
    length = next(int(h[15:]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))
    await asyncio.wait_for(reader.readexactly(length), 5)
    return True


async def test_an_ipv6_client_counts_by_its_64(connect_as: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="watcher.web")
    assert await admitted(await connect_as(("2001:db8:1:2::1", 5000, 0, 0)))
    assert await admitted(await connect_as(("2001:db8:1:2::2", 5001, 0, 0)))
    # a third address of the same /64 is the same client, at its cap of 2
    assert not await admitted(await connect_as(("2001:db8:1:2:abcd::3", 5002, 0, 0)))
    # another /64, an IPv4 client and the IPv6 loopback are other clients
    assert await admitted(await connect_as(("2001:db8:1:3::1", 5003, 0, 0)))
    assert await admitted(await connect_as(("192.0.2.1", 5004)))
    assert await admitted(await connect_as(("::1", 5005, 0, 0)))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refusing connections")]
    assert len(lines) == 1 and lines[0].startswith("refusing connections from 2001:db8:1:2::/64: 2 open"), (
        lines
    )


async def test_an_ipv4_client_counts_by_its_address_mapped_or_not(connect_as: Any) -> None:
    assert await admitted(await connect_as(("192.0.2.1", 5000)))
    assert await admitted(await connect_as(("::ffff:192.0.2.1", 5001, 0, 0)))
    assert not await admitted(await connect_as(("192.0.2.1", 5002)))
    assert await admitted(await connect_as(("192.0.2.2", 5003)))
