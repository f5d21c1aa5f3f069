"""The daemon's clock (corrected to the database server's) and its signals."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import datetime, timedelta

import pytest

from storage.sql import SqlStore
from watcher.cli.common import Context
from watcher.config import DaemonSettings, MatchSettings, Settings
from watcher.daemon import Daemon
from watcher.domain import FeedSpec, utcnow
from watcher.pipeline import DatabaseClock, Pipeline

SKEW = timedelta(minutes=10)  # twice daemon.lease: enough for a worker to take leases another holds


def settings_for(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, matching=MatchSettings(model=None), daemon=DaemonSettings(server_enabled=False)
    )


def ahead() -> datetime:
    return utcnow() + SKEW


async def test_a_worker_whose_clock_is_ahead_leases_nothing_another_holds(
    store: SqlStore, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL the daemon measures its host's offset from the database server's clock and reads the
    database's time, so a worker 10 min ahead still sees another's 5 min leases as held (and says so).
    SQLite is one host: nothing to correct."""
    await store.sync_feeds(
        [FeedSpec(url="https://feeds.example/rss", outlet="O")], source="config", now=utcnow()
    )
    assert len(await store.lease_due_feeds(utcnow(), 10, lease_s=300)) == 1  # another worker, right clock
    settings = settings_for(db_url)
    pipeline = await Pipeline.open(settings, store, load_model=False)  # the production clock
    try:
        daemon = Daemon(settings, store, pipeline, install_signal_handlers=False)
        daemon.clock.local = ahead  # this host's clock is 10 min fast
        caplog.set_level(logging.INFO, logger="watcher")
        await daemon.sync_clock()
        assert pipeline.clock is daemon.clock and pipeline.outbox.clock is daemon.clock
        warned = [r for r in caplog.records if "off the database server's" in r.getMessage()]
        if store.dialect == "sqlite":
            assert daemon.clock.offset == timedelta(0) and not warned
            return
        assert abs(pipeline.clock() - utcnow()) < timedelta(seconds=1)
        assert len(warned) == 1 and warned[0].levelno == logging.WARNING
        assert "+600" in warned[0].getMessage()
        assert await store.lease_due_feeds(pipeline.clock(), 10, lease_s=300) == []
        await daemon.sync_clock()  # measured again: the same offset is not logged again
        assert len([r for r in caplog.records if "off the database server's" in r.getMessage()]) == 1
        daemon.clock.local = utcnow
        await daemon.sync_clock()
        assert abs(daemon.clock.offset) < timedelta(seconds=1)
        assert any("agrees with the database" in r.getMessage() for r in caplog.records)
    finally:
        await pipeline.close()


async def test_a_command_reads_the_database_servers_time_too(
    store: SqlStore, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``poll-once`` run from cron on several hosts, or an ``alerts`` command beside the daemons, leases with
    the database's time as the daemon does: a host 10 min ahead takes no lease another worker holds."""
    await store.sync_feeds(
        [FeedSpec(url="https://feeds.example/rss", outlet="O")], source="config", now=utcnow()
    )
    assert len(await store.lease_due_feeds(utcnow(), 10, lease_s=300)) == 1  # another worker, right clock
    context = Context(None, db_url, 0, "text")
    context._settings = settings_for(db_url)
    pipeline = await context.pipeline(store)  # what every command runs on
    try:
        caplog.set_level(logging.INFO, logger="watcher")
        if store.dialect == "sqlite":
            assert pipeline.clock is utcnow and await pipeline.use_database_clock(ahead) is None
            return
        assert isinstance(pipeline.clock, DatabaseClock) and pipeline.outbox.clock is pipeline.clock
        pipeline.clock = pipeline.outbox.clock = utcnow
        clock = await pipeline.use_database_clock(ahead)  # this host's clock is 10 min fast
        assert clock is not None and pipeline.clock is clock and pipeline.outbox.clock is clock
        assert abs(clock() - utcnow()) < timedelta(seconds=1)
        (warned,) = [r for r in caplog.records if "off the database server's" in r.getMessage()]
        assert warned.levelno == logging.WARNING and "+600" in warned.getMessage()
        assert await store.lease_due_feeds(pipeline.clock(), 10, lease_s=300) == []
        # `watcher run` starts the daemon on that pipeline: it keeps measuring the same clock, and does not
        # repeat the warning the command gave.
        daemon = Daemon(context.settings, store, pipeline, install_signal_handlers=False)
        assert daemon.clock is clock
        await daemon.sync_clock()
        assert len([r for r in caplog.records if "off the database server's" in r.getMessage()]) == 1
        clock.local = utcnow  # the host's time is set right
        await daemon.sync_clock()
        assert abs(clock.offset) < timedelta(seconds=1) and pipeline.clock is clock
        assert any("agrees with the database" in r.getMessage() for r in caplog.records)
    finally:
        await pipeline.close()


async def test_a_clock_injected_by_a_test_is_kept(sqlite_store: SqlStore, sqlite_url: str) -> None:
    settings = settings_for(sqlite_url)

    def fixed() -> datetime:
        return datetime(2025, 1, 1, tzinfo=utcnow().tzinfo)

    pipeline = await Pipeline.open(settings, sqlite_store, clock=fixed, load_model=False)
    try:
        Daemon(settings, sqlite_store, pipeline, install_signal_handlers=False)
        assert pipeline.clock is fixed and pipeline.outbox.clock is fixed
    finally:
        await pipeline.close()


async def test_sighup_stops_the_daemon_cleanly(
    sqlite_store: SqlStore, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP (a closed terminal, some supervisors) drains and stops like SIGTERM instead of killing at once."""
    hups: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda sig, _frame: hups.append(sig))  # not the default: death
    settings = settings_for(sqlite_url)
    pipeline = await Pipeline.open(settings, sqlite_store, load_model=False)
    try:
        daemon = Daemon(settings, sqlite_store, pipeline)
        caplog.set_level(logging.INFO, logger="watcher")
        running = asyncio.create_task(daemon.run())
        async with asyncio.timeout(10):
            while not daemon.scheduler_running:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.wait_for(running, 10)
        assert not hups, "the daemon's handler took it"
        messages = [r.getMessage() for r in caplog.records]
        assert "received SIGHUP" in messages and "stopped" in messages
    finally:
        signal.signal(signal.SIGHUP, previous)
        await pipeline.close()
