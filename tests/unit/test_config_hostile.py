"""Hostile configuration: YAML tags and bytes the loader cannot take, endless intervals, OPML outlines whose
feed URL cannot be polled, and one such feed in a poll of many."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from storage.sql import SqlStore, open_store
from tests.support.cli import Watcher
from tests.support.clock import Clock
from tests.support.config_files import refused
from tests.support.feed_server import FeedServer
from tests.support.fixtures import loopback_settings
from watcher.config import (
    MAX_DURATION_S,
    Settings,
    claim_text_problem,
    feed_problem,
    load,
    parse_duration,
)
from watcher.domain import FeedSpec, utcnow
from watcher.errors import ConfigError
from watcher.ingest.opml import read_opml

LONG_HOST = "http://" + "h" * 5000 + ".example/rss"
BAD_URLS = ["http://[::1", "http://", "http://a.example:99999/rss", LONG_HOST, "ftp://a.example/rss"]


# --- YAML the loader cannot construct ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'feeds: !!python/object/apply:os.system ["true"]\n',
            "F:1: invalid YAML: could not determine a constructor",
        ),
        (
            "feeds:\n  - url: !foo http://x.example/rss\n",
            "F:2: invalid YAML: could not determine a constructor",
        ),
        (
            "database: x\nclaims: !!python/name:os.system\n",
            "F:2: invalid YAML: could not determine a constructor",
        ),
        ("defaults:\n  interval: !!int abc\n", "F:2: invalid YAML: cannot read tag:yaml.org,2002:int value"),
        ("database: !!timestamp 2020-02-31\n", "F:1: invalid YAML: cannot read tag:yaml.org,2002:timestamp"),
        ("database: !!omap [a]\n", "F:1: invalid YAML: expected a mapping of length 1"),
    ],
)
def test_unknown_tags_and_unreadable_tagged_values_name_the_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            b"database: x\nfeeds: []\x00\n",
            "F:2: invalid YAML: character U+0000 at position 21 is not allowed",
        ),
        (b"\x00", "F:1: invalid YAML: character U+0000 at position 0"),
        (b"database: a\x07b\n", "F:1: invalid YAML: character U+0007"),
    ],
)
def test_nul_and_control_characters_name_the_line(tmp_path: Path, text: bytes, expected: str) -> None:
    assert expected in refused(tmp_path, text)


async def test_the_cli_reports_a_hostile_config_without_a_traceback(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    for text in (b'feeds: !!python/object/apply:os.system ["touch pwned"]\n', b"feeds: []\x00\n"):
        watcher.config.write_bytes(text)
        r = await watcher("sync")
        assert r.code == 2 and "Traceback" not in r.err, r.err
        assert f"{watcher.config}:1: invalid YAML" in r.err
    assert not (tmp_path / "pwned").exists()


# --- intervals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("defaults: {interval: 3000000d}\n", "F:1: defaults.interval: a duration must be at most 365d"),
        (
            "defaults: {interval: 99999999999999999999d}\n",
            "F:1: defaults.interval: a duration must be at most 365d",
        ),
        ("defaults: {interval: 366d}\n", "F:1: defaults.interval: a duration must be at most 365d"),
        (
            "defaults: {interval: " + "9" * 400 + "}\n",
            "F:1: defaults.interval: a duration must be at most 365d",
        ),
        (
            "feeds:\n  - url: https://a.example/rss\n    interval: 3000000d\n",
            "F:3: feeds[0].interval: a duration must be at most 365d",
        ),
    ],
)
def test_intervals_have_an_upper_bound(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_a_year_is_the_longest_interval(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "defaults: {interval: 365d}\nfeeds:\n  - {url: 'https://a.example/rss', interval: 8760h}\n"
    )
    (feed,) = load(path, environ={}).feeds
    assert feed.interval_s == MAX_DURATION_S == 365 * 86400
    assert parse_duration("365d") == MAX_DURATION_S
    for value in ("8760.001h", "3000000d", "99999999999999999999d", MAX_DURATION_S + 1, 10**400):
        with pytest.raises(ValueError, match="at most 365d"):
            parse_duration(value)


async def test_feeds_add_refuses_an_endless_interval(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text("matching: {model: null}\n")
    r = await watcher("feeds", "add", "https://a.example/rss", "--interval", "3000000d")
    assert r.code == 2 and "Traceback" not in r.err and "at most 365d" in r.err, r.err


# --- language tags --------------------------------------------------------------------------------

MALFORMED_TAGS = ["xx-yy-zz", "en-", "en--us", "en-US-1", "english", "e"]


@pytest.mark.parametrize("tag", MALFORMED_TAGS)
@pytest.mark.parametrize(
    ("template", "where"),
    [
        ("feeds:\n  - url: https://a.example/rss\n    language: '{tag}'\n", "F:3: feeds[0].language"),
        (
            "defaults: {{language: '{tag}'}}\nfeeds:\n  - url: https://a.example/rss\n",
            "F:1: defaults.language",
        ),
        (
            "claims:\n  - name: c\n    text: NATO has surpassed Russia\n    language: '{tag}'\n",
            "F:4: claims[0].language",
        ),
    ],
    ids=["feed", "defaults", "claim"],
)
def test_a_malformed_language_tag_is_refused_not_cut_to_its_first_subtag(
    tmp_path: Path, template: str, where: str, tag: str
) -> None:
    message = refused(tmp_path, template.format(tag=tag))
    assert f"{where}: must be an ISO 639-1 code" in message and repr(tag) in message, message


def test_a_well_formed_language_tag_is_read_as_its_language(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "defaults: {language: en-GB}\n"
        "feeds:\n  - {url: 'https://a.example/rss', language: zh-Hant-TW}\n  - {url: 'https://b.example/rss'}\n"
        "  - {url: 'https://c.example/rss', language: pt_BR}\n  - {url: 'https://d.example/rss', language: und}\n"
        "claims:\n  - {name: c, text: NATO has surpassed Russia, language: sr-Latn-RS}\n"
    )
    settings = load(path, environ={})
    assert [f.language for f in settings.feeds] == ["zh", "en", "pt", "und"]
    assert settings.claims[0].language == "sr"


async def test_claims_language_option_refuses_a_malformed_tag(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text("matching: {model: null}\n")
    text = "NATO has surpassed Russia in ammunition production"
    for tag in ("xx-yy-zz", "en-", "eng"):
        r = await watcher("claims", "add", text, "--name", "ammo", "--language", tag)
        assert r.code == 2 and "Invalid value for '--language'" in r.err and repr(tag) in r.err, r.err
    added = await watcher("claims", "add", text, "--name", "ammo", "--language", "pt-BR", "--json")
    assert added.code == 0 and added.json()["language"] == "pt", added.err
    r = await watcher("claims", "edit", "ammo", "--language", "xx-yy-zz")
    assert r.code == 2 and "Invalid value for '--language'" in r.err, r.err
    edited = await watcher("claims", "edit", "ammo", "--language", "de-CH-1996", "--json")
    assert edited.code == 0 and edited.json()["language"] == "de", edited.err
    assert (await watcher("claims", "show", "ammo", "--json")).json()["language"] == "de"


# --- OPML outlines: feeds.yaml's rules --------------------------------------------------------


@pytest.mark.parametrize("url", BAD_URLS)
def test_feed_problem_refuses_what_feeds_yaml_refuses(tmp_path: Path, url: str) -> None:
    problem = feed_problem(url)
    assert problem is not None and problem.startswith("url: ")
    assert "feeds[0].url" in refused(tmp_path, f"feeds:\n  - url: '{url}'\n")


def test_feed_problem_checks_the_outlet_and_passes_a_good_feed() -> None:
    assert (
        feed_problem("https://a.example/rss", "A" * 5000)
        == "outlet: String should have at most 200 characters"
    )
    assert feed_problem("https://a.example/rss", "Example Times") is None
    assert feed_problem("http://[::1]:8080/rss") is None


def opml_with(good: str, long: str = "https://long-outlet.example/rss") -> tuple[str, dict[int, str]]:
    """An OPML file with one good outline (line 4), a folder, and one bad outline a line from line 5 on; the last
    of them has a good URL (``long``) and a title too long for an outlet."""
    bad = [f'<outline text="Bad{i}" xmlUrl="{url}"/>' for i, url in enumerate(BAD_URLS)]
    bad.append(f'<outline text="{"O" * 5000}" xmlUrl="{long}"/>')
    lines = [
        '<?xml version="1.0"?>',
        '<opml version="2.0"><body>',
        '<outline text="Folder">',
        f'<outline text="Good" type="rss" xmlUrl="{good}"/>',
        *bad,
        "</outline></body></opml>",
    ]
    return "\n".join(lines) + "\n", {5 + i: b for i, b in enumerate(bad)}


def test_read_opml_skips_and_reports_bad_outlines_by_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "subs.opml"
    text, bad = opml_with("https://good.example/rss")
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="watcher.ingest.opml"):
        specs = read_opml(
            path, country="UA", language="en", leaning="unknown", ownership="unknown", interval_s=900
        )
    assert [(s.url, s.outlet, s.country, s.interval_s) for s in specs] == [
        ("https://good.example/rss", "Good", "UA", 900),
        ("https://long-outlet.example/rss", "O" * 199 + "…", "UA", 900),  # the feed kept, its title shortened
    ]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == len(bad)
    *skipped_lines, long_line = sorted(bad)
    for line, message in zip(skipped_lines, warned, strict=False):
        assert message.startswith(f"{path}:{line}: outline skipped: ")
    assert warned[-1].startswith(f"{path}:{long_line}: outline title shortened to 200 characters")


def test_read_opml_still_names_the_line_of_broken_xml(tmp_path: Path) -> None:
    path = tmp_path / "broken.opml"
    path.write_text("<opml><body>\n<outline")
    with pytest.raises(ConfigError, match=r"broken\.opml:2: not valid OPML"):
        read_opml(path, country="ZZ", language="und", leaning="unknown", ownership="unknown", interval_s=900)


CONFIG = (
    "http: {allow_private: true, total_timeout: 5s}\nmatching: {model: null}\ndefaults: {full_text: never}\n"
)


async def test_import_opml_imports_the_good_outlines_and_reports_the_bad(
    server: FeedServer, tmp_path: Path, sqlite_url: str
) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text(CONFIG)
    opml = tmp_path / "subs.opml"
    text, bad = opml_with(server.url("/kyiv.xml"), long=server.url("/tass.xml"))
    opml.write_text(text)
    imported = await watcher("feeds", "import-opml", str(opml), "--json")
    assert imported.code == 0, imported.err
    assert imported.json()["feeds"] == imported.json()["added"] == 2
    *skipped_lines, long_line = sorted(bad)
    for line in skipped_lines:
        assert f"subs.opml:{line}: outline skipped" in imported.err
    assert f"subs.opml:{long_line}: outline title shortened" in imported.err
    assert "Traceback" not in imported.err
    listed = (await watcher("feeds", "list", "--all", "--json")).json()
    assert sorted(f["url"] for f in listed) == sorted([server.url("/kyiv.xml"), server.url("/tass.xml")])
    polled = await watcher("poll-once", "--all", "--json")
    assert polled.code == 0 and polled.json()["feeds_failed"] == 0, polled.err


# --- one unpollable feed in a pass ------------------------------------------------------------


def settings_with_bad_feeds(server: FeedServer, db_url: str) -> Settings:
    good = [
        FeedSpec(url=server.url(path), outlet=name, interval_s=600, full_text="never")
        for path, name in (("/kyiv.xml", "Kyiv Post"), ("/tass.xml", "TASS"))
    ]
    bad = [FeedSpec(url=url, outlet=f"Bad{i}", interval_s=600) for i, url in enumerate(BAD_URLS[:3])]
    return loopback_settings(db_url, (good[0], *bad, good[1]))


async def test_a_feed_whose_url_cannot_be_split_fails_alone(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    # Such feeds got into the database before import-opml checked outlines; they must not stop the others.
    pipeline = await make_pipeline(settings_with_bad_feeds(server, db_url), Clock())
    report = await pipeline.cycle(all=True)
    assert (report.feeds_polled, report.feeds_failed, report.new_articles) == (5, 3, 3)
    feeds = {f.url: f for f in await store.list_feeds(include_disabled=True)}
    assert feeds["http://[::1"].last_error == "invalid URL" and feeds["http://[::1"].error_count == 1
    assert all(feeds[url].last_error and feeds[url].next_poll_at for url in BAD_URLS[:3])
    assert (
        feeds[server.url("/kyiv.xml")].last_error is None
        and feeds[server.url("/tass.xml")].last_status == 200
    )


async def test_poll_once_polls_the_others_past_a_stored_unsplittable_url(
    server: FeedServer, tmp_path: Path, sqlite_url: str
) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text(CONFIG)
    assert (await watcher("sync")).code == 0
    store = await open_store(sqlite_url)
    try:
        specs = [
            FeedSpec(url="http://[::1", outlet="Bad"),
            FeedSpec(url=server.url("/kyiv.xml"), outlet="Kyiv"),
        ]
        await store.sync_feeds(specs, source="opml", now=utcnow())
    finally:
        await store.close()
    r = await watcher("poll-once", "--all", "--json")
    assert r.code == 0 and "Traceback" not in r.err, r.err
    report = r.json()
    assert (report["feeds_polled"], report["feeds_failed"], report["new_articles"]) == (2, 1, 1)
    assert report["errors"] == ["Bad (feed 1): invalid URL"]


async def test_feeds_language_option_refuses_a_malformed_tag(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text("matching: {model: null}\n")
    assert (await watcher("db", "upgrade")).code == 0  # listings need a database (they create none)
    opml = tmp_path / "feeds.opml"
    opml.write_text('<opml version="2.0"><body><outline xmlUrl="http://127.0.0.1:9/feed"/></body></opml>\n')
    for command in (("feeds", "add", "http://127.0.0.1:9/feed"), ("feeds", "import-opml", str(opml))):
        r = await watcher(*command, "--language", "xx-yy-zz")
        assert r.code == 2 and "Invalid value for '--language'" in r.err and "'xx-yy-zz'" in r.err, r.err
    # nothing was added
    listed = await watcher("feeds", "list", "--json")
    assert listed.code == 0 and listed.json() == [], listed.err


# --- what an editor writes: YAML 1.1 booleans, short intervals, escapes, typos, encodings ------------------


def test_norway_and_norwegian_are_not_booleans(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "defaults: {language: no, country: NO}\n"
        "http: {allow_private: yes}\n"
        "daemon: {server: {enabled: off}}\n"
        "feeds:\n  - url: https://a.example/rss\n  - url: https://b.example/rss\n    country: no\n    language: on\n"
    )
    settings = load(path, environ={})
    assert [(f.country, f.language) for f in settings.feeds] == [("NO", "no"), ("NO", "on")]
    assert settings.http.allow_private is True and settings.daemon.server_enabled is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feeds:\n  - url: https://a.example/rss\n    interval: 1ms\n", "F:3: feeds[0].interval: a feed's"),
        ("feeds:\n  - url: https://a.example/rss\n    interval: 0.4\n", "F:3: feeds[0].interval: a feed's"),
        ("defaults: {interval: 500ms}\n", "F:1: defaults.interval: a feed's interval must be at least 1s"),
    ],
)
def test_a_feed_interval_that_rounds_to_zero_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_one_second_is_the_shortest_feed_interval(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("defaults: {interval: 1s}\nfeeds:\n  - url: https://a.example/rss\n")
    assert load(path, environ={}).feeds[0].interval_s == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'feeds:\n  - url: https://a.example/rss\n    outlet: "Kyiv\\0Post"\n',
            "F:3: feeds[0].outlet: holds the control character U+0000",
        ),
        (
            'claims:\n  - name: ammo\n    text: "NATO \\e[31mhas more shells"\n',
            "F:3: claims[0].text: holds the control character U+001B",
        ),
        (
            'destinations:\n  - name: n\n    kind: slack\n    url: "https://hooks.example/SEKRIT\\0"\n',
            "F:4: destinations[0].url: holds the control character U+0000",
        ),
    ],
)
def test_control_characters_from_escapes_are_refused_by_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(expected), message
    assert "SEKRIT" not in message


def test_control_characters_from_the_environment_are_refused_but_line_breaks_pass(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("destinations:\n  - name: n\n    kind: slack\n    url: ${HOOK}\n")
    assert load(path, environ={"HOOK": "https://hooks.example/SEKRIT\n"}).destinations[0].url == (
        "https://hooks.example/SEKRIT"
    )
    with pytest.raises(ConfigError) as err:
        load(path, environ={"HOOK": "https://hooks.example/SEKRIT\x1b"})
    assert str(err.value) == f"{path}:4: destinations[0].url: holds the control character U+001B " + (
        "(only tab and line breaks are allowed)"
    )


@pytest.mark.parametrize(
    "text",
    [
        'database: {url: "postgresql+asyncpg://u:SEKRIT@db.example/w"}\n',
        'feeds: {url: "https://u:SEKRIT@a.example/rss?token=SEKRIT2"}\n',
        'feeds:\n  - ["https://u:SEKRIT@a.example/rss"]\n',
    ],
)
def test_credentials_inside_a_refused_list_or_mapping_are_not_echoed(tmp_path: Path, text: str) -> None:
    message = refused(tmp_path, text)
    assert "SEKRIT" not in message and "(got " in message, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "feeds:\n  - url: https://a.example/rss\n    intervall: 10m\n",
            "F:3: feeds[0].intervall: Extra inputs are not permitted (did you mean 'interval'?)",
        ),
        ("feed: []\n", "F:1: feed: Extra inputs are not permitted (did you mean 'feeds'?)"),
        (
            "daemon:\n  server: {enabld: true}\n",
            "F:2: daemon.server.enabld: Extra inputs are not permitted (did",
        ),
        (
            "http: {concurency: 5}\n",
            "F:1: http.concurency: Extra inputs are not permitted (did you mean 'concurr",
        ),
        ("feeds:\n  - https://a.example/rss\n", "F:2: feeds[0]: must be a mapping (key: value lines)"),
    ],
)
def test_unknown_keys_suggest_the_key_meant(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(tmp_path, text)
    assert message.startswith(expected) and "_Feed" not in message, message


def test_a_tab_is_named_in_the_yaml_error(tmp_path: Path) -> None:
    assert refused(tmp_path, "feeds:\n\t- url: https://a.example/rss\n").startswith(
        "F:2: invalid YAML: found character that cannot start any token (a tab: YAML indents with spaces only)"
    )


def test_utf16_with_a_byte_order_mark_is_read_and_other_bytes_are_named(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes("feeds:\n  - url: https://a.example/rss\n    outlet: Kyiv\n".encode("utf-16"))
    assert [f.outlet for f in load(path, environ={}).feeds] == ["Kyiv"]
    message = refused(tmp_path, b"feeds:\n  - url: https://a.example/rss\n    outlet: Caf\xe9\n")
    assert message == "F:3: not UTF-8 text: byte 0xe9 at offset 53 (save the file as UTF-8)"


def test_feed_urls_as_pasted_are_trimmed_and_idn_hosts_are_one_feed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: '  https://a.example/rss  '\n  - url: HTTPS://B.example/rss\n")
    assert [f.url for f in load(path, environ={}).feeds] == ["https://a.example/rss", "https://B.example/rss"]
    same = "feeds:\n  - url: https://bücher.example/rss\n  - url: https://xn--bcher-kva.example/rss/\n"
    assert refused(tmp_path, same).startswith("F:3: feeds[1].url: the same feed as feeds[0] on line 2")


def test_read_opml_refuses_a_file_that_is_not_opml(tmp_path: Path) -> None:
    for name, text, root in (
        (
            "feed.xml",
            '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title></channel></rss>',
            "rss",
        ),
        ("page.html", '<html><body><outline xmlUrl="https://a.example/rss"/></body></html>', "html"),
    ):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            read_opml(
                path, country="ZZ", language="und", leaning="unknown", ownership="unknown", interval_s=900
            )
        line = 2 if root == "rss" else 1
        assert str(err.value) == f"{path}:{line}: not an OPML file: the root element is <{root}>, not <opml>"


def test_read_opml_reads_each_feed_once_as_feeds_yaml_would(tmp_path: Path) -> None:
    path = tmp_path / "subs.opml"
    urls = [
        "https://a.example/rss",
        "https://A.example/rss/",
        "https://a.example/rss#top",
        "https://b.example/rss",
    ]
    outlines = "".join(f'<outline text="T{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls))
    path.write_text(f"<opml><body>{outlines}</body></opml>")
    specs = read_opml(
        path, country="ZZ", language="und", leaning="unknown", ownership="unknown", interval_s=900
    )
    assert [(s.url, s.outlet) for s in specs] == [
        ("https://a.example/rss", "T0"),
        ("https://b.example/rss", "T3"),
    ]


def test_claim_text_and_opml_outlets_with_control_characters_are_refused() -> None:
    assert claim_text_problem("NATO has more \x1b[31mshells") == (
        "the claim text holds the control character U+001B (only tab and line breaks are allowed)"
    )
    assert claim_text_problem("NATO has more\n\tshells") is None
    assert feed_problem("https://a.example/rss", "Kyiv\x85Post") == (
        "outlet: holds the control character U+0085 (only tab and line breaks are allowed)"
    )
