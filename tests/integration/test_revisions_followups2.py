"""Revisions through the pipeline: doubt added without a change of stance, and corrections that only a copy of
a story carries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.sql import SqlStore
from storage.tables import claims_t, match_revisions_t
from tests.integration.test_article_revisions import (
    ATOM_TYPE,
    CORRECTION,
    STORY,
    atom,
    revised_deliveries,
    settings_for,
)
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.records import T0, make_article, make_match, make_match_score
from watcher.domain import ArticleVersion, EventType, Framing, Stance
from watcher.revisions import revise

CLAIMED = "Rutte claims NATO has surpassed Russia in ammunition production"
CLAIMED_TEXT = (
    "Rutte claimed on Thursday that NATO has surpassed Russia in ammunition production. "
    "He told reporters in Brussels that allied factories produce more shells."
)
DOUBT = " Critics say the figures do not add up. The figures could not be independently verified."
WIRE = "NATO has surpassed Russia in ammunition production, Rutte says"
# The copy's own correction notice, worded otherwise than the original's (CORRECTION).
COPY_CORRECTION = (
    " Correction: this article has been amended. NATO has not surpassed Russia in ammunition production, "
    "according to figures published on Friday."
)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def stored_changes(store: SqlStore) -> list[tuple[int, list[str]]]:
    async with store.engine.connect() as conn:
        q = select(match_revisions_t.c.match_id, match_revisions_t.c.changes).order_by(match_revisions_t.c.id)
        return [(match_id, list(changes)) for match_id, changes in (await conn.execute(q)).all()]


async def test_doubt_added_without_a_change_of_stance_is_history_not_an_alert(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)
    server.routes["/a.xml"] = Route(
        body=atom([("urn:wire:1", CLAIMED, CLAIMED_TEXT, published, published)]), content_type=ATOM_TYPE
    )
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml"), clock)
    await pipeline.cycle(all=True)
    (before,) = await store.list_matches()
    assert before.stance is Stance.NEUTRAL and before.skepticism < 0.6

    # A day and a half on, the article adds the critics' doubts: the same stance, markedly more skeptical.
    clock.advance(hours=36)
    seen = clock()
    server.routes["/a.xml"] = Route(
        body=atom([("urn:wire:1", CLAIMED, CLAIMED_TEXT + DOUBT, published, seen)]), content_type=ATOM_TYPE
    )
    await pipeline.cycle(all=True)
    (after,) = await store.list_matches()
    assert after.stance is Stance.NEUTRAL and after.skepticism >= 0.6 and after.version == 2
    assert after.evidence == before.evidence, "the sentences on the claim are the same"
    assert await stored_changes(store) == [(before.id, ["skepticism"])], "kept in the claim's history"
    (kept,) = await store.revisions_for_claim(before.claim_id)
    assert kept.before["skepticism"] == round(before.skepticism, 4)
    assert kept.after["skepticism"] == round(after.skepticism, 4)

    events = await store.list_events()
    assert EventType.ARTICLE_REVISED not in [e.type for e in events], "doubt alone raises no article_revised"
    assert revised_deliveries(receiver) == []
    # Framed as published until the revision was seen: the first markedly skeptical coverage is news now,
    # not a day-and-a-half-old backfill at the article's publication.
    (shift,) = [e for e in events if e.type is EventType.FRAMING_SHIFT]
    assert shift.dedupe_key == "framing_shift:first_skeptical" and not shift.backfill
    assert shift.details["trigger_at"] == iso(seen)
    assert "framing_shift" in [r.json()["type"] for r in receiver.requests]
    async with store.engine.connect() as conn:
        due = (await conn.execute(select(claims_t.c.detect_due_at))).scalars().all()
    assert due == [None], "nothing is held for a later announcement of its own"

    # The next revision that is news tells the added doubt with it.
    clock.advance(minutes=30)
    headline = "Rutte claims NATO now out-produces Russia in ammunition production"
    server.routes["/a.xml"] = Route(
        body=atom([("urn:wire:1", headline, CLAIMED_TEXT + DOUBT, published, clock())]),
        content_type=ATOM_TYPE,
    )
    await pipeline.cycle(all=True)
    (body,) = revised_deliveries(receiver)
    details = body["details"]
    assert details["changes"] == ["headline", "evidence", "skepticism"]
    assert (details["previous_version"], details["version"], details["revisions"]) == (1, 3, 2)
    assert details["before"]["skepticism"] == round(before.skepticism, 4)
    assert details["before"]["title"] == CLAIMED and details["after"]["title"] == headline
    assert any(op == "+" and "Critics say" in words for op, words in details["diff"]["text"])
    assert f"(skepticism {before.skepticism:.2f} → {after.skepticism:.2f})" in body["summary"]
    assert "(2 revisions since the last alert)" in body["summary"]

    # Replayed: nothing more, nothing twice.
    clock.advance(hours=7)
    await pipeline.cycle(all=True)
    assert len(revised_deliveries(receiver)) == 1 and receiver.duplicates == 0


def test_only_a_marked_move_of_the_skepticism_is_a_change() -> None:
    v1 = ArticleVersion(version=1, title="T", text="A.", content_hash="h1", updated_at=None, seen_at=T0)
    v2 = ArticleVersion(version=2, title="T", text="A. B.", content_hash="h2", updated_at=None, seen_at=T0)
    article = make_article(title="T", text="A. B.", version=2, versions=(v1, v2), content_hash="h2")
    evidence = ("NATO has surpassed Russia.",)
    score = make_match_score(evidence=evidence)

    def change(was: float, now: float, stance: Stance = Stance.SUPPORTS, **kw: Any) -> tuple[str, ...]:
        match = make_match(article=replace(article, version=1), skepticism=was, evidence=evidence)
        revision = revise(match, article, (score, Framing(stance=stance, skepticism=now)), **kw)
        assert revision is not None
        return revision.changes

    assert change(0.1, 0.15) == (), "rewording moves the skepticism a little: no change"
    assert change(0.1, 0.35) == ("skepticism",)
    assert change(0.7, 0.4) == ("skepticism",), "less doubt is a change too"
    assert change(0.55, 0.62) == ()
    assert change(0.55, 0.62, skeptical_at=0.6) == ("skepticism",), "across the threshold of marked doubt"
    assert change(0.1, 0.9, Stance.DISPUTES) == ("stance",), "a new stance says it: no skepticism twice"


async def test_a_correction_only_a_copy_carries_is_announced_though_the_original_was_revised_too(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)
    server.routes["/a.xml"] = Route(
        body=atom([("urn:a:1", WIRE, STORY, published, published)]), content_type=ATOM_TYPE
    )
    # The same wire story in another outlet's feed, two minutes later: one story, two copies.
    reprinted = published + timedelta(minutes=2)
    server.routes["/b.xml"] = Route(
        body=atom([("urn:b:1", WIRE, STORY, reprinted, reprinted)]), content_type=ATOM_TYPE
    )
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml", "/b.xml"), clock)
    await pipeline.cycle(all=True)
    matches = {m.article.outlet: m for m in await store.list_matches()}
    assert len({m.article.story_id for m in matches.values()}) == 1, "one story, two copies"
    original, copy = matches["Wire a"], matches["Wire b"]

    # The original is corrected (announced at once), then the copy runs its own correction, then the original
    # retouches its headline: both held by the story's cooldown.
    clock.advance(minutes=10)
    corrected = "CORRECTION: NATO has not surpassed Russia in ammunition production"
    server.routes["/a.xml"] = Route(
        body=atom([("urn:a:1", corrected, STORY + CORRECTION, published, clock())]), content_type=ATOM_TYPE
    )
    await pipeline.cycle(all=True)
    clock.advance(minutes=10)
    copy_seen = clock()
    server.routes["/b.xml"] = Route(
        body=atom([("urn:b:1", WIRE, STORY + COPY_CORRECTION, reprinted, copy_seen)]), content_type=ATOM_TYPE
    )
    await pipeline.cycle(all=True)
    clock.advance(minutes=10)
    retouched = "CORRECTION: NATO has not overtaken Russia in ammunition production"
    server.routes["/a.xml"] = Route(
        body=atom([("urn:a:1", retouched, STORY + CORRECTION, published, clock())]), content_type=ATOM_TYPE
    )
    await pipeline.cycle(all=True)
    assert [b["details"]["match_id"] for b in revised_deliveries(receiver)] == [original.id]
    assert {m.article.outlet: m.stance for m in await store.list_matches()} == {
        "Wire a": Stance.DISPUTES,
        "Wire b": Stance.DISPUTES,
    }

    # The cooldown ends: the original's retouch and the copy's correction, each as its own announcement.
    clock.advance(hours=6)
    await pipeline.cycle(all=True)
    bodies = revised_deliveries(receiver)
    assert len(bodies) == 3 and receiver.duplicates == 0
    by_match = {b["details"]["match_id"]: b["details"] for b in bodies[1:]}
    assert set(by_match) == {original.id, copy.id}
    told = by_match[copy.id]
    assert told["before"]["stance"] == "supports" and told["after"]["stance"] == "disputes"
    assert "stance" in told["changes"] and told["revised_at"] == iso(copy_seen)
    assert any(op == "+" and "amended." in words for op, words in told["diff"]["text"])
    assert by_match[original.id]["changes"] == ["headline", "evidence"]
    assert (by_match[original.id]["previous_version"], by_match[original.id]["version"]) == (2, 3)

    # Replayed: nothing more.
    clock.advance(hours=7)
    await pipeline.cycle(all=True)
    assert len(revised_deliveries(receiver)) == 3


async def test_copies_held_at_the_same_revision_are_still_one_announcement(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)

    def feeds(title: str, text: str, updated: datetime) -> None:
        for path, key in (("/a.xml", "urn:a:1"), ("/b.xml", "urn:b:1")):
            entry = (key, title, text, published, updated)
            server.routes[path] = Route(body=atom([entry]), content_type=ATOM_TYPE)

    feeds(WIRE, STORY, published)
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml", "/b.xml"), clock)
    await pipeline.cycle(all=True)
    clock.advance(minutes=10)
    feeds("NATO has overtaken Russia in ammunition production, Rutte says", STORY, clock())
    await pipeline.cycle(all=True)
    assert len(revised_deliveries(receiver)) == 1
    # Both copies retouch the headline alike within the cooldown: held, then one announcement for the story.
    clock.advance(minutes=10)
    feeds("NATO has overtaken Russia in shell production, Rutte says", STORY, clock())
    await pipeline.cycle(all=True)
    assert len(revised_deliveries(receiver)) == 1
    clock.advance(hours=6)
    await pipeline.cycle(all=True)
    bodies = revised_deliveries(receiver)
    assert len(bodies) == 2 and bodies[1]["details"]["changes"] == ["headline", "evidence"]
    assert bodies[1]["details"]["revisions"] == 1
    assert len(await stored_changes(store)) == 4, "each copy's match keeps its history"
