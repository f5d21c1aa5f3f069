"""The daemon's HTTP server and its reports under load a client or the data can put on them: a database another
process holds locked, a report that takes long to render, a claim with thousands of events."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from storage.engine import sqlite_file
from storage.sql import SqlStore, open_store
from tests.integration.test_report import parse
from tests.support.fixtures import DaemonStub
from tests.support.records import T0, make_article, make_claim, make_event, make_match
from watcher import report
from watcher import web as watcher_web
from watcher.domain import ClaimSpec, utcnow
from watcher.report import render_report
from watcher.web import ServerLimits, start_server

TEXT = "NATO has surpassed Russia in ammunition production"
TOKEN = "t0ken-0123456789abcdef"
Serve = Callable[..., Awaitable[int]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Starts the daemon's server over a store (with a token, if given) on a free loopback port; gives the port."""
    runners: list[web.AppRunner] = []

    async def start(store: SqlStore, token: str | None = None) -> int:
        state = DaemonStub(store=store, started_monotonic=time.monotonic())
        runner = await start_server(
            state, host="127.0.0.1", port=0, tick_s=10.0, token=token, limits=ServerLimits()
        )
        runners.append(runner)
        return int(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


async def get(port: int, path: str, within_s: float = 5.0, headers: str = "") -> tuple[int, bytes]:
    """One GET on its own connection: the status code and the body, which must come within ``within_s``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), within_s)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_healthz_and_metrics_answer_in_time_while_another_process_holds_the_database_locked(
    sqlite_url: str, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping (and the outbox counts of /metrics) waited up to SQLite's 30 s busy timeout behind another writer
    (a `claims backfill`, a second daemon): /healthz and /metrics answered after 30 s, long after any probe or
    scrape gave up, and each took one more connection of the pool. Now /healthz answers 503 and /metrics 200
    (the delivery gauges as last read) within the timeout, and the requests share one read."""
    monkeypatch.setattr(watcher_web, "PING_TIMEOUT_S", 0.5)
    store = await open_store(sqlite_url, upgrade=True)
    path = sqlite_file(sqlite_url)
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        port = await serve(store)
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another process's write transaction takes it
        answers = await asyncio.gather(*(get(port, "/healthz") for _ in range(4)))
        for status, body in answers:
            assert status == 503
            assert json.loads(body)["database"] == "unreachable: no answer within 0.5 s"
        scrapes = await asyncio.gather(*(get(port, "/metrics") for _ in range(4)))
        assert all(status == 200 and b"watcher_deliveries_by_status" in body for status, body in scrapes)
        # one ping and one count wait for the lock, not one per request
        assert store.engine.pool.checkedout() <= 2
        other.execute("ROLLBACK")
        monkeypatch.setattr(watcher_web, "PING_TIMEOUT_S", 10.0)
        status, body = await get(port, "/healthz", within_s=15)
        assert status == 200 and json.loads(body)["database"] == "ok"
        assert (await get(port, "/metrics", within_s=15))[0] == 200  # the count that waited has ended too
    finally:
        other.close()
        await store.close()


async def test_healthz_answers_while_a_report_renders(
    store: SqlStore, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page was rendered on the event loop: a claim with many matches (seconds of rendering) held up every
    other request, polls and deliveries meanwhile. The render is held here until /healthz has answered."""
    await store.sync_claims([ClaimSpec(name="nato-ammo", text=TEXT)], now=utcnow())
    started, release, rendered = threading.Event(), threading.Event(), threading.Event()
    real = report.render_report

    def held(*args: Any, **kwargs: Any) -> str:
        started.set()
        release.wait(10)
        page = real(*args, **kwargs)
        rendered.set()
        return page

    monkeypatch.setattr(report, "render_report", held)
    port = await serve(store)
    page = asyncio.create_task(get(port, "/claims/nato-ammo/report", within_s=30))
    try:
        assert await asyncio.to_thread(started.wait, 10)
        status, _ = await get(port, "/healthz")
        assert status == 200
        assert not rendered.is_set(), "/healthz waited for the report"
    finally:
        release.set()
    status, body = await page
    assert status == 200 and b"nato-ammo" in body


def test_a_claim_with_thousands_of_events_gets_a_bounded_page() -> None:
    """Every event was drawn on each of the four charts and listed: 5,000 events made an 8.8 MB page and 16,000
    took 4 s (marker placement grows faster than the events). Now the newest MAX_EVENTS are charted and listed,
    the count stays whole, and a note says how to read the rest."""
    n = 3000
    matches = [make_match(article=make_article(published_at=T0, first_seen_at=T0))]
    events = [
        make_event(id=f"evt_{i}", dedupe_key=f"k{i}", created_at=T0 + timedelta(minutes=i)) for i in range(n)
    ]
    page = render_report(make_claim(), matches, events, now=T0 + timedelta(days=3))
    assert len(page) < 1_000_000
    doc = parse(page)
    charted = doc.find_all("figure", "chart")[0].find_all("g", "event")
    assert [g.attrs["data-event"] for g in charted] == [f"evt_{i}" for i in range(n - report.MAX_EVENTS, n)]
    listed = doc.find_all("ol", "events")[0].find_all("li")
    assert len(listed) == report.MAX_EVENTS
    figures = {
        f.attrs["data-figure"]: f.find_all("span", "value")[0].all_text()
        for f in doc.find_all("div", "figure")
    }
    assert figures["events"] == str(n)
    assert f"shows all {n}" in page and f"--claim 1 --limit {n}" in page


async def test_the_bearer_scheme_is_case_insensitive_and_the_token_is_still_required(
    sqlite_url: str, serve: Serve
) -> None:
    """HTTP's authentication scheme is case-insensitive (RFC 9110 11.1), and clients send "bearer": the whole
    header was compared with "Bearer TOKEN", so the right token was refused. A token in the query is not one."""
    store = await open_store(sqlite_url, upgrade=True)
    try:
        port = await serve(store, token=TOKEN)
        for scheme in ("Bearer", "bearer", "BEARER"):
            status, _ = await get(port, "/metrics", headers=f"Authorization: {scheme} {TOKEN}\r\n")
            assert status == 200, scheme
        for wrong in (f"bearer {TOKEN[:-1]}", f"bearerx {TOKEN}", f"Basic {TOKEN}", TOKEN, "bearer"):
            status, body = await get(port, "/metrics", headers=f"Authorization: {wrong}\r\n")
            assert status == 401 and TOKEN.encode() not in body, wrong
        assert (await get(port, f"/metrics?token={TOKEN}"))[0] == 401
        assert (await get(port, f"/metrics?access_token={TOKEN}"))[0] == 401
    finally:
        await store.close()
