"""Shift detection on odd timelines: mixed time zones, clocks ahead, shares exactly at a threshold."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.unit.test_shifts import CLAIM, HOUR, Timeline, at, detect, stored
from watcher.domain import Match, MatchRevision
from watcher.revisions import revision_plan
from watcher.shifts import ShiftSettings, detect_shifts

DAY = 24 * HOUR
LONDON = ZoneInfo("Europe/London")


def dated(match: Match, *, published_at: datetime, first_seen_at: datetime) -> Match:
    return dataclasses.replace(
        match,
        article=dataclasses.replace(match.article, published_at=published_at, first_seen_at=first_seen_at),
    )


def restance(match: Match, minute: float, was: str, now: str) -> MatchRevision:
    """A revision of ``match`` seen ``minute`` after T0 that turned its stance from ``was`` to ``now``."""
    framed = {"title": match.article.title, "skepticism": 0.1, "evidence": [], "score": 0.8, "matched": True}
    return MatchRevision(
        id=1,
        match_id=match.id,
        claim_id=CLAIM.id,
        article_id=match.article.id,
        story_id=match.article.story_id,
        version=2,
        previous_version=1,
        content_hash="h2",
        changes=("stance",),
        before=framed | {"stance": was},
        after=framed | {"stance": now},
        diff={"title": [], "text": []},
        updated_at=None,
        revised_at=at(minute),
    )


# --- time zones ---------------------------------------------------------------------------------------------


def test_a_naive_publication_time_beside_an_aware_first_seen_is_utc_not_a_crash() -> None:
    timeline = Timeline()
    story = timeline.add(0)
    timeline.matches[-1] = dated(story, published_at=at(-30).replace(tzinfo=None), first_seen_at=at(0))

    (first_seen,) = detect(timeline, 5)

    assert first_seen.details["trigger_at"] == "2025-11-06T05:30:00Z"
    assert first_seen.details["published_at"] == "2025-11-06T05:30:00Z"


def test_a_publication_time_in_the_hour_daylight_saving_repeats_is_clamped_as_an_instant() -> None:
    """01:30 on the second pass of 26 October in London (GMT, 01:30 UTC) is later than 01:45 on the first
    (BST, 00:45 UTC), though its wall clock reads earlier: the item is clamped to when it was first seen."""
    timeline = Timeline()
    story = timeline.add(0)
    first_seen = datetime(2025, 10, 26, 1, 45, tzinfo=LONDON)
    published = datetime(2025, 10, 26, 1, 30, fold=1, tzinfo=LONDON)
    timeline.matches[-1] = dated(story, published_at=published, first_seen_at=first_seen)

    (event,) = detect_shifts(CLAIM, timeline.matches, [], now=datetime(2025, 10, 26, 2, 0, tzinfo=UTC))

    assert event.details["trigger_at"] == event.details["published_at"] == "2025-10-26T00:45:00Z"


def test_revision_plan_takes_a_naive_now_as_utc() -> None:
    timeline = Timeline()
    story = timeline.add(0)
    revision = restance(story, 60, "supports", "disputes")

    drafts, held = revision_plan(
        CLAIM,
        [revision],
        [],
        outlets={story.id: "Example Times"},
        now=at(90).replace(tzinfo=None),
        fresh_window_s=86400,
    )

    assert [(d.dedupe_key, d.details["trigger_at"], d.backfill) for d in drafts] == [
        ("article_revised:101:h2", "2025-11-06T07:00:00Z", False)
    ]
    assert held is None


# --- a revision stamped by a clock ahead ----------------------------------------------------------------------


def test_a_revision_seen_after_now_does_not_reframe_the_story_from_its_publication() -> None:
    """Another worker, its clock two minutes ahead, stored a correction of a three-day-old story (the match
    now disputes). Detection running before that instant must not count the story as disputing since its
    publication (a first_disputes dated three days back, backfill, delivered nowhere, never again raised):
    the correction is announced from when it was seen."""
    timeline = Timeline()
    timeline.add(0)
    story = timeline.add(HOUR, "Wire", stance="disputes", skepticism=0.1)
    revision = restance(story, 3 * DAY + 2, "supports", "disputes")

    early = detect_shifts(CLAIM, timeline.matches, [], now=at(3 * DAY), revisions=[revision])
    assert [d.dedupe_key for d in early] == ["first_seen"]

    later = detect_shifts(CLAIM, timeline.matches, stored(early), now=at(3 * DAY + 5), revisions=[revision])
    assert [(d.dedupe_key, d.details["trigger_at"], d.backfill) for d in later] == [
        ("framing_shift:first_disputes", "2025-11-09T06:02:00Z", False)
    ]


def test_a_revision_seen_after_now_is_announced_when_seen_and_detection_is_asked_to_run_again_then() -> None:
    timeline = Timeline()
    story = timeline.add(0)
    revision = restance(story, 3 * DAY + 2, "supports", "disputes")
    outlets = {story.id: "Wire"}

    early, due = revision_plan(CLAIM, [revision], [], outlets=outlets, now=at(3 * DAY), fresh_window_s=86400)
    assert early == []
    assert due == at(3 * DAY + 2)

    later, due = revision_plan(
        CLAIM, [revision], [], outlets=outlets, now=at(3 * DAY + 2), fresh_window_s=86400
    )
    assert [(d.details["trigger_at"], d.backfill) for d in later] == [("2025-11-09T06:02:00Z", False)]
    assert due is None


def test_an_earlier_revision_counts_with_its_own_stance_while_a_later_one_is_ahead_of_now() -> None:
    timeline = Timeline()
    timeline.add(0)
    story = timeline.add(HOUR, "Wire", stance="neutral")  # as the second revision left it
    revisions = [
        restance(story, 2 * HOUR, "supports", "disputes"),
        restance(story, 5 * HOUR, "disputes", "neutral"),
    ]
    revisions[1] = dataclasses.replace(revisions[1], id=2, version=3, previous_version=2, content_hash="h3")

    drafts = detect_shifts(CLAIM, timeline.matches, [], now=at(4 * HOUR), revisions=revisions)

    assert [(d.dedupe_key, d.details["trigger_at"]) for d in drafts] == [
        ("first_seen", "2025-11-06T06:00:00Z"),
        ("framing_shift:first_disputes", "2025-11-06T08:00:00Z"),
    ]


# --- a stance mix moving exactly the minimum ----------------------------------------------------------------


def test_a_share_moving_exactly_the_minimum_from_what_was_told_is_told_again() -> None:
    """Told 67% (two thirds, announced as 0.6667), the disputing share reaches 92% (eleven twelfths): it moved
    by exactly framing_min_change (0.25), which counts, though 11/12 - 0.6667 is a hair under it."""
    settings = ShiftSettings(framing_min_stories=6, framing_shift_cooldown_s=0)
    timeline = Timeline()
    for k in range(14):
        timeline.add(k * 12 * HOUR, f"Daily {k}")  # a week of neutral coverage
    for k, stance in enumerate(["neutral", "neutral", "disputes", "disputes", "disputes", "disputes"]):
        timeline.add(7 * DAY + 10 * k, f"Monday {k}", stance=stance)
    told = detect(timeline, 7 * DAY + HOUR, settings=settings)
    mixes = [d.details["stance_mix"] for d in told if "stance_mix" in d.details]
    assert [(m["stance"], m["share_after"]) for m in mixes] == [("disputes", 0.6667)]

    timeline.add(8 * DAY, "Tuesday 0")
    for k in range(1, 12):
        timeline.add(8 * DAY + 10 * k, f"Tuesday {k}", stance="disputes")
    again = [
        d for d in detect(timeline, 8 * DAY + 3 * HOUR, stored(told), settings) if "stance_mix" in d.details
    ]

    assert [(d.details["trigger_at"], d.details["stance_mix"]["share_after"]) for d in again] == [
        ("2025-11-14T07:50:00Z", 0.9167)
    ]
