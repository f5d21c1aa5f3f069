"""Stance flip-flops: a story or a claim's stance mix going back and forth is told once, then its net state."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from tests.support.records import T0
from tests.unit.test_shifts import CLAIM, HOUR, Timeline, at, detect, incremental, stored
from watcher.domain import Event, EventDraft, EventType, Match, MatchRevision
from watcher.revisions import revision_plan
from watcher.shifts import ShiftSettings, detect_shifts

COOLDOWN_S = 6 * 3600
FRAMED = {"title": "Live", "skepticism": 0.1, "evidence": ["NATO ahead."], "score": 0.8, "matched": True}


def restanced(
    version: int,
    minute: float,
    stance: str,
    *,
    was: str | None = None,
    match_id: int = 1,
    article_id: int = 1,
) -> MatchRevision:
    """Version ``version`` of a live blog, seen ``minute`` after records.T0: its stance turned from ``was``
    (by default the other of supports and disputes) to ``stance``."""
    if was is None:
        was = "disputes" if stance == "supports" else "supports"
    return MatchRevision(
        id=version,
        match_id=match_id,
        claim_id=CLAIM.id,
        article_id=article_id,
        story_id=article_id,
        version=version,
        previous_version=version - 1,
        content_hash=f"h{article_id}-{version}",
        changes=("stance",),
        before=dict(FRAMED, stance=was),
        after=dict(FRAMED, stance=stance),
        diff={"title": [], "text": []},
        updated_at=None,
        revised_at=T0 + timedelta(minutes=minute),
    )


def flip_flops(count: int, *, every: float = 30) -> list[MatchRevision]:
    """A live blog published supporting, revised to disputes, supports, disputes, ... every ``every`` min."""
    return [
        restanced(v, every * (v - 1), "disputes" if v % 2 == 0 else "supports") for v in range(2, 2 + count)
    ]


def announce(
    revisions: Sequence[MatchRevision], hours: float, previous: Sequence[Event] = ()
) -> list[EventDraft]:
    return revision_plan(
        CLAIM,
        revisions,
        previous,
        outlets={1: "Live Wire"},
        now=T0 + timedelta(hours=hours),
        cooldown_s=COOLDOWN_S,
    )[0]


def stances(drafts: Sequence[EventDraft]) -> list[tuple[str, str]]:
    return [(d.details["before"]["stance"], d.details["after"]["stance"]) for d in drafts]


# --- article_revised ----------------------------------------------------------------------------------------


def test_a_live_blog_flipping_its_stance_is_one_alert_per_cooldown() -> None:
    revisions = flip_flops(5)  # supports → disputes → supports → disputes → supports → disputes in 2 h

    first = announce(revisions, 2.5)

    assert stances(first) == [("supports", "disputes")]
    # Back at the announced stance when the cooldown ends: nothing more to say.
    assert announce(revisions, 7, stored(first)) == []
    assert announce(revisions, 9, stored(first)) == []


def test_a_stance_flip_flop_ending_elsewhere_is_announced_as_its_net_change_when_the_cooldown_ends() -> None:
    revisions = flip_flops(4)  # ends supporting, as it was published

    first = announce(revisions, 2)
    (net,) = announce(revisions, 7, stored(first))

    assert stances(first) == [("supports", "disputes")]
    assert stances([net]) == [("disputes", "supports")] and net.details["revisions"] == 3
    assert net.details["trigger_at"] == (T0 + timedelta(hours=6, minutes=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert "(3 revisions since the last alert)" in net.summary
    assert announce(revisions, 9, stored([*first, net])) == []


def test_stance_flips_fed_one_at_a_time_raise_the_same_alerts_as_one_replay() -> None:
    revisions = flip_flops(4)
    raised: list[EventDraft] = []
    for count in range(1, len(revisions) + 1):
        raised += announce(revisions[:count], (30 * count + 1) / 60, stored(raised))
    raised += announce(revisions, 7, stored(raised))

    replayed = announce(revisions, 2)
    replayed += announce(revisions, 7, stored(replayed))

    assert [d.dedupe_key for d in raised] == [d.dedupe_key for d in replayed]
    assert [d.details["version"] for d in raised] == [2, 5]


def test_a_stance_change_after_the_cooldown_is_announced_at_once_again() -> None:
    revisions = [restanced(2, 0, "disputes"), restanced(3, 7 * 60, "supports")]

    assert stances(announce(revisions, 7.5)) == [("supports", "disputes"), ("disputes", "supports")]


def test_each_story_has_its_own_stance_cooldown() -> None:
    other = restanced(2, 10, "disputes", match_id=2, article_id=2)
    revisions = [restanced(2, 0, "disputes"), other]

    assert stances(announce(revisions, 1)) == [("supports", "disputes"), ("supports", "disputes")]


# --- framing_shift ------------------------------------------------------------------------------------------


def live_blog_over_a_quiet_claim() -> tuple[Timeline, Match]:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    blog = timeline.add(HOUR, "Live Wire", stance="supports")
    return timeline, blog


def test_a_live_blog_flipping_its_stance_raises_first_disputes_once() -> None:
    timeline, blog = live_blog_over_a_quiet_claim()
    revisions = [
        dataclasses.replace(r, match_id=blog.id, article_id=blog.article.id, story_id=blog.article.story_id)
        for r in flip_flops(8, every=45)  # records.T0 is hours after the blog was published
    ]
    now = revisions[-1].revised_at + timedelta(minutes=5)

    drafts = detect_shifts(CLAIM, timeline.matches, [], now=now, revisions=revisions)
    framing = [d for d in drafts if d.type is EventType.FRAMING_SHIFT]

    assert [d.dedupe_key for d in framing] == ["framing_shift:first_disputes"]
    assert detect_shifts(CLAIM, timeline.matches, stored(drafts), now=now, revisions=revisions) == []


def swinging_mix(days: int = 3) -> Timeline:
    """A week of neutral coverage, one story an hour, then coverage whose stance swings every two hours:
    the last six hours hold a third, a half or two thirds supporting stories, depending on the hour."""
    timeline = Timeline()
    for hour in range(7 * 24):
        timeline.add(hour * HOUR, f"Outlet {hour % 5}")
    for hour in range(days * 24):
        stance = "supports" if (hour // 2) % 2 == 0 else "neutral"
        timeline.add((7 * 24 + hour) * HOUR, f"Outlet {hour % 5}", stance=stance)
    return timeline


def mixes(drafts: Sequence[EventDraft]) -> list[tuple[str, str, float]]:
    return [
        (d.details["trigger_at"], d.details["stance_mix"]["stance"], d.details["stance_mix"]["share_after"])
        for d in drafts
        if d.type is EventType.FRAMING_SHIFT
    ]


def test_a_stance_mix_swinging_around_the_threshold_is_told_once_not_at_every_swing() -> None:
    timeline = swinging_mix()

    told = mixes(incremental(timeline))

    # Supporting coverage appears (a third of the window), then grows to two thirds: each told as it
    # happens. The swings back to a third that follow read "rose" against the neutral week, yet are lower
    # than what the newsroom was told: not news, however many cooldowns the swinging lasts.
    assert told == [
        ("2025-11-13T07:00:00Z", "supports", 0.3333),
        ("2025-11-13T15:00:00Z", "supports", 0.6667),
    ]
    end = (timeline.matches[-1].article.first_seen_at - at(0)).total_seconds() / 60
    settings = ShiftSettings(stale_after_s=0)
    assert mixes(detect(timeline, end, settings=settings)) == told


def test_a_mix_that_moves_on_beyond_what_was_told_is_told_again() -> None:
    timeline = swinging_mix(days=1)
    for hour in range(8 * 24, 10 * 24):  # then two days with no supporting coverage at all
        timeline.add(hour * HOUR, f"Outlet {hour % 5}")
    for hour in range(10 * 24, 11 * 24):  # then a day of supporting coverage only
        timeline.add(hour * HOUR, f"Outlet {hour % 5}", stance="supports")

    told = mixes(incremental(timeline))

    assert [share for _, _, share in told] == [0.3333, 0.6667, 1.0]


def test_live_blogs_flipping_a_window_s_mix_back_and_forth_are_one_stance_mix_shift() -> None:
    timeline = Timeline()
    for hour in range(7 * 24):  # a neutral week
        timeline.add(hour * HOUR, f"Outlet {hour % 5}")
    blogs = [timeline.add(7 * 24 * HOUR + 10 * i, f"Blog {i}") for i in range(6)]
    start = at(7 * 24 * HOUR + HOUR)
    revisions = []
    for step in range(1, 4 * 24):  # every half hour for two days, four of them turn supporting, then back
        stance = "supports" if step % 2 else "neutral"
        seen = start + timedelta(minutes=30 * step)
        was = "neutral" if stance == "supports" else "supports"
        for blog in blogs[:4]:
            revision = restanced(step + 1, 0, stance, was=was, match_id=blog.id, article_id=blog.article.id)
            revisions.append(dataclasses.replace(revision, revised_at=seen))
    raised: list[EventDraft] = []
    for step in range(4 * 24 + 1):  # detection after each revision, as the daemon runs it
        now = start + timedelta(minutes=30 * step + 1)
        seen_by_now = [r for r in revisions if r.revised_at <= now]
        raised += detect_shifts(CLAIM, timeline.matches, stored(raised), now=now, revisions=seen_by_now)

    assert mixes(raised) == [("2025-11-13T07:30:00Z", "supports", 0.4)]
