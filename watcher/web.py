"""HTTP endpoints of the daemon: /healthz, /metrics (Prometheus) and /claims/{claim}/report."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watcher import metrics
from watcher.domain import DeliveryStatus
from watcher.errors import NotFoundError

if TYPE_CHECKING:
    from watcher.daemon import Daemon

logger = logging.getLogger(__name__)

DAEMON_KEY = web.AppKey("daemon", object)


def _daemon(request: web.Request) -> Daemon:
    return request.app[DAEMON_KEY]  # type: ignore[return-value]


async def health(daemon: Daemon) -> tuple[bool, dict[str, Any]]:
    """Database reachable, scheduler ticking, and the last cycle recent enough."""
    checks: dict[str, Any] = {}
    try:
        await daemon.store.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    sched = daemon._scheduler
    checks["scheduler"] = "running" if sched is not None and sched.running else "stopped"
    limit = max(60.0, daemon.settings.daemon.tick_s * 6)
    last = daemon.last_cycle_monotonic
    age = None if last is None else round(time.monotonic() - last, 1)
    checks["last_cycle_age_s"] = age
    fresh = (age is not None and age <= limit) or (
        age is None and time.monotonic() - daemon.started_monotonic < limit
    )
    ok = checks["database"] == "ok" and checks["scheduler"] == "running" and fresh
    return ok, {"status": "ok" if ok else "unhealthy", **checks}


async def healthz(request: web.Request) -> web.Response:
    ok, body = await health(_daemon(request))
    return web.json_response(body, status=200 if ok else 503)


async def metrics_view(request: web.Request) -> web.Response:
    daemon = _daemon(request)
    try:
        counts = await daemon.store.counts()
        for status in DeliveryStatus:
            metrics.DELIVERY_STATUS.labels(status.value).set(counts.get(f"deliveries_{status.value}", 0))
    except Exception:
        logger.warning("metrics: cannot read outbox counts", exc_info=True)
    body = generate_latest(metrics.REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def report_view(request: web.Request) -> web.Response:
    from watcher.report import build_report

    daemon = _daemon(request)
    try:
        html = await build_report(daemon.store, request.match_info["claim"])
    except NotFoundError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    return web.Response(text=html, content_type="text/html")


def make_app(daemon: Daemon) -> web.Application:
    app = web.Application()
    app[DAEMON_KEY] = daemon
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/claims/{claim}/report", report_view)
    return app


async def start_server(daemon: Daemon) -> web.AppRunner:
    runner = web.AppRunner(make_app(daemon), access_log=None)
    await runner.setup()
    d = daemon.settings.daemon
    site = web.TCPSite(runner, d.server_host, d.server_port)
    await site.start()
    logger.info("serving /healthz, /metrics and reports on http://%s:%d", d.server_host, d.server_port)
    return runner
