"""Shift detection follow-ups: outlets and segments compared by a normalised key; the replay's fast paths
decide exactly what a plain recount decides."""

from __future__ import annotations

import dataclasses
import random
from bisect import insort
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.unit.test_shifts import CLAIM, HOUR, Timeline, at, detect, kinds
from watcher import shifts
from watcher.domain import Article, Event, EventDraft, EventType, Match, MatchRevision, Stance
from watcher.shifts import ShiftSettings, detect_shifts, first_of_stories, outlet_key, segment_value

# --- outlets and segments by a normalised key ------------------------------------------------------------

BBC_SPELLINGS = ("BBC News", "bbc news ", "BBC  News", "ＢＢＣ News", "BBC\u00a0News", " Bbc\tNEWS")


def test_outlet_key_folds_case_whitespace_and_compatibility_forms() -> None:
    assert {outlet_key(name) for name in BBC_SPELLINGS} == {"bbc news"}
    assert outlet_key("Straße") == outlet_key("STRASSE")
    assert outlet_key("BBC News") != outlet_key("BBC World")


def test_one_outlet_spelled_six_ways_is_no_spike() -> None:
    timeline = Timeline()
    timeline.add(0, "Quiet Gazette")
    for i, name in enumerate(BBC_SPELLINGS):
        timeline.add(12 * HOUR + 5 * i, name)  # six items in 25 minutes, all one outlet's

    assert [d.type for d in detect(timeline, 13 * HOUR)] == [EventType.FIRST_SEEN]


def test_a_spike_names_each_outlet_once_as_first_seen() -> None:
    timeline = Timeline()
    timeline.add(0, "Quiet Gazette")
    for i, name in enumerate(BBC_SPELLINGS[:4]):
        timeline.add(12 * HOUR + 5 * i, name)
    timeline.add(12 * HOUR + 20, "Le Monde")

    drafts = detect(timeline, 13 * HOUR)

    (spike,) = [d for d in drafts if d.type == EventType.COVERAGE_SPIKE]
    assert spike.details["outlets"] == ["BBC News", "Le Monde"]
    assert spike.details["stories_in_window"] == 5
    assert "5 stories from 2 outlets" in spike.summary


def test_distinct_outlets_still_spike_as_before() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)

    assert kinds(detect(timeline, 13 * HOUR)) == [
        ("first_seen", "first_seen"),
        ("coverage_spike", "coverage_spike:2025-11-06T18:20:00Z"),
    ]


def test_segment_values_are_normalised() -> None:
    assert segment_value("country", " us ") == "US"
    assert segment_value("country", "ＵＳ") == "US"
    assert segment_value("language", "EN") == "en"
    assert segment_value("leaning", "Lean-Left ") == "lean-left"
    assert segment_value("ownership", "STATE") == "state"
    assert segment_value("leaning", "lean\u00a0 left") == "lean left"
    for placeholder in ("", " ", "Unknown", "ＺＺ", "UND ", None, 3):
        assert segment_value("country", placeholder) is None


def test_a_segment_spelled_differently_is_no_new_segment() -> None:
    timeline = Timeline()
    timeline.add(0, "A", country="US", language="en", leaning="lean-left", ownership="state")
    timeline.add(60, "B", country=" us", language="EN", leaning="Lean-Left", ownership="STATE ")
    timeline.add(120, "C", country="ＵＳ", language="en ", leaning="lean-left", ownership="state")

    assert kinds(detect(timeline, 3 * HOUR)) == [("first_seen", "first_seen")]


def test_a_new_segment_is_keyed_and_worded_by_its_normalised_value() -> None:
    timeline = Timeline()
    timeline.add(0, "A", country="US")
    timeline.add(60, "B", country=" de ")
    timeline.add(120, "C", country="ＤＥ")

    drafts = detect(timeline, 3 * HOUR)

    assert kinds(drafts) == [("first_seen", "first_seen"), ("new_segment", "new_segment:country:DE")]
    assert drafts[1].summary == "First coverage from DE: B (DE, private)"


def test_a_segment_stored_under_its_former_key_is_not_announced_again() -> None:
    # Before case folding, "Straße" was keyed as lower-cased ("straße"); folded it reads "strasse".
    timeline = Timeline()
    timeline.add(0, "A", leaning="center")
    timeline.add(60, "B", leaning="Straße")
    old = Event(
        id="evt_old",
        type=EventType.NEW_SEGMENT,
        claim_id=1,
        dedupe_key="new_segment:leaning:straße",
        summary="First coverage from a straße outlet: B",
        details={"trigger_at": at(60).isoformat()},
        match_ids=(2,),
        created_at=at(61),
    )
    first = [d for d in detect(timeline, 2 * HOUR) if d.type == EventType.FIRST_SEEN]
    first_seen = Event(
        id="evt_first", **{f.name: getattr(first[0], f.name) for f in dataclasses.fields(first[0])}
    )

    assert kinds(detect(timeline, 2 * HOUR, [first_seen])) == [("new_segment", "new_segment:leaning:strasse")]
    assert kinds(detect(timeline, 2 * HOUR, [first_seen, old])) == []


# --- the replay's fast paths decide what a plain recount decides ----------------------------------------
#
# Reference versions of what the replay looks up at every story, as plain scans and recounts: patched in,
# they must raise exactly the events (keys, summaries, details, matches, backfill flags) the fast paths do.


def _reference_in_cooldown(
    self: shifts._Ledger, event_type: EventType, at: datetime, cooldown_s: int
) -> bool:
    earlier = self.fired_at.get(str(event_type), [])
    return cooldown_s > 0 and any(abs((at - other).total_seconds()) < cooldown_s for other in earlier)


def _reference_announced_mix(self: shifts._Ledger, at: datetime, horizon_s: int) -> dict[str, float] | None:
    earlier = [(when, shares) for when, shares in self.mixes if 0 < (at - when).total_seconds() <= horizon_s]
    return max(earlier, key=lambda item: item[0])[1] if earlier else None


def _reference_absorb(self: shifts._Replay, story: Match) -> None:
    self.outlet_names.setdefault(shifts.outlet_key(story.article.outlet), story.article.outlet)
    for dimension in shifts.SEGMENT_DIMENSIONS:
        value = shifts.segment_value(dimension, getattr(story.article, dimension))
        if value is None:
            continue
        key = f"new_segment:{dimension}:{value}"
        if (dimension, value) not in self.initial_segments and key not in self.pending_segments:
            self.pending_segments[key] = (dimension, value, story)
    self._absorb_framing(story, backlog=story.article.backlog)


def _reference_count(
    timeline: shifts._Timeline, start: datetime, end: datetime, stance: Stance | None
) -> int:
    return sum(
        1
        for story, t in zip(timeline.stories, timeline.times, strict=True)
        if start < t <= end and not story.article.backlog and (stance is None or story.stance == stance)
    )


def _reference_stance_mix(self: shifts._Replay, at: datetime) -> tuple[dict[str, Any], list[int]] | None:
    settings, timeline = self.settings, self.timeline
    middle = at - timedelta(seconds=settings.framing_window_s)
    start = middle - timedelta(seconds=settings.framing_baseline_s)
    before = _reference_count(timeline, start, middle, None)
    after = _reference_count(timeline, middle, at, None)
    if min(before, after) < settings.framing_min_stories:
        return None
    told = _reference_announced_mix(self.ledger, at, settings.framing_baseline_s)
    best: tuple[float, Stance] | None = None
    for stance in (Stance.DISPUTES, Stance.SUPPORTS):
        hits_before = _reference_count(timeline, start, middle, stance)
        hits_after = _reference_count(timeline, middle, at, stance)
        z = shifts._two_proportion_z(hits_before, before, hits_after, after)
        change = hits_after / after - hits_before / before
        moved = change != 0 and abs(change) + 1e-9 >= settings.framing_min_change
        if moved and self._retold(told, stance, hits_after / after, change):
            continue
        if moved and abs(z) >= settings.framing_min_z and (best is None or abs(z) > abs(best[0])):
            best = (z, stance)
    if best is None:
        return None
    return self._mix_details(best[1], best[0], start, middle, at)


def _reference_first_of_stories(matches: Sequence[Match]) -> list[Match]:
    ordered = sorted(matches, key=lambda m: (m.article.published, m.article.backlog, m.article.id, m.id))
    groups: list[tuple[set[object], datetime, list[Match]]] = []
    first_copy: dict[object, datetime] = {}
    for match in ordered:
        t = match.article.published
        keys: set[object] = {("story", match.article.story_id)}
        copy = shifts.copy_key(match)
        if copy is not None:
            if copy not in first_copy or t - first_copy[copy] > shifts.COPY_SPAN:
                first_copy[copy] = t  # a new piece: copies within the span of it join it
            keys.add((copy, first_copy[copy]))
        joined = [group for group in groups if group[0] & keys]
        if not joined:
            groups.append((keys, t, [match]))
            continue
        merged = (set().union(keys, *(g[0] for g in joined)), joined[0][1], [m for g in joined for m in g[2]])
        groups = [g for g in groups if g not in joined] + [merged]
    firsts = [min(g[2], key=lambda m: ordered.index(m)) for g in groups]
    return sorted(firsts, key=ordered.index)


REFERENCE = {
    (shifts._Ledger, "in_cooldown"): _reference_in_cooldown,
    (shifts._Ledger, "announced_mix"): _reference_announced_mix,
    (shifts._Replay, "_absorb"): _reference_absorb,
    (shifts._Replay, "_stance_mix"): _reference_stance_mix,
}

EAGER = ShiftSettings(
    spike_window_s=1800,
    spike_min_baseline_s=3600,
    spike_min_stories=3,
    spike_min_ratio=2.0,
    framing_window_s=3600,
    framing_baseline_s=6 * 3600,
    framing_min_stories=2,
    framing_min_change=0.2,
    framing_min_z=0.0,
    coverage_spike_cooldown_s=2700,
    framing_shift_cooldown_s=1800,
    new_segment_cooldown_s=900,
    article_revised_cooldown_s=1800,
    stale_after_s=0,
    fresh_window_s=6 * 3600,
)
SEGMENTS = (
    ("Example Times", "US", "en", "center", "private"),
    ("example  times", " us", "EN", "Center", "private"),
    ("RT", "RU", "ru", "unknown", "state"),
    ("Le Monde", "FR", "fr", "lean-left", "private"),
    ("ＢＢＣ", "GB", "en", "center", "public"),
    ("bbc", "gb", "en", "center", "PUBLIC"),
    ("Mystery Wire", "ZZ", "und", "unknown", "unknown"),
    ("Fox News", "US", "en", "right", "private"),
)


def random_claim(rnd: random.Random, size: int) -> tuple[list[Match], list[MatchRevision], datetime]:
    """Bursts and lulls, stories at one instant, wire copies, backlog items and stance revisions."""
    matches: list[Match] = []
    t = at(0)
    for number in range(1, size + 1):
        t += timedelta(minutes=rnd.choice((0, 0, 1, 3, 7, 15, 40, 90, 300, 900)))
        outlet, country, language, leaning, ownership = rnd.choice(SEGMENTS)
        copy_of = rnd.choice(matches) if matches and rnd.random() < 0.15 else None
        article = Article(
            id=number,
            feed_id=rnd.randint(1, 5),
            story_id=copy_of.article.story_id if copy_of and rnd.random() < 0.5 else number,
            url=f"https://news.example/{number}",
            canonical_url=f"https://news.example/{number}",
            title=copy_of.article.title if copy_of else f"Story {rnd.randint(1, size)}",
            text="...",
            content_hash=f"h{number}",
            published_at=t,
            first_seen_at=t + timedelta(minutes=rnd.choice((0, 1, 600))),
            backlog=rnd.random() < 0.05,
            language=language,
            outlet=outlet,
            country=country,
            leaning=leaning,
            ownership=ownership,
        )
        stance = rnd.choice((Stance.SUPPORTS, Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES))
        matches.append(
            Match(
                id=number,
                claim_id=CLAIM.id,
                claim_name=CLAIM.name,
                article=article,
                score=0.8,
                lexical=0.8,
                semantic=None,
                stance=stance,
                skepticism=rnd.choice((0.0, 0.2, 0.5, 0.7, 0.9)),
                cues=(),
                evidence=copy_of.evidence if copy_of else (f"Sentence {rnd.randint(1, 4)}.",),
                matched_at=t,
            )
        )
    revisions = []
    for number, match in enumerate(rnd.sample(matches, k=size // 10), 1):
        after = rnd.choice(tuple(Stance))
        revisions.append(
            MatchRevision(
                id=number,
                match_id=match.id,
                claim_id=CLAIM.id,
                article_id=match.article.id,
                story_id=match.article.story_id,
                version=2,
                previous_version=1,
                content_hash=f"r{number}",
                changes=("stance",),
                before={"stance": str(match.stance), "skepticism": match.skepticism, "matched": True},
                after={"stance": str(after), "skepticism": rnd.random(), "matched": True},
                diff={},
                updated_at=None,
                revised_at=match.article.published + timedelta(minutes=rnd.randint(1, 600)),
            )
        )
    return matches, revisions, t + timedelta(hours=1)


def as_stored(drafts: Sequence[EventDraft]) -> list[Event]:
    return [
        Event(id=f"evt_{n}", **{f.name: getattr(d, f.name) for f in dataclasses.fields(d)})
        for n, d in enumerate(drafts)
    ]


@pytest.mark.parametrize("seed", range(12))
def test_the_replay_raises_what_plain_recounts_raise(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    matches, revisions, end = random_claim(rnd, 150 + 40 * seed)
    settings = EAGER if seed % 3 else ShiftSettings()
    claim = dataclasses.replace(CLAIM, created_at=at(-60 * rnd.randint(0, 48)))

    def both(previous: Sequence[Event], now: datetime) -> tuple[list[EventDraft], list[EventDraft]]:
        fast = detect_shifts(claim, matches, previous, now=now, settings=settings, revisions=revisions)
        with monkeypatch.context() as patched:
            for (owner, name), reference in REFERENCE.items():
                patched.setattr(owner, name, reference)
            plain = detect_shifts(claim, matches, previous, now=now, settings=settings, revisions=revisions)
        return fast, plain

    fast, plain = both([], end)
    assert fast == plain
    assert fast  # the timelines are built to raise events, so there is something to compare
    # Stored events in any order, with later triggers than some of the replay's: cooldowns both ways.
    stored = as_stored(rnd.sample(plain, k=len(plain) // 2))
    fast, plain = both(stored, end)
    assert fast == plain
    middle = matches[len(matches) // 2].article.published
    assert both(stored, middle)[0] == both(stored, middle)[1]


@pytest.mark.parametrize("seed", range(6))
def test_first_of_stories_groups_as_a_plain_merge_does(seed: int) -> None:
    matches, _, _ = random_claim(random.Random(100 + seed), 200)
    shuffled = random.Random(seed).sample(matches, k=len(matches))

    assert [m.id for m in first_of_stories(shuffled)] == [m.id for m in _reference_first_of_stories(matches)]


def test_window_counts_agree_with_a_recount() -> None:
    rnd = random.Random(5)
    matches, _, end = random_claim(rnd, 300)
    timeline = shifts._Timeline(first_of_stories(matches))
    for _ in range(300):
        start = at(rnd.randint(-100, int((end - at(0)).total_seconds() // 60)))
        stop = start + timedelta(minutes=rnd.choice((0, 1, 30, 60, 600, 6000)))
        low, high = timeline.position(start), timeline.position(stop)
        assert (
            timeline.count_at(low, high)
            == timeline.count(start, stop)
            == _reference_count(timeline, start, stop, None)
        )
        for stance in Stance:
            assert timeline.stance_count_at(stance, low, high) == _reference_count(
                timeline, start, stop, stance
            )


def test_cooldown_looks_at_the_nearest_triggers_on_both_sides() -> None:
    ledger = shifts._Ledger()
    for minute in (300, 0, 120, 120, 600):
        ledger.fired_at.setdefault("coverage_spike", [])
        insort(ledger.fired_at["coverage_spike"], at(minute))
    rnd = random.Random(3)
    for _ in range(500):
        when = at(rnd.uniform(-120, 800))
        cooldown = rnd.choice((0, 60, 1800, 3600, 7200))
        expected = _reference_in_cooldown(ledger, EventType.COVERAGE_SPIKE, when, cooldown)
        assert ledger.in_cooldown(EventType.COVERAGE_SPIKE, when, cooldown) is expected
    assert ledger.in_cooldown(EventType.COVERAGE_SPIKE, at(60), 3601)
    assert not ledger.in_cooldown(EventType.COVERAGE_SPIKE, at(60), 3600)
    assert not ledger.in_cooldown(EventType.FRAMING_SHIFT, at(60), 3600)


def test_the_last_mix_announced_is_the_first_raised_at_its_instant() -> None:
    ledger = shifts._Ledger()
    for minute, share in ((60, 0.1), (0, 0.2), (60, 0.3), (30, 0.4)):
        ledger.add_mix(at(minute), {"stance_mix": {"shares_after": {"disputes": share}}})

    assert ledger.announced_mix(at(61), 3600) == {"disputes": 0.1}
    assert ledger.announced_mix(at(60), 3600) == {"disputes": 0.4}
    assert ledger.announced_mix(at(45), 600) is None
    assert ledger.announced_mix(at(0), 3600) is None
    for minute in range(-10, 200, 7):
        for horizon in (60, 1800, 3600, 7200):
            expected = _reference_announced_mix(ledger, at(minute), horizon)
            assert ledger.announced_mix(at(minute), horizon) == expected
