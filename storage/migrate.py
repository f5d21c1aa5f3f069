"""Alembic migrations run programmatically (``watcher db upgrade``), on the store's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The latest schema revision this version of watcher knows."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the schema to ``revision``. Safe to run from several workers: PostgreSQL takes a lock."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Serialise concurrent upgrades from several starting workers.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72616769)")
        await conn.run_sync(_upgrade, revision)


async def current(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
