"""Revisions as plain functions: word diffs, what changed for a claim, and the article_revised drafts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.records import T0, make_article, make_event, make_match, make_match_score
from watcher.config import load
from watcher.domain import (
    Article,
    ArticleVersion,
    Claim,
    Cue,
    Event,
    EventDraft,
    EventType,
    Framing,
    Match,
    MatchRevision,
    Stance,
)
from watcher.errors import ConfigError
from watcher.revisions import (
    MAX_DIFF_OPS,
    diff_text,
    revise,
    revision_plan,
    word_diff,
)
from watcher.shifts import ShiftSettings

CLAIM = Claim(id=1, name="nato-ammo", text="NATO has surpassed Russia in ammunition production")
V1 = ArticleVersion(
    version=1,
    title="NATO has surpassed Russia",
    text="Rutte said so.",
    content_hash="h1",
    updated_at=None,
    seen_at=T0,
)
V2 = ArticleVersion(
    version=2,
    title="NATO claims it has surpassed Russia",
    text="Rutte said so. Moscow denied it.",
    content_hash="h2",
    updated_at=T0 + timedelta(minutes=50),
    seen_at=T0 + timedelta(hours=1),
)


def revised_pair() -> tuple[Match, Article]:
    before_article = make_article(title=V2.title, version=2, versions=(V1, V2))
    before = make_match(article=before_article, evidence=("NATO has surpassed Russia.",))
    now = replace(before_article, updated_at=V2.updated_at)
    return before, now


def test_word_diff_marks_removed_and_added_words() -> None:
    ops = word_diff("NATO has surpassed Russia", "NATO claims it has surpassed Russia")
    assert ops == [["=", "NATO"], ["+", "claims it"], ["=", "has surpassed Russia"]]
    assert diff_text(ops) == "NATO {+claims it+} has surpassed Russia"
    assert diff_text(word_diff("a b c", "a x c")) == "a [-b-] {+x+} c"
    assert word_diff("same words", "same  words") == [["=", "same words"]]


def test_a_text_diff_keeps_a_few_words_around_each_change_and_is_bounded() -> None:
    before = " ".join(f"w{i}" for i in range(100))
    after = before.replace("w50", "CHANGED")
    ops = word_diff(before, after, context=3)
    assert ops == [["=", "… w47 w48 w49"], ["-", "w50"], ["+", "CHANGED"], ["=", "w51 w52 w53 …"]]
    assert word_diff(before, before, context=3) == []
    rewrite = word_diff(
        " ".join(f"a{i} b{i}" for i in range(200)), " ".join(f"a{i} c{i}" for i in range(200)), context=3
    )
    assert len(rewrite) == MAX_DIFF_OPS + 1 and rewrite[-1] == ["…", ""]


def test_revise_lists_headline_evidence_and_stance_changes() -> None:
    before, article = revised_pair()
    framing = Framing(stance=Stance.NEUTRAL, skepticism=0.4, cues=(Cue(kind="attribution", text="claims"),))
    update = (make_match_score(evidence=("NATO claims it has surpassed Russia",)), framing)
    revision = revise(replace(before, version=1), article, update)
    assert revision is not None
    assert revision.changes == ("headline", "evidence", "stance")
    assert revision.before["title"] == V1.title and revision.after["title"] == V2.title
    assert (revision.before["stance"], revision.after["stance"]) == ("supports", "neutral")
    assert revision.diff["title"] == word_diff(V1.title, V2.title)
    assert revision.content_hash == "h2" and revision.revised_at == V2.seen_at
    assert (revision.previous_version, revision.version) == (1, 2)

    same = (
        make_match_score(evidence=("NATO has surpassed Russia.",)),
        Framing(stance=Stance.SUPPORTS, skepticism=0),
    )
    quiet = revise(replace(before, version=2), article, same)  # only the text changed since
    assert quiet is not None and quiet.changes == (), "a new score alone is written, not announced"


def test_revise_notes_an_article_that_no_longer_matches_once() -> None:
    before, article = revised_pair()
    gone = revise(before, article, None, new_score=0.12)
    assert gone is not None and gone.changes == ("unmatched",)
    assert gone.after == {
        "title": V2.title,
        "stance": None,
        "skepticism": None,
        "evidence": [],
        "score": 0.12,
        "matched": False,
    }
    assert revise(replace(before, unmatched_at=T0), article, None) is None
    back = revise(
        replace(before, unmatched_at=T0, version=2),
        article,
        (
            make_match_score(evidence=("NATO has surpassed Russia.",)),
            Framing(stance=Stance.SUPPORTS, skepticism=0),
        ),
    )
    assert back is not None and back.changes == ("rematched",)


def test_revision_plan_once_per_story_and_content_fresh_by_when_seen() -> None:
    before, article = revised_pair()
    framing = Framing(stance=Stance.DISPUTES, skepticism=0.9)
    revision = revise(before, article, (make_match_score(), framing))
    assert revision is not None
    copy = replace(revision, match_id=2, id=2)  # the same revision of the same story, in another feed
    now = V2.seen_at + timedelta(minutes=5)
    (draft,) = revision_plan(CLAIM, [revision, copy], [], outlets={1: "Wire"}, now=now, fresh_window_s=3600)[
        0
    ]
    assert draft.type is EventType.ARTICLE_REVISED and not draft.backfill
    assert draft.summary == (
        "Revised: Wire changed its headline and the sentences on the claim (stance supports → disputes)"
    )
    assert draft.dedupe_key == "article_revised:1:h2" and draft.match_ids == (1,)
    assert draft.details["trigger_at"] == draft.details["revised_at"]
    assert draft.details["before"]["stance"] == "supports" and draft.details["after"]["stance"] == "disputes"
    stored = make_event(type=EventType.ARTICLE_REVISED, dedupe_key=draft.dedupe_key)
    assert revision_plan(CLAIM, [revision], [stored], outlets={}, now=now)[0] == []
    late = revision_plan(CLAIM, [revision], [], outlets={}, now=now + timedelta(days=2), fresh_window_s=3600)[
        0
    ]
    assert late[0].backfill, "seen long before detection ran: recorded, not delivered"
    quiet = replace(revision, changes=())
    assert revision_plan(CLAIM, [quiet], [], outlets={}, now=now)[0] == []


def test_revisions_within_the_cooldown_are_held_and_announced_when_it_ends() -> None:
    base, _ = revised_pair()

    def headline(version: int, minute: int, changes: tuple[str, ...] = ("headline",)) -> MatchRevision:
        return MatchRevision(
            id=version,
            match_id=base.id,
            claim_id=CLAIM.id,
            article_id=base.article.id,
            story_id=base.article.story_id,
            version=version,
            previous_version=version - 1,
            content_hash=f"h{version}",
            changes=changes,
            before={"title": f"Live ({version - 1})", "stance": "supports", "evidence": [], "matched": True},
            after={"title": f"Live ({version})", "stance": "supports", "evidence": [], "matched": True},
            diff={"title": [], "text": []},
            updated_at=None,
            revised_at=T0 + timedelta(minutes=minute),
        )

    revisions = [headline(2, 10), headline(3, 20), headline(4, 30)]
    hour = timedelta(hours=1)

    def events(now_h: float, previous: list[Event]) -> list[EventDraft]:
        return revision_plan(
            CLAIM, revisions, previous, outlets={}, now=T0 + now_h * hour, cooldown_s=6 * 3600
        )[0]

    (first,) = events(1, [])
    assert first.details["version"] == 2
    stored = [
        make_event(
            id="evt_1", type=EventType.ARTICLE_REVISED, dedupe_key=first.dedupe_key, details=first.details
        )
    ]
    assert events(5, stored) == [], "held: the cooldown runs"
    (fold,) = events(7, stored)
    assert fold.details["trigger_at"] == (T0 + timedelta(hours=6, minutes=10)).isoformat().replace(
        "+00:00", "Z"
    )
    assert (fold.details["previous_version"], fold.details["version"], fold.details["revisions"]) == (2, 4, 2)
    assert fold.details["before"]["title"] == "Live (2)" and fold.details["after"]["title"] == "Live (4)"
    stored.append(
        make_event(
            id="evt_2", type=EventType.ARTICLE_REVISED, dedupe_key=fold.dedupe_key, details=fold.details
        )
    )
    assert events(8, stored) == [], "a re-run raises nothing twice"
    # A change of stance goes through at once, cooldown or not.
    revisions.append(headline(5, 7 * 60, ("headline", "stance")))
    (urgent,) = events(7.5, stored)
    assert urgent.details["version"] == 5 and urgent.details["trigger_at"] == urgent.details["revised_at"]


def test_the_article_revised_cooldown_is_a_shift_setting_checked_by_name(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("shifts:\n  article_revised_cooldown_s: -60\n")
    with pytest.raises(ConfigError, match=r":2: shifts.article_revised_cooldown_s: must be >= 0, got -60"):
        load(path, environ={})
    path.write_text("shifts:\n  article_revised_cooldown_s: 3600\n")
    assert load(path, environ={}).shifts.article_revised_cooldown_s == 3600
    assert ShiftSettings().cooldown_s(EventType.ARTICLE_REVISED) == 6 * 3600
