"""HTTP endpoints of the daemon: /healthz, /metrics (Prometheus) and /claims/{claim}/report."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any, Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watcher import metrics
from watcher.domain import DeliveryStatus
from watcher.errors import NotFoundError
from watcher.report import ReportSource, build_report

logger = logging.getLogger(__name__)


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


async def health(state: DaemonState, tick_s: float) -> tuple[bool, dict[str, Any]]:
    """Database reachable and writable, scheduler ticking, and the last cycle recent enough (six ticks, at least
    60 s). ``database`` says "ok", the daemon's :attr:`DaemonState.database_problem`, or why it is unreachable."""
    checks: dict[str, Any] = {}
    try:
        await state.store.ping()
        checks["database"] = state.database_problem or "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["scheduler"] = "running" if state.scheduler_running else "stopped"
    limit = max(60.0, tick_s * 6)
    last = state.last_cycle_monotonic
    age = None if last is None else round(time.monotonic() - last, 1)
    checks["last_cycle_age_s"] = age
    fresh = (age is not None and age <= limit) or (
        age is None and time.monotonic() - state.started_monotonic < limit
    )
    ok = checks["database"] == "ok" and checks["scheduler"] == "running" and fresh
    return ok, {"status": "ok" if ok else "unhealthy", **checks}


async def healthz(request: web.Request) -> web.Response:
    ok, body = await health(request.app[STATE_KEY], request.app[TICK_KEY])
    return web.json_response(body, status=200 if ok else 503)


async def metrics_view(request: web.Request) -> web.Response:
    try:
        counts = await request.app[STATE_KEY].store.counts()
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


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


@web.middleware
async def _require_token(request: web.Request, handler: Any) -> web.StreamResponse:
    """With a token set, every path but /healthz (and /metrics when public) needs ``Authorization: Bearer``."""
    token = request.app[TOKEN_KEY]
    public = request.path in OPEN_PATHS or (request.path == "/metrics" and request.app[METRICS_PUBLIC_KEY])
    if token and not public:
        # aiohttp decodes header bytes that are not UTF-8 as lone surrogates; surrogateescape gives them back.
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
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


def make_app(
    state: DaemonState, *, tick_s: float, token: str | None = None, metrics_public: bool = False
) -> web.Application:
    """The endpoints over ``state``; ``tick_s`` is the daemon's poll interval, which /healthz judges by.

    :param token: when set, every path but /healthz needs ``Authorization: Bearer TOKEN`` (401 without).
    :param metrics_public: /metrics is served without the token too.
    """
    app = web.Application(middlewares=[_require_token])
    server_log = logging.getLogger("aiohttp.server")
    if _MALFORMED_REQUESTS not in server_log.filters:
        server_log.addFilter(_MALFORMED_REQUESTS)
    app.on_response_prepare.append(_security_headers)
    app[STATE_KEY] = state
    app[TICK_KEY] = tick_s
    app[TOKEN_KEY] = token or ""
    app[METRICS_PUBLIC_KEY] = metrics_public
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
) -> web.AppRunner:
    """Serve the endpoints on ``host:port`` until the returned runner is cleaned up (see :func:`make_app`)."""
    app = make_app(state, tick_s=tick_s, token=token, metrics_public=metrics_public)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    logger.info("serving /healthz, /metrics and reports on http://%s:%d", host, port)
    return runner
