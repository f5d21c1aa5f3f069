"""A real HTTP server on 127.0.0.1 that serves configurable feed routes to tests and benchmarks.

With pytest-aiohttp::

    server = FeedServer({"/rss": Route(body=RSS, etag='"v1"')})
    await server.start_under(aiohttp_server)
    url = server.url("/rss")

Standalone (a bench script)::

    async with FeedServer({"/rss": Route(body=RSS)}) as server:
        url = server.url("/rss")

Routes can be changed while the server runs (``server.routes[path] = Route(...)``), and every
request is recorded in ``server.requests`` so a test can check what the client sent.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """The answer to requests for one path.

    With ``etag`` or ``last_modified`` set, a matching If-None-Match or If-Modified-Since (compared
    as exact strings) gets a 304. ``gzip`` compresses ``body`` on the way out; to serve bytes that
    are already compressed (a gzip bomb), pass ``headers={"Content-Encoding": "gzip"}`` instead.
    """

    body: bytes = b""
    status: int = 200
    content_type: str | None = RSS_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0  # wait before answering (cut short when the server shuts down)
    gzip: bool = False


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


def redirect(location: str, status: int = 301) -> Route:
    """A route that redirects to ``location`` (a path or an absolute URL)."""
    return Route(status=status, headers={"Location": location}, content_type=None)


def gzip_bomb(decompressed_bytes: int, member_bytes: int = 16 * 1024 * 1024) -> bytes:
    """A gzip body of about decompressed_bytes / 1000 that inflates to ``decompressed_bytes`` zeros.

    Built from repeated gzip members (which decoders must concatenate), so a 1 GiB bomb costs
    one 16 MiB compression rather than a gigabyte of work.
    """
    member = gzip.compress(bytes(member_bytes), compresslevel=9)
    count, rest = divmod(decompressed_bytes, member_bytes)
    return member * count + (gzip.compress(bytes(rest), compresslevel=9) if rest else b"")


class FeedServer:
    """Serves ``routes`` (path → Route or aiohttp handler); unknown paths get a 404."""

    def __init__(self, routes: Mapping[str, Route | Handler] | None = None) -> None:
        self.routes: dict[str, Route | Handler] = dict(routes or {})
        self.requests: list[RecordedRequest] = []
        self.base_url: str | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._handle)
        self.app.on_shutdown.append(self._on_shutdown)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (on a free port by default) and return the base URL."""
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def start_under(self, aiohttp_server: Callable[..., Awaitable[Any]]) -> str:
        """Start under pytest-aiohttp's ``aiohttp_server`` fixture, which stops it after the test."""
        server = await aiohttp_server(self.app)
        self.base_url = str(server.make_url("/")).rstrip("/")
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- helpers for tests --------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        if self.base_url is None:
            raise RuntimeError("FeedServer is not started")
        return self.base_url + path

    def hits(self, path: str) -> int:
        """How many requests ``path`` has received."""
        return sum(1 for r in self.requests if r.path == path)

    def last(self, path: str) -> RecordedRequest:
        """The most recent request for ``path``."""
        return [r for r in self.requests if r.path == path][-1]

    # -- serving ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers)))
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if not isinstance(route, Route):
            return await route(request)
        if route.delay_s:
            await self._sleep(route.delay_s)
        return self._respond(route, request)

    def _respond(self, route: Route, request: web.Request) -> web.Response:
        validators = {}
        if route.etag is not None:
            validators["ETag"] = route.etag
        if route.last_modified is not None:
            validators["Last-Modified"] = route.last_modified
        if _not_modified(route, request):
            return web.Response(status=304, headers=validators)
        headers = {**validators, **route.headers}
        if route.content_type is not None:
            headers["Content-Type"] = route.content_type
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(status=route.status, body=body, headers=headers)

    async def _sleep(self, seconds: float) -> None:
        # Woken at shutdown, so a test that timed out its client does not wait for the handler.
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing.set()


def _not_modified(route: Route, request: web.Request) -> bool:
    if route.etag is not None and request.headers.get("If-None-Match") == route.etag:
        return True
    return route.last_modified is not None and request.headers.get("If-Modified-Since") == route.last_modified
