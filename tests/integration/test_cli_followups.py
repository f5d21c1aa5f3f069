"""Failed migrations on real SQLite files, country codes and OPML titles through the CLI, discovered links."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from storage.engine import make_engine
from storage.migrate import current, head, upgrade
from tests.support.article_pages import home_page
from tests.support.cli import Watcher
from tests.support.feed_server import FeedServer, Route
from watcher.errors import StorageError
from watcher.ingest.discover import discover_feeds
from watcher.ingest.http import HttpSettings, make_session

CONFIG = "matching: {model: null}\ndaemon: {server: {enabled: false}}\ndefaults: {full_text: never}\n"


def sql(path: Path, *statements: str) -> list[tuple[object, ...]]:
    """Run ``statements`` on the SQLite file as a person with the sqlite3 shell would; the last one's rows."""
    conn = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = conn.execute(statement).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "watcher.db"


@pytest.fixture
async def migrated(db_file: Path) -> Path:
    """A SQLite file migrated to the latest revision."""
    engine = make_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return db_file


# --- failed migrations ----------------------------------------------------------------------------


async def test_a_database_a_newer_version_migrated_is_one_clear_error(migrated: Path) -> None:
    sql(migrated, "UPDATE alembic_version SET version_num = 'ffff9999'")
    engine = make_engine(f"sqlite+aiosqlite:///{migrated}")
    try:
        with pytest.raises(StorageError) as err:
            await upgrade(engine)
        assert await current(engine) == "ffff9999"
    finally:
        await engine.dispose()
    assert str(err.value).splitlines() == [
        f"database sqlite+aiosqlite:///{migrated} is at schema revision 'ffff9999', which this version of "
        f"watcher does not know (its latest is {head()}): a newer version migrated it.",
        "Run that version, or restore a backup made before it ran.",
    ]


async def test_a_migration_step_failing_on_a_hand_altered_schema_changes_nothing(db_file: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        await upgrade(engine, "0006")
        sql(db_file, "DROP TABLE articles")
        with pytest.raises(StorageError) as err:
            await upgrade(engine)
        assert await current(engine) == "0006"
    finally:
        await engine.dispose()
    assert str(err.value).splitlines() == [
        f"cannot migrate database sqlite+aiosqlite:///{db_file} from revision 0006 to {head()} (at 0007): "
        "OperationalError: no such table: articles",
        "Nothing was changed (it is still at revision 0006): if its schema was changed by hand, restore a backup.",
    ]
    assert sql(db_file, "SELECT count(*) FROM sqlite_master WHERE name = 'article_versions'") == [(0,)]


async def test_the_cli_and_the_daemon_start_report_a_failed_migration_in_two_lines(
    migrated: Path, tmp_path: Path
) -> None:
    sql(migrated, "UPDATE alembic_version SET version_num = 'ffff9999'")
    watcher = Watcher(tmp_path, f"sqlite+aiosqlite:///{migrated}")
    watcher.config.write_text(CONFIG)
    for argv in (("db", "upgrade"), ("run",)):
        r = await watcher(*argv)
        assert r.code == 1, (argv, r.err)
        assert "Traceback" not in r.err
        assert r.err.splitlines() == [
            f"error: database sqlite+aiosqlite:///{migrated} is at schema revision 'ffff9999', which this "
            f"version of watcher does not know (its latest is {head()}): a newer version migrated it.",
            "Run that version, or restore a backup made before it ran.",
        ], argv


async def test_a_table_dropped_by_hand_is_named_not_a_traceback(migrated: Path, tmp_path: Path) -> None:
    sql(migrated, "DROP TABLE events")
    watcher = Watcher(tmp_path, f"sqlite+aiosqlite:///{migrated}")
    watcher.config.write_text(CONFIG)
    r = await watcher("events", "list")
    assert r.code == 1 and "Traceback" not in r.err and "SELECT" not in r.err, r.err
    assert r.err.splitlines() == [
        f"error: the database sqlite+aiosqlite:///{migrated} is unusable: its schema is not the one this "
        "version expects (a table or column is missing: changed by hand?); restore a backup"
    ]


# --- country codes and OPML titles through the CLI ------------------------------------------------


async def test_feeds_add_and_import_opml_check_country_codes_as_feeds_yaml_does(
    tmp_path: Path, sqlite_url: str
) -> None:
    watcher = Watcher(tmp_path, sqlite_url)
    watcher.config.write_text(CONFIG)
    subs = tmp_path / "subs.opml"
    subs.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><body>\n'
        '<outline text="Short" xmlUrl="https://a.example/rss"/>\n'
        f'<outline text="{"Long title " * 500}" xmlUrl="https://b.example/rss"/>\n'
        "</body></opml>\n"
    )
    added = await watcher("feeds", "add", "https://a.example/rss", "--country", "XX")
    assert added.code == 2
    assert (
        "Invalid value for '--country': 'XX' is not an ISO 3166 alpha-2 code such as US, UA or RU "
        "(ZZ for unknown): no country has this code"
    ) in added.err
    refused = await watcher("feeds", "import-opml", str(subs), "--country", "EU")
    assert refused.code == 2 and "'EU' is not an ISO 3166" in refused.err
    assert "group of countries" in refused.err
    imported = await watcher("feeds", "import-opml", str(subs), "--country", "uk", "--json")
    assert imported.code == 0, imported.err
    assert imported.json() == {"file": str(subs), "feeds": 2, "added": 2, "updated": 0}
    assert f"{subs}:4: outline title shortened to 200 characters" in imported.err
    listed = {f["url"]: f for f in (await watcher("feeds", "list", "--json")).json()}
    assert {url: f["country"] for url, f in listed.items()} == {
        "https://a.example/rss": "GB",
        "https://b.example/rss": "GB",
    }
    long = listed["https://b.example/rss"]["outlet"]
    assert long.startswith("Long title Long") and long.endswith("…") and len(long) <= 200


# --- feed links discovered on a page --------------------------------------------------------------

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Site News</title></channel></rss>'


async def test_discovery_drops_links_a_typed_url_would_not_pass(aiohttp_server: AiohttpServer) -> None:
    server = FeedServer()
    await server.start_under(aiohttp_server)
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="{href}">'
        for href in (
            server.url("/" + "x" * 3000 + ".xml"),
            server.url("/news.xml").replace("http://", "http://reader:s3cret@"),
            server.url("/a b.xml"),
            "/news.xml",
        )
    )
    server.routes["/"] = Route(body=home_page(links), content_type="text/html; charset=utf-8")
    server.routes["/news.xml"] = Route(body=RSS)
    http = HttpSettings(allow_private=True, total_timeout_s=5.0)
    async with make_session(http) as session:
        found = await discover_feeds(session, server.url("/"), http, now=datetime(2025, 11, 6, tzinfo=UTC))
    assert [(c.url, c.source) for c in found.candidates] == [(server.url("/news.xml"), "link")]
