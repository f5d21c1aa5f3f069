"""The daemon: APScheduler ticks drive the pipeline; signals stop it cleanly; health and metrics served."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from storage.base import Store
from storage.engine import database_problem
from watcher import metrics
from watcher.config import Settings
from watcher.pipeline import Pipeline
from watcher.web import ServerLimits, start_server

logger = logging.getLogger(__name__)


class Daemon:
    """Runs the pipeline on a schedule until stopped.

    Two APScheduler jobs: ``poll`` (every ``daemon.tick``: a pass over due feeds, those falling due while
    slow ones answer included, with matching, detection and delivery following each store; see
    :meth:`Pipeline.cycle`) and ``deliver`` (every second: retries that fall due between polls). Each job
    runs at most once at a time. A signal only sets the stop event; in-flight work then gets
    ``shutdown_timeout`` to finish before it is cancelled, and whatever it had not committed is picked up
    again on the next start.
    """

    def __init__(
        self, settings: Settings, store: Store, pipeline: Pipeline, *, install_signal_handlers: bool = True
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.install_signal_handlers = install_signal_handlers
        self.stop_event = asyncio.Event()
        self.last_cycle_monotonic: float | None = None
        self.started_monotonic = time.monotonic()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._database_problems: dict[str, str] = {}  # job → why its last run found the database unusable

    @property
    def database_problem(self) -> str | None:
        """Why the database is unusable ("read-only", ...) as the last failed job found it; None if fine."""
        return next(iter(self._database_problems.values()), None)

    @property
    def scheduler_running(self) -> bool:
        """Whether the scheduler has started and not shut down."""
        return self._scheduler is not None and bool(self._scheduler.running)

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        if self.install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        scheduler = AsyncIOScheduler(
            timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        )
        tick = self.settings.daemon.tick_s
        scheduler.add_job(
            self._job, "interval", seconds=tick, args=["poll", self._poll], id="poll", next_run_time=_now()
        )
        scheduler.add_job(self._job, "interval", seconds=1.0, args=["deliver", self._deliver], id="deliver")
        self._scheduler = scheduler
        server = await self._start_server()
        scheduler.start()
        logger.info("watcher running: tick %.0fs, %d feeds configured", tick, len(self.settings.feeds))
        try:
            await self.stop_event.wait()
        finally:
            logger.info(
                "stopping: waiting up to %.0fs for work in flight", self.settings.daemon.shutdown_timeout_s
            )
            # Stop starting jobs, let those running finish (up to shutdown_timeout), then shut down:
            # APScheduler's shutdown would cancel running jobs at once.
            scheduler.pause()
            await self._drain()
            scheduler.shutdown(wait=False)
            if server is not None:
                await server.cleanup()
            if self.install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            logger.info("stopped")

    def _on_signal(self, sig: signal.Signals) -> None:
        logger.info("received %s", sig.name)
        self.stop()

    async def _drain(self) -> None:
        pending = {t for t in self._inflight if not t.done()}
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=self.settings.daemon.shutdown_timeout_s)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=1.0)
            logger.warning("cancelled %d unfinished tasks; their work resumes on the next start", len(still))

    async def _job(self, name: str, func: Callable[[], Awaitable[None]]) -> None:
        if self.stop_event.is_set():
            return
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            await func()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A failing stage must not kill the daemon (the database may be restarting): log and retry next tick.
            metrics.UNEXPECTED.labels(name).inc()
            problem = database_problem(exc)
            if problem is None:
                logger.exception("%s job failed; retrying on the next tick", name)
            elif self._database_problems.get(name) != problem:  # once per change, not every tick
                logger.error("%s job: the database is unusable: %s; retrying every tick", name, problem)
            if problem is not None:
                self._database_problems[name] = problem
        else:
            if self._database_problems.pop(name, None) is not None:
                logger.info("%s job: the database is usable again", name)
        finally:
            self._inflight.discard(task)

    async def _poll(self) -> None:
        report = await self.pipeline.cycle(until=self.stop_event)
        self.last_cycle_monotonic = time.monotonic()
        if report.feeds_polled or report.matches or report.events or report.delivered:
            logger.info(
                "cycle: %d feeds polled (%d failed, %d not modified), %d new articles, %d matches, %d events, "
                "%d delivered in %.2fs",
                report.feeds_polled,
                report.feeds_failed,
                report.not_modified,
                report.new_articles,
                report.matches,
                report.events,
                report.delivered,
                report.elapsed_s,
            )

    async def _deliver(self) -> None:
        await self.pipeline.outbox.deliver_due()

    async def _start_server(self) -> web.AppRunner | None:
        d = self.settings.daemon
        if not d.server_enabled:
            return None
        return await start_server(
            self,
            host=d.server_host,
            port=d.server_port,
            tick_s=d.tick_s,
            token=d.server_token,
            metrics_public=d.server_metrics_public,
            limits=ServerLimits(
                max_connections=d.server_max_connections,
                header_timeout_s=d.server_header_timeout_s,
                keepalive_timeout_s=d.server_keepalive_timeout_s,
            ),
        )


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
