"""The CLI found wanting by a hostile review: derived claim names, key terms, `check --url`, listings on a
mistyped database path, `report --out` and `feeds add` URLs. Real CLI runs on real SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.acceptance.test_cli_limits import assert_usage_error
from tests.support.cli import Watcher

TEXT = "NATO has surpassed Russia in ammunition production"


@pytest.fixture
def watcher(tmp_path: Path, sqlite_url: str) -> Watcher:
    w = Watcher(tmp_path, sqlite_url)
    w.config.write_text("matching: {model: null}\n")
    return w


async def test_derived_claim_names_are_readable_and_unique(watcher: Watcher) -> None:
    names = []
    for text in (
        "НАТО перевищило Росію за виробництвом боєприпасів",
        "Росія перевищила НАТО за виробництвом снарядів",
        "北约弹药产量超过俄罗斯",
        "俄罗斯弹药产量超过北约",
        TEXT,
        f"{TEXT}, officials say",
    ):
        r = await watcher("claims", "add", text, "--json")
        assert r.code == 0, r.err
        names.append(r.json()["name"])
    assert names[0] == "nato-perevishchilo-rosiyu-za-virobnitstvom-boyepripasiv"
    assert names[1] == "rosiya-perevishchila-nato-za-virobnitstvom-snaryadiv"
    assert names[2].startswith("claim-") and names[3].startswith("claim-") and names[2] != names[3]
    assert names[4:] == [
        "nato-has-surpassed-russia-in-ammunition",
        "nato-has-surpassed-russia-in-ammunition-2",
    ]
    # A name given with --name is not changed: a conflict stays an error.
    assert_usage_error(await watcher("claims", "add", TEXT, "--name", names[4]), "already exists")


async def test_key_terms_are_checked_as_feeds_yaml_checks_them(watcher: Watcher) -> None:
    for keyword, says in (
        ("\x1b[31mRED", "control character U+001B"),
        (" ", "a key term is empty"),
        ("the", "has only stopwords"),
        ("!!!", "has only stopwords or punctuation"),
    ):
        r = await watcher("claims", "add", TEXT, "--name", "a", "--keyword", keyword)
        assert_usage_error(r, "--keyword", says)
        assert "\x1b" not in r.err
    assert (await watcher("claims", "add", TEXT, "--name", "a", "--keyword", "ammunition")).code == 0
    for keyword in (" ", "the", "\x07bell"):
        assert_usage_error(await watcher("claims", "edit", "a", "--keyword", keyword), "--keyword")
    assert (await watcher("claims", "show", "a", "--json")).json()["keywords"] == ["ammunition"]


async def test_check_url_does_not_print_credentials(watcher: Watcher) -> None:
    r = await watcher("check", "--url", "http://admin:hunter2@127.0.0.1:1/healthz?token=abc123")
    assert r.code == 1 and "no daemon answering at http://127.0.0.1:1/healthz" in r.err, r.err
    assert "hunter2" not in r.err and "abc123" not in r.err and "admin" not in r.err


async def test_listings_refuse_a_missing_sqlite_file_and_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "wacher.db"
    watcher = Watcher(tmp_path, f"sqlite+aiosqlite:///{missing}")
    watcher.config.write_text("matching: {model: null}\n")
    for command in (
        ("claims", "list"),
        ("claims", "show", "a"),
        ("feeds", "list"),
        ("matches", "list"),
        ("events", "list"),
        ("alerts", "list"),
        ("report", "a"),
    ):
        assert_usage_error(await watcher(*command), f"no database at {missing}", "watcher db upgrade")
    # A healthcheck says unhealthy (1): Docker reserves its exit status 2.
    checked = await watcher("check", "--db-only")
    assert checked.code == 1 and f"no database at {missing}" in checked.err and "Traceback" not in checked.err
    assert not missing.parent.exists()
    # Commands that add or migrate create it.
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert missing.exists()
    assert "nato-has" not in (listed := await watcher("claims", "list")).err and listed.code == 0


async def test_report_to_an_unwritable_file_is_an_error_without_a_traceback(
    watcher: Watcher, tmp_path: Path
) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    for out in (str(tmp_path / "no" / "such" / "dir" / "a.html"), ""):
        r = await watcher("report", "a", "--out", out)
        assert r.code == 1 and "error: cannot write" in r.err, r.err
        assert "Traceback" not in r.err


async def test_report_replaces_a_symlink_at_the_target_and_never_writes_through_it(
    watcher: Watcher, tmp_path: Path
) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o600)
    (tmp_path / "a.html").symlink_to(victim)  # the default target
    (tmp_path / "out.html").symlink_to(victim)  # an --out target
    kept = tmp_path / "kept.html"
    kept.write_text("old")
    kept.chmod(0o640)
    for args in (
        ("report", "a"),
        ("report", "a", "--out", "out.html"),
        ("report", "a", "--out", "kept.html"),
    ):
        r = await watcher(*args)
        assert r.code == 0, r.err
    assert victim.read_text() == "precious" and victim.stat().st_mode & 0o777 == 0o600
    for name in ("a.html", "out.html", "kept.html"):
        page = tmp_path / name
        assert not page.is_symlink() and page.read_text().startswith("<!DOCTYPE html>")
    assert kept.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.html").stat().st_mode & 0o777 == 0o666 & ~umask  # a new file: as open() makes it
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]  # no temporary file left behind


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/rss.xml?x=\x1b[2J", "must not hold spaces or line breaks"),
        ("http://127.0.0.1:9/r ss", "must not hold spaces or line breaks"),
        ("http://127.0.0.1:9/rss?x=" + "a" * 3000, "at most 2048 characters"),
        ("ftp://127.0.0.1:9/rss", "must be an http:// or https:// URL"),
    ],
)
async def test_feeds_add_checks_the_url_as_feeds_yaml_does(watcher: Watcher, url: str, says: str) -> None:
    r = await watcher("feeds", "add", url)
    assert_usage_error(r, "Invalid value for URL", says)
    assert "\x1b" not in r.err


async def test_check_is_a_healthcheck_exit_status_whatever_is_wrong(watcher: Watcher) -> None:
    """Docker reserves a healthcheck's exit status 2: a bad config is unhealthy (1) with its error, and a daemon
    configured to serve no /healthz is said to, rather than probed in vain."""
    watcher.config.write_text("matching: {model: null}\ndaemon: {server: {enabled: false}}\n")
    off = await watcher("check")
    assert off.code == 1 and "daemon.server.enabled is false" in off.err and "--db-only" in off.err
    assert (await watcher("db", "upgrade")).code == 0
    assert (await watcher("check", "--db-only")).code == 0
    watcher.config.write_text("matching: {model: null}\ndaemon: {tick: often}\n")
    bad = await watcher("check")
    assert bad.code == 1 and "daemon.tick" in bad.err and "Traceback" not in bad.err
