"""The replay's per-story rules worked out with fewer steps (window bounds and cooldowns built once, counts read
inline, a revision moving two stances' counts instead of a recount) raise exactly the events the plain per-step
logic raises: the same drafts, keys, summaries, details, matches, backfill flags and order."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watcher import shifts
from watcher.domain import (
    Article,
    Claim,
    ClaimPause,
    Event,
    EventDraft,
    EventType,
    Match,
    MatchRevision,
    Stance,
)
from watcher.shifts import ShiftSettings, detect_shifts, first_of_stories

T0 = datetime(2025, 10, 6, tzinfo=UTC)
CLAIM = Claim(
    id=1,
    name="nato-ammo",
    text="NATO has surpassed Russia in ammunition production",
    created_at=T0 - timedelta(days=1),
)
OUTLETS = ("Reuters", "reuters ", "AP", "BBC News", "bbc  news", "Le Monde", "RT", "Kyiv Independent", "Fox")
COUNTRIES = ("US", "GB", "FR", "RU", "UA", "DE", "ZZ", " us")
# Stance mixes the press swings between: mostly supporting, mostly disputing, even.
MIXES = (
    (Stance.SUPPORTS,) * 6 + (Stance.NEUTRAL, Stance.DISPUTES),
    (Stance.DISPUTES,) * 6 + (Stance.NEUTRAL, Stance.SUPPORTS),
    (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES),
)
EAGER = ShiftSettings(
    spike_window_s=1800,
    spike_min_baseline_s=3600,
    spike_min_stories=3,
    spike_min_ratio=2.0,
    framing_window_s=3600,
    framing_baseline_s=6 * 3600,
    framing_min_stories=3,
    framing_min_change=0.2,
    framing_min_z=0.5,
    coverage_spike_cooldown_s=2700,
    framing_shift_cooldown_s=1800,
    new_segment_cooldown_s=900,
    stale_after_s=0,
    fresh_window_s=6 * 3600,
)
SETTINGS = (ShiftSettings(), EAGER, dataclasses.replace(EAGER, framing_min_z=0.0, stale_after_s=7200))


# --- the reference: the per-step logic as it was, written plainly -------------------------------------------


def reference_in_cooldown(self: shifts._Ledger, event_type: EventType, at: datetime, cooldown_s: int) -> bool:
    fired = self.fired_at.get(str(event_type), [])
    return cooldown_s > 0 and any(abs((at - other).total_seconds()) < cooldown_s for other in fired)


def reference_announced_mix(self: shifts._Ledger, at: datetime, horizon_s: int) -> dict[str, float] | None:
    earlier = [(when, shares) for when, shares in self.mixes if 0 < (at - when).total_seconds() <= horizon_s]
    if not earlier:
        return None
    last = max(when for when, _ in earlier)
    return next(shares for when, shares in self.mixes if when == last)  # the first raised at that instant


def reference_cooling(self: shifts._Replay, event_type: EventType, at: datetime) -> bool:
    return self.ledger.in_cooldown(event_type, at, self.settings.cooldown_s(event_type))


def reference_restance(self: shifts._Timeline, index: int, story: Match) -> None:
    self.stories[index] = story
    self._recount(index)


def reference_count(timeline: shifts._Timeline, start: datetime, end: datetime, stance: Stance | None) -> int:
    """Stories in (start, end], of ``stance`` if given, by the timeline's own lookups, bounds looked up afresh
    (they agree with a plain recount: test_shifts_followups2)."""
    if stance is None:
        return timeline.count_at(timeline.position(start), timeline.position(end))
    return timeline.stance_count_at(stance, timeline.position(start), timeline.position(end))


def reference_coverage_spike(self: shifts._Replay, at: datetime) -> Any:
    """Every bound, window and count worked out afresh at each story."""
    settings, timeline = self.settings, self.timeline
    window_start = at - timedelta(seconds=settings.spike_window_s)
    in_window = reference_count(timeline, window_start, at, None)
    if in_window < settings.spike_min_stories or self._cooling(EventType.COVERAGE_SPIKE, at):
        return None
    baseline_start = window_start - timedelta(seconds=settings.spike_baseline_s)
    in_baseline = reference_count(timeline, baseline_start, window_start, None)
    observed_from = max(baseline_start, self.coverage_start)
    observed_s = (window_start - observed_from).total_seconds()
    paused_s = shifts._overlap_s(self.paused, observed_from, window_start) if self.paused else 0.0
    if paused_s:
        observed_s -= paused_s
    span_s = min(max(observed_s, settings.spike_min_baseline_s), settings.spike_baseline_s)
    rate = in_baseline / (span_s / 3600) if span_s > 0 else 0.0
    expected = max(rate, settings.spike_floor_per_hour) * settings.spike_window_s / 3600
    ratio = in_window / expected
    if ratio + 1e-9 < settings.spike_min_ratio:
        return None
    stories = timeline.between(window_start, at)
    outlets = sorted({self.outlet_names[shifts.outlet_key(story.article.outlet)] for story in stories})
    if len(outlets) < shifts.SPIKE_MIN_OUTLETS:
        return None
    details = {
        "window": {"start": shifts._iso(window_start), "end": shifts._iso(at)},
        "baseline": {"start": shifts._iso(baseline_start), "end": shifts._iso(window_start), "span_s": span_s}
        | ({"paused_s": paused_s} if paused_s else {}),
        "stories_in_window": in_window,
        "stories_in_baseline": in_baseline,
        "baseline_per_hour": round(rate, 4),
        "expected_in_window": round(expected, 4),
        "ratio": round(ratio, 4),
        "outlets": outlets,
    }
    summary = (
        f"Coverage spike: {shifts.counted(in_window, 'story', 'stories')} from "
        f"{shifts.counted(len(outlets), 'outlet', 'outlets')} "
        f"{self._window_phrase(settings.spike_window_s, at)}, {ratio:.1f}x the expected {expected:.1f}"
    )
    return shifts._Candidate(
        type=EventType.COVERAGE_SPIKE,
        key=f"coverage_spike:{shifts._iso(at)}",
        at=at,
        summary=summary,
        details=details,
        match_ids=tuple(sorted(story.id for story in stories)),
        windowed=True,
    )


def reference_stance_mix(self: shifts._Replay, at: datetime) -> tuple[dict[str, Any], list[int]] | None:
    settings, timeline = self.settings, self.timeline
    middle = at - timedelta(seconds=settings.framing_window_s)
    start = middle - timedelta(seconds=settings.framing_baseline_s)
    before = reference_count(timeline, start, middle, None)
    after = reference_count(timeline, middle, at, None)
    if min(before, after) < settings.framing_min_stories:
        return None
    told = self.ledger.announced_mix(at, settings.framing_baseline_s)
    best: tuple[float, Stance] | None = None
    for stance in (Stance.DISPUTES, Stance.SUPPORTS):
        hits_before = reference_count(timeline, start, middle, stance)
        hits_after = reference_count(timeline, middle, at, stance)
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


def reference_new_segments(self: shifts._Replay, at: datetime) -> Any:
    for key, (dimension, value, story) in list(self.pending_segments.items()):
        if key in self.ledger.keys:
            del self.pending_segments[key]
            continue
        phrase = shifts._SEGMENT_PHRASES[dimension].format(value=value)
        yield shifts._Candidate(
            type=EventType.NEW_SEGMENT,
            key=key,
            at=at,
            summary=f"{phrase}: {shifts._outlet(story)}",
            details={"dimension": dimension, "value": value, "segment": f"{dimension}:{value}"}
            | {"story": shifts._story_details(story)},
            match_ids=(story.id,),
            backlog=story.article.backlog,
        )


REFERENCE = {
    (shifts._Ledger, "in_cooldown"): reference_in_cooldown,
    (shifts._Ledger, "announced_mix"): reference_announced_mix,
    (shifts._Replay, "_cooling"): reference_cooling,
    (shifts._Replay, "_coverage_spike"): reference_coverage_spike,
    (shifts._Replay, "_stance_mix"): reference_stance_mix,
    (shifts._Replay, "_new_segments"): reference_new_segments,
    (shifts._Timeline, "restance"): reference_restance,
}


# --- data -----------------------------------------------------------------------------------------------


def claim_data(seed: int, size: int) -> tuple[Claim, list[Match], list[MatchRevision], datetime]:
    """``size`` matches over about two weeks: bursts of minutes, quiet spells of days, the stance mix swinging
    every few hours, wire copies, storage-linked copies, stories at one instant, backlog items, clamped and
    undated items, one pause, and stance revisions of about one story in twelve (a few seen after the end)."""
    rnd = random.Random(seed)
    matches: list[Match] = []
    t = T0
    mix = MIXES[0]
    for number in range(1, size + 1):
        step = rnd.random()
        if step < 0.01:
            t += timedelta(days=rnd.uniform(1, 3))  # a quiet spell
        elif step < 0.5:
            t += timedelta(seconds=rnd.choice((0, 0, 20, 60, 150)))  # a burst
        else:
            t += timedelta(minutes=rnd.choice((3, 10, 30, 60, 120)))
        if rnd.random() < 0.02:
            mix = rnd.choice(MIXES)  # the framing swings
        copy_of = rnd.choice(matches[-40:]) if matches and rnd.random() < 0.12 else None
        seen = t + timedelta(minutes=rnd.choice((0, 0, 5, 90, 60 * 30)))
        published: datetime | None = t
        if number % 17 == 0:
            published = None  # undated: first seen
        elif number % 19 == 0:
            published = seen + timedelta(hours=2)  # later than first seen: clamped
        article = Article(
            id=number,
            feed_id=rnd.randint(1, 9),
            story_id=copy_of.article.story_id if copy_of and rnd.random() < 0.5 else number,
            url=f"https://news.example/{number}",
            canonical_url=f"https://news.example/{number}",
            title=copy_of.article.title if copy_of else f"Shells story {rnd.randint(1, size)}",
            text="...",
            content_hash=f"h{number}",
            published_at=published,
            first_seen_at=seen,
            backlog=rnd.random() < 0.04,
            language=rnd.choice(("en", "EN", "fr", "und")),
            outlet=rnd.choice(OUTLETS),
            country=rnd.choice(COUNTRIES),
            leaning=rnd.choice(("center", "unknown", "right")),
            ownership=rnd.choice(("private", "state", "public")),
        )
        matches.append(
            Match(
                id=10_000 + number,
                claim_id=CLAIM.id,
                claim_name=CLAIM.name,
                article=article,
                score=0.8,
                lexical=0.8,
                semantic=None,
                stance=rnd.choice(mix),
                skepticism=rnd.choice((0.0, 0.1, 0.3, 0.5, 0.65, 0.9)),
                cues=(),
                evidence=copy_of.evidence if copy_of else (f"Sentence {rnd.randint(1, 5)}.",),
                matched_at=seen,
            )
        )
    end = t + timedelta(hours=2)
    revisions = []
    for number, match in enumerate(rnd.sample(matches, k=size // 12), 1):
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
                before={"stance": str(rnd.choice(tuple(Stance))), "skepticism": 0.2, "matched": True},
                after={"stance": str(match.stance), "skepticism": match.skepticism, "matched": True},
                diff={},
                updated_at=None,
                revised_at=match.article.published + timedelta(minutes=rnd.choice((1, 30, 600, 3000))),
            )
        )
    middle = matches[size // 2].article.published
    pause = ClaimPause(paused_at=middle, resumed_at=middle + timedelta(hours=rnd.choice((3, 30))))
    claim = dataclasses.replace(CLAIM, pauses=(pause,))
    rnd.shuffle(matches)
    return claim, matches, revisions, end


def as_stored(drafts: Sequence[EventDraft], offset: int = 0) -> list[Event]:
    return [
        Event(id=f"evt_{offset + n}", **{f.name: getattr(d, f.name) for f in dataclasses.fields(d)})
        for n, d in enumerate(drafts)
    ]


def check_invariants(drafts: Sequence[EventDraft], previous: Sequence[Event], now: datetime) -> None:
    keys = [d.dedupe_key for d in drafts]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {e.dedupe_key for e in previous}
    order = [(d.details["trigger_at"], shifts._TYPE_ORDER[d.type], d.dedupe_key) for d in drafts]
    assert [(datetime.fromisoformat(a), b, c) for a, b, c in order] == sorted(
        (datetime.fromisoformat(a), b, c) for a, b, c in order
    )
    for draft in drafts:
        assert draft.created_at == now
        assert list(draft.match_ids) == sorted(draft.match_ids)
        assert isinstance(draft.details, dict) and draft.details["trigger_at"].endswith("Z")


# --- the replay against the plain per-step logic ---------------------------------------------------------


def _detect_by_steps(
    claim: Claim,
    matches: Sequence[Match],
    revisions: Sequence[MatchRevision],
    settings: ShiftSettings,
    end: datetime,
    monkeypatch: pytest.MonkeyPatch,
    *,
    reference: bool,
) -> list[list[EventDraft]]:
    """Detection at four times up to ``end``, each run's drafts stored (in a shuffled order) before the next,
    then once more over everything with half the drafts stored: what each run returned."""
    with monkeypatch.context() as patched:
        if reference:
            for (owner, name), plain in REFERENCE.items():
                patched.setattr(owner, name, plain)
        start = min(m.article.published for m in matches)
        runs: list[list[EventDraft]] = []
        stored: list[Event] = []
        for step in (1, 2, 3, 4):
            now = start + (end - start) * step / 4
            drafts = detect_shifts(claim, matches, stored, now=now, settings=settings, revisions=revisions)
            check_invariants(drafts, stored, now)
            runs.append(drafts)
            stored = random.Random(step).sample(stored, k=len(stored)) + as_stored(drafts, len(stored))
        everything = [d for run in runs for d in run]
        half = as_stored(random.Random(9).sample(everything, k=len(everything) // 2))
        runs.append(detect_shifts(claim, matches, half, now=end, settings=settings, revisions=revisions))
    return runs


@pytest.mark.parametrize(("seed", "size"), [(1, 1000), (2, 1500), (3, 2000), (4, 1200), (5, 3000), (6, 1000)])
def test_the_replay_raises_what_the_plain_per_step_logic_raises(
    seed: int, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim, matches, revisions, end = claim_data(seed, size)
    settings = SETTINGS[seed % len(SETTINGS)]
    fast = _detect_by_steps(claim, matches, revisions, settings, end, monkeypatch, reference=False)
    plain = _detect_by_steps(claim, matches, revisions, settings, end, monkeypatch, reference=True)
    assert fast == plain
    for got, want in zip(fast, plain, strict=True):
        assert [type(d.details) for d in got] == [type(d.details) for d in want]
        assert [list(d.details) for d in got] == [list(d.details) for d in want]  # keys in the same order
    # The data is built to raise every kind of event, stance-mix shifts and once-only facts both.
    raised = {d.type for run in fast for d in run}
    assert {EventType.FIRST_SEEN, EventType.NEW_SEGMENT, EventType.FRAMING_SHIFT} <= raised
    if settings.stale_after_s == 0:  # else the replay's windowed events are stale, counted but not raised
        assert any(d.dedupe_key.startswith("framing_shift:stance_mix:") for run in fast for d in run)
        assert EventType.COVERAGE_SPIKE in raised


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_whole_run_at_once_is_the_plain_one(
    settings: ShiftSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim, matches, revisions, end = claim_data(11, 2500)
    fast = detect_shifts(claim, matches, [], now=end, settings=settings, revisions=revisions)
    with monkeypatch.context() as patched:
        for (owner, name), plain in REFERENCE.items():
            patched.setattr(owner, name, plain)
        want = detect_shifts(claim, matches, [], now=end, settings=settings, revisions=revisions)
    assert fast == want
    assert fast
    # Stored, they are all there is: a second run raises nothing.
    assert (
        detect_shifts(claim, matches, as_stored(fast), now=end, settings=settings, revisions=revisions) == []
    )


# (dedupe_key, number of matches, backfill) of each draft of claim_data(11, 2500) with the default settings, as
# the pre-change replay raised them.
EXPECTED = [
    ("first_seen", 1, True),
    ("new_segment:country:GB", 1, True),
    ("new_segment:leaning:center", 1, True),
    ("new_segment:ownership:private", 1, True),
    ("new_segment:country:DE", 1, True),
    ("new_segment:ownership:state", 1, True),
    ("new_segment:country:RU", 1, True),
    ("new_segment:language:fr", 1, True),
    ("framing_shift:first_skeptical", 1, True),
    ("new_segment:country:FR", 1, True),
    ("framing_shift:first_disputes", 1, True),
    ("new_segment:country:UA", 1, True),
    ("framing_shift:stance_mix:2025-12-12T20:01:47.524599Z", 10, False),
    ("coverage_spike:2025-12-12T21:22:07.524599Z", 6, False),
    ("coverage_spike:2025-12-13T04:49:47.524599Z", 6, False),
]


def test_the_drafts_are_those_the_pre_change_replay_raised() -> None:
    claim, matches, revisions, end = claim_data(11, 2500)
    drafts = detect_shifts(claim, matches, [], now=end, revisions=revisions)
    assert [(d.dedupe_key, len(d.match_ids), d.backfill) for d in drafts] == EXPECTED


def test_a_revision_moves_the_counts_a_recount_gives() -> None:
    _, matches, _, _ = claim_data(7, 600)
    stories = first_of_stories(matches)
    timeline = shifts._Timeline(list(stories))
    rnd = random.Random(7)
    for _ in range(200):
        index = rnd.randrange(len(stories))
        story = timeline.stories[index]
        timeline.restance(index, dataclasses.replace(story, stance=rnd.choice(tuple(Stance))))
        fresh = shifts._Timeline(list(timeline.stories))
        assert timeline.live == fresh.live
        assert timeline.prefix == fresh.prefix


def test_cooldowns_are_the_plain_scan() -> None:
    ledger = shifts._Ledger()
    rnd = random.Random(3)
    for minute in (300, 0, 120, 120, 600, 601):
        ledger.fired_at.setdefault("coverage_spike", []).append(T0 + timedelta(minutes=minute))
    ledger.fired_at["coverage_spike"].sort()
    for _ in range(2000):
        when = T0 + timedelta(minutes=rnd.uniform(-200, 900), microseconds=rnd.choice((0, 1, -1)))
        cooldown = rnd.choice((0, 1, 60, 1800, 3600, 7200, 21600))
        for event_type in (EventType.COVERAGE_SPIKE, EventType.FRAMING_SHIFT):
            got = ledger.in_cooldown(event_type, when, cooldown)
            assert got is reference_in_cooldown(ledger, event_type, when, cooldown)
    # at exactly the cooldown from a trigger it is over, a microsecond less it is not
    edge = T0 + timedelta(minutes=660)
    assert not ledger.in_cooldown(EventType.COVERAGE_SPIKE, edge + timedelta(minutes=1), 3600)
    assert ledger.in_cooldown(EventType.COVERAGE_SPIKE, edge + timedelta(minutes=1, microseconds=-1), 3600)
