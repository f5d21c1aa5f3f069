"""The report reads what it renders: summaries of every match and event, the rows and events shown in full, and a
page byte for byte the one the full records give."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from storage.sql import SqlStore
from storage.tables import (
    article_versions_t,
    articles_t,
    events_t,
    feeds_t,
    match_revisions_t,
    matches_t,
)
from tests.support.records import feed_row, stance_revision_row
from watcher import report
from watcher.domain import Claim, Match
from watcher.report import build_report
from watcher.revisions import event_time

T0 = datetime(2025, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CLAIM_TEXT = "NATO has surpassed Russia in ammunition production"
# Segments as feeds spell them: padded, other case, full-width, placeholders, empty.
SEGMENTS = [
    ("us", "Center", "PRIVATE", "en"),
    ("US", "center", "private", "und"),
    ("ＵＳ", "lean-left", "state", "en"),
    ("ZZ", "unknown", "unknown", "de"),
    ("zz", "", "public", "fr"),
    ("gb", "right", "STATE ", "en"),
    ("RU", "left", "state", "ru"),
    ("UA", "lean-right", "public", "uk"),
    ("DE", "center", "private", "de"),
    ("FR", "left", "public", "fr"),
    ("PL", "lean-left", "private", "pl"),
    ("IT", "right", "private", "it"),
]


async def _seed(store: SqlStore, n: int, *, events: int, seed: int = 3) -> Claim:
    """A claim with ``n`` matches: copies by story and by headline, untitled and right-to-left items, page texts,
    undated, clamped and backlog items, revised articles with their versions, stance revisions, matches that
    no longer match, unsafe links, and ``events`` events with and without a usable trigger time."""
    rnd = random.Random(seed)
    claim = await store.add_claim(Claim(id=0, name="read-claim", text=CLAIM_TEXT), now=T0)
    feeds = [
        feed_row(
            i + 1,
            outlet=("BBC News", "bbc news ", "ＢＢＣ  News", "Le Monde", "<b>RT</b>", "صحيفة")[i % 6]
            + f" {i % 4}",
            country=country,
            leaning=leaning,
            ownership=ownership,
            now=T0,
            language=language,
            full_text=("auto", "always", "never")[i % 3],
        )
        for i, (country, leaning, ownership, language) in enumerate(SEGMENTS)
    ]
    articles: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    matches: list[dict[str, Any]] = []
    t = T0
    for i in range(1, n + 1):
        t += timedelta(minutes=rnd.choice((0, 0, 1, 7, 45, 300)))
        feed = rnd.choice(feeds)
        copy_of = rnd.randrange(1, i) if i > 1 and rnd.random() < 0.1 else None
        headline = (
            rnd.randrange(1, i) if i > 1 and rnd.random() < 0.1 else i
        )  # a wire copy under its own link
        kind = rnd.random()
        seen = t + timedelta(minutes=rnd.choice((0, 3, 90)))
        published: datetime | None = t
        basis = "published"
        if kind < 0.05:
            published, basis = None, "first_seen"
        elif kind < 0.1:
            published, basis = seen, "clamped"
        elif kind < 0.15:
            published = seen + timedelta(hours=2)  # later than first seen: shown clamped
        title = "" if rnd.random() < 0.05 else f"Headline {headline} — ‮reversed‬ <i>{headline}</i>"
        text = " ".join(f"word{rnd.randrange(50)}" for _ in range(rnd.randrange(0, 60)))
        version = rnd.choice((1, 1, 1, 1, 2, 3))
        url = rnd.choice(
            (f"https://news.example/{i}", "javascript:alert(1)", "", f"http://x.example/{i}?a=<b>")
        )
        articles.append(
            {
                "id": i,
                "feed_id": feed["id"],
                "key": f"k{i}",
                "url": url,
                "canonical_url": f"https://news.example/{i}",
                "title": title,
                "text": text,
                "page_text": f"Page text of {i}: {text} and more" if rnd.random() < 0.2 else None,
                "page_fetched_at": seen if rnd.random() < 0.3 else None,
                "content_hash": f"h{i}",
                "language": rnd.choice(("en", "und", "")),
                "published_at": published,
                "published_at_basis": basis,
                "first_seen_at": seen,
                "story_id": copy_of or i,
                "processed_at": seen,
                "backlog": basis != "published" and rnd.random() < 0.5,
                "version": version,
                "updated_at": seen + timedelta(hours=1) if version > 1 else None,
            }
        )
        for v in range(1, version + 1) if version > 1 else ():
            versions.append(
                {
                    "article_id": i,
                    "version": v,
                    "title": f"{title} v{v}",
                    "text": f"{text} revised {v} times <script>",
                    "content_hash": f"h{i}v{v}",
                    "seen_at": seen + timedelta(hours=v),
                }
            )
        evidence = [
            f"NATO has surpassed Russia in ammunition production, it claimed ({headline}).",
            *rnd.sample(
                ["Moscow denied it.", "Officials said so “without evidence”.", "x" * 400 + " claimed"], k=2
            ),
        ][: rnd.randrange(1, 4)]
        matches.append(
            {
                "id": i,
                "claim_id": claim.id,
                "article_id": i,
                "story_id": copy_of or i,
                "score": rnd.choice((0.7, 0.8, 0.85, 0.9)),
                "lexical": 0.8,
                "semantic": rnd.choice((None, 0.6)),
                "stance": rnd.choice(("supports", "neutral", "disputes")),
                "skepticism": rnd.choice((rnd.random(), -0.2, 1.3)),
                "cues": rnd.sample(
                    [
                        {"kind": "distancing_verb", "text": "claimed"},
                        {"kind": "denial", "text": "Moscow denied"},
                        {"kind": "scare_quote", "text": '"without evidence"'},
                        {"kind": "hedge", "text": "<b>allegedly</b>"},
                    ],
                    k=rnd.randrange(0, 4),
                ),
                "evidence": evidence,
                "matched_at": seen,
                "detected_at": seen,
                "version": min(version, rnd.choice((1, version))),
                "unmatched_at": seen + timedelta(hours=5) if rnd.random() < 0.05 else None,
            }
        )
    revisions = [
        stance_revision_row(
            m,
            was="neutral" if m["stance"] != "neutral" else "disputes",
            revised_at=m["matched_at"] + timedelta(hours=1),
            diff={"title": [["=", "x"]], "text": [["+", "much more text " * 20]]},
        )
        for m in rnd.sample(matches, k=n // 10)
    ]
    rows = []
    for i in range(events):
        trigger = T0 + timedelta(minutes=rnd.randrange(n * 40))
        details: dict[str, Any] = rnd.choice(
            (
                {"trigger_at": trigger.isoformat()},
                {
                    "trigger_at": trigger.isoformat().replace("+00:00", "Z"),
                    "stories": [{"title": "<b>x</b>"}],
                },
                {"trigger_at": "not a time"},
                {"trigger_at": 12345},
                {},
            )
        )
        rows.append(
            {
                "id": f"evt_{rnd.randrange(10**8):08d}_{i:04d}",
                "claim_id": claim.id,
                "type": rnd.choice(
                    ("first_seen", "coverage_spike", "new_segment", "framing_shift", "article_revised")
                ),
                "dedupe_key": f"key-{i}",
                "summary": f"Event {i} <script>alert(1)</script> صحيفة",
                "details": details,
                "match_ids": [rnd.randint(1, n)],
                "created_at": T0 + timedelta(minutes=rnd.randrange(n * 40)) if i % 7 else T0,  # ties too
                "backfill": rnd.random() < 0.2,
            }
        )
    async with store.engine.begin() as conn:
        await conn.execute(insert(feeds_t), feeds)
        await conn.execute(insert(articles_t), articles)
        await conn.execute(insert(article_versions_t), versions)
        await conn.execute(insert(matches_t), matches)
        await conn.execute(insert(match_revisions_t), revisions)
        if rows:
            await conn.execute(insert(events_t), rows)
    return claim


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """build_report renders as of NOW; returns the unpatched renderer, for the page of the full records."""
    real: Callable[..., str] = report.render_report

    def at_fixed_now(*args: Any, **kwargs: Any) -> str:
        return real(*args, **(kwargs | {"now": NOW}))

    monkeypatch.setattr(report, "render_report", at_fixed_now)
    return real


async def _full_page(store: SqlStore, claim: Claim, render: Callable[..., str]) -> str:
    """The page as rendered from every match and event read in full (the read the report did before)."""
    return render(
        claim,
        await store.matches_for_claim(claim.id),
        await store.events_for_claim(claim.id),
        now=NOW,
        revisions=await store.revisions_for_claim(claim.id),
    )


@pytest.mark.parametrize(("rows", "events"), [(report.MAX_ROWS, report.MAX_EVENTS), (40, 15)])
async def test_the_page_is_the_one_the_full_records_render(
    store: SqlStore, fixed_now: Callable[..., str], monkeypatch: pytest.MonkeyPatch, rows: int, events: int
) -> None:
    claim = await _seed(store, 400, events=60)
    # With the default limits every row and event is shown; with small ones the read picks which.
    monkeypatch.setattr(report, "MAX_ROWS", rows)
    monkeypatch.setattr(report, "MAX_EVENTS", events)

    page = await build_report(store, claim.id)

    assert page == await _full_page(store, claim, fixed_now)
    assert page.count('<tr class="match"') == min(rows, 400)
    assert page.count('<li class="t-') == min(events, 60)
    # What only the full records carry is on the page: versions, cues, page texts of untitled items, summaries.
    assert "revised 2×" in page
    assert '<span class="cue"' in page
    assert '<span class="untitled">' in page
    assert "Event " in page and "&lt;script&gt;" in page
    assert "<script>" not in page


async def test_an_empty_claim_and_one_without_events_render_as_before(
    store: SqlStore, fixed_now: Callable[..., str]
) -> None:
    empty = await store.add_claim(Claim(id=0, name="empty", text="Nothing covers this"), now=T0)
    assert await build_report(store, empty.id) == await _full_page(store, empty, fixed_now)

    claim = await _seed(store, 30, events=0)
    page = await build_report(store, claim.id)
    assert page == await _full_page(store, claim, fixed_now)
    assert "No events yet." in page


async def test_match_summaries_are_the_matches_less_text_cues_and_versions(store: SqlStore) -> None:
    claim = await _seed(store, 120, events=0)

    full = await store.matches_for_claim(claim.id)
    summaries = await store.match_summaries_for_claim(claim.id)

    assert [m.id for m in summaries] == [m.id for m in full]
    assert any(m.cues for m in full) and any(m.article.versions for m in full)
    assert any(m.article.text for m in full)

    def light(m: Match) -> Match:
        article = replace(
            m.article, text="", url="", canonical_url="", content_hash="", page_fetched_at=None, versions=()
        )
        return replace(m, cues=(), article=article)

    assert summaries == [light(m) for m in full]
    assert await store.match_summaries_for_claim(claim.id + 1) == []


async def test_event_summaries_carry_type_times_and_trigger_and_events_by_id_the_rest(
    store: SqlStore,
) -> None:
    claim = await _seed(store, 40, events=50)

    full = await store.events_for_claim(claim.id)
    summaries = await store.event_summaries_for_claim(claim.id)

    assert [e.id for e in summaries] == [e.id for e in full]
    for s, e in zip(summaries, full, strict=True):
        assert (s.type, s.claim_id, s.created_at, s.backfill) == (
            e.type,
            e.claim_id,
            e.created_at,
            e.backfill,
        )
        assert s.details == ({"trigger_at": e.details["trigger_at"]} if "trigger_at" in e.details else {})
        assert (s.summary, s.dedupe_key, s.match_ids) == ("", "", ())
        assert event_time(s) == event_time(e)

    picked = [full[3].id, full[0].id, "evt_unknown", full[3].id]
    assert await store.events_by_id(picked) == sorted([full[0], full[3]], key=lambda e: e.id)
    assert await store.events_by_id([]) == []
