"""Alembic environment: runs on the connection handed over by storage.migrate."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.engine import migration_problem, revision_problem
from storage.tables import Base
from watcher.errors import StorageError

target_metadata = Base.metadata


def _failed_at(
    script: ScriptDirectory, start: str | None, target: str, applied: Collection[str]
) -> str | None:
    """The revision whose step failed: the first on the way from ``start`` to ``target`` not ``applied``."""
    try:
        path = [r.revision for r in reversed(list(script.iterate_revisions(target, start or "base")))]
    except Exception:  # the revisions do not lead there: no step ran
        return None
    return next((r for r in path if r not in applied and r != start), None)


def _failure(
    exc: Exception,
    connection: Connection,
    script: ScriptDirectory,
    start: str | None,
    applied: Collection[str],
) -> StorageError:
    """Two lines naming the database (without credentials), the revisions, the cause and what to do."""
    head = script.get_current_head() or "none"
    target = str(context.get_revision_argument() or "head")
    return StorageError(
        migration_problem(
            exc,
            connection.engine.url,
            start=start,
            target=head if target in ("head", "heads") else target,
            head=head,
            known={r.revision for r in script.walk_revisions()},
            failed_at=_failed_at(script, start, target, applied),
        )
    )


def run(connection: Connection) -> None:
    """Migrate on ``connection``; a failure is a StorageError saying what it means, not a traceback."""
    applied: list[str] = []

    def on_version_apply(
        ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
    ) -> None:
        applied.extend(step.up_revision_ids)

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch mode to alter tables
        compare_type=True,
        on_version_apply=on_version_apply,
    )
    script = ScriptDirectory.from_config(context.config)
    try:
        start = context.get_context().get_current_revision()
    except Exception as exc:  # several rows, or a table changed by hand
        raise StorageError(revision_problem(exc, connection.engine.url)) from exc
    with context.begin_transaction():
        try:
            context.run_migrations()
        except Exception as exc:
            raise _failure(exc, connection, script, start, applied) from exc


_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("run migrations with `watcher db upgrade`, which supplies the connection")
run(_connection)
