"""What the CLI refuses, and how: bad numbers, names and ids are usage errors (exit 2) without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.sql import open_store
from tests.acceptance.test_cli import write_config
from tests.support.cli import Result, Watcher
from tests.support.feed_server import FeedServer
from watcher.domain import Claim, utcnow

TEXT = "NATO has surpassed Russia in ammunition production"
BIG = "99999999999999999999"  # above int64


def _watcher(tmp_path: Path, url: str) -> Watcher:
    w = Watcher(tmp_path, url)
    w.config.write_text("matching: {model: null}\n")
    return w


@pytest.fixture
def watcher(tmp_path: Path, sqlite_url: str) -> Watcher:
    return _watcher(tmp_path, sqlite_url)


@pytest.fixture
def any_watcher(tmp_path: Path, db_url: str) -> Watcher:
    return _watcher(tmp_path, db_url)


def assert_usage_error(r: Result, *words: str) -> None:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err and "SELECT" not in r.err and "[SQL" not in r.err, r.err
    for word in words:
        assert word in r.err, r.err


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1.5"])
async def test_thresholds_must_be_finite_numbers_from_0_to_1(watcher: Watcher, value: str) -> None:
    assert_usage_error(
        await watcher("claims", "add", TEXT, "--name", "a", "--threshold", value), "--threshold"
    )
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert_usage_error(await watcher("claims", "edit", "a", "--threshold", value), "--threshold")
    shown = await watcher("claims", "show", "a", "--json")
    assert shown.json()["threshold"] is None and shown.json()["effective_threshold"] == 0.5


@pytest.mark.parametrize(
    "name",
    [
        "/some/dir/abs",
        "../../x",
        "a/b",
        "new\nline",
        "esc\x1b[31mred",
        "   ",
        "2",
        "-dash",
        "tab\tname",
        "a" * 101,
    ],
)
async def test_claim_names_are_validated_like_feeds_yaml_names(watcher: Watcher, name: str) -> None:
    assert_usage_error(await watcher("claims", "add", TEXT, "--name", name), "--name")
    assert (await watcher("claims", "add", TEXT, "--name", "ok")).code == 0
    assert_usage_error(await watcher("claims", "edit", "ok", "--name", name), "--name")
    assert [c["name"] for c in (await watcher("claims", "list", "--json")).json()] == ["ok"]


async def test_a_name_from_digits_only_text_is_not_all_digits(watcher: Watcher) -> None:
    added = await watcher("claims", "add", "2024 2025", "--json")
    assert added.code == 0, added.err
    assert added.json()["name"] == "2024-2025"  # not all digits: no id looks like it
    again = await watcher("claims", "add", "1914", "--json")
    assert again.code == 0 and again.json()["name"] == "claim-1914"


async def test_a_claim_of_only_stopwords_is_refused(watcher: Watcher) -> None:
    assert_usage_error(await watcher("claims", "add", "It has been said that they were there"), "stopwords")
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert_usage_error(await watcher("claims", "edit", "a", "--text", "what is this"), "stopwords")


@pytest.mark.parametrize(
    "args",
    [
        ("claims", "show", BIG),
        ("claims", "pause", BIG),
        ("claims", "edit", BIG, "--threshold", "0.5"),
        ("claims", "remove", BIG, "--yes"),
        ("report", BIG),
        ("alerts", "retry", BIG),
        ("alerts", "list", "--limit", BIG),
        ("matches", "list", "--claim", BIG),
        ("matches", "list", "--limit", BIG),
        ("events", "list", "--claim", BIG),
        ("claims", "backfill", "a", "--batch", BIG),
    ],
)
async def test_ids_above_int64_are_usage_errors(any_watcher: Watcher, args: tuple[str, ...]) -> None:
    assert (await any_watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert_usage_error(await any_watcher(*args))


async def test_duplicate_and_unknown_claims_are_both_usage_errors(watcher: Watcher) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert_usage_error(await watcher("claims", "add", TEXT, "--name", "a"), "already exists")
    assert (await watcher("claims", "add", "Russia makes more shells", "--name", "b")).code == 0
    assert_usage_error(await watcher("claims", "edit", "b", "--name", "a"), "already exists")
    assert_usage_error(await watcher("claims", "show", "nope"), "no claim 'nope'")
    # Names are compared ignoring case: "A" is "a", taken, and finds it.
    assert_usage_error(await watcher("claims", "add", TEXT, "--name", "A"), "compared ignoring case")
    assert (await watcher("claims", "show", "A", "--json")).json()["name"] == "a"


async def test_removing_a_claim_whose_hidden_name_is_taken(watcher: Watcher) -> None:
    """Removed claims are renamed NAME~ID; a claim already holding that name must not make remove crash."""
    assert (await watcher("claims", "add", TEXT, "--name", "stop")).code == 0  # id 1
    store = await open_store(watcher.env["WATCHER_DATABASE_URL"])
    try:
        await store.add_claim(Claim(id=0, name="stop~1", text="Russia makes more shells"), now=utcnow())
    finally:
        await store.close()
    removed = await watcher("claims", "remove", "stop", "--yes")
    assert removed.code == 0, removed.err
    assert [c["name"] for c in (await watcher("claims", "list", "--json")).json()] == ["stop~1"]
    assert (await watcher("claims", "add", TEXT, "--name", "stop")).code == 0  # the name is free again


async def test_a_removed_claim_is_reported_by_id_inside_the_working_directory(watcher: Watcher) -> None:
    added = (await watcher("claims", "add", TEXT, "--name", "gone", "--json")).json()
    assert (await watcher("claims", "remove", "gone", "--yes")).code == 0
    assert (await watcher("report", "gone")).code == 2  # by name it is gone
    r = await watcher("report", str(added["id"]))
    assert r.code == 0, r.err
    # Its hidden name (gone~ID) is no file name: the page is claim-ID.html, in the working directory.
    written = watcher.tmp / f"claim-{added['id']}.html"
    assert written.is_file() and "gone" in written.read_text()
    kept = await watcher("claims", "add", TEXT, "--name", "kept")
    assert kept.code == 0
    assert (await watcher("report", "kept")).code == 0 and (watcher.tmp / "kept.html").is_file()


async def test_claims_show_prints_the_effective_threshold(watcher: Watcher) -> None:
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert (
        await watcher("claims", "add", "Russia makes more shells", "--name", "b", "--threshold", "0.7")
    ).code == 0
    a, b = (await watcher("claims", "show", "a")).out, (await watcher("claims", "show", "b")).out
    assert "threshold: 0.50 (the default)" in a and "threshold: 0.70\n" in b
    assert "None" not in a and "{" not in a and "[" not in a


async def test_poll_once_exits_1_when_no_due_feed_could_be_polled(
    server: FeedServer, watcher: Watcher
) -> None:
    lines = ["http: {allow_private: true, total_timeout: 5s}", "matching: {model: null}", "feeds:"]
    lines += [f"  - {{url: '{server.url(f'/missing{i}.xml')}', outlet: M{i}}}" for i in range(2)]
    watcher.config.write_text("\n".join(lines) + "\n")
    r = await watcher("poll-once", "--json")
    assert r.code == 1 and r.json()["feeds_failed"] == r.json()["feeds_polled"] == 2
    assert "none of the 2 feeds polled could be read" in r.err
    idle = await watcher("poll-once")  # nothing due: nothing failed
    assert idle.code == 0, idle.err
    write_config(watcher, server, extra_feeds=1)  # one of three fails: the cycle still did its work
    assert (await watcher("poll-once", "--all")).code == 0


async def test_poll_log_lines_name_the_outlet(server: FeedServer, watcher: Watcher) -> None:
    write_config(watcher, server)
    r = await watcher("poll-once", "--all")
    assert r.code == 0, r.err
    assert "outlet='Kyiv Post'" in r.err and "outlet='TASS'" in r.err


async def test_check_without_a_daemon_says_so(watcher: Watcher) -> None:
    from tests.support.net import free_port

    port = free_port()
    r = await watcher("check", "--url", f"http://127.0.0.1:{port}/healthz")
    assert r.code == 1
    assert f"no daemon answering at http://127.0.0.1:{port}/healthz" in r.err and "Connector" not in r.err


async def test_unknown_shift_keys_are_refused_at_load_by_every_command(watcher: Watcher) -> None:
    watcher.config.write_text(
        "matching: {model: null}\nshifts:\n  spike_min_stories: 4\n  spike_windw_s: 60\n"
    )
    for args in (("claims", "list"), ("poll-once",)):
        r = await watcher(*args)
        assert_usage_error(r, f"{watcher.config}:4: shifts.spike_windw_s")
        assert "unexpected keyword" not in r.err and "Unclosed" not in r.err


@pytest.mark.parametrize(
    "flags",
    [("--threshold", "0.6", "--default-threshold"), ("--keyword", "shells", "--clear-keywords")],
)
async def test_claims_edit_refuses_flags_that_contradict_each_other(
    watcher: Watcher, flags: tuple[str, ...]
) -> None:
    assert (
        await watcher("claims", "add", TEXT, "--name", "a", "--threshold", "0.7", "--keyword", "ammo")
    ).code == 0
    assert_usage_error(await watcher("claims", "edit", "a", *flags), "not both")
    shown = (await watcher("claims", "show", "a", "--json")).json()
    assert (shown["threshold"], shown["keywords"]) == (0.7, ["ammo"])


@pytest.mark.parametrize("text", [f"{TEXT}\x1b[31m", f"NATO\x07 {TEXT}", f"{TEXT}\x7f"])
async def test_claim_text_with_control_characters_is_refused(watcher: Watcher, text: str) -> None:
    assert_usage_error(await watcher("claims", "add", text, "--name", "a"), "control character")
    assert (await watcher("claims", "add", TEXT, "--name", "a")).code == 0
    assert_usage_error(await watcher("claims", "edit", "a", "--text", text), "control character", "--text")
    assert (await watcher("claims", "show", "a", "--json")).json()["text"] == TEXT


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--country", "Norway", "'Norway' is not an ISO 3166 alpha-2 code"),
        ("--country", "1", "'1' is not an ISO 3166 alpha-2 code"),
        ("--interval", "1ms", "a feed's interval must be at least 1s"),
        ("--interval", "0.4s", "a feed's interval must be at least 1s"),
    ],
)
async def test_feed_options_are_checked_as_feeds_yaml_checks_them(
    watcher: Watcher, tmp_path: Path, option: str, value: str, says: str
) -> None:
    assert (await watcher("db", "upgrade")).code == 0  # listings need a database (they create none)
    opml = tmp_path / "subs.opml"
    opml.write_text('<opml version="2.0"><body><outline xmlUrl="http://127.0.0.1:9/feed"/></body></opml>\n')
    for command in (("feeds", "add", "http://127.0.0.1:9/feed"), ("feeds", "import-opml", str(opml))):
        assert_usage_error(await watcher(*command, option, value), f"'{option}'", says)
    assert (await watcher("feeds", "list", "--all", "--json")).json() == []


async def test_feeds_add_refuses_an_outlet_feeds_yaml_would_refuse(watcher: Watcher) -> None:
    for outlet in ("Kyiv\x1b[31mPost", "O" * 201):
        r = await watcher("feeds", "add", "http://127.0.0.1:9/feed", "--outlet", outlet)
        assert_usage_error(r, "'--outlet'")
        assert "\x1b" not in r.err


async def test_import_opml_of_a_feed_or_a_page_is_an_error_not_zero_feeds(
    watcher: Watcher, tmp_path: Path
) -> None:
    assert (await watcher("db", "upgrade")).code == 0  # listings need a database (they create none)
    rss = tmp_path / "feed.xml"
    rss.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Kyiv</title></channel></rss>\n')
    r = await watcher("feeds", "import-opml", str(rss))
    assert_usage_error(r, f"{rss}:2: not an OPML file: the root element is <rss>, not <opml>")
    assert r.out == ""
    assert (await watcher("feeds", "list", "--all", "--json")).json() == []
