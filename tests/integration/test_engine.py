"""The engine factory: SQLite paths and ``file:`` URIs (no folder made from a URI), read-only opens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from watcher.errors import ConfigError


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, relative to it, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


async def test_read_only_file_uri_reads_and_creates_no_folder(tmp_path: Path, cwd: Path) -> None:
    db = tmp_path / "data" / "watcher.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.execute("INSERT INTO t VALUES (41)")
    url = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
    assert await scalar(url, "SELECT a + 1 FROM t") == 42
    assert listing(cwd) == [], "no folder named 'file:' (or anything else) in the working directory"
    assert listing(db.parent) == ["watcher.db"], "nothing written beside it"
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            with pytest.raises(Exception, match="readonly"):
                await conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        await engine.dispose()


async def test_read_write_file_uri_creates_the_files_folder_only(tmp_path: Path, cwd: Path) -> None:
    db = tmp_path / "new" / "watcher.db"
    assert await scalar(f"sqlite:///file:{db}?mode=rwc&uri=true", "SELECT 7") == 7
    assert db.is_file()
    assert await scalar("sqlite:///file:rel/x.db?uri=true", "SELECT 8") == 8
    assert listing(cwd) == ["rel", "rel/x.db"]


async def test_read_only_uri_of_a_missing_file_creates_nothing(cwd: Path) -> None:
    engine = make_engine("sqlite+aiosqlite:///file:missing/x.db?mode=ro&uri=true")
    await engine.dispose()
    assert listing(cwd) == []


async def test_plain_path_gets_its_folder(cwd: Path) -> None:
    assert await scalar("sqlite+aiosqlite:///storage/watcher.db", "SELECT 1") == 1
    assert (cwd / "storage" / "watcher.db").is_file()


def test_uri_true_without_a_file_uri_is_refused(cwd: Path) -> None:
    """SQLite would open "w.db?mode=ro" as a file name and create it: a read-only URL that writes a new file."""
    with pytest.raises(ConfigError, match="with uri=true the database is a file: URI"):
        make_engine("sqlite+aiosqlite:///w.db?mode=ro&uri=true")
    assert listing(cwd) == []
