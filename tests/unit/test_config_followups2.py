"""Hostile feeds.yaml and command lines, continued: tagged values that hold secrets, numbers beyond Python's digit
limit, binary values, dates, SQLite paths that cannot work, --since in ISO 8601 and claim names of any length."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from storage.engine import make_engine, sqlite_open_problem
from tests.support.config_files import refused
from watcher.cli import cli
from watcher.config import MAX_FEEDS, load
from watcher.errors import ConfigError
from watcher.text.display import display_path

SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5"  # a Standard Webhooks secret, as a user pastes it
TEXT = "NATO has surpassed Russia in ammunition production"
LEXICAL = "matching: {model: null}\n"
HAS_PROC = Path("/proc/self").is_dir()


def watcher(tmp_path: Path, config: str, *args: str, database: str | None = None) -> Result:
    """``watcher --config tmp/feeds.yaml ARGS`` in this process, on a SQLite file in ``tmp_path`` by default."""
    path = tmp_path / "feeds.yaml"
    path.write_text(config)
    url = database or f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}"
    return CliRunner().invoke(cli, ["--config", str(path), *args], env={"WATCHER_DATABASE_URL": url})


def assert_usage_error(r: Result, *words: str) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output, r.output
    for word in words:
        assert word in r.stderr, r.stderr


def destination_with_secret(value: str) -> str:
    return (
        "destinations:\n"
        "  - name: cms\n"
        "    kind: webhook\n"
        "    url: https://cms.example/hook\n"
        f"    secret: {value}\n"
    )


# --- tagged values: the field is named, the value never ----------------------------------------


@pytest.mark.parametrize(
    ("tag", "form"),
    [
        ("!!int", "not an integer"),
        ("!!float", "not a number"),
        ("!!bool", "not true or false"),  # PyYAML raised KeyError: a traceback
        ("!!timestamp", "not a valid date or time"),  # PyYAML raised AttributeError: a traceback
    ],
)
def test_a_tagged_secret_that_cannot_be_read_is_named_by_field_never_shown(
    tmp_path: Path, tag: str, form: str
) -> None:
    message = refused(tmp_path, destination_with_secret(f"{tag} {SECRET}"))
    assert message.startswith("F:5: invalid YAML: cannot read tag:yaml.org,2002:"), message
    assert f"value of destinations[0].secret: {form}" in message
    # int() and float() quote the literal with its underscores dropped or lower-cased: no form of it shows.
    for shown in (SECRET, "c2VjcmV0", SECRET.replace("_", ""), SECRET.lower()):
        assert shown not in message


def test_a_tagged_secret_that_is_read_as_a_number_is_refused_without_its_value(tmp_path: Path) -> None:
    message = refused(tmp_path, destination_with_secret("!!int 1234567890123456"))
    assert message.startswith("F:5: destinations[0].secret: must be text"), message
    assert "1234567890123456" not in message


def test_a_database_url_under_a_tag_is_not_echoed(tmp_path: Path) -> None:
    message = refused(tmp_path, "database: !!float postgresql://watcher:hunter2@db.example/watcher\n")
    assert message == "F:1: invalid YAML: cannot read tag:yaml.org,2002:float value of database: not a number"


def test_an_unquoted_numeric_token_says_to_quote_it(tmp_path: Path) -> None:
    message = refused(tmp_path, "daemon:\n  server:\n    token: 12345678901234567890\n")
    assert message == (
        "F:3: daemon.server.token: must be text (put quotes around a value YAML would read as a number or "
        "true/false)"
    )


# --- numbers beyond the digit limit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits"),
    [
        ("9" * 5000, "5000 digits"),
        ("-" + "1" * 4301, "4301 digits"),
        ("0x" + "f" * 4000, "4000 hexadecimal digits"),  # read, but no message or repr could write it out
    ],
)
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("feeds:\n  - url: https://a.example/rss\n    interval: {v}\n", "F:3: feeds[0].interval"),
        ("daemon:\n  server:\n    port: {v}\n", "F:3: daemon.server.port"),
        ("shifts:\n  min_articles: {v}\n", "F:2: shifts.min_articles"),
        ("claims:\n  - name: {v}\n    text: " + TEXT + "\n", "F:2: claims[0].name"),
        (destination_with_secret("{v}"), "F:5: destinations[0].secret"),
    ],
)
def test_a_number_of_more_than_4300_digits_is_an_error_naming_file_line_and_field(
    tmp_path: Path, value: str, digits: str, text: str, where: str
) -> None:
    message = refused(tmp_path, text.format(v=value))
    assert message == (
        f"{where}: a number of {digits}: far too large for any setting (integers of more than "
        f"{sys.get_int_max_str_digits()} decimal digits are not read)"
    )
    assert value[-20:] not in message and "set_int_max_str_digits" not in message


def test_a_duration_of_more_digits_than_a_float_holds_is_too_long_not_infinite(tmp_path: Path) -> None:
    message = refused(tmp_path, f"defaults:\n  interval: {'9' * 400}s\n")
    assert message.startswith("F:2: defaults.interval: a duration must be at most 365d (31536000 s)"), message


def test_a_number_just_below_the_limit_is_still_a_plain_range_error(tmp_path: Path) -> None:
    message = refused(tmp_path, f"daemon:\n  server:\n    port: {'9' * 4000}\n")
    assert message.startswith("F:3: daemon.server.port: Input should be less than or equal to 65535")


# --- binary values, dates, documents, tags, keys ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        # AAEC is NUL, U+0001, U+0002: pydantic took the bytes as text, past the control-character check.
        (
            "destinations:\n  - name: !!binary AAEC\n    kind: slack\n    url: https://h.example/x\n",
            "F:2: destinations[0].name",
        ),
        ("feeds:\n  - url: https://a.example/rss\n    outlet: !!binary TlBS\n", "F:3: feeds[0].outlet"),
    ],
)
def test_a_binary_value_is_refused_naming_its_field(tmp_path: Path, text: str, where: str) -> None:
    assert refused(tmp_path, text) == f"{where}: a binary (!!binary) value: write the text itself"


def test_a_date_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"claims:\n  - name: 2025-11-06\n    text: {TEXT}\n")
    assert load(path, environ={}).claims[0].name == "2025-11-06"
    message = refused(tmp_path, "defaults:\n  interval: 2025-11-06\n")
    assert message.startswith("F:2: defaults.interval: '2025-11-06' is not a duration"), message
    assert "datetime" not in message


def test_a_second_document_says_one_was_expected(tmp_path: Path) -> None:
    message = refused(tmp_path, "feeds: []\n---\nclaims: []\n")
    assert (
        message == "F:2: invalid YAML: expected a single document in the stream, but found another document"
    )


def test_an_unknown_tag_of_any_length_makes_a_short_message(tmp_path: Path) -> None:
    message = refused(tmp_path, f"database: !{'a' * 100_000} x\n")
    assert message.startswith("F:1: invalid YAML: could not determine a constructor for the tag '!aaa")
    assert len(message) < 300 and message.endswith("...")


def test_a_duplicate_key_of_any_length_makes_a_short_message(tmp_path: Path) -> None:
    key = "k" * 50_000
    message = refused(tmp_path, f"? {key}\n: 1\n? {key}\n: 2\n")
    assert message.startswith("F:3: duplicate key 'kkk") and message.endswith("(first given on line 1)")
    assert len(message) < 200


def test_an_unknown_key_that_is_a_url_shows_no_credentials(tmp_path: Path) -> None:
    message = refused(
        tmp_path, "feeds:\n  - url: https://a.example/rss\n    https://reader:hunter2@b.example/rss: x\n"
    )
    assert "Extra inputs are not permitted" in message and "b.example/rss" in message
    assert "hunter2" not in message and "reader" not in message


def test_a_list_or_mapping_is_echoed_by_its_first_items_only(tmp_path: Path) -> None:
    message = refused(tmp_path, "database: [" + ", ".join(f"item{i}" for i in range(10_000)) + "]\n")
    assert message.startswith("F:1: database: must be text") and "(got ['item0', 'item1'" in message
    assert "item9999" not in message


def test_too_many_feeds_are_refused_from_the_yaml_before_they_are_built(tmp_path: Path) -> None:
    # Each entry a mapping of a key the model refuses: built and validated, each would be an error of its own.
    text = "feeds:\n" + "".join("  - {nonsense: 1}\n" for _ in range(MAX_FEEDS + 1))
    assert (
        refused(tmp_path, text)
        == f"F:2: feeds: List should have at most {MAX_FEEDS} items, not {MAX_FEEDS + 1}"
    )


# --- SQLite paths that cannot work ---------------------------------------------------------------------


def test_a_database_path_that_is_a_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        make_engine(f"sqlite+aiosqlite:///{tmp_path}")
    assert str(err.value) == (
        f"cannot use the SQLite database {tmp_path}: it is a folder, not a database file (name a file in it, "
        f"such as {tmp_path / 'watcher.db'})"
    )


@pytest.mark.parametrize("below", ["x.db", "sub/x.db"])
def test_a_database_path_under_a_file_names_the_file(tmp_path: Path, below: str) -> None:
    blocker = tmp_path / "plain"
    blocker.write_text("")
    db = blocker / below
    with pytest.raises(ConfigError) as err:
        make_engine(f"sqlite+aiosqlite:///{db}")
    its = "its folder " if db.parent == blocker else ""
    assert str(err.value) == f"cannot use the SQLite database {db}: {its}{blocker} is a file, not a folder"


def test_a_device_is_no_database_file() -> None:
    with pytest.raises(ConfigError, match="/dev/null: it is not a regular file"):
        make_engine("sqlite+aiosqlite:////dev/null")


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux /proc")
def test_a_folder_that_cannot_be_made_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        make_engine("sqlite+aiosqlite:////proc/self/no-such-folder/x.db")
    assert str(err.value).startswith(
        "cannot use the SQLite database /proc/self/no-such-folder/x.db: cannot create its folder "
        "/proc/self/no-such-folder: "
    )


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux /proc")
def test_a_file_that_cannot_be_created_is_found_and_nothing_is_left() -> None:
    problem = sqlite_open_problem("sqlite+aiosqlite:////proc/watcher-test.db")
    assert problem is not None
    assert problem.startswith(
        "cannot use the SQLite database /proc/watcher-test.db: no file can be created in /proc: "
    )
    assert not Path("/proc/watcher-test.db").exists()


def test_a_path_that_works_has_no_problem_and_the_check_leaves_no_file(tmp_path: Path) -> None:
    assert sqlite_open_problem(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}") is None
    assert list(tmp_path.iterdir()) == []
    assert sqlite_open_problem(f"sqlite+aiosqlite:///{tmp_path / 'later' / 'new.db'}") is None  # made on open
    assert sqlite_open_problem("sqlite+aiosqlite://") is None  # in memory
    assert sqlite_open_problem("postgresql+asyncpg://u:p@localhost/x") is None


def test_a_missing_file_that_its_mode_does_not_create_is_named(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    assert sqlite_open_problem(f"sqlite+aiosqlite:///file:{db}?mode=rw&uri=true") == (
        f"cannot use the SQLite database {db}: it does not exist (mode=rw does not create it)"
    )


def test_a_folder_this_user_cannot_write_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Root writes anywhere (os.access says so): answer for this folder as the kernel answers any other user.
        access = os.access

        def as_a_user(path: object, mode: int, **kwargs: object) -> bool:
            denied = Path(str(path)) == locked and bool(mode & os.W_OK)
            return not denied and access(path, mode, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "access", as_a_user)
    try:
        assert sqlite_open_problem(f"sqlite+aiosqlite:///{locked / 'x.db'}") == (
            f"cannot use the SQLite database {locked / 'x.db'}: its folder {locked} is not writable, so the file "
            "cannot be created"
        )
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("where", ["folder", "proc"])
def test_the_cli_names_a_database_path_that_cannot_work_in_one_line(tmp_path: Path, where: str) -> None:
    if where == "proc" and not HAS_PROC:
        pytest.skip("needs Linux /proc")
    path = str(tmp_path) if where == "folder" else "/proc/watcher-test.db"
    r = watcher(tmp_path, LEXICAL, "db", "upgrade", database=f"sqlite+aiosqlite:///{path}")
    assert_usage_error(r, f"error: cannot use the SQLite database {path}: ")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "sqlalche.me" not in r.stderr and "OperationalError" not in r.stderr


# --- the command line: --since and claim names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "since"),
    [
        ("2025-11-01", "2025-11-01T00:00:00Z"),
        ("2025-11-01T10:00:00", "2025-11-01T10:00:00Z"),
        ("2025-11-01 10:00", "2025-11-01T10:00:00Z"),
        ("2025-11-01T10:00:00Z", "2025-11-01T10:00:00Z"),
        ("2025-11-01T10:00:00+02:00", "2025-11-01T08:00:00Z"),
    ],
)
def test_backfill_since_takes_iso_8601_and_reads_it_as_utc(tmp_path: Path, given: str, since: str) -> None:
    assert watcher(tmp_path, LEXICAL, "claims", "add", TEXT, "--name", "ammo").exit_code == 0
    r = watcher(tmp_path, LEXICAL, "claims", "backfill", "ammo", "--since", given, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["since"] == since


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("2025-13-01", "'2025-13-01' is not a date: give YYYY-MM-DD"),
        ("yesterday", "'yesterday' is not a date"),
        ("", "'' is not a date"),
        ("9" * 10_000, f"'{'9' * 40}' is not a date"),
        ("2025\x1b[31m", "'2025\\x1b[31m' is not a date"),
        ("0001-01-01T00:00+01:00", "falls outside the years 1 to 9999 once read as UTC"),
        ("9999-12-31T23:00-05:00", "falls outside the years 1 to 9999 once read as UTC"),
    ],
)
def test_backfill_since_refuses_what_is_no_date_as_a_usage_error(
    tmp_path: Path, given: str, why: str
) -> None:
    r = watcher(tmp_path, LEXICAL, "claims", "backfill", "ammo", "--since", given)
    assert_usage_error(r, "'--since'", why)
    assert len(r.stderr) < 500


@pytest.mark.parametrize(
    "args",
    [
        ("claims", "show", "a" * 100_000),
        ("claims", "pause", "b" * 201),
        ("matches", "list", "--claim", "c" * 5_000),
        ("events", "list", "--claim", "d" * 5_000),
        ("report", "e" * 5_000),
    ],
)
def test_a_claim_name_longer_than_any_stored_is_refused_without_echoing_it(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    assert watcher(tmp_path, LEXICAL, "db", "upgrade").exit_code == 0
    r = watcher(tmp_path, LEXICAL, *args)
    length = max(len(a) for a in args)
    assert_usage_error(r, f"no claim has a name of {length} characters (names are at most 100)")
    assert len(r.stderr) < 500, r.stderr


def test_the_cli_names_a_tagged_secret_without_showing_it(tmp_path: Path) -> None:
    r = watcher(tmp_path, destination_with_secret(f"!!bool {SECRET}"), "feeds", "list")
    assert_usage_error(r, f"{tmp_path / 'feeds.yaml'}:5: invalid YAML:", "destinations[0].secret")
    assert SECRET.lower() not in r.output.lower()


# --- the environment and the config path -----------------------------------------------------------------


@pytest.mark.parametrize("port", ["9" * 5000, "1" + "0" * 10_000])
def test_a_server_port_of_thousands_of_digits_is_refused_not_a_traceback(tmp_path: Path, port: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(LEXICAL)
    with pytest.raises(ConfigError) as err:
        load(path, environ={"WATCHER_SERVER_PORT": port})
    assert str(err.value) == f"WATCHER_SERVER_PORT: {port[:40]!r} is not a TCP port"


def test_a_server_port_with_leading_zeros_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(LEXICAL)
    assert load(path, environ={"WATCHER_SERVER_PORT": "0000008080"}).daemon.server_port == 8080


def test_a_config_path_too_long_for_the_file_system_is_a_config_error(tmp_path: Path) -> None:
    name = str(tmp_path / ("a" * 5000))
    with pytest.raises(ConfigError) as err:
        load(name, environ={})
    assert str(err.value) == f"{display_path(name)}: cannot read: File name too long"
    assert "characters left out" in str(err.value) and len(str(err.value)) < 300
    r = CliRunner().invoke(cli, ["--config", name, "claims", "list"])
    assert_usage_error(r, "cannot read: File name too long")


def test_an_unknown_key_of_any_length_is_named_shortened(tmp_path: Path) -> None:
    message = refused(tmp_path, f"feeds:\n  - url: https://a.example/rss\n    ? {'k' * 100_000}\n    : 1\n")
    assert message == f"F:4: feeds[0].{'k' * 77}...: Extra inputs are not permitted"


def test_thousands_of_errors_are_listed_by_the_first_twenty(tmp_path: Path) -> None:
    text = "feeds:\n" + "".join(f"  - url: ftp://a{i}.example/rss\n" for i in range(5_000))
    lines = refused(tmp_path, text).splitlines()
    assert len(lines) == 21
    assert lines[0] == "F:2: feeds[0].url: must be an http:// or https:// URL (got 'ftp://a0.example/rss')"
    assert lines[19].startswith("F:21: feeds[19].url: must be an http:// or https:// URL")
    assert lines[20] == "F: ... and 4980 more errors"
