"""Local networking for tests: a free TCP port on 127.0.0.1, and a server that answers with raw bytes."""

from __future__ import annotations

import asyncio
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (it may be taken again before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RawServer:
    """Answers every request on 127.0.0.1 with ``head`` (status line and header lines, as raw bytes) and ``body``.

    aiohttp's server writes header values as UTF-8 text; a server on the web may send any byte. The URL it is
    entered as (``async with RawServer(...) as url``) ends in ``path``.
    """

    def __init__(self, body: bytes, head: bytes, path: str = "/rss") -> None:
        self.response = head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        self.path = path
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}{self.path}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            writer.write(self.response)
            await writer.drain()
        finally:
            writer.close()
