"""Country codes, zero page intervals, OPML outlines, discovered feed links and database names in messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from storage.engine import database_problem, display_database, migration_problem
from tests.support.config_files import refused
from tests.support.config_files import write_config as write
from watcher.config import MAX_OUTLET, country_code, country_problem, load
from watcher.ingest.discover import candidate_problem, feed_links
from watcher.ingest.opml import read_opml

# --- country codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("gb", "GB"),
        ("UK", "GB"),
        ("uk", "GB"),
        ("EL", "GR"),
        ("ZR", "CD"),
        ("ZZ", "ZZ"),
        ("XK", "XK"),
        ("NO", "NO"),
    ],
)
def test_a_country_code_is_upper_cased_and_a_well_known_alias_read_as_its_country(
    given: str, code: str
) -> None:
    assert country_code(given) == code
    assert country_problem(given) is None


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("XX", "no country has this code"),
        ("QQ", "no country has this code"),
        ("AC", "no country has this code"),  # exceptionally reserved (Ascension), no country of its own
        ("EU", "stands for a group of countries"),
        ("UN", "stands for a group of countries"),
        ("YU", "now stands for RS, ME; name one of them"),
        ("Norway", ""),
        ("G1", ""),
        ("", ""),
    ],
)
def test_a_code_of_no_country_is_refused_saying_why(given: str, why: str) -> None:
    assert country_code(given) is None
    problem = country_problem(given)
    assert problem is not None and problem.startswith("an ISO 3166 alpha-2 code such as US, UA or RU")
    assert why in problem
    assert given not in problem or not given  # the value may come from the environment: never quoted


def test_feeds_yaml_refuses_an_unknown_country_naming_file_line_and_field(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        "feeds:\n  - url: https://a.example/rss\n  - url: https://b.example/rss\n    country: XX\n",
    )
    assert message == (
        "F:4: feeds[1].country: must be an ISO 3166 alpha-2 code such as US, UA or RU (ZZ for unknown): "
        "no country has this code (got 'XX')"
    )
    assert "group of countries (got 'EU')" in refused(
        tmp_path, "feeds:\n  - url: https://a.example/rss\n    country: EU\n"
    )


def test_the_default_country_is_checked_like_a_feeds(tmp_path: Path) -> None:
    message = refused(tmp_path, "defaults: {country: XX}\nfeeds:\n  - url: https://a.example/rss\n")
    assert message.startswith("F:1: defaults.country: must be an ISO 3166 alpha-2 code")
    assert refused(tmp_path, "defaults: {country: Norway}\n").startswith("F:1: defaults.country: must be")


def test_feeds_yaml_reads_uk_as_gb_in_feeds_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "defaults: {country: uk}\nfeeds:\n  - url: https://a.example/rss\n"
        "  - url: https://b.example/rss\n    country: UK\n  - url: https://c.example/rss\n    country: el\n",
    )
    assert [f.country for f in load(path, environ={}).feeds] == ["GB", "GB", "GR"]


def test_a_country_from_the_environment_is_not_echoed(tmp_path: Path) -> None:
    message = refused(
        tmp_path, "feeds:\n  - url: https://a.example/rss\n    country: ${C}\n", environ={"C": "QJ"}
    )
    assert message.startswith("F:3: feeds[0].country: must be") and "QJ" not in message


# --- pages.min_interval: 0 ------------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["0", "0s", "0m", "'0'", "0.0", "' 0 ms '"])
def test_a_zero_page_interval_and_robots_ttl_are_taken_as_none(tmp_path: Path, zero: str) -> None:
    path = write(tmp_path, f"pages: {{min_interval: {zero}, robots_ttl: {zero}}}\n")
    pages = load(path, environ={}).pages
    assert (pages.min_interval_s, pages.robots_ttl_s) == (0.0, 0.0)


def test_a_negative_or_boolean_page_interval_is_still_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "pages: {min_interval: -1}\n") == (
        "F:1: pages.min_interval: a duration must be 0 or positive (got -1)"
    )
    assert "pages.min_interval: expected a duration" in refused(tmp_path, "pages: {min_interval: false}\n")
    assert load(write(tmp_path, "pages: {min_interval: 2s}\n"), environ={}).pages.min_interval_s == 2.0


# --- OPML outlines --------------------------------------------------------------------------------


def opml(tmp_path: Path, *outlines: str) -> Path:
    path = tmp_path / "subs.opml"
    path.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><body>\n' + "\n".join(outlines) + "\n</body></opml>\n"
    )
    return path


def read(path: Path) -> list[tuple[str, str]]:
    specs = read_opml(
        path, country="GB", language="en", leaning="unknown", ownership="unknown", interval_s=900
    )
    return [(s.url, s.outlet) for s in specs]


def test_an_outline_with_a_very_long_title_is_imported_with_it_shortened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = opml(
        tmp_path,
        '<outline text="Short" xmlUrl="https://a.example/rss"/>',
        f'<outline title="{"Daily news " * 500}" text="t" xmlUrl="https://long.example/rss"/>',
        f'<outline text="{"N" * 5000}" xmlUrl="https://nospace.example/rss"/>',
    )
    with caplog.at_level(logging.WARNING, logger="watcher.ingest.opml"):
        (short, spaced, unbroken) = read(path)
    assert short == ("https://a.example/rss", "Short")
    assert spaced[0] == "https://long.example/rss" and spaced[1].startswith("Daily news Daily")
    assert len(spaced[1]) <= MAX_OUTLET and spaced[1].endswith("news…")  # cut between words
    assert unbroken == ("https://nospace.example/rss", "N" * (MAX_OUTLET - 1) + "…")
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}:4: outline title shortened to 200 characters (xmlUrl 'https://long.example/rss')",
        f"{path}:5: outline title shortened to 200 characters (xmlUrl 'https://nospace.example/rss')",
    ]


def test_outline_fields_a_user_would_expect_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = opml(
        tmp_path,
        f'<outline text="Html" htmlUrl="https://site.example/{"p" * 5000}" xmlUrl="https://html.example/rss"/>',
        '<outline xmlUrl="https://untitled.example/rss"/>',
        '<outline title=" " text="From text" xmlUrl="https://text.example/rss"/>',
        '<outline TEXT="Shouting" XMLURL="https://upper.example/rss"/>',
        '<outline text="Scheme" xmlUrl="HTTPS://Scheme.example/rss"/>',
        '<outline text="First" xmlUrl="https://Dup.example/feed"/>',
        '<outline text="Again" xmlUrl="https://dup.EXAMPLE/feed/"/>',
        '<outline text="Path case" xmlUrl="https://dup.example/FEED"/>',
    )
    with caplog.at_level(logging.WARNING, logger="watcher.ingest.opml"):
        found = read(path)
    assert found == [
        ("https://html.example/rss", "Html"),
        ("https://untitled.example/rss", "untitled.example"),
        ("https://text.example/rss", "From text"),
        ("https://upper.example/rss", "Shouting"),
        ("https://Scheme.example/rss", "Scheme"),  # the scheme lower-cased, as feeds.yaml stores it
        ("https://Dup.example/feed", "First"),
        ("https://dup.example/FEED", "Path case"),  # paths are case-sensitive: another feed
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}:9: outline skipped: the same feed as line 8 (xmlUrl 'https://dup.EXAMPLE/feed/')"
    ]


# --- feed links discovered on a page --------------------------------------------------------------


def link(href: str) -> str:
    return f'<link rel="alternate" type="application/rss+xml" href="{href}">'


def test_feed_links_get_the_checks_of_a_typed_url(caplog: pytest.LogCaptureFixture) -> None:
    page = "".join(
        link(href)
        for href in (
            "https://other.example/" + "x" * 3000,
            "https://reader:s3cret@other.example/rss",
            "https://other.example/a b.xml",
            "/good.xml",
        )
    )
    with caplog.at_level(logging.WARNING, logger="watcher.ingest.discover"):
        found = feed_links(f"<html><head>{page}</head></html>", "https://site.example/")
    assert [c.url for c in found] == ["https://site.example/good.xml"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3 and all(m.startswith("feed link skipped: url: ") for m in messages)
    assert "at most 2048 characters" in messages[0]
    assert "holds credentials" in messages[1] and "s3cret" not in "".join(messages)
    assert "spaces" in messages[2]


def test_a_relative_feed_link_keeps_the_credentials_the_user_typed() -> None:
    page = f"<html><head>{link('/members.xml')}</head></html>"
    assert [c.url for c in feed_links(page, "https://me:pw@site.example/")] == [
        "https://me:pw@site.example/members.xml"
    ]
    assert candidate_problem("https://me:pw@site.example/x", "https://me:pw@site.example/") is None
    assert candidate_problem("https://me@other.example/x", "https://site.example/") is not None
    assert candidate_problem("javascript:alert(1)", "https://site.example/") == (
        "url: must be an http:// or https:// URL"
    )


# --- databases in messages ------------------------------------------------------------------------


def test_a_database_is_named_without_credentials() -> None:
    shown = display_database("postgresql://watcher:hunter2@db.internal:5432/news?password=k3y")
    assert shown == "postgresql+asyncpg://db.internal:5432/news"
    assert display_database("sqlite:///var/lib/watcher.db") == "sqlite+aiosqlite:///var/lib/watcher.db"
    assert display_database("not a url") == "(a database URL that is not valid)"


def test_a_migration_from_an_unknown_revision_says_a_newer_version_ran() -> None:
    message = migration_problem(
        RuntimeError("Can't locate revision"),
        "postgresql+asyncpg://u:hunter2@db/news",
        start="abc123",
        target="0009",
        head="0009",
        known={"0001", "0009"},
    )
    assert message.splitlines() == [
        "database postgresql+asyncpg://db/news is at schema revision 'abc123', which this version of watcher "
        "does not know (its latest is 0009): a newer version migrated it.",
        "Run that version, or restore a backup made before it ran.",
    ]


def test_a_failed_migration_step_names_both_revisions_and_the_cure() -> None:
    message = migration_problem(
        ValueError("no such table: articles\n[SQL: ALTER TABLE articles ...]"),
        "sqlite:///w.db",
        start="0006",
        target="0009",
        head="0009",
        known={"0006", "0007", "0009"},
        failed_at="0007",
    )
    assert message.splitlines() == [
        "cannot migrate database sqlite+aiosqlite:///w.db from revision 0006 to 0009 (at 0007): "
        "ValueError: no such table: articles",
        "Nothing was changed (it is still at revision 0006): if its schema was changed by hand, restore a backup.",
    ]


def test_a_missing_table_is_a_database_problem_not_a_traceback() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    exc = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: events"))
    problem = database_problem(exc)
    assert problem is not None and problem.startswith("its schema is not the one this version expects")
    assert database_problem(OperationalError("x", {}, sqlite3.OperationalError("disk I/O error"))) is None


# --- matching.model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["''", "' '"])
def test_an_empty_model_name_is_refused_not_read_as_off(tmp_path: Path, empty: str) -> None:
    assert refused(tmp_path, f"matching: {{model: {empty}}}\n").startswith(
        "F:1: matching.model: must be a model name or path, not empty (null: lexical matching only)"
    )
    assert load(write(tmp_path, "matching: {model: null}\n"), environ={}).matching.model is None


# --- shifts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["0", "0s", "0h", "'0'"])
def test_a_zero_fresh_window_in_any_unit_turns_backfill_off(tmp_path: Path, zero: str) -> None:
    assert load(write(tmp_path, f"shifts: {{fresh_window: {zero}}}\n"), environ={}).shifts.fresh_window_s == 0


def test_fresh_window_and_fresh_window_s_together_are_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "shifts:\n  fresh_window: 1h\n  fresh_window_s: 60\n") == (
        "F:2: shifts.fresh_window: give it or shifts.fresh_window_s, not both"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("spike_min_stories: 2.5", "shifts.spike_min_stories: must be a whole number, got 2.5"),
        (
            "stale_after_s: 1.0e+15",
            "shifts.stale_after_s: must be at most 31536000 (365 days), got 1000000000000000.0",
        ),
        (
            "framing_min_stories: 10000000",
            "shifts.framing_min_stories: must be at most 1000000, got 10000000",
        ),
    ],
)
def test_shift_settings_are_whole_numbers_within_bounds(tmp_path: Path, text: str, why: str) -> None:
    assert refused(tmp_path, f"shifts:\n  {text}\n") == f"F:2: {why}"


# --- settings valid alone, not together -------------------------------------------------------------------


def test_a_stub_bound_above_the_text_cap_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "pages:\n  max_text_chars: 100\n  min_text_chars: 300\n") == (
        "F:3: pages.min_text_chars: must not exceed pages.max_text_chars, or every page would read as a stub "
        "(got 300 and 100)"
    )
