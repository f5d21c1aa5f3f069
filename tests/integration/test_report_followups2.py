"""Report follow-ups: outlets counted once however spelled; a big claim renders what it shows, with the page a
plain full sort and recount would give."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from storage.sql import SqlStore
from storage.tables import articles_t, events_t, feeds_t, match_revisions_t, matches_t
from tests.support.records import feed_row, make_article, make_match, stance_revision_row
from tests.support.report_reference import plain_build_views
from tests.support.report_samples import NOW, sample_claim, sample_events, sample_matches
from watcher import report
from watcher.domain import LEANINGS, OWNERSHIPS, Claim, Match, MatchRevision, as_utc
from watcher.report import (
    MAX_EVENTS,
    MAX_ROWS,
    Restance,
    build_report,
    publication_time,
    render_report,
)
from watcher.shifts import outlet_key, segment_value

T0 = datetime(2025, 11, 1, tzinfo=UTC)
CLAIM_TEXT = "NATO has surpassed Russia in ammunition production"

# --- outlets by a normalised key ----------------------------------------------------------------------------


def _figure(page: str, name: str) -> tuple[str, str]:
    found = re.search(
        rf'data-figure="{name}"><span class="label">[^<]*</span><span class="value">([^<]*)</span>'
        r'<span class="sub">(.*?)</span></div>',
        page,
    )
    assert found is not None
    return found.group(1), found.group(2)


def test_one_outlet_spelled_three_ways_is_one_outlet_named_as_first_seen() -> None:
    spellings = [("BBC News", 0), ("bbc news ", 1), ("ＢＢＣ  News", 2), ("Le Monde", 3)]
    matches = [
        make_match(
            id=i + 1,
            article=make_article(id=i + 1, outlet=outlet, published_at=T0 + timedelta(hours=hour)),
            evidence=(f"Sentence {i}.",),
        )
        for i, (outlet, hour) in enumerate(spellings)
    ]
    page = render_report(sample_claim(), matches, [], now=T0 + timedelta(days=1))

    assert _figure(page, "outlets") == ("2", "most: <bdi>BBC News</bdi>")
    rows = re.findall(
        r'<tr class="outlet"><td class="outlet"><bdi>([^<]*)</bdi></td>.*?<td class="num">(\d+)</td>', page
    )
    assert rows == [("BBC News", "3"), ("Le Monde", "1")]


def test_segments_spelled_differently_chart_as_one() -> None:
    segments = [(" us", "Center", "PRIVATE"), ("US", "center", "private"), ("ＵＳ", "center ", "private")]
    matches = [
        make_match(
            id=i + 1,
            article=make_article(
                id=i + 1,
                country=country,
                leaning=leaning,
                ownership=ownership,
                published_at=T0 + timedelta(hours=i),
            ),
            evidence=(f"Sentence {i}.",),
        )
        for i, (country, leaning, ownership) in enumerate(segments)
    ]
    page = render_report(sample_claim(), matches, [], now=T0 + timedelta(days=1))

    assert _figure(page, "countries")[0] == "1"
    for view, key in (("country", "US"), ("leaning", "center"), ("ownership", "private")):
        chart = page[page.index(f'id="chart-{view}"') :]
        chart = chart[: chart.index("</figure>")]
        assert set(re.findall(r'data-key="([^"]*)"', chart)) == {key}
        assert re.findall(r"</i>([^<]*) <b>(\d+)</b>", chart) == [(key, "3")]


# --- the page a plain full sort and recount would give ------------------------------------------------------
#
# The renderer's single passes (one bucket lookup per story, the table's newest rows without sorting every
# match, outlet names in one pass, revisions looked up only for revised matches) against the plain versions.


def _reference_newest_matches(matches: Sequence[Match], limit: int) -> list[Match]:
    return sorted(matches, key=lambda m: (publication_time(m.article).at, m.article.id), reverse=True)[:limit]


def _reference_outlet_names(matches: Sequence[Match]) -> dict[str, str]:
    names: dict[str, str] = {}
    for m in sorted(matches, key=lambda m: (m.article.published, m.article.backlog, m.article.id, m.id)):
        names.setdefault(outlet_key(m.article.outlet), m.article.outlet)
    return names


def _reference_stance_changes(
    matches: Sequence[Match], revisions: Sequence[MatchRevision]
) -> dict[int, Restance]:
    out = {}
    for m in matches:
        revised = sorted(
            (r for r in revisions if r.match_id == m.id), key=lambda r: (as_utc(r.revised_at), r.id)
        )
        first = report._stance_of(revised[0].before) if revised else None
        if first is None or first == m.stance:
            continue
        changed_at = [
            r.revised_at
            for r in revised
            if (after := report._stance_of(r.after)) is not None and after != report._stance_of(r.before)
        ]
        out[m.id] = Restance(was=first, at=as_utc(changed_at[-1] if changed_at else revised[-1].revised_at))
    return out


@pytest.fixture
def plain(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """Run a callable with the renderer's single passes replaced by their plain versions."""

    def run(call: Callable[[], Any]) -> Any:
        with monkeypatch.context() as patched:
            patched.setattr(report, "build_views", plain_build_views)
            patched.setattr(report, "newest_matches", _reference_newest_matches)
            patched.setattr(report, "outlet_names", _reference_outlet_names)
            patched.setattr(report, "stance_changes", _reference_stance_changes)
            patched.setattr(report, "_segment", lambda dimension_value: segment_value(*dimension_value))
            patched.setattr(report, "_outlet_key", outlet_key)
            return call()

    yield run


def test_the_sample_page_is_what_the_plain_passes_render(plain: Callable[[Callable[[], Any]], Any]) -> None:
    def render() -> str:
        return render_report(sample_claim(), sample_matches(), sample_events(), now=NOW)

    assert render() == plain(render)


async def _bulk_claim(store: SqlStore, n: int, *, events: int = 0, revised: int = 0, seed: int = 1) -> Claim:
    """A claim with ``n`` matches inserted in bulk: 40 outlets in 9 countries, a story in ten a wire copy,
    stories at one instant, undated and backlog items, ``revised`` stance revisions and ``events`` events."""
    rnd = random.Random(seed)
    claim = await store.add_claim(Claim(id=0, name=f"big-{n}", text=CLAIM_TEXT), now=T0)
    countries = ("US", "GB", "DE", "FR", "RU", "UA", "PL", "IT", "ZZ")
    feeds = [
        feed_row(
            i,
            outlet=f"Outlet {i % 40}" if i % 7 else f"outlet  {i % 40} ",
            country=countries[i % len(countries)],
            leaning=LEANINGS[i % len(LEANINGS)],
            ownership=OWNERSHIPS[i % len(OWNERSHIPS)],
            now=T0,
        )
        for i in range(1, 61)
    ]
    articles: list[dict[str, Any]] = []
    matches: list[dict[str, Any]] = []
    t = T0
    for i in range(1, n + 1):
        t += timedelta(minutes=rnd.choice((0, 1, 2, 5, 30)))
        feed = feeds[rnd.randrange(len(feeds))]
        copy_of = rnd.randrange(1, i) if i > 1 and rnd.random() < 0.1 else None
        undated = rnd.random() < 0.02
        articles.append(
            {
                "id": i,
                "feed_id": feed["id"],
                "key": f"k{i}",
                "url": f"https://news.example/{i}",
                "canonical_url": f"https://news.example/{i}",
                "title": f"Headline {copy_of or i}",
                "text": "NATO has surpassed Russia in ammunition production, officials said.",
                "content_hash": f"h{i}",
                "language": "en",
                "published_at": t,
                "published_at_basis": "first_seen" if undated else "published",
                "first_seen_at": t + timedelta(minutes=rnd.choice((0, 3))),
                "story_id": copy_of or i,
                "processed_at": t,
                "backlog": undated and rnd.random() < 0.5,
                "outlet": feed["outlet"],
                "country": feed["country"],
                "leaning": feed["leaning"],
                "ownership": feed["ownership"],
            }
        )
        matches.append(
            {
                "id": i,
                "claim_id": claim.id,
                "article_id": i,
                "story_id": copy_of or i,
                "score": rnd.choice((0.7, 0.8, 0.9)),
                "lexical": 0.8,
                "stance": rnd.choice(("supports", "neutral", "disputes")),
                "skepticism": rnd.random(),
                "cues": [{"kind": "distancing_verb", "text": "claimed"}],
                "evidence": [
                    f"NATO has surpassed Russia in ammunition production, it claimed ({copy_of or i})."
                ],
                "matched_at": t,
                "detected_at": t,
            }
        )
    columns = set(articles_t.c.keys())
    async with store.engine.begin() as conn:
        await conn.execute(insert(feeds_t), [{k: v for k, v in f.items() if k in feeds_t.c} for f in feeds])
        await conn.execute(
            insert(articles_t), [{k: v for k, v in a.items() if k in columns} for a in articles]
        )
        await conn.execute(insert(matches_t), matches)
        if revised:
            await conn.execute(
                insert(match_revisions_t),
                [
                    stance_revision_row(
                        m,
                        was="neutral" if m["stance"] != "neutral" else "supports",
                        revised_at=m["matched_at"] + timedelta(hours=1),
                    )
                    for m in rnd.sample(matches, k=revised)
                ],
            )
        if events:
            await conn.execute(
                insert(events_t),
                [
                    {
                        "id": f"evt_{i:08d}",
                        "claim_id": claim.id,
                        "type": rnd.choice(("coverage_spike", "new_segment", "framing_shift")),
                        "dedupe_key": f"key-{i}",
                        "summary": f"Event {i}",
                        "details": {"trigger_at": (T0 + timedelta(minutes=rnd.randrange(n))).isoformat()},
                        "match_ids": [rnd.randint(1, n)],
                        "created_at": T0 + timedelta(minutes=i),
                        "backfill": False,
                    }
                    for i in range(events)
                ],
            )
    return claim


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """build_report renders as of this instant rather than the clock's."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    real = report.render_report

    def at_fixed_now(*args: Any, **kwargs: Any) -> str:
        return real(*args, **(kwargs | {"now": now}))

    monkeypatch.setattr(report, "render_report", at_fixed_now)
    return now


async def test_a_small_claim_from_the_store_renders_as_the_plain_passes_do(
    store: SqlStore, fixed_now: datetime, plain: Callable[[Callable[[], Any]], Any]
) -> None:
    claim = await _bulk_claim(store, 300, events=30, revised=25)

    page = await build_report(store, claim.id)

    matches = await store.matches_for_claim(claim.id)
    events = await store.events_for_claim(claim.id)
    revisions = await store.revisions_for_claim(claim.id)
    expected = plain(
        lambda: report.render_report(
            claim, matches, events, now=fixed_now, revisions=revisions, removed=False
        )
    )
    assert page == expected
    assert page.count('<tr class="match"') == 300
    assert "was neutral" in page or "was supports" in page  # revisions are drawn from the store too


async def test_a_claim_of_20k_matches_renders_what_it_shows(
    store: SqlStore, fixed_now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 20_000
    claim = await _bulk_claim(store, n, events=MAX_EVENTS + 300, revised=400, seed=2)
    calls: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for name in ("_row", "_evidence_cell", "_marker", "publication_time", "_outlet_row"):
        monkeypatch.setattr(report, name, counted(name, getattr(report, name)))

    started = time.process_time()
    page = await build_report(store, claim.id)
    cpu_s = time.process_time() - started

    # Rows, evidence and markers only for what is shown; per-match work a small constant per match.
    assert calls["_row"] == calls["_evidence_cell"] == MAX_ROWS
    assert calls["_marker"] == 4 * MAX_EVENTS  # one marker per event shown on each of the four charts
    assert calls["_outlet_row"] == report.MAX_OUTLETS
    assert calls["publication_time"] <= 4 * n
    assert page.count('<tr class="match"') == MAX_ROWS
    assert f"and {n - MAX_ROWS} older articles" in page
    assert page.count('<li class="t-') == MAX_EVENTS
    assert f"shows all {MAX_EVENTS + 300}" in page
    assert _figure(page, "outlets")[0] == "40"  # "outlet  3 " is Outlet 3
    assert len(page) < 4 * 2**20
    assert cpu_s < 60  # reading and rendering 20k matches takes seconds; this only catches a quadratic pass
