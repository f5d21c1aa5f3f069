"""Properties of shift detection over arbitrary timelines fed one match at a time."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.domain import Article, Claim, Event, EventDraft, EventType, Match, Stance
from watcher.shifts import ShiftSettings, detect_shifts

T0 = datetime(2025, 11, 6, 6, 0, tzinfo=UTC)
CLAIM = Claim(id=7, name="ammo", text="NATO has surpassed Russia in ammunition production")

# (outlet, country, language, leaning, ownership): a mix of known segments and placeholders.
OUTLETS = (
    ("Example Times", "US", "en", "center", "private"),
    ("RT", "RU", "ru", "unknown", "state"),
    ("Le Monde", "FR", "fr", "lean-left", "private"),
    ("BBC", "GB", "en", "center", "public"),
    ("Mystery Wire", "ZZ", "und", "unknown", "unknown"),
    ("Fox News", "US", "en", "right", "private"),
)

DEFAULTS = ShiftSettings()
# Small windows, counts and cooldowns so that short random timelines exercise every rule.
EAGER = ShiftSettings(
    spike_window_s=1800,
    spike_min_baseline_s=3600,
    spike_min_stories=3,
    spike_min_ratio=2.0,
    framing_window_s=3600,
    framing_min_stories=2,
    framing_min_change=0.2,
    framing_min_z=0.0,
    coverage_spike_cooldown_s=7200,
    framing_shift_cooldown_s=3600,
    new_segment_cooldown_s=1800,
)


@dataclasses.dataclass(frozen=True)
class Step:
    gap_min: int  # minutes after the previous story
    outlet: int
    stance: Stance
    skepticism: float
    copy_of: int | None  # index of an earlier step whose story this one republishes


steps = st.builds(
    Step,
    gap_min=st.one_of(st.integers(0, 20), st.integers(60, 600)),
    outlet=st.integers(0, len(OUTLETS) - 1),
    stance=st.sampled_from(list(Stance)),
    skepticism=st.sampled_from([0.0, 0.2, 0.6, 0.9]),
    copy_of=st.one_of(st.none(), st.integers(0, 40)),
)
timelines = st.lists(steps, min_size=1, max_size=30)
shift_settings = st.sampled_from([DEFAULTS, EAGER])


def build(plan: Sequence[Step], *, min_gap: int = 0) -> list[Match]:
    """Matches for a plan, in first-seen order; a copy's story is the story of the step it names."""
    matches: list[Match] = []
    minute = 0
    for index, step in enumerate(plan):
        minute += max(step.gap_min, min_gap) if index else 0
        article_id = 1000 + index
        story_id = article_id
        if step.copy_of is not None and step.copy_of < index:
            story_id = matches[step.copy_of].article.story_id
        outlet, country, language, leaning, ownership = OUTLETS[step.outlet]
        seen = T0 + timedelta(minutes=minute)
        article = Article(
            id=article_id,
            feed_id=step.outlet,
            story_id=story_id,
            url=f"https://news.example/{article_id}",
            canonical_url=f"https://news.example/{article_id}",
            title=f"Story {article_id}",
            text="NATO has surpassed Russia in ammunition production.",
            content_hash=f"hash-{story_id}",
            published_at=None,
            first_seen_at=seen,
            language=language,
            outlet=outlet,
            country=country,
            leaning=leaning,
            ownership=ownership,
        )
        matches.append(
            Match(
                id=index + 1,
                claim_id=CLAIM.id,
                claim_name=CLAIM.name,
                article=article,
                score=0.7,
                lexical=0.7,
                semantic=None,
                stance=step.stance,
                skepticism=step.skepticism,
                cues=(),
                evidence=(),
                matched_at=seen,
            )
        )
    return matches


def store(drafts: Sequence[EventDraft], offset: int) -> list[Event]:
    return [
        Event(id=f"evt_{offset + i}", **{f.name: getattr(d, f.name) for f in dataclasses.fields(d)})
        for i, d in enumerate(drafts)
    ]


def feed(arrivals: Sequence[Match], config: ShiftSettings) -> list[EventDraft]:
    """Detect after every arrival, storing each run's drafts, the way the daemon drives it."""
    raised: list[EventDraft] = []
    seen: list[Match] = []
    for match in arrivals:
        seen.append(match)
        now = max(m.article.first_seen_at for m in seen)
        previous = store(raised, 0)
        drafts = detect_shifts(CLAIM, seen, previous, now=now, settings=config)
        check_drafts(drafts, seen, now)
        # Re-running with the drafts stored (say, after a crash right after the commit) adds nothing.
        assert (
            detect_shifts(CLAIM, seen, previous + store(drafts, len(raised)), now=now, settings=config) == []
        )
        raised += drafts
    return raised


def check_drafts(drafts: Sequence[EventDraft], seen: Sequence[Match], now: datetime) -> None:
    ids = {m.id for m in seen}
    for draft in drafts:
        assert draft.claim_id == CLAIM.id
        assert draft.created_at == now
        assert draft.match_ids and set(draft.match_ids) <= ids
        assert draft.summary and "\n" not in draft.summary
        assert trigger(draft) <= now
        json.dumps(draft.details, allow_nan=False)
    order = [(d.details["trigger_at"], list(EventType).index(d.type), d.dedupe_key) for d in drafts]
    assert order == sorted(order)


def trigger(draft: EventDraft) -> datetime:
    return datetime.fromisoformat(draft.details["trigger_at"])


def check_invariants(raised: Sequence[EventDraft], config: ShiftSettings) -> None:
    assert [d.type for d in raised].count(EventType.FIRST_SEEN) == 1
    keys = [d.dedupe_key for d in raised]
    assert len(keys) == len(set(keys))
    for event_type in EventType:
        assert_spaced([trigger(d) for d in raised if d.type is event_type], config.cooldown_s(event_type))


def assert_spaced(times: Sequence[datetime], cooldown_s: int) -> None:
    """No two of the times are closer than the cooldown."""
    ordered = sorted(times)
    assert all(later - earlier >= timedelta(seconds=cooldown_s) for earlier, later in pairwise(ordered))


@settings(max_examples=80, deadline=None)
@given(plan=timelines, config=shift_settings)
def test_in_order_feed_keeps_the_invariants(plan: list[Step], config: ShiftSettings) -> None:
    raised = feed(build(plan), config)

    check_invariants(raised, config)
    # Fed in first-seen order, each event is raised as it triggers, so creation times honour cooldowns too.
    for event_type in EventType:
        assert_spaced([d.created_at for d in raised if d.type is event_type], config.cooldown_s(event_type))


@settings(max_examples=60, deadline=None)
@given(plan=timelines, config=shift_settings, order=st.randoms(use_true_random=False))
def test_late_arrivals_keep_the_invariants(
    plan: list[Step], config: ShiftSettings, order: random.Random
) -> None:
    arrivals = build(plan)
    order.shuffle(arrivals)

    check_invariants(feed(arrivals, config), config)


@settings(max_examples=60, deadline=None)
@given(plan=timelines, config=shift_settings)
def test_incremental_feed_agrees_with_one_replay(plan: list[Step], config: ShiftSettings) -> None:
    # Distinct first-seen times (ties are evaluated together by a replay but apart when fed one by one)
    # and no staleness (a replay at the end would age out what the feed raised on time).
    config = dataclasses.replace(config, stale_after_s=0)
    matches = build(plan, min_gap=1)
    raised = feed(matches, config)
    now = matches[-1].article.first_seen_at

    replayed = detect_shifts(CLAIM, matches, [], now=now, settings=config)

    assert [(d.dedupe_key, d.details, d.match_ids) for d in replayed] == [
        (d.dedupe_key, d.details, d.match_ids) for d in raised
    ]
