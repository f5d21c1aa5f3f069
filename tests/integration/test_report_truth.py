"""The claim report tells the truth: its counts agree with the store and with the claim's events, revised
articles say what changed, dates name their year, and the page grows in step with the coverage."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.base import PollOutcome
from storage.sql import SqlStore
from tests.integration.test_report import parse
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.fixtures import loopback_settings
from tests.support.records import (
    CLAIM_TEXT,
    make_article,
    make_article_in,
    make_claim,
    make_event,
    make_match,
    make_match_score,
)
from tests.support.report_samples import NOW
from tests.support.stories import CLAIM, DENIAL
from tests.support.wire import ATOM_TYPE, START, WEATHER, WIRE_TEXT, WIRE_TITLE, live_atom, rss
from tests.support.wire import OUTLETS as WIRE_OUTLETS
from watcher import report
from watcher.domain import ArticleIn, ClaimStatus, EventType, FeedSpec, Framing, MatchScore, Stance
from watcher.pipeline import Pipeline
from watcher.report import build_report, group_stories, render_report
from watcher.shifts import _stories

OUTLETS = WIRE_OUTLETS[:5]
LIVE_TITLE = "LIVE: the war in Ukraine"


def atom(text: str, published: datetime, updated: datetime, title: str = LIVE_TITLE) -> bytes:
    return live_atom(title, text, published, updated)


def _ok(at: datetime) -> PollOutcome:
    return PollOutcome(polled_at=at, next_poll_at=at + timedelta(minutes=15), status=200, error=None)


def _item(key: str, title: str, url: str) -> ArticleIn:
    """An undated feed item about the claim."""
    text = f"{title}. {CLAIM_TEXT}, officials said."
    return make_article_in(
        key=key, url=url, canonical_url=url, title=title, text=text, content_hash=key, published_at=None
    )


def _score(claim_id: int, article_id: int) -> MatchScore:
    evidence = (f"{CLAIM_TEXT}, officials said.",)
    return make_match_score(
        claim_id=claim_id, article_id=article_id, score=0.8, lexical=0.8, evidence=evidence
    )


def figures(page: str) -> dict[str, tuple[str, str]]:
    """Each headline figure: (value, the line under it)."""
    return {
        f.attrs["data-figure"]: (f.find_all("span", "value")[0].text, f.find_all("span", "sub")[0].all_text())
        for f in parse(page).find_all("div", "figure")
    }


def bar_total(page: str, view: str) -> Counter[str]:
    counts = Counter[str]()
    for bar in parse(page).by_id(f"chart-{view}").find_all("rect", "bar"):
        counts[bar.attrs["data-key"]] += int(bar.attrs["data-count"])
    return counts


# --- counts agree with the events -------------------------------------------------------------------------


async def test_a_wire_story_reprinted_under_other_links_counts_as_one_story(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock(START)
    feeds = [FeedSpec(url=server.url(p), outlet=o, country=c, language="en") for p, o, c in OUTLETS]
    broke = ("alpha-1", "NATO now out-produces Russia on shells", WIRE_TEXT.format(byline=""), START)
    for path, _, _ in OUTLETS:
        server.routes[path] = Route(body=rss([broke] if path == "/a.xml" else []))
    pipeline = await make_pipeline(loopback_settings(db_url, feeds, claims=(CLAIM,)), clock)
    await pipeline.cycle(all=True)
    # Twelve hours on, four outlets reprint the wire, each under its own link and byline: storage does not
    # link them, shift detection counts them as one story, and so must the report.
    clock.advance(hours=12)
    for n, (path, outlet, _) in enumerate(OUTLETS[1:]):
        text = WIRE_TEXT.format(byline=f"Additional reporting by {outlet} staff.")
        server.routes[path] = Route(
            body=rss([(f"wire-{n}", WIRE_TITLE, text, clock() - timedelta(minutes=5 - n))])
        )
    await pipeline.cycle(all=True)

    claim = await store.get_claim("nato-ammo")
    matches = await store.matches_for_claim(claim.id)
    assert len({m.article.story_id for m in matches}) == 5
    assert len(group_stories(matches)) == len(_stories(claim, matches, clock())) == 2
    events = await store.events_for_claim(claim.id)
    assert [e.type for e in events] == [EventType.FIRST_SEEN]  # no spike, no new segment

    page = await build_report(store, "nato-ammo")
    figs = figures(page)
    assert figs["stories"] == ("2", "5 articles, 3 wire copies")
    assert figs["outlets"][0] == "5" and figs["countries"][0] == "4"  # who carried it: every article
    assert figs["disputing"][1] == "0 of 2 stories"
    for view in ("stance", "country", "leaning", "ownership"):
        assert sum(bar_total(page, view).values()) == 2
    assert bar_total(page, "country") == {"GB": 2}  # each story where it first appeared
    doc = parse(page)
    rows = doc.find_all("tr", "match")
    assert len(rows) == 5
    copies = [r for r in rows if r.find_all("span", "copy")]
    assert len(copies) == 3 and all(WIRE_TITLE in r.all_text() for r in copies)


def test_copies_of_a_headline_a_day_apart_are_two_stories() -> None:
    """The same headline and claim sentence the next day (a daily live blog) is a new piece, as for shifts."""
    t0 = datetime(2025, 11, 6, 8, 0, tzinfo=UTC)
    matches = [
        make_match(id=i, article=make_article(id=i, title="Live: the war", published_at=at, first_seen_at=at))
        for i, at in ((1, t0), (2, t0 + timedelta(hours=2)), (3, t0 + timedelta(hours=30)))
    ]
    assert [s.first.id for s in group_stories(matches)] == [1, 3]
    assert [m.id for m in _stories(make_claim(), matches, t0 + timedelta(days=2))] == [1, 3]
    page = render_report(make_claim(), matches, [], now=t0 + timedelta(days=2))
    assert figures(page)["stories"] == ("2", "3 articles, 1 wire copy")


async def live_wire_matched(
    server: FeedServer, make_pipeline: Any, db_url: str
) -> tuple[Pipeline, Clock, datetime]:
    """A pipeline that polled a live wire feed whose one item states the claim, published 5 minutes before
    START: the pipeline, its clock (at START) and the item's publication time."""
    clock = Clock(START)
    published = START - timedelta(minutes=5)
    feeds = [FeedSpec(url=server.url("/live.xml"), outlet="Live Wire", country="GB", language="en")]
    server.routes["/live.xml"] = Route(
        body=atom(WIRE_TEXT.format(byline=""), published, published), content_type=ATOM_TYPE
    )
    pipeline = await make_pipeline(loopback_settings(db_url, feeds, claims=(CLAIM,)), clock)
    await pipeline.cycle(all=True)
    return pipeline, clock, published


async def test_an_article_revised_out_of_the_claim_is_marked(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    pipeline, clock, published = await live_wire_matched(server, make_pipeline, db_url)
    clock.advance(minutes=10)
    server.routes["/live.xml"] = Route(body=atom(WEATHER, published, clock()), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)
    (match,) = await store.matches_for_claim((await store.get_claim("nato-ammo")).id)
    assert match.unmatched_at == clock()

    page = await build_report(store, "nato-ammo")
    (row,) = parse(page).find_all("tr", "match")
    (flag,) = row.find_all("span", "unmatched")
    assert flag.text == "no longer matches"
    assert "06 Nov 2025 12:10 UTC" in flag.attrs["title"]
    # Still the coverage it was, as the events count it; both notes say how many no longer match.
    assert figures(page)["stories"][0] == "1"
    assert "1 of 1 no longer match the claim after a revision." in page  # the timeline's note
    assert "1 of 1 no longer match the claim after a revision: marked, and counted as the coverage" in page


async def test_a_revision_that_changes_the_stance_shows_the_stance_it_was_published_with(
    server: FeedServer, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    pipeline, clock, published = await live_wire_matched(server, make_pipeline, db_url)
    clock.advance(hours=7)
    server.routes["/live.xml"] = Route(body=atom(DENIAL[2], published, clock()), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)
    (match,) = await store.matches_for_claim((await store.get_claim("nato-ammo")).id)
    assert match.stance is Stance.DISPUTES
    events = {e.type: e for e in await store.events_for_claim((await store.get_claim("nato-ammo")).id)}
    assert "presents the claim as fact" in events[EventType.FIRST_SEEN].summary

    page = await build_report(store, "nato-ammo")
    (row,) = parse(page).find_all("tr", "match")
    assert row.find_all("span", "pill")[0].text == "disputes"
    (was,) = row.find_all("span", "restanced")
    assert was.text == "was supports" and "06 Nov 2025 19:00 UTC" in was.attrs["title"]
    assert "1 of 1 changed stance in a revision: charted with their stance now." in page
    # Without the revisions the page is as before: no flag, no note.
    plain = render_report(await store.get_claim("nato-ammo"), [match], list(events.values()), now=clock())
    assert "restanced" not in plain and "changed stance" not in plain


# --- figures ------------------------------------------------------------------------------------------------


def test_an_unknown_country_is_not_counted_as_a_country() -> None:
    matches = [
        make_match(id=i, article=make_article(id=i, title=f"Story {i}", country=country))
        for i, country in ((1, "GB"), (2, "ZZ"), (3, "zz"), (4, "DE"))
    ]
    page = render_report(make_claim(), matches, [], now=NOW)
    assert figures(page)["countries"] == ("2", "GB, DE · 2 articles unknown")
    assert bar_total(page, "country") == {"GB": 1, "ZZ": 2, "DE": 1}  # the chart shows them as "unknown"
    alone = render_report(make_claim(), matches[1:2], [], now=NOW)
    assert figures(alone)["countries"] == ("0", "unknown")
    assert figures(alone)["stories"] == ("1", "1 article, 0 wire copies")


async def test_a_paused_or_removed_claim_says_its_coverage_stops(store: SqlStore) -> None:
    claim = await store.add_claim(make_claim(name="nato-ammo", created_at=None), now=START)
    page = await build_report(store, "nato-ammo")
    assert parse(page).find_all("h1")[0].find_all("span") == []
    await store.update_claim(replace(claim, status=ClaimStatus.PAUSED), now=START)
    page = await build_report(store, "nato-ammo")
    assert parse(page).find_all("h1")[0].find_all("span", "paused")[0].text == "paused"
    assert "paused: articles are not matched against it meanwhile" in page
    await store.remove_claim(claim.id, now=START + timedelta(days=1))
    page = await build_report(store, claim.id)
    assert [b.text for b in parse(page).find_all("h1")[0].find_all("span", "badge")] == ["removed"]
    assert "removed: no longer tracked, so coverage since is missing" in page


# --- time ---------------------------------------------------------------------------------------------------


def test_coverage_over_two_years_names_the_year_of_every_date() -> None:
    t0 = datetime(2025, 11, 6, 8, 0, tzinfo=UTC)
    times = [t0 + timedelta(days=d) for d in (0, 30, 200, 400, 700)]
    matches = [
        make_match(id=i, article=make_article(id=i, title=f"Story {i}", published_at=t, first_seen_at=t))
        for i, t in enumerate(times, 1)
    ]
    events = [
        make_event(id=f"evt_{i}", dedupe_key=f"k{i}", created_at=t + timedelta(hours=1))
        for i, t in enumerate(times[::2], 1)
    ]
    page = render_report(make_claim(), matches, events, now=times[-1] + timedelta(days=1))
    doc = parse(page)
    assert "timeline in weekly buckets" in page
    ticks = [t.all_text() for t in doc.by_id("chart-stance").find_all("text", "tick")]
    years = [re.findall(r"\d{4}", t) for t in ticks if not t.isdigit()]
    assert [y for ys in years for y in ys] == ["2025", "2026", "2027"]  # first tick, then each new year
    listed = [li.find_all("time")[0].text for li in doc.find_all("ol", "events")[0].find_all("li")]
    assert listed == ["06 Nov 2025 09:00", "25 May 2026 09:00", "07 Oct 2027 09:00"]
    titles = [g.find_all("title")[0].text for g in doc.by_id("chart-stance").find_all("g", "event")]
    assert titles[2].startswith("#3 First seen · 07 Oct 2027 09:00 UTC")


def test_coverage_within_a_year_keeps_short_event_times() -> None:
    t0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    matches = [
        make_match(id=i, article=make_article(id=i, title=f"Story {i}", published_at=t, first_seen_at=t))
        for i, t in enumerate((t0, t0 + timedelta(days=20)), 1)
    ]
    page = render_report(make_claim(), matches, [make_event(created_at=t0)], now=t0 + timedelta(days=21))
    doc = parse(page)
    assert doc.find_all("ol", "events")[0].find_all("time")[0].text == "01 Mar 08:00"
    ticks = [
        t.all_text() for t in doc.by_id("chart-stance").find_all("text", "tick") if not t.all_text().isdigit()
    ]
    assert ticks[0] == "01 Mar2025" and not any(
        "2025" in t for t in ticks[1:]
    )  # the year once, under the first


# --- links --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://news.example/a", True),
        ("HTTP://news.example/a", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("https:javascript:alert(1)", False),
        ("//evil.example/a", False),
        ("/claims/nato-ammo/report", False),
        ("https://news.example/a\njavascript:alert(1)", False),
        ("", False),
    ],
)
def test_only_http_links_are_clickable(url: str, linked: bool) -> None:
    match = make_match(article=make_article(url=url, title="NATO shells"))
    doc = parse(render_report(make_claim(), [match], [], now=NOW))
    anchors = doc.find_all("a")
    assert len(anchors) == int(linked)
    if linked:
        assert anchors[0].attrs["href"] == url
    else:
        assert doc.find_all("span", "nolink")[0].all_text() == "NATO shells"


# --- scale --------------------------------------------------------------------------------------------------


def test_the_work_grows_in_step_with_the_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed: the publication times the page looks up grow linearly with the matches."""
    calls = 0
    real = report.publication_time

    def counting(article: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(article)

    monkeypatch.setattr(report, "publication_time", counting)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    def run(n: int) -> int:
        nonlocal calls
        calls = 0
        matches = [
            make_match(
                id=i,
                article=make_article(
                    id=i, story_id=i - i % 3, title=f"Story {i // 3}", published_at=t0 + timedelta(hours=i),
                    first_seen_at=t0 + timedelta(hours=i),
                ),
            )
            for i in range(3, n + 3)
        ]  # fmt: skip
        events = [
            make_event(id=f"evt_{i}", dedupe_key=f"k{i}", created_at=t0 + timedelta(hours=i))
            for i in range(n // 10)
        ]
        render_report(make_claim(), matches, events, now=t0 + timedelta(hours=n + 3))
        return calls

    small, large = run(300), run(1200)
    assert large <= 4.5 * small


async def test_undated_archive_items_of_a_first_poll_are_told_apart(store: SqlStore) -> None:
    await store.sync_feeds(
        [FeedSpec(url="https://w.example/rss", outlet="Wire", country="GB")], source="config", now=START
    )
    (feed,) = await store.lease_due_feeds(START, 10, lease_s=60)
    archive = [_item(k, f"NATO shells {k}", f"https://w.example/{k}") for k in "abc"]
    ids = await store.record_poll(feed.id, _ok(START), archive)
    later = START + timedelta(hours=2)
    dated = replace(
        _item("d", "NATO shells d", "https://w.example/d"), published_at=later - timedelta(minutes=5)
    )
    ids += await store.record_poll(feed.id, _ok(later), [dated])
    claim = await store.add_claim(make_claim(name="nato-ammo"), now=START)
    framing = Framing(stance=Stance.SUPPORTS, skepticism=0.0)
    await store.save_matches(ids, [(_score(claim.id, i), framing) for i in ids], later)
    assert [m.article.backlog for m in await store.matches_for_claim(claim.id)] == [True, True, True, False]

    page = await build_report(store, "nato-ammo")
    assert (
        "Without a usable feed date, 3 of 4 sit at first seen. 3 of them are undated items of a feed's first "
        "poll: archive of unknown age, charted when watcher imported it and left out of the events' counts."
    ) in page
