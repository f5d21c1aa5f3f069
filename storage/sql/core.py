"""What every entity module of the SQL store shares: the engine, dialect-specific inserts, leases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

# A lease ending further ahead than this (or twice the lease asked for) was taken by a clock since set back:
# daemon.lease is minutes.
LONGEST_LEASE_S = 3600


def lease_free(leased_until: Any, now: datetime, lease_s: float = 0.0) -> ColumnElement[bool]:
    """Whether a row's lease (its ``leased_until`` column) is free at ``now``: none, run out, or ending
    beyond any lease a worker takes (LONGEST_LEASE_S, or twice ``lease_s``: workers may be configured with
    other leases than this one's), which a clock since set back wrote and a right one would keep for hours."""
    beyond = now + timedelta(seconds=max(2 * lease_s, LONGEST_LEASE_S))
    return or_(leased_until.is_(None), leased_until < now, leased_until > beyond)


def insert(dialect: str, table: Table) -> Any:
    """An INSERT for ``dialect`` that supports ``on_conflict_do_*`` (PostgreSQL and SQLite spell it alike)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class SqlBase:
    """The engine the entity mixins of :class:`storage.sql.SqlStore` run their statements on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def _lease(self, table: Any, pick: Select[Any], until: datetime) -> list[RowMapping]:
        """Set ``leased_until`` on the rows whose ids ``pick`` selects (FOR UPDATE SKIP LOCKED), in one
        transaction; returns those rows by id."""
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(update(table).where(table.c.id.in_(ids)).values(leased_until=until))
            rows = (
                await conn.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
            ).mappings()
            return list(rows)
