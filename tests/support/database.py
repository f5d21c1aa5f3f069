"""Test-only database helpers: skipping without PostgreSQL, fresh PostgreSQL databases, emptying a store."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from storage.sql import SqlStore
from storage.tables import (
    article_versions_t,
    articles_t,
    claims_t,
    deliveries_t,
    destinations_t,
    events_t,
    feeds_t,
    match_revisions_t,
    matches_t,
    state_t,
)

POSTGRES_ENV = "WATCHER_TEST_POSTGRES_URL"
IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip when a test's prerequisite is missing, but fail under CI: CI must run what tests claim."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


def postgres_server_url() -> str | None:
    """WATCHER_TEST_POSTGRES_URL with the asyncpg driver, or None when it is not set."""
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

    base = postgres_server_url()
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


async def purge(store: SqlStore) -> None:
    """Delete every row of a SqlStore's database (tests reuse one schema per session)."""
    async with store.engine.begin() as conn:
        for table in (
            deliveries_t,
            events_t,
            match_revisions_t,
            matches_t,
            article_versions_t,
            articles_t,
            claims_t,
            feeds_t,
            destinations_t,
            state_t,
        ):
            await conn.execute(delete(table))


async def get_state(store: SqlStore, key: str) -> str | None:
    """The value ``Store.set_state`` stored under ``key``, if any."""
    async with store.engine.connect() as conn:
        return (await conn.execute(select(state_t.c.value).where(state_t.c.key == key))).scalar_one_or_none()


async def destination_states(store: SqlStore) -> dict[str, str | None]:
    """Destination name → disabled reason (None while enabled)."""
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(destinations_t.c.name, destinations_t.c.disabled_reason))).all()
    return {name: reason for name, reason in rows}
