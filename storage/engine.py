"""Engine factory: SQLite (aiosqlite, WAL, foreign keys, busy timeout) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from watcher.errors import ConfigError
from watcher.text.display import display_path

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver (sqlite:// → sqlite+aiosqlite://)."""
    for plain, async_ in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An AsyncEngine for ``url``; creates the SQLite file's folder if needed."""
    url = normalise_url(url)
    # An error's text and traceback carry no SQL parameters: a feed URL may hold a credential in its path.
    kwargs.setdefault("hide_parameters", True)
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            "database URL is not valid (expected sqlite+aiosqlite:///path or postgresql+asyncpg://...)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.query.get("uri") == "true" and parsed.database and not parsed.database.startswith("file:"):
            # SQLite reads anything but a file: URI as a plain file name, query and all: "w.db?mode=ro" would be
            # created, and written, beside the database meant.
            raise ConfigError(
                "database URL: with uri=true the database is a file: URI "
                "(sqlite+aiosqlite:///file:/path/watcher.db?mode=ro&uri=true)"
            )
        file = sqlite_file(url)
        problem = None if file is None else _sqlite_path_problem(file)
        if problem is not None:
            raise ConfigError(f"cannot use the SQLite database {display_path(str(file))}: {problem}")
        folder = _sqlite_folder(parsed.database, parsed.query)
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a folder under /proc
                raise ConfigError(
                    f"cannot use the SQLite database {display_path(str(file))}: cannot create its folder "
                    f"{display_path(folder)}: {exc.strerror or type(exc).__name__}"
                ) from None
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        read_only = _sqlite_mode(parsed.database, parsed.query) == "ro"
        event.listen(
            engine.sync_engine, "connect", _sqlite_pragmas if not read_only else _sqlite_read_pragmas
        )
        # aiosqlite's default BEGIN is deferred; take the write lock up front so that read-then-write
        # transactions don't fail with "database is locked" halfway through (a read-only one takes none).
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        return create_async_engine(url, **kwargs)
    raise ConfigError(f"unsupported database backend {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg")


def _sqlite_folder(database: str | None, query: Mapping[str, Any]) -> Path | None:
    """The folder a SQLite database may need created: None for memory, read-only and ``mode=rw`` URIs.

    With ``uri=true`` the database is a ``file:`` URI (``file:/path/x.db?mode=ro``): its path is the
    file's, and its ``mode`` (in the URL's query or the URI's own) says whether SQLite may create it.
    """
    if not database or database == ":memory:":
        return None
    if query.get("uri") != "true":
        return Path(database).parent
    parts = urlsplit(database)
    path = unquote(parts.path) if parts.scheme == "file" else database
    if _sqlite_mode(database, query) != "rwc" or not path or path == ":memory:":
        return None
    return Path(path).parent


def _sqlite_mode(database: str | None, query: Mapping[str, Any]) -> str:
    """A ``file:`` URI's ``mode`` (ro, rw, rwc or memory); "rwc" for plain paths and URIs without one."""
    if not database or query.get("uri") != "true":
        return "rwc"
    return str(query.get("mode") or dict(parse_qsl(urlsplit(database).query)).get("mode", "rwc"))


def _sqlite_path_problem(path: Path) -> str | None:
    """Why no SQLite database can be at ``path`` whatever the permissions, or None: it is a folder or another
    kind of file than a regular one, or a folder on its way is a file. Looks, writes nothing."""
    try:
        if path.is_dir():
            return f"it is a folder, not a database file (name a file in it, such as {display_path(path / 'watcher.db')})"
        if path.exists() and not path.is_file():
            return "it is not a regular file (a device, pipe or socket)"
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            return f"{'its folder ' if above == path.parent else ''}{display_path(above)} is a file, not a folder"
    except OSError as exc:  # a name too long for the file system, a loop of links
        return exc.strerror or type(exc).__name__
    return None


def sqlite_open_problem(url: str) -> str | None:
    """Why SQLite cannot open the database of ``url``, as one line naming its file, or None when no cause is
    found (or ``url`` is no SQLite file). Asked before opening, or after an open failed with "unable to open
    database file". Whether a missing file can be created is found by creating another in its folder, then
    removing it."""
    path = sqlite_file(url)
    if path is None:
        return None
    parsed = make_url(normalise_url(url))
    mode = _sqlite_mode(parsed.database, parsed.query)
    why = _sqlite_path_problem(path) or _sqlite_access_problem(path, mode)
    return None if why is None else f"cannot use the SQLite database {display_path(path)}: {why}"


def _sqlite_access_problem(path: Path, mode: str) -> str | None:
    folder = path.parent
    writes = mode != "ro"
    if path.exists():
        if not os.access(path, os.R_OK | (os.W_OK if writes else 0)):
            return f"this user may not {'read and write' if writes else 'read'} it"
        if writes and not os.access(folder, os.W_OK | os.X_OK):
            return f"its folder {display_path(folder)} is not writable (SQLite keeps its -wal and -shm files beside it)"
        return None
    if mode in ("ro", "rw"):
        return f"it does not exist (mode={mode} does not create it)"
    if not folder.is_dir():
        return None  # make_engine creates it, or says why it cannot
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {display_path(folder)} is not writable, so the file cannot be created"
    try:
        # A file of its own name: another process may be creating the database itself right now.
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".watcher-probe-")
    except OSError as exc:  # /proc and /sys take no new files, whatever the permissions say
        return f"no file can be created in {display_path(folder)}: {exc.strerror or type(exc).__name__}"
    os.close(fd)
    os.unlink(probe)
    return None


def _sqlite_read_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Read-only: the journal mode is the writer's to set; only the reader's own settings.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def database_problem(exc: BaseException) -> str | None:
    """Why the database cannot be used, in a few words, when ``exc`` is that kind of error; else None.

    "read-only" for a database that refuses writes (a read-only SQLite file or ``?mode=ro``, a PostgreSQL
    standby or read-only transaction), "cannot open the database file" for SQLite. Never includes SQL or
    its parameters.
    """
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig).lower()
    if "readonly database" in text or "read-only" in text:
        return "read-only"
    if "unable to open database file" in text:
        return "cannot open the database file"
    # SQLite's "no such table: x", PostgreSQL's 'relation "x" does not exist' (UndefinedTable/UndefinedColumn).
    if re.search(r"no such (table|column)|(relation|column) \S+ (of relation \S+ )?does not exist", text):
        return (
            "its schema is not the one this version expects (a table or column is missing: changed by hand?); "
            "restore a backup"
        )
    return None


def display_database(url: str | URL) -> str:
    """A database URL as messages show it: no user name, password or query (which may hold a password)."""
    try:
        parsed = url if isinstance(url, URL) else make_url(normalise_url(url))
        if parsed.get_backend_name() == "sqlite":  # a path, as typed (a file: URI unquoted)
            return f"{parsed.drivername}:///{display_path(parsed.database or '')}"
        shown = URL.create(parsed.drivername, host=parsed.host, port=parsed.port, database=parsed.database)
        return shown.render_as_string(hide_password=True)
    except Exception:
        return "(a database URL that is not valid)"


def _first_line(exc: BaseException) -> str:
    """The driver's own message of ``exc`` (its first line: never the SQL or its parameters), at most 200 chars."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    cause = orig if orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"[:200]


def migration_problem(
    exc: BaseException,
    database: str | URL,
    *,
    start: str | None,
    target: str,
    head: str | None,
    known: Collection[str],
    failed_at: str | None = None,
) -> str:
    """What a failed migration of ``database`` from revision ``start`` to ``target`` means, and what to do.

    ``known`` are the revisions this version has, ``head`` its latest; ``failed_at`` the one whose step raised
    ``exc``. Two lines; the database is named without credentials, and neither SQL nor its parameters appear.
    """
    where = f"database {display_database(database)}"
    if start is not None and start not in known:
        return (
            f"{where} is at schema revision {start[:40]!r}, which this version of watcher does not know (its "
            f"latest is {head}): a newer version migrated it.\nRun that version, or restore a backup made "
            "before it ran."
        )
    step = f" (at {failed_at})" if failed_at else ""
    problem = database_problem(exc)
    if problem == "read-only":
        cure = "make it writable (or use a writable copy), then run: watcher db upgrade"
    elif problem == "cannot open the database file":
        cure = "check its path and permissions, then run: watcher db upgrade"
    else:
        cure = "if its schema was changed by hand, restore a backup"
    return (
        f"cannot migrate {where} from revision {start or 'none'} to {target}{step}: {_first_line(exc)}\n"
        f"Nothing was changed (it is still at revision {start or 'none'}): {cure}."
    )


def revision_problem(exc: BaseException, database: str | URL) -> str:
    """Why the schema revision of ``database`` could not be read (a hand-altered alembic_version table)."""
    return (
        f"cannot read the schema revision of database {display_database(database)}: {_first_line(exc)}\n"
        "If its alembic_version table was changed by hand, restore a backup."
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" listener issue BEGIN itself (pysqlite's own transaction handling off).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite database URL opens; None for other backends, in-memory databases and invalid URLs."""
    try:
        parsed = make_url(normalise_url(url))
    except Exception:
        return None
    database, query = parsed.database, parsed.query
    if parsed.get_backend_name() != "sqlite" or _sqlite_mode(database, query) == "memory":
        return None
    if database and query.get("uri") == "true":
        parts = urlsplit(database)
        database = unquote(parts.path) if parts.scheme == "file" else database
    if not database or database == ":memory:":
        return None
    return Path(database)
