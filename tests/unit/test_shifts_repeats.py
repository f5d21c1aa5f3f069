"""Alerts as a newsroom reads them: one alert per shift, copies counted once, summaries true when read."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import timedelta

from tests.support.records import T0, make_article, make_match, make_match_score
from tests.unit.test_shifts import HOUR, Timeline, at, detect, incremental, kinds, stored
from watcher.domain import (
    Article,
    ArticleVersion,
    Claim,
    Event,
    EventDraft,
    EventType,
    Framing,
    Match,
    MatchRevision,
    Stance,
)
from watcher.revisions import revise, revision_plan
from watcher.shifts import ShiftSettings

DAY = 24 * HOUR
WIRE_TITLE = "NATO has surpassed Russia in ammunition production, Rutte says"


def framing(drafts: Sequence[EventDraft]) -> list[EventDraft]:
    return [d for d in drafts if d.type is EventType.FRAMING_SHIFT]


def copy_of_wire(match: Match, title: str = WIRE_TITLE, evidence: str | None = None) -> Match:
    """The match as a wire copy: the wire's headline and claim sentence, its own URL and story id."""
    sentence = evidence or "NATO has now surpassed Russia in ammunition production, Rutte said."
    return dataclasses.replace(
        match, article=dataclasses.replace(match.article, title=title), evidence=(sentence,)
    )


# --- a lasting change of framing is one alert ---------------------------------------------------------------


def week_of_neutral_then_supports() -> Timeline:
    timeline = Timeline()
    for hour in range(7 * 24):
        timeline.burst(hour * HOUR, count=1, every=30)
    for hour in range(7 * 24, 14 * 24):
        timeline.burst(hour * HOUR, count=1, every=30, stance="supports")
    return timeline


def test_a_lasting_stance_shift_is_not_announced_again_every_window() -> None:
    timeline = week_of_neutral_then_supports()

    shifts = framing(incremental(timeline))

    # The move as it happens (a third, then all of the window supporting), not a repeat every six hours for
    # the days the week-long baseline takes to catch up.
    assert [d.details["stance_mix"]["share_after"] for d in shifts] == [0.3333, 1.0]
    assert all(d.details["stance_mix"]["stance"] == "supports" for d in shifts)
    assert [d.details["trigger_at"] for d in shifts] == ["2025-11-13T07:00:00Z", "2025-11-13T13:00:00Z"]


def test_a_stance_shift_is_announced_again_when_the_mix_moves_back() -> None:
    timeline = week_of_neutral_then_supports()
    for hour in range(14 * 24, 16 * 24):
        timeline.burst(hour * HOUR, count=1, every=30)  # neutral again

    shifts = framing(incremental(timeline))

    # The return to neutral coverage is news, told as it happens, like the move away from it.
    later = [d.details["stance_mix"] for d in shifts[2:]]
    assert [(m["stance"], m["share_after"]) for m in later] == [("supports", 0.6667), ("supports", 0.0)]
    assert all("fell" in d.summary for d in shifts[2:])
    assert shifts[2].details["trigger_at"] == "2025-11-20T07:00:00Z"


def test_one_replay_and_a_daemon_feeding_matches_one_by_one_agree_on_a_lasting_shift() -> None:
    timeline = week_of_neutral_then_supports()
    end = (timeline.matches[-1].article.first_seen_at - at(0)).total_seconds() / 60

    replayed = framing(detect(timeline, end, settings=ShiftSettings(stale_after_s=0)))
    fed = framing(incremental(timeline, ShiftSettings(stale_after_s=0)))

    assert [d.dedupe_key for d in replayed] == [d.dedupe_key for d in fed]
    assert len(fed) == 2


def test_a_single_disputing_story_after_a_supporting_one_is_a_first_not_a_flipped_mix() -> None:
    timeline = Timeline()
    timeline.add(0, stance="supports")
    timeline.add(HOUR, "Skeptic", stance="disputes")

    (shift,) = framing(detect(timeline, HOUR))

    assert shift.details["reasons"] == ["first_disputes"]
    assert "stance_mix" not in shift.details


# --- copies of one item are one story -----------------------------------------------------------------------


def test_a_wire_story_syndicated_under_forty_addresses_is_one_story() -> None:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    countries = ["GB", "FR", "DE", "RU", "IT"]
    for i in range(40):
        match = timeline.add(12 * HOUR + i, f"Reprinter {i}", country=countries[i % 5])
        timeline.matches[-1] = copy_of_wire(match)

    drafts = detect(timeline, 13 * HOUR)

    # Storage links copies by URL or content only; the same headline and claim sentences are the same story,
    # first seen in GB: no spike, and no "first coverage from FR, DE, RU, IT" for the reprints.
    assert kinds(drafts) == [("first_seen", "first_seen"), ("new_segment", "new_segment:country:GB")]
    assert drafts[1].match_ids == (2,)


def test_one_outlet_republishing_the_same_item_thirty_times_is_one_story() -> None:
    timeline = Timeline()
    timeline.add(0, "Other Daily")
    for i in range(30):
        match = timeline.add(12 * HOUR + 2 * i, "Daily Flood")
        # The same item again, the headline's case and punctuation aside.
        title = WIRE_TITLE.upper() if i % 2 else WIRE_TITLE.replace(",", " -")
        timeline.matches[-1] = copy_of_wire(match, title=title)

    assert kinds(detect(timeline, 13 * HOUR)) == [("first_seen", "first_seen")]


def test_a_shared_headline_with_other_claim_sentences_is_another_story() -> None:
    timeline = Timeline()
    timeline.add(0)
    for i in range(8):
        match = timeline.add(12 * HOUR + 5 * i, f"Outlet {i}")
        timeline.matches[-1] = copy_of_wire(
            match, evidence=f"NATO output figures, version {i}, surpass Russia."
        )

    assert [d.type for d in detect(timeline, 13 * HOUR)] == [EventType.FIRST_SEEN, EventType.COVERAGE_SPIKE]


def test_the_same_headline_and_sentence_a_day_later_is_a_new_piece() -> None:
    timeline = Timeline()
    timeline.add(0, "Example Times")
    for minute, country in ((HOUR, "GB"), (2 * HOUR, "FR"), (HOUR + DAY, "DE")):
        match = timeline.add(minute, f"Daily Live {country}", country=country)
        timeline.matches[-1] = copy_of_wire(match, title="Russia-Ukraine war: live updates")

    # An hour after the first it is a reprint (no FR segment); a day later, a new day's live blog (DE is new).
    assert kinds(detect(timeline, HOUR + DAY)) == [
        ("first_seen", "first_seen"),
        ("new_segment", "new_segment:country:GB"),
        ("new_segment", "new_segment:country:DE"),
    ]


def test_folding_copies_does_not_depend_on_the_order_matches_are_given() -> None:
    timeline = Timeline()
    timeline.add(0)
    for i in range(12):
        match = timeline.add(12 * HOUR + 3 * i, f"Outlet {i}", country=["GB", "FR", "US"][i % 3])
        if i % 2:
            timeline.matches[-1] = copy_of_wire(match)
    expected = detect(timeline, 13 * HOUR)

    for seed in range(5):
        shuffled = Timeline()
        shuffled.matches = random.Random(seed).sample(timeline.matches, len(timeline.matches))
        assert detect(shuffled, 13 * HOUR) == expected


# --- summaries read when they arrive ------------------------------------------------------------------------


def test_a_spike_found_hours_after_its_window_names_the_window_not_the_last_hour() -> None:
    timeline = Timeline()
    timeline.add(0)
    timeline.burst(12 * HOUR, count=8, every=5)

    late = [d for d in detect(timeline, 20 * HOUR) if d.type is EventType.COVERAGE_SPIKE]
    prompt = [d for d in detect(timeline, 12 * HOUR + 30) if d.type is EventType.COVERAGE_SPIKE]

    assert late[0].summary.startswith(
        "Coverage spike: 5 stories from 5 outlets in the 1 h to 2025-11-06 18:20 UTC, 5.0x"
    )
    assert prompt[0].summary.startswith("Coverage spike: 5 stories from 5 outlets in the last 1 h, 5.0x")


def test_a_late_stance_mix_names_its_window() -> None:
    timeline = Timeline()
    for day in range(5):
        timeline.burst(day * DAY, count=2, every=HOUR)
    timeline.burst(5 * DAY, count=6, every=20, stance="supports")

    (event,) = framing(detect(timeline, 5 * DAY + 20 * HOUR))

    assert "in the 6 h to 2025-11-11 07:20 UTC" in event.summary


# --- article_revised: a live blog going in and out of the claim ---------------------------------------------

REVISION_CLAIM = Claim(id=1, name="nato-ammo", text="NATO has surpassed Russia in ammunition production")
MATCHED = {
    "title": "Live",
    "stance": "supports",
    "skepticism": 0.0,
    "evidence": ["NATO ahead."],
    "matched": True,
}
OUT = {"title": "Live", "stance": None, "skepticism": None, "evidence": [], "score": 0.1, "matched": False}


def flip(version: int, minute: float, *, matched: bool, stance: str = "supports") -> MatchRevision:
    """Version ``version`` of live blog 1, seen ``minute`` after records.T0, in (matched) or out of the claim."""
    inside = dict(MATCHED, stance=stance)
    before, after = (dict(OUT, stance="supports"), inside) if matched else (inside, OUT)
    return MatchRevision(
        id=version,
        match_id=1,
        claim_id=1,
        article_id=1,
        story_id=1,
        version=version,
        previous_version=version - 1,
        content_hash=f"h{version}",
        changes=("rematched",) if matched else ("unmatched",),
        before=before,
        after=after,
        diff={"title": [], "text": []},
        updated_at=None,
        revised_at=T0 + timedelta(minutes=minute),
    )


def announce(
    revisions: list[MatchRevision], hours: float, previous: Sequence[Event] = ()
) -> list[EventDraft]:
    return revision_plan(
        REVISION_CLAIM,
        revisions,
        previous,
        outlets={1: "Live Wire"},
        now=T0 + timedelta(hours=hours),
        cooldown_s=6 * 3600,
    )[0]


def live_blog(flips: int) -> list[MatchRevision]:
    """A live blog whose feed item carries its latest update: out of the claim, back in, every ten minutes."""
    return [flip(v, 10 * (v - 1), matched=v % 2 == 1) for v in range(2, 2 + flips)]


def test_a_live_blog_flipping_in_and_out_of_the_claim_is_one_alert_per_cooldown() -> None:
    revisions = live_blog(12)  # two hours, ending back in the claim

    first = announce(revisions, 2)

    assert [d.details["changes"] for d in first] == [["unmatched"]]
    assert "no longer matches" in first[0].summary

    # When the cooldown has run, the net change since that alert, once.
    (fold,) = announce(revisions, 7, stored(first))
    assert fold.details["changes"][0] == "rematched" and fold.details["revisions"] == 11
    assert fold.details["trigger_at"] == "2025-11-06T21:12:00Z"
    assert announce(revisions, 8, stored([*first, fold])) == []


def test_flips_fed_one_at_a_time_raise_the_same_alerts() -> None:
    revisions = live_blog(12)
    raised: list[EventDraft] = []
    for count in range(1, len(revisions) + 1):
        minutes = 10 * count + 1
        raised += announce(revisions[:count], minutes / 60, stored(raised))
    raised += announce(revisions, 7, stored(raised))

    assert [d.details["version"] for d in raised] == [2, 13]


def test_a_live_blog_back_out_of_the_claim_when_the_cooldown_ends_says_nothing_more() -> None:
    revisions = live_blog(13)  # ends out of the claim, as the first alert said

    first = announce(revisions, 3)

    assert len(first) == 1
    assert announce(revisions, 7, stored(first)) == []


def test_a_change_of_stance_is_announced_at_once_even_between_flips() -> None:
    revisions = live_blog(4)
    corrected = dataclasses.replace(
        flip(6, 45, matched=True, stance="disputes"),
        changes=("stance",),
        before=dict(MATCHED),
    )
    revisions.append(corrected)

    drafts = announce(revisions, 1)

    assert [d.details["version"] for d in drafts] == [2, 6]
    assert drafts[1].details["after"]["stance"] == "disputes"


def test_a_flip_after_the_cooldown_is_announced_at_once_again() -> None:
    revisions = [flip(2, 0, matched=False), flip(3, 7 * 60, matched=True)]

    drafts = announce(revisions, 7.5)

    assert [d.details["changes"] for d in drafts] == [["unmatched"], ["rematched"]]


# --- a claim's threshold moving is not a retraction ---------------------------------------------------------

SENTENCE = "NATO has surpassed Russia in ammunition production, Rutte said."


def versioned(texts: Sequence[str]) -> Article:
    """Article 1 at its last version, with every version's text (one a minute from records.T0)."""
    versions = tuple(
        ArticleVersion(
            version=n,
            title="Live: the war in Ukraine",
            text=text,
            content_hash=f"h{n}",
            updated_at=None,
            seen_at=T0 + timedelta(minutes=n),
        )
        for n, text in enumerate(texts, 1)
    )
    last = versions[-1]
    return make_article(title=last.title, text=last.text, version=last.version, versions=versions)


def test_an_article_still_saying_the_claim_after_the_threshold_rose_is_not_announced_as_unmatched() -> None:
    # Version 2 adds a paragraph; the claim's threshold has meanwhile risen above the article's score.
    article = versioned([SENTENCE, f"{SENTENCE}  Markets   were calm."])
    match = make_match(article=article, version=1, evidence=(SENTENCE,))

    quiet = revise(match, article, None, new_score=0.55)

    assert quiet is not None and quiet.changes == ()
    assert quiet.after["matched"] is False, "the match is still updated"


def test_an_article_that_dropped_the_claim_is_announced_as_unmatched() -> None:
    article = versioned([SENTENCE, "Markets were calm."])
    match = make_match(article=article, version=1, evidence=(SENTENCE,))

    gone = revise(match, article, None, new_score=0.1)

    assert gone is not None and gone.changes == ("unmatched",)


def test_matching_again_is_news_only_when_the_article_brought_the_claim_back() -> None:
    restored = versioned([SENTENCE, "Markets were calm.", f"{SENTENCE} Markets were calm."])
    match = make_match(article=restored, version=1, evidence=(SENTENCE,), unmatched_at=T0)
    update = (make_match_score(evidence=(SENTENCE,)), Framing(stance=Stance.SUPPORTS, skepticism=0.0))

    back = revise(match, restored, update)

    assert back is not None and back.changes == ("rematched",)

    # The threshold fell back; the article said the same in the version before: no "matches again".
    lowered = versioned([SENTENCE, f"{SENTENCE} Markets were calm.", f"{SENTENCE} Markets were calm today."])
    unchanged = revise(dataclasses.replace(match, article=lowered), lowered, update)

    assert unchanged is not None and "rematched" not in unchanged.changes


# --- the first news of a claim whose first coverage was backlog ---------------------------------------------


def test_fresh_coverage_after_a_backdated_first_story_is_announced_once() -> None:
    """An item dated three days back makes first_seen backfill, delivered nowhere: the newsroom has heard
    nothing, and the wire's pickup half an hour later is what it must hear, once."""
    timeline = Timeline()
    old = timeline.add(0, "Late Weekly")
    seen = at(3 * DAY)
    timeline.matches[-1] = dataclasses.replace(
        old, article=dataclasses.replace(old.article, first_seen_at=seen)
    )
    first = detect(timeline, 3 * DAY)
    assert [(d.dedupe_key, d.backfill) for d in first] == [("first_seen", True)]

    timeline.add(3 * DAY + 30, "AP", stance="supports")
    fresh = detect(timeline, 3 * DAY + 35, stored(first))
    assert [(str(d.type), d.dedupe_key, d.backfill) for d in fresh] == [
        ("first_seen", "first_seen:fresh", False)
    ]
    assert fresh[0].summary.startswith("First fresh coverage: AP ")
    assert "archive" in fresh[0].summary and fresh[0].details["earlier_coverage"] is True
    assert fresh[0].details["trigger_at"] == "2025-11-09T06:30:00Z"

    timeline.add(3 * DAY + 40, "Reuters")
    assert detect(timeline, 3 * DAY + 45, stored([*first, *fresh])) == []  # once


def test_a_claim_whose_first_coverage_was_news_has_no_second_first_seen() -> None:
    timeline = Timeline()
    timeline.add(0, "AP")
    first = detect(timeline, 5)
    assert [(d.dedupe_key, d.backfill) for d in first] == [("first_seen", False)]
    timeline.add(3 * DAY, "Reuters", country="GB")
    later = detect(timeline, 3 * DAY + 5, stored(first))
    assert "first_seen" not in [str(d.type) for d in later]


def test_an_archive_then_live_coverage_in_one_pass_announces_the_live_story() -> None:
    """A new feed's undated archive and, in the same detection pass, a live story an hour later: first_seen
    is the archive's (backfill), the live story is announced as the first fresh coverage, whatever the
    order detection ran in."""
    timeline = Timeline()
    for _ in range(3):
        match = timeline.add(10 * HOUR, "Archive Weekly", country="DE")
        timeline.matches[-1] = dataclasses.replace(
            match, article=dataclasses.replace(match.article, backlog=True, published_at_basis="first_seen")
        )
    timeline.add(11 * HOUR, "Live Daily", country="DE", stance="disputes")
    at_once = detect(timeline, 11 * HOUR + 5)
    keys = [(d.dedupe_key, d.backfill) for d in at_once if d.type is EventType.FIRST_SEEN]
    assert keys == [("first_seen", True), ("first_seen:fresh", False)]
    step_by_step = incremental(timeline)
    assert [(d.dedupe_key, d.backfill) for d in step_by_step if d.type is EventType.FIRST_SEEN] == keys


def test_old_coverage_found_late_is_not_fresh_news() -> None:
    """Stories older than the fresh window after a backfilled first_seen are backlog too: no announcement."""
    timeline = Timeline()
    timeline.add(0, "Late Weekly")
    timeline.add(60, "Other Weekly")
    drafts = detect(timeline, 3 * DAY)
    assert [(d.dedupe_key, d.backfill) for d in drafts if d.type is EventType.FIRST_SEEN] == [
        ("first_seen", True)
    ]


def test_a_claim_backfilled_when_tracked_announces_its_first_recent_story() -> None:
    """A claim tracked today and backfilled over the stored articles: last week's story is its first_seen,
    backfill; the first story published since (within the fresh window of when it was tracked) is news."""
    from tests.unit.test_shifts import CLAIM
    from watcher.shifts import detect_shifts

    timeline = Timeline()
    timeline.add(0, "Weekly Review")
    timeline.add(6 * DAY + 4 * HOUR, "Evening Post", stance="disputes")
    tracked = dataclasses.replace(CLAIM, created_at=at(7 * DAY))
    drafts = detect_shifts(tracked, timeline.matches, [], now=at(7 * DAY + 5), settings=ShiftSettings())
    firsts = [(d.dedupe_key, d.backfill, d.summary) for d in drafts if d.type is EventType.FIRST_SEEN]
    assert [(key, backfill) for key, backfill, _ in firsts] == [
        ("first_seen", True),
        ("first_seen:fresh", False),
    ]
    assert firsts[1][2].startswith("First fresh coverage: Evening Post (US, private) disputes the claim")


def test_one_outlets_run_of_items_is_no_spike_until_another_outlet_joins() -> None:
    """Eight distinct items in 35 minutes from one live blog are its coverage, not the press taking the claim
    up; the spike comes when a second outlet's story lands in the window."""
    timeline = Timeline()
    timeline.add(0, "Daily Ledger")
    for i in range(8):
        timeline.add(12 * HOUR + 5 * i, "Live Blog")
    assert [str(d.type) for d in detect(timeline, 13 * HOUR)] == ["first_seen"]
    timeline.add(12 * HOUR + 40, "Wire Service")
    (spike,) = [d for d in detect(timeline, 13 * HOUR) if d.type is EventType.COVERAGE_SPIKE]
    assert spike.details["outlets"] == ["Live Blog", "Wire Service"]
    assert spike.details["trigger_at"] == "2025-11-06T18:40:00Z"
