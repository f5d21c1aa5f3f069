"""Shared fixtures: real stores (SQLite file per test; PostgreSQL when WATCHER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.sql import SqlStore, open_store
from tests.support.database import fresh_postgres_database, purge

pytest_plugins = ["tests.support.fixtures"]

# Model weights can't be downloaded in tests; the semantic tests use the offline MiniLM package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
    assert isinstance(store, SqlStore)
    try:
        await purge(store)
    finally:
        await store.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    """A migrated SQLite store of its own, for tests that need no PostgreSQL leg."""
    s = await open_store(sqlite_url, upgrade=True)
    assert isinstance(s, SqlStore)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    """The concrete store (tests may read its tables), empty, on each backend of ``db_url``."""
    s = await open_store(db_url, upgrade=True)
    assert isinstance(s, SqlStore)
    await purge(s)
    try:
        yield s
    finally:
        await s.close()
