"""Shift detection over hand-built timelines: which events a claim's coverage raises, and when."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watcher.domain import (
    Article,
    Claim,
    Cue,
    Event,
    EventDraft,
    EventType,
    Match,
    MatchRevision,
    Stance,
)
from watcher.shifts import ShiftSettings, detect_shifts

T0 = datetime(2025, 11, 6, 6, 0, tzinfo=UTC)
CLAIM = Claim(id=1, name="nato-ammo", text="NATO has surpassed Russia in ammunition production")
HOUR = 60


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


class Timeline:
    """A claim's matches built compactly: minutes after T0, the outlet's segments and the framing."""

    def __init__(self) -> None:
        self.matches: list[Match] = []

    def add(
        self,
        minute: float,
        outlet: str = "Example Times",
        *,
        country: str = "US",
        language: str = "en",
        leaning: str = "center",
        ownership: str = "private",
        stance: str = "neutral",
        skepticism: float = 0.0,
        cues: Sequence[tuple[str, str]] = (),
        copy_of: Match | None = None,
    ) -> Match:
        number = len(self.matches) + 1
        article_id = 100 + number
        article = Article(
            id=article_id,
            feed_id=number,
            story_id=copy_of.article.story_id if copy_of is not None else article_id,
            url=f"https://news.example/{article_id}",
            canonical_url=f"https://news.example/{article_id}",
            title=f"Story {article_id}",
            text="NATO has now surpassed Russia in ammunition production.",
            content_hash=f"hash-{article_id}",
            published_at=at(minute),  # the story's time on the timeline is its publication time
            first_seen_at=at(minute),
            language=language,
            outlet=outlet,
            country=country,
            leaning=leaning,
            ownership=ownership,
        )
        match = Match(
            id=number,
            claim_id=CLAIM.id,
            claim_name=CLAIM.name,
            article=article,
            score=0.8,
            lexical=0.8,
            semantic=None,
            stance=Stance(stance),
            skepticism=skepticism,
            cues=tuple(Cue(kind=kind, text=text) for kind, text in cues),
            evidence=("NATO has now surpassed Russia in ammunition production.",),
            matched_at=at(minute) + timedelta(seconds=5),
        )
        self.matches.append(match)
        return match

    def burst(self, start: float, count: int, every: float, **segments: Any) -> list[Match]:
        """``count`` stories from distinct outlets, one every ``every`` minutes from ``start``."""
        return [
            self.add(start + i * every, f"Outlet {len(self.matches) + 1}", **segments) for i in range(count)
        ]


def stored(drafts: Iterable[EventDraft], offset: int = 0) -> list[Event]:
    """The drafts as the storage would hand them back."""
    return [
        Event(
            id=f"evt_{offset + index}", **{f.name: getattr(draft, f.name) for f in dataclasses.fields(draft)}
        )
        for index, draft in enumerate(drafts)
    ]


def detect(
    timeline: Timeline,
    now_minute: float,
    previous: Sequence[Event] = (),
    settings: ShiftSettings | None = None,
) -> list[EventDraft]:
    drafts = detect_shifts(
        CLAIM, timeline.matches, previous, now=at(now_minute), settings=settings or ShiftSettings()
    )
    for draft in drafts:
        json.dumps(draft.details, allow_nan=False)  # details go into JSON columns and webhook bodies
    return drafts


def kinds(drafts: Iterable[EventDraft]) -> list[tuple[str, str]]:
    return [(str(d.type), d.dedupe_key) for d in drafts]


def incremental(timeline: Timeline, settings: ShiftSettings | None = None) -> list[EventDraft]:
    """Run detection after every match, as the daemon does, storing what each run returns."""
    everything: list[EventDraft] = []
    feed = Timeline()
    for match in sorted(timeline.matches, key=lambda m: m.article.first_seen_at):
        feed.matches.append(match)
        minute = (match.article.first_seen_at - T0).total_seconds() / 60
        everything += detect(feed, minute, stored(everything), settings)
    return everything


# --- first_seen ---------------------------------------------------------------------------------------------


def test_no_matches_no_events() -> None:
    assert detect(Timeline(), 0) == []


def test_first_match_raises_first_seen_with_its_segments() -> None:
    timeline = Timeline()
    first = timeline.add(0, "Kyiv Independent", country="UA", leaning="center")

    drafts = detect(timeline, 5)

    assert kinds(drafts) == [("first_seen", "first_seen")]
    (event,) = drafts
    assert event.claim_id == CLAIM.id
    assert event.match_ids == (first.id,)
    assert event.created_at == at(5)
    assert event.details["trigger_at"] == "2025-11-06T06:00:00Z"
    assert event.details["segments"] == {
        "country": "UA",
        "language": "en",
        "leaning": "center",
        "ownership": "private",
    }
    assert event.summary == "First coverage: Kyiv Independent (UA, private) reports the claim"


def test_first_seen_is_raised_once() -> None:
    timeline = Timeline()
    timeline.add(0)
    first = detect(timeline, 0)
    timeline.add(30, "Other Daily")

    assert detect(timeline, 30, stored(first)) == []


# --- coverage_spike -----------------------------------------------------------------------------------------


def test_burst_over_quiet_baseline_raises_one_spike() -> None:
    timeline = Timeline()
    timeline.add(0)
    burst = timeline.burst(12 * HOUR, count=8, every=5)  # 8 stories in 35 minutes

    drafts = detect(timeline, 13 * HOUR)

    assert kinds(drafts) == [
        ("first_seen", "first_seen"),
        ("coverage_spike", "coverage_spike:2025-11-06T18:20:00Z"),
    ]
    spike = drafts[1]
    # The fifth story is the first moment the window holds the minimum of five stories.
    assert spike.details["trigger_at"] == "2025-11-06T18:20:00Z"
    assert spike.details["window"] == {"start": "2025-11-06T17:20:00Z", "end": "2025-11-06T18:20:00Z"}
    assert spike.details["stories_in_window"] == 5
    assert spike.details["stories_in_baseline"] == 1
    assert spike.details["expected_in_window"] == 1.0  # the floor: one story in twelve hours is quieter
    assert spike.details["ratio"] == 5.0
    assert spike.match_ids == tuple(m.id for m in burst[:5])
    assert spike.summary.startswith("Coverage spike: 5 stories from 5 outlets in the last 1 h, 5.0x")


def test_burst_fed_incrementally_raises_the_same_events() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)

    assert kinds(incremental(timeline)) == kinds(detect(timeline, 13 * HOUR))


def test_steady_coverage_does_not_spike() -> None:
    timeline = Timeline()
    for hour in range(24):
        timeline.burst(hour * HOUR, count=2, every=20)  # two stories an hour all day
    timeline.burst(24 * HOUR, count=5, every=10)  # 2.5x the usual rate: busy, not a spike

    assert [d.type for d in detect(timeline, 25 * HOUR)] == [EventType.FIRST_SEEN]


def test_a_handful_of_stories_is_not_a_spike() -> None:
    timeline = Timeline()
    timeline.burst(0, count=4, every=2)

    assert [d.type for d in detect(timeline, HOUR)] == [EventType.FIRST_SEEN]


def test_burst_of_wire_copies_does_not_spike() -> None:
    timeline = Timeline()
    original = timeline.add(0, "Reuters", country="GB")
    for i in range(8):
        timeline.add(12 * HOUR + 5 * i, f"Reprinter {i}", country="GB", copy_of=original)

    assert kinds(detect(timeline, 13 * HOUR)) == [("first_seen", "first_seen")]


def test_copies_fold_into_their_earliest_match() -> None:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    wire = timeline.add(10 * HOUR, "AP", country="US")
    # Republished by a Russian state outlet: still the AP story, counted once, first seen from the US.
    timeline.add(10 * HOUR + 5, "RIA", country="RU", ownership="state", copy_of=wire)
    for i in range(6):
        timeline.add(10 * HOUR + 6 + i, f"Reprinter {i}", copy_of=wire)

    assert kinds(detect(timeline, 11 * HOUR)) == [("first_seen", "first_seen")]


def test_cooldown_suppresses_a_second_spike_an_hour_later_but_not_after_it_ends() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)  # spikes at 12:20
    timeline.burst(13 * HOUR + 40, count=8, every=5)  # an hour later: within the 6 h cooldown
    timeline.burst(19 * HOUR, count=8, every=5)  # spikes again at 19:20, 7 h after the first

    spikes = [d for d in detect(timeline, 20 * HOUR) if d.type is EventType.COVERAGE_SPIKE]

    assert [d.details["trigger_at"] for d in spikes] == ["2025-11-06T18:20:00Z", "2025-11-07T01:20:00Z"]
    assert kinds(spikes) == kinds(incremental(timeline)[1:])


def test_without_a_cooldown_the_second_burst_would_spike() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)
    timeline.burst(13 * HOUR + 40, count=8, every=5)
    settings = ShiftSettings(coverage_spike_cooldown_s=0, spike_min_stories=8)

    spikes = [d for d in detect(timeline, 15 * HOUR, settings=settings) if d.type is EventType.COVERAGE_SPIKE]

    assert [d.details["trigger_at"] for d in spikes] == ["2025-11-06T18:35:00Z", "2025-11-06T20:15:00Z"]


def test_cooldown_counts_stored_events_by_their_trigger_time() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)
    # Stored late (created_at far after the burst), which must not stretch the cooldown.
    earlier = [dataclasses.replace(d, created_at=at(17 * HOUR)) for d in detect(timeline, 12 * HOUR + 40)]
    timeline.burst(19 * HOUR, count=8, every=5)

    later = detect(timeline, 20 * HOUR, stored(earlier))

    assert kinds(later) == [("coverage_spike", "coverage_spike:2025-11-07T01:20:00Z")]


def test_cooldown_falls_back_to_created_at_without_a_trigger_time() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)
    (seen,) = stored(detect(timeline, 1))
    foreign = Event(
        id="evt_x",
        type=EventType.COVERAGE_SPIKE,
        claim_id=CLAIM.id,
        dedupe_key="coverage_spike:imported",
        summary="Coverage spike",
        details={},
        match_ids=(1,),
        created_at=at(10 * HOUR),  # 2 h before the burst: its 12:20 spike is inside the cooldown
    )

    assert detect(timeline, 13 * HOUR, [seen, foreign]) == []


def test_old_spikes_found_late_are_not_raised() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)

    assert kinds(detect(timeline, 72 * HOUR)) == [("first_seen", "first_seen")]
    assert len(detect(timeline, 72 * HOUR, settings=ShiftSettings(stale_after_s=0))) == 2


# --- new_segment --------------------------------------------------------------------------------------------


def test_first_russian_state_media_raises_country_and_ownership_segments() -> None:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    rt = timeline.add(3 * HOUR, "RT", country="RU", leaning="unknown", ownership="state")
    before = stored(detect(timeline, 2 * HOUR))

    drafts = detect(timeline, 3 * HOUR, before)

    assert kinds(drafts) == [
        ("new_segment", "new_segment:country:RU"),
        ("new_segment", "new_segment:ownership:state"),
    ]
    country, ownership = drafts
    assert country.summary == "First coverage from RU: RT (RU, state)"
    assert ownership.summary == "First coverage from state media: RT (RU, state)"
    assert country.match_ids == ownership.match_ids == (rt.id,)
    assert ownership.details["segment"] == "ownership:state"
    assert ownership.details["story"]["outlet"] == "RT"


def test_each_segment_is_new_only_once() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "RT", country="RU", ownership="state")
    first = detect(timeline, HOUR)
    timeline.add(2 * HOUR, "TASS", country="RU", ownership="state")

    assert detect(timeline, 2 * HOUR, stored(first)) == []


def test_placeholder_segments_are_not_segments() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "Mystery Wire", country="ZZ", language="und", leaning="unknown", ownership="unknown")

    assert kinds(detect(timeline, HOUR)) == [("first_seen", "first_seen")]


def test_new_language_and_leaning_are_segments() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "Fox News", leaning="right")
    timeline.add(2 * HOUR, "Le Monde", country="fr", language="FR")

    assert kinds(detect(timeline, 2 * HOUR))[1:] == [
        ("new_segment", "new_segment:leaning:right"),
        ("new_segment", "new_segment:country:FR"),
        ("new_segment", "new_segment:language:fr"),
    ]


# --- framing_shift ------------------------------------------------------------------------------------------


def test_first_disputing_coverage_raises_framing_shift() -> None:
    timeline = Timeline()
    timeline.add(0, "Example Times", stance="supports")
    rt = timeline.add(
        2 * HOUR,
        "RT",
        country="US",  # keeps new_segment out of this test
        stance="disputes",
        skepticism=0.3,
        cues=[("distancing_verb", "claimed"), ("counter_voice", "Moscow denied")],
    )

    drafts = detect(timeline, 2 * HOUR)

    assert kinds(drafts)[1:] == [("framing_shift", "framing_shift:first_disputes")]
    event = drafts[1]
    assert event.summary == (
        'First disputing coverage: RT (US, private) disputes the claim (cues: "claimed", "Moscow denied")'
    )
    assert event.details["reasons"] == ["first_disputes"]
    assert event.details["first_disputes"]["cues"][0] == {"kind": "distancing_verb", "text": "claimed"}
    assert event.match_ids == (rt.id,)


def test_disputing_and_skeptical_at_once_is_one_event() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "Skeptic", stance="disputes", skepticism=0.9)
    first = detect(timeline, HOUR)
    timeline.add(2 * HOUR, "Doubter", skepticism=0.8)

    assert kinds(first)[1:] == [("framing_shift", "framing_shift:first_disputes")]
    assert first[1].details["reasons"] == ["first_disputes", "first_skeptical"]
    # Both facts are announced: a later skeptical story is no longer a first.
    assert detect(timeline, 2 * HOUR, stored(first)) == []


def test_first_markedly_skeptical_coverage_even_if_neutral() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "Mild", skepticism=0.59)
    skeptic = timeline.add(2 * HOUR, "Doubter", skepticism=0.7, cues=[("scare_quotes", '"surpassed"')])

    drafts = detect(timeline, 2 * HOUR)

    assert kinds(drafts)[1:] == [("framing_shift", "framing_shift:first_skeptical")]
    assert drafts[1].summary.startswith("First markedly skeptical coverage: Doubter (US, private)")
    assert "skepticism 0.70" in drafts[1].summary
    assert drafts[1].match_ids == (skeptic.id,)


def test_framing_of_the_first_match_belongs_to_first_seen() -> None:
    timeline = Timeline()
    timeline.add(0, "Fact Check", stance="disputes", skepticism=0.9)
    first = detect(timeline, 0)
    timeline.add(HOUR, "Other Check", stance="disputes", skepticism=0.9)

    assert first[0].summary == "First coverage: Fact Check (US, private) disputes the claim"
    assert detect(timeline, HOUR, stored(first)) == []


def test_framing_cooldown_defers_a_once_only_fact() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(HOUR, "Skeptic", skepticism=0.8)  # first skeptical at 07:00
    timeline.add(2 * HOUR, "Denier", stance="disputes")  # first disputing, inside the cooldown
    timeline.add(8 * HOUR, "Later")  # the next story after the cooldown carries it

    framing = [d for d in detect(timeline, 8 * HOUR) if d.type is EventType.FRAMING_SHIFT]

    assert [(d.dedupe_key, d.details["trigger_at"]) for d in framing] == [
        ("framing_shift:first_skeptical", "2025-11-06T07:00:00Z"),
        ("framing_shift:first_disputes", "2025-11-06T14:00:00Z"),
    ]
    assert framing[1].details["first_disputes"]["first_seen_at"] == "2025-11-06T08:00:00Z"


def test_stance_mix_shift() -> None:
    timeline = Timeline()
    for day in range(5):
        timeline.burst(day * 24 * HOUR, count=2, every=HOUR)  # ten neutral stories over five days
    supporters = timeline.burst(5 * 24 * HOUR, count=6, every=20, stance="supports")

    framing = [d for d in detect(timeline, 5 * 24 * HOUR + 3 * HOUR) if d.type is EventType.FRAMING_SHIFT]

    assert len(framing) == 1
    (event,) = framing
    assert event.dedupe_key == "framing_shift:stance_mix:2025-11-11T07:20:00Z"
    mix = event.details["stance_mix"]
    assert (mix["stance"], mix["share_before"], mix["share_after"]) == ("supports", 0.0, 1.0)
    assert (mix["stories_before"], mix["stories_after"]) == (10, 5)
    assert mix["z"] > 1.96
    assert event.summary == (
        "Stance mix shift: the share of supports coverage rose from 0% to 100% in the last 6 h "
        "(5 stories against 10 before)"
    )
    assert event.match_ids == tuple(m.id for m in supporters[:5])


def test_small_stance_wobble_is_not_a_shift() -> None:
    timeline = Timeline()
    timeline.burst(0, count=10, every=HOUR)
    timeline.burst(18 * HOUR, count=4, every=40)
    timeline.add(20 * HOUR + 40, "Supporter", stance="supports")  # 1 in 5: +20 points, below 25

    assert [d.type for d in detect(timeline, 21 * HOUR)] == [EventType.FIRST_SEEN]


# --- determinism and idempotency ----------------------------------------------------------------------------


def busy_timeline() -> Timeline:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    timeline.add(
        HOUR, "RT", country="RU", language="ru", ownership="state", stance="disputes", skepticism=0.8
    )
    timeline.burst(12 * HOUR, count=8, every=5)
    timeline.add(13 * HOUR, "Fox News", leaning="right", stance="supports")
    return timeline


def test_rerun_with_returned_events_stored_returns_nothing() -> None:
    timeline = busy_timeline()
    first = detect(timeline, 14 * HOUR)

    assert len(first) == 7
    assert detect(timeline, 14 * HOUR, stored(first)) == []
    assert detect(timeline, 15 * HOUR, stored(first)) == []


def test_output_is_deterministic_and_sorted_by_time_then_type() -> None:
    timeline = busy_timeline()
    shuffled = Timeline()
    shuffled.matches = list(reversed(timeline.matches))

    drafts = detect(timeline, 14 * HOUR)

    assert drafts == detect(shuffled, 14 * HOUR)
    assert [(d.details["trigger_at"], str(d.type)) for d in drafts] == [
        ("2025-11-06T06:00:00Z", "first_seen"),
        ("2025-11-06T07:00:00Z", "new_segment"),
        ("2025-11-06T07:00:00Z", "new_segment"),
        ("2025-11-06T07:00:00Z", "new_segment"),
        ("2025-11-06T07:00:00Z", "framing_shift"),
        ("2025-11-06T18:20:00Z", "coverage_spike"),
        ("2025-11-06T19:00:00Z", "new_segment"),
    ]


def test_crash_after_partial_store_raises_only_the_rest() -> None:
    timeline = busy_timeline()
    drafts = detect(timeline, 14 * HOUR)

    rest = detect(timeline, 14 * HOUR, stored(drafts[:3]))

    assert kinds(rest) == kinds(drafts[3:])


def test_stories_after_now_and_other_claims_are_ignored() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.add(2 * HOUR, "RT", country="RU")
    other = timeline.add(HOUR, "Elsewhere", country="FR")
    timeline.matches[-1] = dataclasses.replace(other, claim_id=99)

    assert kinds(detect(timeline, HOUR)) == [("first_seen", "first_seen")]


# --- settings -----------------------------------------------------------------------------------------------


def test_settings_defaults_and_cooldowns() -> None:
    settings = ShiftSettings()

    assert settings.cooldown_s(EventType.COVERAGE_SPIKE) == 6 * 3600
    assert settings.cooldown_s(EventType.FRAMING_SHIFT) == 6 * 3600
    assert settings.cooldown_s(EventType.NEW_SEGMENT) == 0
    assert settings.cooldown_s(EventType.FIRST_SEEN) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"spike_window_s": 0}, "spike_window_s"),
        ({"coverage_spike_cooldown_s": -1}, "coverage_spike_cooldown_s"),
        ({"skeptical_threshold": 1.5}, "skeptical_threshold"),
        ({"spike_min_ratio": "3"}, "spike_min_ratio"),
        ({"spike_min_baseline_s": 90000}, "spike_min_baseline_s"),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"shifts.{field}"):
        ShiftSettings(**overrides)


# --- a new feed's undated backlog and revised stances -----------------------------------------------------------


def test_an_undated_backlog_is_backfill_and_never_part_of_a_spike() -> None:
    timeline = Timeline()
    for _ in range(8):  # a new feed's archive, all at its first poll
        match = timeline.add(10 * HOUR, "Archive Weekly", country="DE")
        timeline.matches[-1] = dataclasses.replace(
            match, article=dataclasses.replace(match.article, backlog=True, published_at_basis="first_seen")
        )
    drafts = detect(timeline, 10 * HOUR)
    assert [(str(d.type), d.backfill) for d in drafts] == [("first_seen", True)]
    # Live coverage soon after: four stories are no spike, the backlog does not count in the window.
    timeline.burst(10 * HOUR + 10, 4, 5, country="DE")
    later = detect(timeline, 11 * HOUR, stored(drafts))
    assert "coverage_spike" not in [str(d.type) for d in later]


def test_a_revised_stance_counts_from_when_the_revision_was_seen() -> None:
    timeline = Timeline()
    story = timeline.add(0, stance="disputes", skepticism=0.9)  # as it stands now, after the correction
    revision = MatchRevision(
        match_id=story.id,
        claim_id=CLAIM.id,
        article_id=story.article.id,
        story_id=story.article.story_id,
        version=2,
        previous_version=1,
        content_hash="h2",
        changes=("evidence", "stance"),
        before={"title": "t", "stance": "supports", "skepticism": 0.1, "evidence": [], "matched": True},
        after={"title": "t", "stance": "disputes", "skepticism": 0.9, "evidence": [], "matched": True},
        diff={},
        updated_at=None,
        revised_at=at(48 * HOUR),
    )
    now = at(48 * HOUR + 5)
    drafts = detect_shifts(CLAIM, timeline.matches, [], now=now, revisions=[revision])
    by_type = {str(d.type): d for d in drafts}
    assert by_type["first_seen"].details["stance"] == "supports", "published supporting"
    shift = by_type["framing_shift"]
    assert shift.dedupe_key == "framing_shift:first_disputes" and not shift.backfill
    assert shift.details["trigger_at"] == at(48 * HOUR).isoformat().replace("+00:00", "Z")
    assert detect_shifts(CLAIM, timeline.matches, stored(drafts), now=now, revisions=[revision]) == []
