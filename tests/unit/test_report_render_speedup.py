"""The report's single passes (each story's publication time once, segments and outlets worked out once per
distinct spelling, cue patterns built once) render the page a plain per-match recount renders, byte for byte."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.records import make_article, make_claim, make_event, make_match
from tests.support.report_reference import plain_build_views, plain_country
from watcher import report
from watcher.domain import (
    LEANINGS,
    OWNERSHIPS,
    ArticleVersion,
    Cue,
    Event,
    EventType,
    Match,
    MatchRevision,
    Stance,
)
from watcher.report import (
    STANCES,
    Story,
    publication_time,
    render_report,
)
from watcher.shifts import first_of_stories, outlet_key, outlet_names, segment_value

T0 = datetime(2025, 10, 1, 6, tzinfo=UTC)
NOW = T0 + timedelta(days=12)
# Spellings that fold together (" us" is US, "ＢＢＣ  News" is BBC News) and placeholders that name nothing.
COUNTRIES = ("US", " us", "ＵＳ", "GB", "DE", "FR", "RU", "UA", "PL", "IT", "ES", "unknown", "ZZ", "")
OUTLETS = ("BBC News", "bbc news ", "ＢＢＣ  News", "Le Monde", "RT", "Kyiv Independent", "Reuters", "AP")
LEANING_SPELLINGS = (*LEANINGS, "Center", " LEFT", "far-out")
OWNERSHIP_SPELLINGS = (*OWNERSHIPS, "PRIVATE", "state ")
EVIDENCE = (
    "NATO has surpassed Russia in ammunition production, the minister claimed.",
    "Moscow reportedly disputes the figures, calling them “propaganda”.",
    "Factories opened across the alliance this year.",
)
CUES = (
    Cue(kind="distancing_verb", text="claimed"),
    Cue(kind="hedge", text="reportedly"),
    Cue(kind="scare_quote", text='"propaganda"'),
)


def _claim_data(n: int, seed: int) -> tuple[list[Match], list[MatchRevision], list[Event]]:
    """``n`` matches over twelve days: linked copies, wire copies (same headline and evidence, another id),
    undated, clamped and backlog items, revised articles, many outlets and countries, every stance."""
    rnd = random.Random(seed)
    matches: list[Match] = []
    revisions: list[MatchRevision] = []
    for i in range(1, n + 1):
        published = T0 + timedelta(minutes=rnd.randrange(0, 12 * 24 * 60))
        seen = published + timedelta(minutes=rnd.randrange(0, 90))
        basis = "published"
        published_at: datetime | None = published
        if i % 17 == 0:
            basis, published_at = "first_seen", None  # undated
        elif i % 13 == 0:
            published_at = seen + timedelta(hours=3)  # later than first seen: clamped
        story = i
        title = f"Headline {i}"
        if i > 10 and i % 7 == 0:
            story = rnd.randrange(1, i)  # linked by storage
        elif i > 10 and i % 9 == 0:
            title = matches[rnd.randrange(len(matches))].article.title  # a wire copy under another link
        versions: tuple[ArticleVersion, ...] = ()
        if i % 11 == 0:
            versions = tuple(
                ArticleVersion(
                    version=v,
                    title=f"{title} (v{v})",
                    text=" ".join(EVIDENCE[: v + 1]),
                    content_hash=f"{i}-{v}",
                    updated_at=None,
                    seen_at=seen + timedelta(hours=v),
                )
                for v in (1, 2)
            )
        article = make_article(
            id=i,
            feed_id=i % 23 + 1,
            story_id=story,
            title=title,
            published_at=published_at,
            published_at_basis=basis,
            first_seen_at=seen,
            outlet=rnd.choice(OUTLETS),
            country=rnd.choice(COUNTRIES),
            leaning=rnd.choice(LEANING_SPELLINGS),
            ownership=rnd.choice(OWNERSHIP_SPELLINGS),
            backlog=i % 19 == 0 and basis == "first_seen",
            version=len(versions) or 1,
            versions=versions,
        )
        stance = rnd.choice(STANCES)
        match = make_match(
            id=i,
            article=article,
            stance=stance,
            score=rnd.choice((0.71, 0.8, 0.93)),
            skepticism=rnd.random(),
            cues=tuple(rnd.sample(CUES, rnd.randrange(0, len(CUES) + 1))),
            evidence=EVIDENCE[: rnd.randrange(1, len(EVIDENCE) + 1)]
            if title.startswith("Headline")
            else EVIDENCE,
            matched_at=seen,
            unmatched_at=seen + timedelta(hours=5) if i % 29 == 0 else None,
        )
        matches.append(match)
        if versions:
            was = Stance.NEUTRAL if stance != Stance.NEUTRAL else Stance.SUPPORTS
            revisions.append(
                MatchRevision(
                    match_id=i,
                    claim_id=1,
                    article_id=i,
                    story_id=story,
                    version=2,
                    previous_version=1,
                    content_hash=f"{i}-2",
                    changes=("stance",),
                    before={"stance": was.value, "matched": True},
                    after={"stance": stance.value, "matched": True},
                    diff={},
                    updated_at=None,
                    revised_at=seen + timedelta(hours=2),
                )
            )
    events = [
        make_event(
            id=f"evt_{k:04d}",
            type=rnd.choice(list(EventType)),
            summary=f"Event {k}: coverage moved",
            details={"trigger_at": (T0 + timedelta(hours=rnd.randrange(0, 12 * 24))).isoformat()},
            created_at=T0 + timedelta(hours=k),
            backfill=k % 5 == 0,
        )
        for k in range(40)
    ]
    return matches, revisions, events


# --- the plain per-match versions ---------------------------------------------------------------------------


def _plain_group_stories(matches: Sequence[Match]) -> list[Story]:
    return [
        Story(m, publication_time(m.article).at, publication_time(m.article).basis)
        for m in first_of_stories(matches)
    ]


def _plain_each(key: Callable[[str], str], values: Sequence[str]) -> list[str]:
    return [key(value) for value in values]


def _plain_count_by(key: Callable[[str], str], values: Iterable[str]) -> Counter[str]:
    return Counter(key(value) for value in values)


def _render(matches: list[Match], revisions: list[MatchRevision], events: list[Event]) -> str:
    return render_report(make_claim(), matches, events, now=NOW, revisions=revisions)


@pytest.fixture
def data() -> tuple[list[Match], list[MatchRevision], list[Event]]:
    return _claim_data(1500, seed=11)


def test_the_page_is_what_the_plain_per_match_passes_render(
    data: tuple[list[Match], list[MatchRevision], list[Event]], monkeypatch: pytest.MonkeyPatch
) -> None:
    matches, revisions, events = data
    page = _render(matches, revisions, events)

    with monkeypatch.context() as plain:
        plain.setattr(report, "group_stories", _plain_group_stories)
        plain.setattr(report, "build_views", plain_build_views)
        plain.setattr(report, "_each", _plain_each)
        plain.setattr(report, "_count_by", _plain_count_by)
        plain.setattr(report, "_span_pattern", report._span_pattern.__wrapped__)
        plain.setattr(report, "_segment", lambda dimension_value: segment_value(*dimension_value))
        plain.setattr(report, "_outlet_key", outlet_key)
        expected = _render(matches, revisions, events)

    assert page == expected
    # What the data set is meant to exercise, so that the comparison covers it.
    stories = first_of_stories(matches)
    assert 0 < len(stories) < len(matches)  # copies, linked and wire
    assert page.count('<tr class="match"') == len(matches)
    assert "was neutral" in page or "was supports" in page  # revisions changed stances
    assert "revised 1×" in page
    assert 'data-key="other"' in page  # more countries than colours
    assert "Stories per day (UTC)" in page  # twelve days: daily buckets
    assert "timeline in daily buckets" in page
    assert "undated items of a feed's first poll" in page and "no longer match the claim" in page


def test_the_figures_count_what_a_plain_count_of_the_matches_gives(
    data: tuple[list[Match], list[MatchRevision], list[Event]],
) -> None:
    matches, revisions, events = data
    page = _render(matches, revisions, events)
    stories = first_of_stories(matches)

    def figure(name: str) -> str:
        found = re.search(
            rf'data-figure="{name}"><span class="label">[^<]*</span><span class="value">([^<]*)', page
        )
        assert found is not None
        return found.group(1)

    countries = {c for m in matches if (c := plain_country(m)) != "ZZ"}
    assert figure("stories") == str(len(stories))
    assert figure("outlets") == str(len({outlet_key(m.article.outlet) for m in matches}))
    assert figure("countries") == str(len(countries))
    assert len(outlet_names(matches)) == len({outlet_key(m.article.outlet) for m in matches})
    # Each chart stacks every story once: its legend's counts add up to the stories.
    for view in ("stance", "country", "leaning", "ownership"):
        chart = page[page.index(f'id="chart-{view}"') :]
        chart = chart[: chart.index("</figure>")]
        assert sum(int(n) for n in re.findall(r"</i>[^<]* <b>(\d+)</b>", chart)) == len(stories)
