"""SqlStore: the one Store, composed of one mixin per entity over a shared engine; open_store builds it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import datetime

from sqlalchemy import func, select

from storage.base import Store
from storage.engine import display_database, make_engine
from storage.sql.articles import ArticleQueries
from storage.sql.claims import ClaimQueries
from storage.sql.core import insert
from storage.sql.feeds import FeedQueries
from storage.sql.outbox import OutboxQueries
from storage.tables import articles_t, claims_t, deliveries_t, events_t, feeds_t, matches_t, state_t
from watcher.errors import StorageError


class SqlStore(FeedQueries, ArticleQueries, ClaimQueries, OutboxQueries):
    """The Store over SQLAlchemy 2 async, on SQLite or PostgreSQL. Build it with :func:`open_store`."""

    async def upgrade(self) -> None:
        """Create or migrate the schema to the latest revision (the migrations in storage/migrations)."""
        from storage.migrate import upgrade

        await upgrade(self.engine)

    async def schema_revision(self) -> str | None:
        from storage.migrate import current

        return await current(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def set_state(self, key: str, value: str, now: datetime) -> None:
        stmt = insert(self.dialect, state_t).values(key=key, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": now})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def get_state(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(state_t.c.value).where(state_t.c.key == key))).first()
        return None if row is None else str(row[0])

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            out: dict[str, int] = {}
            for name, table in (
                ("feeds", feeds_t),
                ("articles", articles_t),
                ("claims", claims_t),
                ("matches", matches_t),
                ("events", events_t),
            ):
                out[name] = int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            out["feeds_failing"] = int(
                (
                    await conn.execute(
                        select(func.count()).select_from(feeds_t).where(feeds_t.c.error_count > 0)
                    )
                ).scalar_one()
            )
            out["articles_pending"] = int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(articles_t)
                        .where(articles_t.c.processed_at.is_(None))
                    )
                ).scalar_one()
            )
            for status, n in (
                await conn.execute(
                    select(deliveries_t.c.status, func.count()).group_by(deliveries_t.c.status)
                )
            ).all():
                out[f"deliveries_{status}"] = int(n)
            return out


async def open_store(url: str, *, upgrade: bool = False, retries: int = 0) -> Store:
    """The store for ``url``; with ``upgrade`` the schema is migrated first.

    ``retries`` > 0 waits for a database that is still starting (containers), 1 s apart.
    Raises StorageError when the database cannot be reached. On any failure the engine is disposed first.
    """
    store = SqlStore(make_engine(url))
    try:
        for attempt in range(retries + 1):
            try:
                await store.ping()
                break
            except Exception as exc:
                if attempt == retries:
                    raise StorageError(
                        f"cannot reach the database {display_database(url)} ({type(exc).__name__}: {_safe(exc)})"
                    ) from None
                await asyncio.sleep(1)
        if upgrade:
            await store.upgrade()
    except BaseException:
        # Disposed here, in the event loop. Left to the garbage collector, a pooled aiosqlite connection is
        # stopped from wherever the collector runs: its thread may then answer into an event loop that has
        # closed, and print a traceback ("Event loop is closed") after the error.
        with contextlib.suppress(Exception):
            await store.close()
        raise
    return store


def _safe(exc: BaseException) -> str:
    """An exception text without credentials (drivers may echo the DSN): its first line, at most 300 characters
    (SQLAlchemy adds lines with the SQL and a link)."""
    lines = str(exc).strip().splitlines()
    return re.sub(r"://[^@/\s]+@", "://***@", lines[0] if lines else "")[:300]
