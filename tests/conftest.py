"""Shared fixtures: real stores (SQLite file per test; PostgreSQL when WATCHER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.sql import SqlStore, open_store

pytest_plugins = ["tests.support.fixtures"]

POSTGRES_ENV = "WATCHER_TEST_POSTGRES_URL"
IN_CI = bool(os.environ.get("CI"))

# Model weights can't be downloaded in tests; the semantic tests use the offline MiniLM package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require(condition: bool, reason: str) -> None:
    """Skip when a test's prerequisite is missing, but fail under CI: CI must run what tests claim."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def _server_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return None
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+asyncpg://" + url[len(plain) :]
    return url


def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database on the server of WATCHER_TEST_POSTGRES_URL; drop it afterwards."""
    import asyncpg
    from sqlalchemy.engine import make_url

    base = _server_url()
    require(base is not None, f"{POSTGRES_ENV} is not set")
    assert base is not None
    url = make_url(base)
    name = f"{prefix}_{secrets.token_hex(4)}"
    dsn = url.set(drivername="postgresql", database=url.database or "postgres").render_as_string(
        hide_password=False
    )

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    yield from fresh_postgres_database("watcher_test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and, where configured, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    url = str(request.getfixturevalue("postgres_url"))
    asyncio.run(_purge(url))  # one database per session: start each test empty
    return url


async def _purge(url: str) -> None:
    store = await open_store(url, upgrade=True)
    try:
        await store.purge_for_tests()
    finally:
        await store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    s = await open_store(db_url, upgrade=True)
    await s.purge_for_tests()
    try:
        yield s
    finally:
        await s.close()
