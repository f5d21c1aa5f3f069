"""The admin surface as a newsroom user hits it: a bad input is a usage error (exit 2) that names the file and line
or the argument, never a traceback, and never shows a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from watcher.cli import cli

TEXT = "NATO has surpassed Russia in ammunition production"
HOOK = "https://hooks.slack.com/services/T000/B000/hook-secret-value"
TOKEN = "short-secret"  # below the 16 characters a token needs


def watcher(tmp_path: Path, config: str, *args: str, env: dict[str, str] | None = None) -> Result:
    """``watcher --config tmp/feeds.yaml ARGS`` in this process, on a SQLite file in ``tmp_path``."""
    path = tmp_path / "feeds.yaml"
    path.write_text(config)
    environ = {"WATCHER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'watcher.db'}", **(env or {})}
    return CliRunner().invoke(cli, ["--config", str(path), *args], env=environ)


def assert_usage_error(r: Result, *words: str) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output and r.stdout == "", r.output
    for word in words:
        assert word in r.stderr, r.stderr


LEXICAL = "matching: {model: null}\n"


def test_a_claim_name_given_twice_names_both_lines(tmp_path: Path) -> None:
    config = (
        "claims:\n"
        "  - name: nato-ammo\n"
        f"    text: {TEXT}\n"
        "  - text: NATO leads in shells\n"
        "    name: NATO-Ammo\n"
    )
    r = watcher(tmp_path, config, "claims", "list")
    assert_usage_error(
        r,
        f"{tmp_path / 'feeds.yaml'}:5: claims[1].name: duplicate name 'NATO-Ammo'",
        "the same as 'nato-ammo'",
        "claims[0].name on line 2",
    )


def test_a_destination_name_given_twice_names_both_lines_and_no_url(tmp_path: Path) -> None:
    config = (
        "destinations:\n"
        "  - name: newsroom\n"
        "    kind: slack\n"
        "    url: ${HOOK}\n"
        "  - kind: slack\n"
        "    name: newsroom\n"
        "    url: ${HOOK}\n"
    )
    r = watcher(tmp_path, config, "claims", "list", env={"HOOK": HOOK})
    assert_usage_error(
        r,
        f"{tmp_path / 'feeds.yaml'}:6: destinations[1].name: duplicate name 'newsroom'",
        "destinations[0].name on line 2",
    )
    assert "hook-secret-value" not in r.output


def test_a_short_token_names_where_it_came_from_and_is_not_shown(tmp_path: Path) -> None:
    # From the environment, which wins over the file: the variable is the one to fix, not feeds.yaml.
    r = watcher(tmp_path, LEXICAL, "claims", "list", env={"WATCHER_SERVER_TOKEN": TOKEN})
    assert_usage_error(r, "error: WATCHER_SERVER_TOKEN: must be at least 16 characters")
    assert "feeds.yaml" not in r.stderr and TOKEN not in r.output
    # From the file: its line.
    config = LEXICAL + f"daemon:\n  server:\n    token: {TOKEN}\n"
    r = watcher(tmp_path, config, "claims", "list", env={"WATCHER_SERVER_TOKEN": ""})
    assert_usage_error(r, f"{tmp_path / 'feeds.yaml'}:4: daemon.server.token: must be at least 16 characters")
    assert TOKEN not in r.output


@pytest.mark.parametrize("listing", ["matches", "events"])
def test_an_empty_claim_filter_is_an_error_not_every_claim(tmp_path: Path, listing: str) -> None:
    # `--claim "$NAME"` with NAME unset must not list what every claim matched.
    assert watcher(tmp_path, LEXICAL, "claims", "add", TEXT, "--name", "ammo").exit_code == 0
    assert_usage_error(watcher(tmp_path, LEXICAL, listing, "list", "--claim", "", "--json"), "no claim ''")


def test_claims_test_refuses_an_empty_article_text_by_its_option(tmp_path: Path) -> None:
    assert watcher(tmp_path, LEXICAL, "claims", "add", TEXT, "--name", "ammo").exit_code == 0
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\xef\xbb\xbf \n")  # a byte-order mark and white space
    for args, option in [
        (("--text", ""), "--text"),
        (("--text", " \n\t"), "--text"),
        (("--file", str(empty)), "--file"),
        (("--file", "-"), "--file"),  # empty standard input
    ]:
        r = watcher(tmp_path, LEXICAL, "claims", "test", "ammo", *args, "--lexical-only", "--json")
        assert_usage_error(r, option, "the article text is empty")
    # A headline with no text is still a title-only item.
    titled = watcher(
        tmp_path, LEXICAL, "claims", "test", "ammo", "--text", "", "--title", TEXT, "--lexical-only"
    )
    assert titled.exit_code == 0, titled.output


@pytest.mark.parametrize(
    "args",
    [
        ("claims", "test", "ammo", "--url", "file:///etc/passwd"),
        ("claims", "test", "ammo", "--feed", "ftp://editor:pw-secret@example.org/rss?token=tok-secret"),
        ("claims", "test", "ammo", "--url", ""),
        ("feeds", "check", "file:///etc/passwd", "--json"),
        ("feeds", "check", "javascript:alert(1)"),
    ],
)
def test_a_url_to_fetch_that_is_not_http_is_a_usage_error_naming_it(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    assert watcher(tmp_path, LEXICAL, "claims", "add", TEXT, "--name", "ammo").exit_code == 0
    r = watcher(tmp_path, LEXICAL, *args)
    option = "URL" if args[0] == "feeds" else f"'{args[3]}'"
    assert_usage_error(r, f"Invalid value for {option}", "must be an http:// or https:// URL")
    assert "secret" not in r.output


# Python reads a command-line byte that is not UTF-8 (here 0xff, "ÿ" from a Latin-1 terminal) as U+DCFF.
LATIN1 = "\udcff"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (
            ("claims", "add", f"NATO has surpassed Russia in ammunition production, says Mr {LATIN1}"),
            "'TEXT'",
        ),
        (("claims", "add", TEXT, "--keyword", f"ammunition{LATIN1}"), "'--keyword'"),
        (("claims", "show", f"nato{LATIN1}"), "'CLAIM'"),
        (("matches", "list", "--claim", f"nato{LATIN1}", "--json"), "'--claim'"),
        (("feeds", "add", "https://example.org/rss", "--outlet", f"Le Monde{LATIN1}"), "'--outlet'"),
    ],
)
def test_an_argument_that_is_not_utf8_is_a_usage_error_and_stores_nothing(
    tmp_path: Path, args: tuple[str, ...], option: str
) -> None:
    assert watcher(tmp_path, LEXICAL, "db", "upgrade").exit_code == 0
    r = watcher(tmp_path, LEXICAL, *args)
    assert_usage_error(r, f"Invalid value for {option}: not UTF-8 text (byte 0xff)")
    assert watcher(tmp_path, LEXICAL, "claims", "list", "--json").stdout.strip() == "[]"


def test_an_environment_variable_that_is_not_utf8_names_its_line_in_feeds_yaml(tmp_path: Path) -> None:
    config = LEXICAL + "feeds:\n  - url: https://example.org/rss\n    outlet: ${OUTLET}\n"
    r = watcher(tmp_path, config, "claims", "list", env={"OUTLET": f"Le Monde{LATIN1}"})
    assert_usage_error(r, f"{tmp_path / 'feeds.yaml'}:4: feeds[0].outlet: holds the lone surrogate U+DCFF")
    assert "Le Monde" not in r.output
