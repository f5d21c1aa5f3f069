"""Helpers the benchmark scripts share."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watcher.match import Embedder


async def scratch_database(
    url: str | None, tmp: Path, prefix: str
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A fresh, empty database: an SQLite file in ``tmp``, or a new PostgreSQL database that is dropped after."""

    async def nothing() -> None:
        return None

    if not url:
        return f"sqlite+aiosqlite:///{tmp / 'watcher.db'}", nothing
    if url.startswith("sqlite"):
        raise SystemExit("--database takes a PostgreSQL URL; SQLite runs on a fresh file by default")
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(
        url.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://")
    )
    name = f"{prefix}_{os.getpid()}"
    dsn = base.render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    return base.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    ), drop


def table(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Rows as an aligned text table, the first row a header underlined with dashes: the first ``left``
    columns aligned left, the others (figures) right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = (
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def header(module: str, argv: Sequence[str] | None) -> None:
    """Print the command that ran ``python -m module`` and the machine it ran on."""
    print("command:", shlex.join([sys.executable, "-m", module, *(argv or sys.argv[1:])]))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


def offline_embedder(model: str | None) -> Embedder | None:
    """The semantic stage's encoder for ``model``, loaded without the network (None: lexical only)."""
    if not model:
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from watcher.match import load_embedder

    return load_embedder(model)
