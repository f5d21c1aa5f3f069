"""Upgrading real databases that hold rows older revisions allowed (SQLite, and PostgreSQL where configured)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_engine
from storage.migrate import current, head, upgrade
from tests.support.database import fresh_postgres_database

INSERT_CLAIM = (
    "INSERT INTO claims (name, text, keywords, threshold, status, source, created_at, updated_at) VALUES "
    "(:name, 'NATO has surpassed Russia in ammunition production', '[\"NATO\"]', :threshold, 'active', 'cli', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) on each backend: migrations start from nothing."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    else:
        yield from fresh_postgres_database("watcher_migrations")


async def thresholds(engine: AsyncEngine) -> dict[str, float | None]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT name, threshold FROM claims"))).all()
    return {name: threshold for name, threshold in rows}


async def test_upgrade_resets_thresholds_outside_0_1_to_the_default(
    empty_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(empty_db_url)
    try:
        await upgrade(engine, "0003")  # before 0004 nothing refused these
        async with engine.begin() as conn:
            for name, threshold in (("nan", float("nan")), ("big", 1.5), ("negative", -0.1), ("ok", 0.7)):
                await conn.execute(text(INSERT_CLAIM), {"name": name, "threshold": threshold})
        with caplog.at_level(logging.WARNING, logger="storage.migrations"):
            await upgrade(engine)
        assert await current(engine) == head()
        assert await thresholds(engine) == {"nan": None, "big": None, "negative": None, "ok": 0.7}
        # Every claim can be updated again, and the check still refuses a bad threshold.
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE claims SET status = 'paused'"))
        with pytest.raises(Exception, match="ck_claims_threshold_range"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE claims SET threshold = 2 WHERE name = 'ok'"))
    finally:
        await engine.dispose()
    reset = sorted(r.getMessage() for r in caplog.records if r.name == "storage.migrations")
    assert [m.split(":")[0] for m in reset] == (
        ["claim 'big'", "claim 'negative'"]
        if empty_db_url.startswith("sqlite")
        else ["claim 'big'", "claim 'nan'", "claim 'negative'"]
    ), reset  # SQLite stores a NaN as NULL: nothing to reset there


async def test_a_sqlite_database_upgraded_by_the_old_0004_is_repaired(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        await upgrade(engine, "0008")
        # What the old 0004 left behind: a threshold above 1 under the new triggers.
        async with engine.begin() as conn:
            trigger = (
                await conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ck_claims_threshold_INSERT'")
                )
            ).scalar_one()
            await conn.execute(text("DROP TRIGGER ck_claims_threshold_INSERT"))
            await conn.execute(text(INSERT_CLAIM), {"name": "big", "threshold": 1.5})
            await conn.execute(text(trigger))
        with pytest.raises(Exception, match="ck_claims_threshold_range"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE claims SET status = 'paused'"))
        await upgrade(engine)
        assert await thresholds(engine) == {"big": None}
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE claims SET status = 'paused'"))
    finally:
        await engine.dispose()
