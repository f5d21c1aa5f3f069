"""Hostile feeds.yaml and command lines, continued: keys that are not text, merge keys, file names holding control
characters or thousands of characters, and a SQLite file SQLite cannot read."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from storage.engine import display_database, make_engine
from storage.sql import open_store
from tests.support.cli import Watcher
from tests.support.config_files import refused
from watcher.cli import cli
from watcher.config import load
from watcher.errors import ConfigError, StorageError
from watcher.text.display import MAX_PATH_SHOWN, display_path

LEXICAL = "matching: {model: null}\n"
FORGED = "\nerror: forged line\x1b[2J\x1b]0;title\x07\u202e"


# --- keys that are not text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1: 2\n", "F:1: key 1 must be text"),
        ("daemon:\n  1: 2\n", "F:2: daemon: key 1 must be text"),
        ("feeds:\n  - url: https://a.example/rss\n    3: x\n", "F:3: feeds[0]: key 3 must be text"),
        ("true: 1\n", "F:1: key true must be text"),
        ("null: 1\n", "F:1: key null must be text"),
        ("1.5: x\n", "F:1: key 1.5 must be text"),
        (
            "http:\n  total_timeout: 5s\n  !!timestamp 2020-01-01: 1\n",
            "F:3: http: key 2020-01-01 must be text",
        ),
        ("? [a, b]\n: 1\n", "F:1: a key must be text, not a list"),
        ("? {a: 1}\n: 1\n", "F:1: a key must be text, not a mapping"),
    ],
)
def test_a_key_that_is_not_text_is_named_as_a_key(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(expected), message
    assert "Keys should be strings" not in message and "[1]" not in message


def test_the_first_key_that_is_not_text_is_the_one_named(tmp_path: Path) -> None:
    message = refused(tmp_path, "daemon:\n  tick: 5s\n  7: x\nhttp:\n  8: y\n")
    assert message.startswith("F:3: daemon: key 7 must be text"), message


def test_a_binary_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    message = refused(tmp_path, "!!binary d2hzZWNfc2VjcmV0: x\n")
    assert message == "F:1: a key must be text, not binary data (!!binary)"


def test_a_quoted_number_is_a_key_like_any_other(tmp_path: Path) -> None:
    message = refused(tmp_path, '"1": 2\n')
    assert message.startswith("F:1: 1: Extra inputs are not permitted"), message


# --- merge keys --------------------------------------------------------------------------------------------


def test_an_inline_merge_is_refused_and_cannot_hide_a_duplicate_key(tmp_path: Path) -> None:
    text = "feeds:\n  - <<: {url: https://a.example/rss}\n    url: https://b.example/rss\n"
    assert refused(tmp_path, text) == (
        "F:2: feeds[0]: merge keys (<<) are not supported: write the keys out in the mapping itself"
    )


def test_an_inline_merge_is_refused_at_any_depth_and_in_a_list(tmp_path: Path) -> None:
    assert refused(tmp_path, "<<: {database: 'sqlite:///x.db'}\n").startswith("F:1: merge keys (<<)")
    text = "daemon:\n  server:\n    <<: [{port: 1}, {host: 0.0.0.0}]\n"
    assert refused(tmp_path, text).startswith("F:3: daemon.server: merge keys (<<) are not supported")


def test_a_merge_of_an_anchor_is_still_refused_as_an_alias(tmp_path: Path) -> None:
    text = "feeds:\n  - &f {url: 'https://a.example/rss'}\n  - <<: *f\n    url: https://b.example/rss\n"
    assert "F:2: invalid YAML: anchors and aliases (&name, *name) are not allowed" in refused(tmp_path, text)


def test_a_quoted_merge_key_is_an_unknown_key(tmp_path: Path) -> None:
    message = refused(tmp_path, "feeds:\n  - url: https://a.example/rss\n    '<<': {outlet: A}\n")
    assert message.startswith("F:3: feeds[0].<<: Extra inputs are not permitted"), message


# --- file names in messages ------------------------------------------------------------------------------


def test_display_path_escapes_control_characters_and_keeps_other_text() -> None:
    shown = display_path(f"/tmp/x{FORGED}é.yaml")
    assert shown == "/tmp/x\\nerror: forged line\\x1b[2J\\x1b]0;title\\x07\\u202eé.yaml"
    assert display_path("/srv/watcher/feeds.yaml") == "/srv/watcher/feeds.yaml"


def test_display_path_keeps_the_start_and_end_of_a_long_name() -> None:
    shorten = display_path
    name = "/data/" + "d" * 5_000 + "/watcher.db"
    shown = shorten(name)
    assert shown.startswith("/data/ddd") and shown.endswith("ddd/watcher.db")
    left_out = len(name) - MAX_PATH_SHOWN * 3 // 5 - MAX_PATH_SHOWN // 4
    assert f"...({left_out:,} characters left out)..." in shown
    assert len(shown) < MAX_PATH_SHOWN + 50
    assert shorten("x" * MAX_PATH_SHOWN) == "x" * MAX_PATH_SHOWN


def test_a_config_path_with_control_characters_is_escaped(tmp_path: Path) -> None:
    missing = tmp_path / f"feeds{FORGED}.yaml"
    with pytest.raises(ConfigError) as err:
        load(missing, environ={})
    message = str(err.value)
    assert message == f"{display_path(missing)}: config file not found"
    assert "\n" not in message and "\x1b" not in message and "\x07" not in message and "\u202e" not in message
    assert "feeds\\nerror: forged line\\x1b[2J" in message


def test_an_existing_config_with_control_characters_in_its_name_is_escaped_in_every_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / f"feeds{FORGED}.yaml"
    path.write_text("daemon:\n  tick: never\n")
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    message = str(err.value)
    assert message.startswith(f"{display_path(path)}:2: daemon.tick: "), message
    assert "\n" not in message and "\x1b" not in message


def test_a_long_config_path_is_shortened(tmp_path: Path) -> None:
    path = tmp_path / ("c" * 200) / ("c" * 200) / "feeds.yaml"
    with pytest.raises(ConfigError) as err:
        load(path, environ={})
    message = str(err.value)
    assert message.endswith("cc/feeds.yaml: config file not found") and "characters left out" in message
    assert len(message) < 300


def test_the_cli_prints_a_forged_config_path_on_one_line(tmp_path: Path) -> None:
    config = str(tmp_path / f"feeds{FORGED}.yaml")
    r = CliRunner().invoke(cli, ["--config", config, "feeds", "list"])
    assert r.exit_code == 2, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert "\x1b" not in r.stderr and "\\nerror: forged line" in r.stderr


def test_a_long_sqlite_path_is_shortened_in_the_engine_error() -> None:
    db = "/tmp/" + "a" * 5_000 + "/x.db"
    with pytest.raises(ConfigError) as err:
        make_engine(f"sqlite+aiosqlite:///{db}")
    message = str(err.value)
    assert message.startswith("cannot use the SQLite database /tmp/aaa") and "characters left out" in message
    assert "aaa/x.db: " in message and len(message) < 400, message
    shown = display_database(f"sqlite+aiosqlite:///{db}")
    assert (
        shown.startswith("sqlite+aiosqlite:////tmp/aaa") and shown.endswith("aaa/x.db") and len(shown) < 300
    )


@pytest.mark.parametrize("command", [("feeds", "list"), ("db", "upgrade")])
def test_the_cli_names_a_long_sqlite_path_shortened_in_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(LEXICAL)
    db = "/tmp/" + "a" * 5_000 + "/x.db"
    r = CliRunner().invoke(cli, ["--config", str(config), "--database", f"sqlite:///{db}", *command])
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.stderr.count("\n") == 1 and "characters left out" in r.stderr and "aaa/x.db: " in r.stderr
    assert len(r.stderr) < 400, r.stderr


# --- a SQLite file that SQLite cannot read ----------------------------------------------------------------


def _worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_a_failed_upgrade_leaves_no_sqlite_connection_behind(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")  # a database, but no schema: upgrading it writes
    conn.close()
    before = set(_worker_threads())
    with pytest.raises(StorageError, match="cannot migrate"):
        await open_store(f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true", upgrade=True)
    for thread in set(_worker_threads()) - before:
        thread.join(5)  # the stop it was sent takes a moment; a connection left open never stops
        assert not thread.is_alive()


async def test_a_garbage_file_is_one_line_of_error(tmp_path: Path) -> None:
    db = tmp_path / "garbage.db"
    db.write_bytes(b"not a database, only bytes " * 200)
    with pytest.raises(StorageError) as err:
        await open_store(f"sqlite+aiosqlite:///{db}")
    assert str(err.value) == (
        f"cannot reach the database sqlite+aiosqlite:///{db} (DatabaseError: (sqlite3.DatabaseError) file is not a "
        "database)"
    )


async def _unknown_revision(tmp_path: Path) -> Path:
    """A database a newer version migrated: its revision is one this version does not know."""
    db = tmp_path / "newer.db"
    watcher = Watcher(tmp_path, f"sqlite+aiosqlite:///{db}")
    watcher.config.write_text(LEXICAL)
    made = await watcher("db", "upgrade")
    assert made.code == 0, made.err
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'zzzz'")
    conn.close()
    return db


@pytest.mark.parametrize("kind", ["garbage", "unknown revision"])
async def test_a_database_sqlite_cannot_use_prints_only_the_error(tmp_path: Path, kind: str) -> None:
    if kind == "garbage":
        db = tmp_path / "garbage.db"
        db.write_bytes(bytes(range(256)) * 64)
        expected = "file is not a database"
    else:
        db = await _unknown_revision(tmp_path)
        expected = "is at schema revision 'zzzz'"
    watcher = Watcher(tmp_path, f"sqlite+aiosqlite:///{db}")
    watcher.config.write_text(LEXICAL)
    for command in (("feeds", "list"), ("db", "upgrade"), ("claims", "list")):
        for _ in range(2):
            r = await watcher(*command)
            assert r.code == 1, (r.code, r.err)
            assert expected in r.err, r.err
            assert "Traceback" not in r.err and "Event loop is closed" not in r.err, r.err
            assert "Exception in thread" not in r.err and "sqlalche.me" not in r.err, r.err
