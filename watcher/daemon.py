"""The daemon: APScheduler ticks drive the pipeline; signals stop it cleanly; health and metrics served."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from storage.base import Store
from storage.engine import database_problem, sqlite_file
from watcher import metrics
from watcher.config import Settings
from watcher.domain import utcnow
from watcher.errors import StorageError
from watcher.pipeline import CLOCK_WARN_S, DatabaseClock, Pipeline, clock_warning
from watcher.web import ServerLimits, start_server

logger = logging.getLogger(__name__)

CLOCK_CHECK_S = 60.0  # how often the offset from the database server's clock is measured again
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # each drains and exits 0


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
        # Liveness (/healthz): a pass runs on while feeds fall due, so its end alone says nothing of a busy
        # daemon; progress is also each tick with no pass running and each tick after a feed poll finished.
        self.last_progress_monotonic: float | None = None
        self._polling = False
        self._polls_seen = _feeds_polled()
        # A SQLite file deleted or replaced while open keeps taking writes that are lost: checked each tick.
        self._database_file = sqlite_file(settings.database_url)
        self._database_file_id = _file_id(self._database_file)
        self.fatal: str | None = None  # why the daemon stopped itself; run() then raises StorageError
        self._inflight: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._database_problems: dict[str, str] = {}  # job → why its last run found the database unusable
        # The pipeline's clock when its command already measured the database's (watcher run), which this one
        # keeps measuring; else a new one.
        self.clock = pipeline.clock if isinstance(pipeline.clock, DatabaseClock) else DatabaseClock()
        # Whether the offset now in use was logged as too large (the command did so when it measured it).
        self._clock_reported = abs(self.clock.offset.total_seconds()) > CLOCK_WARN_S
        if pipeline.clock is utcnow:  # the system clock is corrected; a clock a test injected is kept
            pipeline.clock = pipeline.outbox.clock = self.clock

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
        await self.pipeline.load_model()  # a model that cannot be loaded stops the start, naming the setting
        loop = asyncio.get_running_loop()
        if self.install_signal_handlers:
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self._on_signal, sig)
        scheduler = AsyncIOScheduler(
            timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        )
        tick = self.settings.daemon.tick_s
        scheduler.add_job(
            self._job, "interval", seconds=tick, args=["poll", self._poll], id="poll", next_run_time=_now()
        )
        scheduler.add_job(self._job, "interval", seconds=1.0, args=["deliver", self._deliver], id="deliver")
        scheduler.add_job(self._heartbeat, "interval", seconds=tick, id="heartbeat")
        scheduler.add_job(
            self._job, "interval", seconds=CLOCK_CHECK_S, args=["clock", self.sync_clock], id="clock"
        )
        self._scheduler = scheduler
        await self._job("clock", self.sync_clock)  # before the first poll; a failure is logged, not fatal
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
                for sig in STOP_SIGNALS:
                    loop.remove_signal_handler(sig)
            logger.info("stopped")
        if self.fatal is not None:
            raise StorageError(self.fatal)

    async def sync_clock(self) -> None:
        """Measure this host's offset from the database server's clock and correct :attr:`clock` by it
        (PostgreSQL only: see :meth:`DatabaseClock.measure`); a large offset is logged when it is first seen
        and when it changes."""
        previous = self.clock.offset
        measured = await self.clock.measure(self.store)
        if measured is None:
            return
        offset_s = self.clock.offset.total_seconds()
        if abs(offset_s) > CLOCK_WARN_S:
            if not self._clock_reported or abs(offset_s - previous.total_seconds()) > CLOCK_WARN_S:
                logger.warning(clock_warning(*measured))
            self._clock_reported = True
        elif self._clock_reported:
            logger.info("this host's clock agrees with the database server's again (%+.1fs)", -offset_s)
            self._clock_reported = False

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
        self._polling = True
        try:
            report = await self.pipeline.cycle(until=self.stop_event)
        finally:
            self._polling = False
        self.last_cycle_monotonic = self.last_progress_monotonic = time.monotonic()
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

    async def _heartbeat(self) -> None:
        """Each tick: stop if the SQLite file was deleted or replaced; else record progress if no pass is
        running or a feed poll finished since the last tick (a pass polling nothing for long is stuck)."""
        self._check_database_file()
        polls = _feeds_polled()
        if not self._polling or polls != self._polls_seen:
            self.last_progress_monotonic = time.monotonic()
        self._polls_seen = polls

    def _check_database_file(self) -> None:
        """Stop the daemon, loudly, when its SQLite file is no longer the file at its path.

        The open connections would keep writing into a deleted (or replaced) file, and all of it would be
        lost at the next start: stopping lets the supervisor start the daemon again on the file now there.
        """
        if self._database_file_id is None or self.fatal is not None:
            return
        now = _file_id(self._database_file)
        if now == self._database_file_id:
            return
        what = "deleted" if now is None else "replaced"
        self.fatal = f"the database file {self._database_file} was {what} while the daemon ran"
        self._database_problems["file"] = f"file {what}"
        logger.error(
            "%s: stopping (what it wrote since is lost); restart it to open the file now there", self.fatal
        )
        self.stop()

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
                max_connections_per_client=d.server_max_connections_per_client,
                header_timeout_s=d.server_header_timeout_s,
                keepalive_timeout_s=d.server_keepalive_timeout_s,
            ),
        )


def _feeds_polled() -> float:
    """Feed polls finished in this process, whatever their outcome (the pipeline counts each in metrics)."""
    return sum(
        s.value for m in metrics.FEEDS_POLLED.collect() for s in m.samples if s.name.endswith("_total")
    )


def _file_id(path: Path | None) -> tuple[int, int] | None:
    """The (device, inode) of the file at ``path``; None when there is none."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _now() -> Any:
    from datetime import UTC

    return datetime.now(UTC)
