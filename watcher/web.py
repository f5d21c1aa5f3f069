"""HTTP endpoints of the daemon: /healthz, /metrics (Prometheus) and /claims/{claim}/report."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watcher import metrics
from watcher.config import DaemonSettings
from watcher.domain import DeliveryStatus
from watcher.errors import NotFoundError
from watcher.report import ReportSource, build_report

logger = logging.getLogger(__name__)
T = TypeVar("T")


class WebStore(ReportSource, Protocol):
    """What the endpoints read from the store, besides a report's records."""

    async def ping(self) -> None: ...
    async def counts(self) -> dict[str, int]: ...


class DaemonState(Protocol):
    """What the endpoints read from the running daemon (``watcher.daemon.Daemon`` provides it)."""

    @property
    def store(self) -> WebStore: ...
    @property
    def scheduler_running(self) -> bool: ...
    @property
    def last_cycle_monotonic(self) -> float | None:
        """``time.monotonic()`` when the last poll cycle finished; None before the first."""

    @property
    def last_progress_monotonic(self) -> float | None:
        """``time.monotonic()`` when the daemon last made progress (a tick with no pass running, a feed poll
        finished, a pass ended); None before the first."""

    @property
    def started_monotonic(self) -> float: ...
    @property
    def database_problem(self) -> str | None:
        """Why the last job found the database unusable ("read-only", ...); None when it is fine."""


STATE_KEY = web.AppKey("daemon", DaemonState)
TICK_KEY = web.AppKey("tick_s", float)
TOKEN_KEY = web.AppKey("token", str)
METRICS_PUBLIC_KEY = web.AppKey("metrics_public", bool)
# Every response: nothing loads or runs (the report is self-contained), no framing, no sniffing, no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
OPEN_PATHS = frozenset({"/healthz"})  # container healthchecks and load balancers carry no token
# How long /healthz and /metrics wait for the database: SQLite waits up to 30 s for a write lock another process
# holds, and a PostgreSQL connection for a pool slot, while a probe or a scrape gives up after a few seconds.
PING_TIMEOUT_S = 5.0
_DEFAULTS = DaemonSettings()


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLimits:
    """What clients may hold of the server (``daemon.server.*`` in feeds.yaml). Times are seconds.

    :param max_connections: connections open at once; a further one is closed as soon as it is accepted.
    :param max_connections_per_client: of those, connections open at once from one client: a peer address, an
        IPv6 one by its /64 (see :func:`client_address`); a further one from that client is closed as soon as it
        is accepted. None: :attr:`per_client`'s default. Above ``max_connections`` it is ``max_connections`` (no
        per-client cap).
    :param header_timeout_s: a connection that has not sent a complete request head within this is closed.
    :param keepalive_timeout_s: a connection idle between requests (or slow to send the next head) is closed.
    :param log_interval_s: refused connections and failed accepts are logged once per interval, not each.
    """

    max_connections: int = _DEFAULTS.server_max_connections
    max_connections_per_client: int | None = _DEFAULTS.server_max_connections_per_client
    header_timeout_s: float = _DEFAULTS.server_header_timeout_s
    keepalive_timeout_s: float = _DEFAULTS.server_keepalive_timeout_s
    backlog: int = 128
    log_interval_s: float = 60.0

    @property
    def per_client(self) -> int:
        """Connections one client (see :func:`client_address`) may hold: ``max_connections_per_client``, by
        default three quarters of ``max_connections`` (192 of 256), so that a quarter is left to others.

        The cap exists so that one client (a scraper, a slowloris) cannot take every connection and lock out the
        orchestrator's health probe. A large share rather than a fair one (say a quarter each) because real
        traffic often arrives from one address: everything relayed by a reverse proxy or a load balancer, and in a
        container everything through Docker's port proxy (the bridge's gateway address). A small share would cap
        all of that while the probe only needs room left over. Probes come from loopback (the image's
        HEALTHCHECK runs ``watcher check`` against 127.0.0.1, as do exec probes) or from the node's address
        (kubelet HTTP probes): another address than that traffic, so they keep the quarter left. Loopback is a
        client like any other: exempting it would hand every connection back to whatever a proxy on the same
        host relays. Below 4 connections there is no quarter to leave, and no per-client cap by default.
        """
        wanted = self.max_connections_per_client
        if wanted is None:
            wanted = self.max_connections - self.max_connections // 4
        return max(1, min(wanted, self.max_connections))


class _Shared(Generic[T]):
    """A database read of an endpoint (the ping of /healthz, the outbox counts of /metrics): one at a time,
    however many requests ask, and an answer within ``PING_TIMEOUT_S``. A read cannot be cancelled while it
    waits for a lock, so one that runs over is left to finish and the requests meanwhile share it, rather than
    each taking one more connection of the pool."""

    def __init__(self, read: Callable[[], Awaitable[T]], name: str) -> None:
        self._read = read
        self._name = name
        self._task: asyncio.Task[T] | None = None

    async def __call__(self) -> T:
        """The read's result; raises its error, or TimeoutError without an answer in time."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._coro(), name=self._name)
            # A read that fails after its requests gave up is not "never retrieved": the next request starts anew.
            self._task.add_done_callback(lambda t: t.cancelled() or t.exception())
        done, _ = await asyncio.wait({self._task}, timeout=PING_TIMEOUT_S)
        if not done:
            raise TimeoutError(f"no answer within {PING_TIMEOUT_S:g} s")
        return self._task.result()

    async def _coro(self) -> T:
        return await self._read()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


PING_KEY = web.AppKey("ping", _Shared[None])
COUNTS_KEY = web.AppKey("counts", _Shared[dict[str, int]])


async def health(
    state: DaemonState, tick_s: float, *, ping: Callable[[], Awaitable[None]] | None = None
) -> tuple[bool, dict[str, Any]]:
    """Database reachable and writable, scheduler ticking, and progress recent enough (six ticks, at least
    60 s). ``database`` says "ok", the daemon's :attr:`DaemonState.database_problem`, or why it is unreachable.
    ``ping`` is the database round trip (``state.store.ping`` unless given).

    Progress, not the end of a pass: a busy daemon's pass runs on as long as feeds fall due, so
    ``last_cycle_age_s`` may be null or old while polls finish (it is shown, not judged).
    """
    checks: dict[str, Any] = {}
    try:
        await (ping or state.store.ping)()
        checks["database"] = state.database_problem or "ok"
    except TimeoutError as exc:
        checks["database"] = f"unreachable: {exc}"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["scheduler"] = "running" if state.scheduler_running else "stopped"
    limit = max(60.0, tick_s * 6)
    now = time.monotonic()
    cycle, last = state.last_cycle_monotonic, state.last_progress_monotonic
    checks["last_cycle_age_s"] = None if cycle is None else round(now - cycle, 1)
    age = None if last is None else round(now - last, 1)
    checks["last_progress_age_s"] = age
    fresh = (age is not None and age <= limit) or (age is None and now - state.started_monotonic < limit)
    ok = checks["database"] == "ok" and checks["scheduler"] == "running" and fresh
    return ok, {"status": "ok" if ok else "unhealthy", **checks}


async def healthz(request: web.Request) -> web.Response:
    ok, body = await health(request.app[STATE_KEY], request.app[TICK_KEY], ping=request.app[PING_KEY])
    return web.json_response(body, status=200 if ok else 503)


async def metrics_view(request: web.Request) -> web.Response:
    try:
        counts = await request.app[COUNTS_KEY]()
        for status in DeliveryStatus:
            metrics.DELIVERY_STATUS.labels(status.value).set(counts.get(f"deliveries_{status.value}", 0))
    except Exception:
        logger.warning("metrics: cannot read outbox counts", exc_info=True)
    body = generate_latest(metrics.REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def report_view(request: web.Request) -> web.Response:
    try:
        html = await build_report(request.app[STATE_KEY].store, request.match_info["claim"])
    except NotFoundError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    return web.Response(text=html, content_type="text/html")


async def _cancel_reads(app: web.Application) -> None:
    app[PING_KEY].cancel()
    app[COUNTS_KEY].cancel()


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


@web.middleware
async def _head_received(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request reached the app: its connection has met the request-head deadline."""
    if isinstance(request.protocol, _Connection):
        request.protocol.head_received()
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def _require_token(request: web.Request, handler: Any) -> web.StreamResponse:
    """With a token set, every path but /healthz (and /metrics when public) needs ``Authorization: Bearer``."""
    token = request.app[TOKEN_KEY]
    public = request.path in OPEN_PATHS or (request.path == "/metrics" and request.app[METRICS_PUBLIC_KEY])
    if token and not public:
        # The scheme is case-insensitive (RFC 9110 11.1: "bearer" is "Bearer"); the token is compared in
        # constant time. aiohttp decodes header bytes that are not UTF-8 as lone surrogates; surrogateescape
        # gives them back.
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        credentials = given.lstrip(" ").encode("utf-8", "surrogateescape")
        if not (scheme.lower() == "bearer" and hmac.compare_digest(credentials, token.encode())):
            raise web.HTTPUnauthorized(
                text="401: a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="watcher"'}
            )
    response: web.StreamResponse = await handler(request)
    return response


class _MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (the client's fault, answered with a 4xx) as an error with a
    traceback, and with the client's bytes in the message: here it is one warning line, naming the peer and the
    kind of fault, so that a client cannot fill the log with tracebacks or write into it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = "malformed HTTP request from %s answered %d (%s)"
            record.args = (peer if isinstance(peer, str) else "an unknown peer", exc.code, type(exc).__name__)
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info = record.exc_text = None
        return True


_MALFORMED_REQUESTS = _MalformedRequests()


class _EveryInterval:
    """Whether to log now: at most once per ``interval_s``; ``skipped`` counts the occasions not logged since."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.skipped = 0
        self._last: float | None = None

    def due(self) -> bool:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval_s:
            self.skipped += 1
            return False
        self._last = now
        return True


class _AcceptErrors(logging.Filter):
    """asyncio logs every failed ``accept()`` of a listening socket (out of file descriptors: EMFILE) as an error
    with a traceback, many times a second while it lasts: here it is one warning line per interval."""

    PREFIX = "socket.accept() out of system resource"

    def __init__(self, interval_s: float) -> None:
        super().__init__()
        self.every = _EveryInterval(interval_s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(self.PREFIX)):
            return True
        skipped = self.every.skipped
        if not self.every.due():
            return False
        self.every.skipped = 0
        exc = record.exc_info[1] if record.exc_info else None
        record.msg = "cannot accept connections: %s (%d more failed accepts not logged; one line per %.0f s)"
        record.args = (exc or "out of resources", skipped, self.every.interval_s)
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True


def client_address(peername: object) -> str:
    """The client a connection counts under for ``max_connections_per_client``: an IPv4 peer's address; an IPv6
    peer's /64 (``2001:db8:1:2::/64``), since a host is handed at least a /64 and may take any address of it; an
    IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, a dual-stack socket's IPv4 peer) as its IPv4 address, and
    the IPv6 loopback ``::1`` as itself; "unknown" when the socket names none."""
    host = peername[0] if isinstance(peername, tuple) and peername else peername
    try:
        ip = ipaddress.ip_address(host) if isinstance(host, str) else None
    except ValueError:
        ip = None
    if ip is None:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if not ip.is_loopback:
            # A link-local /64 (fe80::/64) is on every link: its zone ("%eth0") tells the links apart.
            zone = f"%{ip.scope_id}" if ip.scope_id else ""
            return f"{ipaddress.IPv6Network((ip, 64), strict=False)}{zone}"
    return str(ip)


class _Admission(asyncio.Protocol):
    """A connection until the gate has seen its peer address: handed to aiohttp's protocol, or, beyond a cap,
    closed as soon as it is made, before any byte is read. (The protocol factory is not told the peer.)"""

    def __init__(self, gate: _Gate) -> None:
        self._gate = gate

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        conn = self._gate.admit(client_address(transport.get_extra_info("peername")))
        if conn is None:
            transport.close()
            return
        transport.set_protocol(conn)
        conn.connection_made(transport)


class _Connection(web.RequestHandler):
    """aiohttp's protocol for one connection, with a deadline for its first request head, its place under the
    connection cap, and error answers that carry the security headers and never echo the client's bytes."""

    def __init__(self, manager: web.Server, *, gate: _Gate, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gate = gate
        self._header_timeout_s = header_timeout_s
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # Later heads are bounded by aiohttp's keep-alive timer, which closes a connection still waiting for one.
        self._head_timer = asyncio.get_running_loop().call_later(self._header_timeout_s, self.force_close)

    def head_received(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self.head_received()
        self._gate.release(self)
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse (400) or a handler's failure (500): logged by aiohttp (see
        :class:`_MalformedRequests`), answered with the status line alone as text and the security headers."""
        super().handle_error(request, status, exc, message)  # logs; raises when a response has begun
        self.head_received()
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        response = web.Response(status=status, text=f"{status} {phrase}\n", headers=SECURITY_HEADERS)
        response.force_close()
        return response


class _Gate:
    """The protocol factory of the listening socket: a connection gets aiohttp's protocol while fewer than
    ``max_connections`` are open, and fewer than :attr:`ServerLimits.per_client` from its client; else it
    is closed at once. The caps keep clients from taking every file descriptor of the daemon, and one client
    from taking every connection (and with them the health probe's)."""

    def __init__(self, server: web.Server, limits: ServerLimits) -> None:
        self._server = server
        self._limits = limits
        self._per_client = limits.per_client
        self._open: dict[_Connection, str] = {}  # each open connection's client address
        self._by_client: dict[str, int] = {}  # open connections per client address; none at 0
        self._refusals = _EveryInterval(limits.log_interval_s)
        self._client_refusals = _EveryInterval(limits.log_interval_s)

    def __call__(self) -> asyncio.BaseProtocol:
        return _Admission(self)

    def admit(self, client: str) -> _Connection | None:
        """aiohttp's protocol for a new connection from ``client``, counted under the caps; None beyond them."""
        held = self._by_client.get(client, 0)
        if held >= self._per_client:
            skipped = self._client_refusals.skipped
            if self._client_refusals.due():
                self._client_refusals.skipped = 0
                logger.warning(
                    "refusing connections from %s: %d open from that client, the limit "
                    "(daemon.server.max_connections_per_client); %d more refused for that limit since the last "
                    "such line",
                    client,
                    held,
                    skipped,
                )
            return None
        if len(self._open) >= self._limits.max_connections:
            skipped = self._refusals.skipped
            if self._refusals.due():
                self._refusals.skipped = 0
                logger.warning(
                    "refusing connections: %d open, the limit (daemon.server.max_connections); %d more refused "
                    "since the last such line",
                    len(self._open),
                    skipped,
                )
            return None
        conn = _Connection(
            self._server,
            gate=self,
            header_timeout_s=self._limits.header_timeout_s,
            loop=asyncio.get_running_loop(),
            keepalive_timeout=self._limits.keepalive_timeout_s,
            access_log=None,
        )
        self._open[conn] = client
        self._by_client[client] = held + 1
        return conn

    def release(self, conn: _Connection) -> None:
        client = self._open.pop(conn, None)
        if client is None:
            return
        left = self._by_client[client] - 1
        if left:
            self._by_client[client] = left
        else:
            del self._by_client[client]


class _Runner(web.AppRunner):
    """The app's runner; its cleanup first closes the listening socket that :func:`start_server` opened."""

    listener: asyncio.Server | None = None

    @property
    def addresses(self) -> list[Any]:
        return [sock.getsockname() for sock in (self.listener.sockets if self.listener else ())]

    async def cleanup(self) -> None:
        if self.listener is not None:
            self.listener.close()
        await super().cleanup()


def make_app(
    state: DaemonState, *, tick_s: float, token: str | None = None, metrics_public: bool = False
) -> web.Application:
    """The endpoints over ``state``; ``tick_s`` is the daemon's poll interval, which /healthz judges by.

    :param token: when set, every path but /healthz needs ``Authorization: Bearer TOKEN`` (401 without).
    :param metrics_public: /metrics is served without the token too.
    """
    app = web.Application(middlewares=[_head_received, _require_token])
    server_log = logging.getLogger("aiohttp.server")
    if _MALFORMED_REQUESTS not in server_log.filters:
        server_log.addFilter(_MALFORMED_REQUESTS)
    app.on_response_prepare.append(_security_headers)
    app[STATE_KEY] = state
    app[TICK_KEY] = tick_s
    app[TOKEN_KEY] = token or ""
    app[METRICS_PUBLIC_KEY] = metrics_public
    app[PING_KEY] = _Shared(state.store.ping, "healthz-ping")
    app[COUNTS_KEY] = _Shared(state.store.counts, "metrics-counts")
    app.on_cleanup.append(_cancel_reads)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/claims/{claim}/report", report_view)
    return app


async def start_server(
    state: DaemonState,
    *,
    host: str,
    port: int,
    tick_s: float,
    token: str | None = None,
    metrics_public: bool = False,
    limits: ServerLimits | None = None,
) -> web.AppRunner:
    """Serve the endpoints on ``host:port`` until the returned runner is cleaned up (see :func:`make_app`);
    ``runner.addresses`` lists where (port 0 picks a free port). ``limits`` bound what clients may hold."""
    limits = limits or ServerLimits()
    app = make_app(state, tick_s=tick_s, token=token, metrics_public=metrics_public)
    accept_log = logging.getLogger("asyncio")
    accept_filter = next((f for f in accept_log.filters if isinstance(f, _AcceptErrors)), None)
    if accept_filter is None:
        accept_log.addFilter(_AcceptErrors(limits.log_interval_s))
    else:
        accept_filter.every = _EveryInterval(limits.log_interval_s)
    runner = _Runner(app, access_log=None, keepalive_timeout=limits.keepalive_timeout_s)
    await runner.setup()
    assert runner.server is not None  # set up
    # Our own listening socket rather than web.TCPSite: its protocol factory is the connection cap.
    try:
        runner.listener = await asyncio.get_running_loop().create_server(
            _Gate(runner.server, limits), host, port, backlog=limits.backlog
        )
    except BaseException:
        await runner.cleanup()
        raise
    logger.info("serving /healthz, /metrics and reports on http://%s:%d", host, runner.addresses[0][1])
    return runner
