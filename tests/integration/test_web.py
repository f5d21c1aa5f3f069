"""The daemon's endpoints over a real store: /healthz, /metrics and the claim report."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from storage.sql import SqlStore, open_store
from tests.support.fixtures import DaemonStub
from watcher.config import DaemonSettings, MatchSettings, Settings
from watcher.daemon import Daemon
from watcher.domain import ClaimSpec, utcnow
from watcher.pipeline import Pipeline
from watcher.web import make_app


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    s = await open_store(sqlite_url, upgrade=True)
    try:
        yield s
    finally:
        await s.close()


async def test_healthz_reports_each_check(sqlite_store: SqlStore, aiohttp_client: AiohttpClient) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ok",
        "database": "ok",
        "scheduler": "running",
        "last_cycle_age_s": None,
    }
    state.scheduler_running = False
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["scheduler"] == "stopped"


async def test_healthz_fails_when_the_last_cycle_is_stale(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    state = DaemonStub(store=sqlite_store, last_cycle_monotonic=time.monotonic() - 120)
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["last_cycle_age_s"] >= 120


async def test_metrics_and_unknown_report(sqlite_store: SqlStore, aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert "watcher_deliveries_by_status" in await resp.text()
    resp = await client.get("/claims/nope/report")
    assert resp.status == 404


TOKEN = "t0ken-0123456789abcdef"
HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


async def test_every_response_carries_security_headers(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(make_app(DaemonStub(store=sqlite_store), tick_s=10.0))
    for path in ("/healthz", "/metrics", "/claims/nope/report", "/nothing-here"):
        resp = await client.get(path)
        assert all(h in resp.headers for h in HEADERS), (path, dict(resp.headers))
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("metrics_public", [False, True])
async def test_a_token_guards_everything_but_healthz(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient, metrics_public: bool
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic())
    app = make_app(state, tick_s=10.0, token=TOKEN, metrics_public=metrics_public)
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for wrong in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        resp = await client.get("/claims/nope/report", headers=wrong)
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in await resp.text()
        assert all(h in resp.headers for h in HEADERS)
    assert (await client.get("/claims/nope/report", headers=bearer)).status == 404
    assert (await client.get("/metrics")).status == (200 if metrics_public else 401)
    assert (await client.get("/metrics", headers=bearer)).status == 200


async def test_healthz_reports_a_read_only_database(
    sqlite_store: SqlStore, aiohttp_client: AiohttpClient
) -> None:
    state = DaemonStub(store=sqlite_store, started_monotonic=time.monotonic(), database_problem="read-only")
    client = await aiohttp_client(make_app(state, tick_s=10.0))
    resp = await client.get("/healthz")
    assert resp.status == 503 and (await resp.json())["database"] == "read-only"


async def test_a_daemon_on_a_read_only_database_says_so_once_and_on_healthz(
    tmp_path: Path, aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "w.db"
    writable = await open_store(f"sqlite+aiosqlite:///{file}", upgrade=True)
    await writable.sync_claims(
        [ClaimSpec(name="nato", text="NATO has surpassed Russia in ammunition production")], now=utcnow()
    )
    await writable.close()
    settings = Settings(
        database_url="", matching=MatchSettings(model=None), daemon=DaemonSettings(server_enabled=False)
    )
    store = await open_store(f"sqlite+aiosqlite:///file:{file}?mode=ro&uri=true")
    pipeline = await Pipeline.open(settings, store, load_model=False)
    try:
        daemon = Daemon(settings, store, pipeline, install_signal_handlers=False)
        client = await aiohttp_client(make_app(daemon, tick_s=10.0))
        caplog.set_level(logging.INFO, logger="watcher")
        for _ in range(3):
            await daemon._job("poll", daemon._poll)
        assert daemon.database_problem == "read-only"
        logged = [r for r in caplog.records if "unusable" in r.getMessage()]
        assert len(logged) == 1 and logged[0].levelno == logging.ERROR and logged[0].exc_info is None
        assert "read-only" in logged[0].getMessage()
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["database"] == "read-only"
    finally:
        await pipeline.close()
        await store.close()
