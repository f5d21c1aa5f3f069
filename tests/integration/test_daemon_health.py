"""The daemon's liveness as /healthz judges it: progress while a pass runs on, and its SQLite file going away."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from storage.sql import open_store
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from tests.support.stories import STRAIGHT, fresh, rss
from watcher.config import DaemonSettings, HttpSettings, Settings
from watcher.daemon import Daemon
from watcher.domain import FeedSpec
from watcher.errors import MatchError, StorageError
from watcher.pipeline import Pipeline
from watcher.web import health

TICK_S = 10.0
MakeDaemon = Callable[[Settings], Awaitable[Daemon]]


@pytest.fixture
async def make_daemon() -> AsyncIterator[MakeDaemon]:
    """A daemon (no signal handlers, no HTTP server) over a real store and pipeline for ``settings``."""
    opened: list[Pipeline] = []

    async def make(settings: Settings) -> Daemon:
        store = await open_store(settings.database_url, upgrade=True)
        pipeline = await Pipeline.open(settings, store, load_model=False)
        opened.append(pipeline)
        await pipeline.sync_config()
        return Daemon(settings, store, pipeline, install_signal_handlers=False)

    yield make
    for pipeline in opened:
        await pipeline.close()
        await pipeline.store.close()


async def until(condition: Callable[[], Awaitable[bool]], within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within_s}s")


async def test_a_busy_daemon_whose_pass_never_ends_is_healthy_while_polls_finish_and_unhealthy_when_stuck(
    server: FeedServer, sqlite_url: str, make_daemon: MakeDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        Daemon, "scheduler_running", property(lambda _: True)
    )  # its jobs are run here by hand
    server.routes["/slow.xml"] = Route(body=rss("Slow", [STRAIGHT], pub_date=fresh()), delay_s=60)
    feeds = [
        FeedSpec(url=server.url("/kyiv.xml"), outlet="Kyiv Post", country="UA", language="en"),
        FeedSpec(url=server.url("/slow.xml"), outlet="Slow", country="GB", language="en"),
    ]
    settings = loopback_settings(sqlite_url, feeds)
    settings = dataclasses.replace(
        settings,
        http=HttpSettings(allow_private=True, total_timeout_s=120, connect_timeout_s=2),
        daemon=DaemonSettings(server_enabled=False, tick_s=TICK_S),
    )
    daemon = await make_daemon(settings)
    daemon.started_monotonic -= 600  # up for ten minutes, its first pass still running
    poll = asyncio.create_task(daemon._job("poll", daemon._poll))
    try:

        async def progressed() -> bool:
            await daemon._heartbeat()  # a tick
            return daemon.last_progress_monotonic is not None

        await until(progressed)  # the fast feed's poll finished; the slow one is in flight
        ok, body = await health(daemon, TICK_S)
        assert not poll.done() and body["last_cycle_age_s"] is None
        assert ok, body

        # Nothing finishes for six ticks while the pass runs: stuck.
        assert daemon.last_progress_monotonic is not None
        daemon.last_progress_monotonic -= 6 * TICK_S + 1
        await daemon._heartbeat()
        ok, body = await health(daemon, TICK_S)
        assert not ok and body["last_progress_age_s"] > 6 * TICK_S, body
    finally:
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)


def remove_database(file: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)


def replace_database(file: Path) -> None:
    other = file.with_name("restored.db")
    other.write_bytes(file.read_bytes())
    os.replace(other, file)


@pytest.mark.parametrize(("change", "what"), [(remove_database, "deleted"), (replace_database, "replaced")])
async def test_a_daemon_whose_sqlite_file_is_deleted_or_replaced_says_so_and_stops(
    tmp_path: Path,
    make_daemon: MakeDaemon,
    caplog: pytest.LogCaptureFixture,
    change: Callable[[Path], None],
    what: str,
) -> None:
    file = tmp_path / "watcher.db"
    settings = loopback_settings(f"sqlite+aiosqlite:///{file}", [])
    settings = dataclasses.replace(settings, daemon=DaemonSettings(server_enabled=False, tick_s=0.05))
    daemon = await make_daemon(settings)
    caplog.set_level(logging.INFO, logger="watcher")
    run = asyncio.create_task(daemon.run())
    await until(lambda: asyncio.sleep(0, daemon.last_progress_monotonic is not None))
    ok, body = await health(daemon, settings.daemon.tick_s)
    assert ok and body["database"] == "ok", body

    change(file)
    with pytest.raises(StorageError, match=f"database file .* was {what}"):
        await asyncio.wait_for(run, 10)
    ok, body = await health(daemon, settings.daemon.tick_s)
    assert not ok and body["database"] == f"file {what}", body
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"was {what}" in errors[0].getMessage()


async def test_a_model_that_cannot_be_loaded_stops_the_start_naming_the_setting(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Not a traceback at the first match followed by lexical-only matching without a word: the daemon does
    not start, and the error names matching.model. (The semantic extra is installed for the tests.)"""
    missing = tmp_path / "no-such-model"
    settings = loopback_settings(sqlite_url, [])
    settings = dataclasses.replace(
        settings, matching=dataclasses.replace(settings.matching, model=str(missing))
    )
    store = await open_store(settings.database_url, upgrade=True)
    pipeline = await Pipeline.open(settings, store)
    try:
        daemon = Daemon(settings, store, pipeline, install_signal_handlers=False)
        with pytest.raises(MatchError, match=r"^matching\.model '.*no-such-model' cannot be loaded: .*null"):
            await asyncio.wait_for(daemon.run(), 60)
        assert not daemon.scheduler_running
    finally:
        await pipeline.close()
        await store.close()
