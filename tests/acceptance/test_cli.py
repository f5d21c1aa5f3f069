"""The CLI end to end, as a user runs it: real processes, a local feed server and a real database."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from storage.sql import open_store
from tests.support.article_pages import article_page, home_page
from tests.support.cli import ARTICLE_KEYS, MATCH_KEYS, Watcher
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.stories import DENIAL, SECRET, STRAIGHT, UNRELATED, rss

ROOT = Path(__file__).resolve().parents[2]


def write_config(
    w: Watcher, server: FeedServer, *, receiver: Receiver | None = None, extra_feeds: int = 0, port: int = 0
) -> None:
    lines = [
        "http: {allow_private: true, total_timeout: 5s}",
        "matching: {model: null}",
        "defaults: {full_text: never}",  # the stories link to news.example: no page to fetch
        f"daemon: {{tick: 1s, server: {{host: 127.0.0.1, port: {port}, enabled: {'true' if port else 'false'}}}}}",
        "feeds:",
        f"  - {{url: '{server.url('/kyiv.xml')}', outlet: Kyiv Post, country: UA, language: en, ownership: private}}",
        f"  - {{url: '{server.url('/tass.xml')}', outlet: TASS, country: RU, language: en, ownership: state}}",
    ]
    lines += [f"  - {{url: '{server.url(f'/x{i}.xml')}', outlet: X{i}}}" for i in range(extra_feeds)]
    lines += ["claims:", "  - {name: nato-ammo, text: NATO has surpassed Russia in ammunition production}"]
    if receiver is not None:
        lines += [
            "destinations:",
            f"  - {{name: cms, kind: webhook, url: '{receiver.url('/hook')}', secret: '{SECRET}', allow_private: true}}",
        ]
    w.config.write_text("\n".join(lines) + "\n")


@pytest.fixture
def watcher(tmp_path: Path, sqlite_url: str) -> Watcher:
    """The CLI on SQLite (the store contract itself is tested on both backends)."""
    return Watcher(tmp_path, sqlite_url)


@pytest.fixture
def any_watcher(tmp_path: Path, db_url: str) -> Watcher:
    """The CLI on each backend."""
    return Watcher(tmp_path, db_url)


async def test_poll_once_end_to_end_and_the_listings(server: FeedServer, any_watcher: Watcher) -> None:
    watcher = any_watcher
    async with Receiver(secret=SECRET) as receiver:
        write_config(watcher, server, receiver=receiver)
        r = await watcher("poll-once", "--all", "--json")
        assert r.code == 0, r.err
        report = r.json()
        assert report["feeds_polled"] == 2 and report["new_articles"] == 3 and report["matches"] == 2
        assert report["delivered"] == report["events"] >= 1
        assert len(receiver.processed_ids) == report["events"] and receiver.duplicates == 0

    matches = (await watcher("matches", "list", "--json")).json()
    assert {m["article"]["outlet"] for m in matches} == {"Kyiv Post", "TASS"}
    m = matches[0]
    assert set(m) >= MATCH_KEYS
    denial = next(m for m in matches if m["article"]["outlet"] == "TASS")
    assert denial["stance"] == "disputes" and "dismissed as nonsense" in denial["evidence"][0]
    assert {"kind": "counter_voice", "text": "dismissed as nonsense"} in denial["cues"]
    assert set(m["article"]) >= ARTICLE_KEYS
    events = (await watcher("events", "list", "--claim", "nato-ammo", "--json")).json()
    assert events and all(e["id"].startswith("evt_") and e["claim"]["name"] == "nato-ammo" for e in events)
    alerts = (await watcher("alerts", "list", "--status", "delivered", "--json")).json()
    assert len(alerts) == len(events)
    feeds = (await watcher("feeds", "list", "--json")).json()
    assert {f["last_status"] for f in feeds} == {200} and {f["error_count"] for f in feeds} == {0}
    shown = (await watcher("claims", "show", "nato-ammo", "--json")).json()
    assert shown["matches"] == 2 and set(shown["outlets"]) == {"Kyiv Post", "TASS"}


async def test_feed_credentials_never_reach_listings_or_debug_logs(
    server: FeedServer, watcher: Watcher
) -> None:
    secret = server.url("/kyiv.xml").replace("http://", "http://reader:hunter2@") + "?token=s3cr3t&lang=en"
    watcher.config.write_text(
        "http: {allow_private: true}\nmatching: {model: null}\n"
        f"feeds:\n  - {{url: '{secret}', outlet: Kyiv Post}}\n"
        "  - {url: 'https://feeds.example/rss?API_KEY=k3y&sig=5ig', outlet: Other}\n"
    )
    polled = await watcher("-v", "poll-once", "--all")
    assert polled.code in (0, 1), polled.err
    assert "DEBUG" in polled.err  # -v is on, yet no SQL parameters are logged
    listed = await watcher("feeds", "list")
    as_json = await watcher("feeds", "list", "--json")
    for shown in (polled.err, polled.out, listed.out, as_json.out):
        for leak in ("hunter2", "reader:", "s3cr3t", "k3y", "5ig"):
            assert leak not in shown, (leak, shown)
    local, other = sorted(f["url"] for f in as_json.json())
    assert other == "https://feeds.example/rss?API_KEY=…&sig=…"
    assert local.endswith("/kyiv.xml?token=…&lang=en") and "@" not in local


async def test_an_unusable_database_is_one_clear_error(server: FeedServer, tmp_path: Path) -> None:
    file = tmp_path / "ro.db"
    setup = Watcher(tmp_path, f"sqlite+aiosqlite:///{file}")
    write_config(setup, server)
    assert (await setup("poll-once", "--all")).code == 0
    read_only = Watcher(tmp_path, f"sqlite+aiosqlite:///file:{file}?mode=ro&uri=true")
    (tmp_path / "a-file").write_text("not a folder")
    no_folder = Watcher(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'w.db'}")
    # Writing to a database opened read-only fails at run time (1); a path that cannot be a database file (a folder
    # on the way is a file) is bad configuration (2), found before SQLite opens it.
    for w, expected, code in ((read_only, "read-only", 1), (no_folder, "a-file is a file, not a folder", 2)):
        for argv in (
            ("claims", "add", "Russia has run out of shells", "--name", "shells"),
            ("poll-once", "--all"),
        ):
            r = await w(*argv)
            assert r.code == code, (argv, r.err)
            assert "Traceback" not in r.err and "INSERT" not in r.err and "parameters" not in r.err, r.err
            assert expected in r.err.strip().splitlines()[-1], r.err


async def test_claims_admin_commands(server: FeedServer, watcher: Watcher) -> None:
    write_config(watcher, server)
    added = await watcher(
        "claims",
        "add",
        "Russia produces three times more shells than NATO",
        "--name",
        "shells",
        "--keyword",
        "shells",
        "--threshold",
        "0.4",
        "--json",
    )
    assert added.code == 0, added.err
    assert added.json()["keywords"] == ["shells"] and added.json()["threshold"] == 0.4
    dup = await watcher("claims", "add", "Shells are cheaper in Russia", "--name", "shells")
    assert dup.code == 2 and "already exists" in dup.err  # a usage error, like an unknown claim
    assert (await watcher("claims", "edit", "shells", "--threshold", "0.5", "--json")).json()[
        "threshold"
    ] == 0.5
    assert (await watcher("claims", "pause", "shells", "--json")).json()["status"] == "paused"
    listed = (await watcher("claims", "list", "--status", "active", "--json")).json()
    assert listed == []  # feeds.yaml's claim is not in the database until a sync
    synced = await watcher("sync", "--json")
    assert synced.json() == {
        "feeds": {"added": 2, "updated": 0, "disabled": 0},
        "claims": {"added": 1, "updated": 0},
    }
    assert (await watcher("sync", "--json")).json()["feeds"] == {"added": 0, "updated": 0, "disabled": 0}
    listed = (await watcher("claims", "list", "--status", "active", "--json")).json()
    assert [c["name"] for c in listed] == ["nato-ammo"]  # declared in feeds.yaml
    assert (await watcher("claims", "resume", "shells", "--json")).json()["status"] == "active"
    assert (await watcher("claims", "remove", "shells", "--yes")).code == 0
    missing = await watcher("claims", "show", "shells")
    assert missing.code == 2 and "no claim 'shells'" in missing.err


async def test_claims_test_is_a_dry_run(server: FeedServer, watcher: Watcher) -> None:
    write_config(watcher, server)
    await watcher("claims", "add", "NATO has surpassed Russia in ammunition production", "--name", "ammo")
    r = await watcher("claims", "test", "ammo", "--title", DENIAL[1], "--text", DENIAL[2], "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["matched"] is True and out["stance"] == "disputes" and out["evidence"]
    assert any(c["kind"] in {"counter_voice", "contradiction"} for c in out["cues"])
    claimed = "NATO has surpassed Russia in ammunition production, the alliance said on Monday."
    disputed = "Moscow rejected the figures as misleading."
    r = await watcher("claims", "test", "ammo", "--text", f"{claimed} {disputed}", "--json")
    # The disputing sentence is shown first, the sentence that states the claim beside it.
    assert r.json()["stance"] == "disputes" and r.json()["evidence"][:2] == [disputed, claimed]
    lead = (
        "NATO has surpassed Russia in ammunition production, Secretary General Mark Rutte said on Thursday."
    )
    server.routes["/story"] = Route(body=article_page("Rutte on output", lead), content_type="text/html")
    page = await watcher("claims", "test", "ammo", "--url", server.url("/story"), "--json")
    assert page.code == 0, page.err
    assert page.json()["matched"] is True and lead in page.json()["evidence"][0]
    feed = await watcher("claims", "test", "ammo", "--url", server.url("/kyiv.xml"))
    assert feed.code == 1 and "is a feed with 1 items; test them with --feed" in feed.err
    items = await watcher("claims", "test", "ammo", "--feed", server.url("/kyiv.xml"), "--json")
    assert items.code == 0, items.err
    (item,) = items.json()
    assert item["title"] == STRAIGHT[1] and item["matched"] is True
    off = await watcher("claims", "test", "ammo", "--text", UNRELATED[2], "--json")
    assert off.json()["matched"] is False
    assert (await watcher("matches", "list", "--json")).json() == []  # nothing stored
    both = await watcher("claims", "test", "ammo", "--text", "a", "--url", "http://x")
    assert both.code == 2
    assert (await watcher("claims", "test", "ammo")).code == 2  # nothing to try
    # --title alone: a title-only item, read as its headline.
    headline = await watcher(
        "claims", "test", "ammo", "--title", "NATO overtakes Russia in ammunition output"
    )
    assert headline.code == 0, headline.err
    credited = await watcher(
        "claims",
        "test",
        "ammo",
        "--title",
        "NATO overtakes Russia in ammunition output, officials say",
        "--json",
    )
    assert credited.json()["matched"] is True and credited.json()["stance"] == "neutral"
    assert "attribution" in {c["kind"] for c in credited.json()["cues"]}


async def test_claims_test_reads_a_page_with_an_unknown_charset_and_hides_credentials(
    server: FeedServer, watcher: Watcher
) -> None:
    write_config(watcher, server)
    await watcher("claims", "add", "NATO has surpassed Russia in ammunition production", "--name", "ammo")
    page = f"<html><title>{STRAIGHT[1]}</title><body><p>{STRAIGHT[2]} Caf\u00e9.</p></body></html>"
    server.routes["/bogus.html"] = Route(
        body=page.encode("utf-8"), content_type="text/html; charset=x-bogus-999"
    )
    r = await watcher("claims", "test", "ammo", "--url", server.url("/bogus.html"), "--json")
    assert r.code == 0, r.err
    assert r.json()["matched"] is True and "LookupError" not in r.err
    # An error names the page without its userinfo or query values.
    secret_url = server.url("/missing.html").replace("http://", "http://user:hunter2@") + "?token=s3cr3t"
    missing = await watcher("claims", "test", "ammo", "--url", secret_url)
    assert missing.code == 1 and "HTTP 404" in missing.err
    assert "hunter2" not in missing.err + missing.out and "s3cr3t" not in missing.err + missing.out


async def test_claims_edit_refuses_an_empty_or_wordless_text_by_name(
    server: FeedServer, watcher: Watcher
) -> None:
    write_config(watcher, server)
    await watcher("claims", "add", "NATO has surpassed Russia in ammunition production", "--name", "ammo")
    for text, reason in (("", "too short"), ("\U0001f4a5\U0001f4a5\U0001f4a5 !!!", "has no words")):
        r = await watcher("claims", "edit", "ammo", "--text", text)
        assert r.code == 2 and "--text" in r.err and reason in r.err, r.err
    added = await watcher("claims", "add", "\u2014 ... \u2014", "--name", "dashes")
    assert added.code == 2 and "has no words" in added.err, added.err


async def test_claims_test_reads_a_utf8_file_and_names_one_that_is_not(
    server: FeedServer, watcher: Watcher
) -> None:
    write_config(watcher, server)
    await watcher("claims", "add", "NATO has surpassed Russia in ammunition production", "--name", "ammo")
    text = "NATO has surpassed Russia in ammunition production. That is false, Moscow said."
    (watcher.tmp / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())
    r = await watcher("claims", "test", "ammo", "--file", "bom.txt", "--json")
    assert r.code == 0, r.err
    assert r.json()["matched"] is True and r.json()["stance"] == "disputes"
    latin1 = ("Le pr\u00e9sident: " + text).encode("latin-1")
    (watcher.tmp / "latin1.txt").write_bytes(latin1)
    for args, stdin, named in (
        (("--file", "latin1.txt"), None, "latin1.txt"),
        (("--file", "-"), latin1, "standard input"),
    ):
        bad = await watcher("claims", "test", "ammo", *args, stdin=stdin)
        assert bad.code == 2 and "Traceback" not in bad.err
        assert f"{named} is not UTF-8 text: byte 0xe9 at offset 5" in bad.err


async def test_backfill_matches_stored_articles_with_progress(server: FeedServer, watcher: Watcher) -> None:
    write_config(watcher, server)
    assert (await watcher("poll-once", "--all")).code == 0
    await watcher("claims", "add", "The Kremlin dismissed the NATO claim as nonsense", "--name", "kremlin")
    r = await watcher("claims", "backfill", "kremlin", "--json")
    assert r.code == 0, r.err
    assert r.json()["articles"] == 3 and r.json()["new_matches"] >= 1
    again = await watcher("claims", "backfill", "kremlin", "--since", "2000-01-01", "--json")
    assert again.json()["new_matches"] == 0  # idempotent


async def test_feeds_check_and_import_opml(server: FeedServer, watcher: Watcher, tmp_path: Path) -> None:
    write_config(watcher, server)
    ok = await watcher("feeds", "check", server.url("/kyiv.xml"), "--json")
    assert ok.code == 0 and ok.json()[0]["items"] == 1
    bad = await watcher("feeds", "check", server.url("/missing.xml"), "--json")
    assert bad.code == 1 and "404" in bad.json()[0]["error"]
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
        f'<outline text="Kyiv" xmlUrl="{server.url("/kyiv.xml")}"/>'
        '<outline text="Other" type="rss" xmlUrl="https://other.example/rss"/></outline></body></opml>'
    )
    imported = await watcher("feeds", "import-opml", str(opml), "--country", "ua", "--json")
    assert imported.code == 0 and imported.json()["feeds"] == 2
    urls = {f["url"]: f for f in (await watcher("feeds", "list", "--json")).json()}
    assert urls["https://other.example/rss"]["country"] == "UA"
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body>\n<outline")
    err = await watcher("feeds", "import-opml", str(broken))
    assert err.code == 2 and "broken.opml:2" in err.err


async def test_feeds_add_finds_the_feed_of_a_home_page_and_sync_keeps_it(
    server: FeedServer, watcher: Watcher
) -> None:
    write_config(watcher, server)
    link = f'<link rel="alternate" type="application/rss+xml" title="News" href="{server.url("/news.xml")}">'
    server.routes["/"] = Route(body=home_page(link), content_type="text/html; charset=utf-8")
    server.routes["/news.xml"] = Route(body=rss("Example News", [UNRELATED]))
    server.routes["/plain"] = Route(body=home_page(""), content_type="text/html; charset=utf-8")
    checked = await watcher("feeds", "check", server.url("/"), "--json")
    assert checked.code == 0, checked.err
    (found,) = checked.json()
    assert (found["url"], found["found_from"], found["items"]) == (
        server.url("/news.xml"),
        server.url("/"),
        1,
    )
    added = await watcher("feeds", "add", server.url("/"), "--country", "gb", "--interval", "30m")
    assert added.code == 0, added.err
    assert added.out.startswith(f"added {server.url('/news.xml')} (the feed of {server.url('/')})")
    nothing = await watcher("feeds", "add", server.url("/plain"), "--json")
    assert nothing.code == 1 and "no feed found" in nothing.json()["error"]
    # A later config sync (any command that reads feeds.yaml) leaves the CLI-added feed enabled.
    assert (await watcher("poll-once", "--all")).code == 0
    feeds = {f["url"]: f for f in (await watcher("feeds", "list", "--json")).json()}
    assert len(feeds) == 3
    news = feeds[server.url("/news.xml")]
    assert (news["outlet"], news["country"], news["interval_s"]) == ("Example News", "GB", 1800)


async def test_dry_runs_store_nothing_and_poll_once_lists_feed_errors(
    server: FeedServer, watcher: Watcher
) -> None:
    write_config(watcher, server, extra_feeds=1)  # /x0.xml is not served
    checked = await watcher("feeds", "check", "--json")
    assert checked.code == 1 and len(checked.json()) == 3  # the feeds of feeds.yaml, not yet in the database
    tried = await watcher(
        "claims", "test", "nato-ammo", "--title", STRAIGHT[1], "--text", STRAIGHT[2], "--json"
    )
    assert tried.code == 0, tried.err
    assert tried.json()["claim"]["name"] == "nato-ammo"  # declared in feeds.yaml only
    store = await open_store(watcher.env["WATCHER_DATABASE_URL"])
    try:
        assert await store.list_feeds(include_disabled=True) == [] and await store.list_claims() == []
    finally:
        await store.close()
    r = await watcher("poll-once", "--all", "--json")
    assert r.code == 0, r.err
    report = r.json()
    assert report["feeds_failed"] == 1 and len(report["errors"]) == 1
    assert report["errors"][0].startswith("X0 (feed ") and "404" in report["errors"][0]


async def test_bad_config_exits_2_naming_file_line_and_field(server: FeedServer, watcher: Watcher) -> None:
    watcher.config.write_text("feeds:\n  - url: https://x.example/rss\n    leaning: sideways\n")
    r = await watcher("feeds", "list")
    assert r.code == 2
    assert f"{watcher.config}:3: feeds[0].leaning" in r.err


async def test_run_stops_cleanly_on_sigterm_within_10s(server: FeedServer, watcher: Watcher) -> None:
    write_config(watcher, server)
    proc = await watcher.start("run")
    assert proc.stderr is not None
    # Wait until it has polled once, then ask it to stop.
    deadline = time.monotonic() + 30
    seen = b""
    while b"cycle:" not in seen and time.monotonic() < deadline:
        seen += await asyncio.wait_for(proc.stderr.readline(), 30)
    assert b"cycle:" in seen, seen.decode()
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0 and time.monotonic() - started < 10


async def test_killed_mid_poll_loses_nothing_and_duplicates_nothing(
    aiohttp_server: Any, any_watcher: Watcher, db_url: str
) -> None:
    """kill -9 while 40 slow feeds are being fetched and stored; a restart completes the work exactly once."""
    routes = {
        f"/x{i}.xml": Route(
            body=rss(f"X{i}", [(f"x{i}-{j}", f"Story {i}.{j}", "text") for j in range(5)]),
            delay_s=0.05 * (i % 10),
        )
        for i in range(40)
    }
    routes["/kyiv.xml"] = Route(body=rss("Kyiv Post", [STRAIGHT]))
    routes["/tass.xml"] = Route(body=rss("TASS", [DENIAL, UNRELATED]))
    server = FeedServer(routes)
    await server.start_under(aiohttp_server)
    watcher = any_watcher
    write_config(watcher, server, extra_feeds=40)
    # A short lease, so that a restart may take over the killed process's feeds after 2 s (default: 5 min).
    text = watcher.config.read_text().replace("total_timeout: 5s", "total_timeout: 5s, per_host: 2")
    watcher.config.write_text(text.replace("tick: 1s", "tick: 1s, lease: 2s"))
    proc = await watcher.start("poll-once", "--all")
    # Let it get part of the way through, then kill it hard.
    deadline = time.monotonic() + 30
    while sum(server.hits(p) for p in routes) < 10 and time.monotonic() < deadline:  # noqa: ASYNC110 (polling another process)
        await asyncio.sleep(0.02)
    proc.kill()
    await proc.wait()
    await asyncio.sleep(3.0)  # every lease the killed process held has run out (2 s), with room to spare
    r = await watcher("poll-once", "--all", "--json")
    assert r.code == 0, r.err
    matches = (await watcher("matches", "list", "--json", "--limit", "1000")).json()
    assert len(matches) == 2
    feeds = (await watcher("feeds", "list", "--json")).json()
    assert len(feeds) == 42 and all(f["last_status"] == 200 for f in feeds)
    shown = (await watcher("claims", "show", "nato-ammo", "--json")).json()
    assert shown["matches"] == 2
    r2 = await watcher("poll-once", "--all", "--json")
    assert r2.json()["new_articles"] == 0
    store = await open_store(db_url)
    try:
        counts = await store.counts()
    finally:
        await store.close()
    assert counts["articles"] == 40 * 5 + 3 and counts["articles_pending"] == 0
    events = (await watcher("events", "list", "--json")).json()
    assert [e["type"] for e in events].count("first_seen") == 1
