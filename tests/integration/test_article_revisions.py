"""Revised articles through the pipeline: versions kept, matches re-framed, one article_revised per revision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from storage.base import PollOutcome
from storage.sql import SqlStore
from storage.tables import article_versions_t, claims_t, match_revisions_t
from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Route
from tests.support.receivers import Receiver
from tests.support.records import make_article_in
from tests.support.stories import CLAIM, SECRET
from tests.support.wire import rss
from watcher.config import DaemonSettings, HttpSettings, MatchSettings, Settings
from watcher.domain import Destination, EventType, FeedSpec, Stance
from watcher.ingest.parse import content_hash
from watcher.notify.payload import render_event
from watcher.notify.slack import render_slack

ATOM_TYPE = "application/atom+xml; charset=utf-8"
STORY = (
    "NATO has surpassed Russia in ammunition production, Secretary General Mark Rutte said on Thursday. "
    "Allied factories now produce more artillery shells than Russia does, he told reporters in Brussels."
)
CORRECTION = (
    " Correction: an earlier version of this article wrongly said NATO has surpassed Russia in ammunition "
    "production; it has not, Russia still produces more shells."
)


def atom(entries: Sequence[tuple[str, str, str, datetime, datetime]], *, title: str = "Wire") -> bytes:
    """An Atom feed of (id, title, text, published, updated) entries."""
    body = "".join(
        f"<entry><id>{i}</id><title>{t}</title><link href='https://news.example/{i.rsplit(':', 1)[-1]}'/>"
        f"<published>{p.isoformat()}</published><updated>{u.isoformat()}</updated>"
        f"<content type='text'>{x}</content></entry>"
        for i, t, x, p, u in entries
    )
    return (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
        f"<id>urn:wire</id><updated>2025-11-06T00:00:00Z</updated>{body}</feed>"
    ).encode()


def settings_for(server: FeedServer, db_url: str, receiver: Receiver, *paths: str) -> Settings:
    return Settings(
        database_url=db_url,
        feeds=tuple(
            FeedSpec(
                url=server.url(p), outlet=f"Wire {p.strip('/').split('.')[0]}", country="GB", language="en"
            )
            for p in paths
        ),
        destinations=(
            Destination(
                name="cms", kind="webhook", url=receiver.url("/hook"), secret=SECRET, allow_private=True
            ),
        ),
        claims=(CLAIM,),
        http=HttpSettings(allow_private=True, total_timeout_s=5, connect_timeout_s=2),
        matching=MatchSettings(model=None),
        daemon=DaemonSettings(server_enabled=False),
    )


async def count(store: SqlStore, table: Any) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def revised_deliveries(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.requests if r.json()["type"] == "article_revised"]


async def test_an_atom_correction_is_one_article_revised_delivered_once(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)
    original = ("urn:wire:1", "NATO has surpassed Russia in ammunition production, Rutte says", STORY)
    server.routes["/a.xml"] = Route(body=atom([(*original, published, published)]), content_type=ATOM_TYPE)
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml"), clock)
    await pipeline.cycle(all=True)
    assert [e.type for e in await store.list_events()] == [EventType.FIRST_SEEN]
    (before,) = await store.list_matches()
    assert before.stance is not Stance.DISPUTES and before.article.version == 1

    clock.advance(minutes=30)
    corrected = (
        "urn:wire:1",
        "CORRECTION: NATO has not surpassed Russia in ammunition production",
        STORY + CORRECTION,
        published,
        clock() - timedelta(minutes=1),
    )
    server.routes["/a.xml"] = Route(body=atom([corrected]), content_type=ATOM_TYPE)
    report = await pipeline.cycle(all=True)
    assert report.new_articles == 0 and report.matches == 0, "a revision is not new coverage"

    (after,) = await store.list_matches()
    assert after.id == before.id and after.stance is Stance.DISPUTES and after.version == 2
    assert after.article.version == 2 and after.article.title.startswith("CORRECTION:")
    assert [v.version for v in after.article.versions] == [1, 2]
    assert after.article.versions[0].title == original[1]
    assert after.article.versions[1].updated_at == corrected[4]
    revised = [e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]
    assert len(revised) == 1 and not revised[0].backfill
    details = revised[0].details
    assert details["before"]["stance"] == before.stance.value and details["after"]["stance"] == "disputes"
    assert {"headline", "evidence", "stance"} <= set(details["changes"])
    assert ["+", "CORRECTION:"] in details["diff"]["title"] and ["+", "not"] in details["diff"]["title"]
    assert any(op == "+" and "Correction:" in words for op, words in details["diff"]["text"])
    assert details["version"] == 2 and details["previous_version"] == 1
    assert revised[0].match_ids == (before.id,)
    # Nothing of what a revision is not: no new story, segment or spike.
    types = [e.type for e in await store.list_events()]
    assert types.count(EventType.FIRST_SEEN) == 1
    assert EventType.NEW_SEGMENT not in types and EventType.COVERAGE_SPIKE not in types

    (body,) = revised_deliveries(receiver)
    assert body["id"] == revised[0].id and body["details"]["after"]["stance"] == "disputes"
    assert body["articles"][0]["article"]["version"] == 2
    assert [v["version"] for v in body["articles"][0]["article"]["versions"]] == [1, 2]
    claim = await store.get_claim(CLAIM.name)
    slack = render_slack(revised[0], claim, [after])
    text = str(slack["blocks"])
    assert "→ disputes" in text and "~" in text and "Correction:" in text

    # Polled again: the same body is not parsed, and the same entries in a changed body revise nothing.
    requests = len(receiver.requests)
    clock.advance(minutes=30)
    await pipeline.cycle(all=True)
    server.routes["/a.xml"] = Route(body=atom([corrected], title="Wire (new name)"), content_type=ATOM_TYPE)
    clock.advance(minutes=30)
    await pipeline.cycle(all=True)
    assert await count(store, article_versions_t) == 2 and await count(store, match_revisions_t) == 1
    assert len(receiver.requests) == requests
    assert [e.type for e in await store.list_events()].count(EventType.ARTICLE_REVISED) == 1


async def test_a_title_only_change_that_flips_the_stance(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    when = clock() - timedelta(minutes=5)
    text = "Allied officials discussed artillery shell output at a meeting in Brussels on Thursday, reporters were told."
    server.routes["/r.xml"] = Route(
        body=rss([("g1", "Figures show NATO has surpassed Russia in ammunition production", text, when)])
    )
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/r.xml"), clock)
    await pipeline.cycle(all=True)
    (before,) = await store.list_matches()
    assert before.stance is Stance.SUPPORTS

    clock.advance(minutes=10)
    flipped = "Russia denies that NATO has surpassed it in ammunition production"
    server.routes["/r.xml"] = Route(body=rss([("g1", flipped, text, when)]))
    await pipeline.cycle(all=True)
    (after,) = await store.list_matches()
    assert after.stance is Stance.DISPUTES and after.article.title == flipped
    (event,) = [e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]
    assert event.details["before"]["stance"] == "supports" and event.details["after"]["stance"] == "disputes"
    assert event.details["before"]["title"].startswith("Figures show")
    assert event.details["diff"]["text"] == [], "the text did not change"
    assert "stance supports → disputes" in event.summary and "headline" in event.summary
    assert len(revised_deliveries(receiver)) == 1
    claim = await store.get_claim(CLAIM.name)
    assert render_event(event, claim, [after])["details"]["changes"] == ["headline", "evidence", "stance"]


async def test_the_same_revision_seen_in_two_feeds_is_one_event(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    when = clock() - timedelta(minutes=5)
    original = ("wire-7", "NATO has surpassed Russia in ammunition production, Rutte says", STORY, when)
    for path in ("/a.xml", "/b.xml"):
        server.routes[path] = Route(body=rss([original]))
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml", "/b.xml"), clock)
    await pipeline.cycle(all=True)
    matches = await store.list_matches()
    assert len(matches) == 2 and len({m.article.story_id for m in matches}) == 1, "one story, two copies"

    clock.advance(minutes=10)
    revised = ("wire-7", "NATO claims it has surpassed Russia in ammunition production", STORY, when)
    for path in ("/a.xml", "/b.xml"):
        server.routes[path] = Route(body=rss([revised]))
    await pipeline.cycle(all=True)
    assert {m.article.version for m in await store.list_matches()} == {2}
    assert await count(store, match_revisions_t) == 2, "each copy's match keeps its history"
    events = [e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]
    assert len(events) == 1 and len(revised_deliveries(receiver)) == 1


async def test_stale_copies_and_date_only_changes_add_no_version(store: SqlStore) -> None:
    now = datetime.fromisoformat("2025-11-06T12:00:00+00:00")
    await store.sync_feeds([FeedSpec(url="https://a.example/rss", outlet="A")], source="config", now=now)
    (feed,) = await store.list_feeds()

    async def poll(title: str, updated: datetime | None, published: datetime = now) -> list[int]:
        item = make_article_in(
            title=title,
            text="Text.",
            content_hash=content_hash(title, "Text."),
            published_at=published,
            updated_at=updated,
        )
        outcome = PollOutcome(polled_at=now, next_poll_at=now, status=200, error=None)
        return await store.record_poll(feed.id, outcome, [item])

    assert len(await poll("First", now)) == 1
    assert await poll("First", now + timedelta(hours=1), published=now - timedelta(hours=1)) == []
    assert await count(store, article_versions_t) == 0, "dates alone are no revision"
    await poll("Second", now + timedelta(hours=2))
    await poll("Stale", now + timedelta(minutes=30))  # older than the stored version: a cached copy
    await poll("First", None)  # an earlier version again, without a newer date
    (article,) = await store.recent_articles(1)
    assert (article.version, article.title) == (2, "Second")
    await poll("Third", None)
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(article_versions_t.c.version, article_versions_t.c.title).order_by(
                    article_versions_t.c.version
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1, "First"), (2, "Second"), (3, "Third")]


async def test_an_article_that_stops_matching_and_one_that_starts(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    when = clock() - timedelta(minutes=5)
    weather = ("Storms expected this weekend", "Rain and wind are expected across the region on Saturday.")
    server.routes["/r.xml"] = Route(
        body=rss(
            [
                ("g1", "NATO has surpassed Russia in ammunition production", STORY, when),
                ("g2", *weather, when),
            ]
        )
    )
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/r.xml"), clock)
    await pipeline.cycle(all=True)
    (first,) = await store.list_matches()

    # g1 is rewritten into another story; g2 now carries the claim: a normal new match.
    clock.advance(minutes=10)
    server.routes["/r.xml"] = Route(
        body=rss(
            [
                ("g1", *weather, when),
                ("g2", "NATO has surpassed Russia in ammunition production", STORY, when),
            ]
        )
    )
    report = await pipeline.cycle(all=True)
    assert report.new_articles == 0 and report.matches == 1
    matches = {m.article.url.rsplit("/", 1)[1]: m for m in await store.list_matches()}
    assert matches["g1"].id == first.id and matches["g1"].unmatched_at is not None
    assert matches["g1"].stance == first.stance, "its framing stays as last matched"
    assert matches["g2"].article.version == 2 and matches["g2"].version == 2
    (event,) = [e for e in await store.list_events() if e.type is EventType.ARTICLE_REVISED]
    assert event.details["changes"] == ["unmatched"] and event.details["after"]["matched"] is False
    assert "no longer matches" in event.summary and event.match_ids == (first.id,)

    # Revised again and still not about the claim: nothing more to say.
    clock.advance(minutes=10)
    server.routes["/r.xml"] = Route(
        body=rss(
            [
                ("g1", weather[0], weather[1] + " Updated.", when),
                ("g2", "NATO has surpassed Russia in ammunition production", STORY, when),
            ]
        )
    )
    await pipeline.cycle(all=True)
    assert [e.type for e in await store.list_events()].count(EventType.ARTICLE_REVISED) == 1
    assert len(revised_deliveries(receiver)) == 1


async def test_a_live_blog_is_announced_once_per_cooldown_and_nothing_is_lost(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)

    def live(n: int, text: str = STORY) -> bytes:
        title = f"LIVE: NATO has surpassed Russia in ammunition production, Rutte says (update {n})"
        return atom([("urn:wire:live", title, text, published, clock())])

    server.routes["/a.xml"] = Route(body=live(0), content_type=ATOM_TYPE)
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml"), clock)
    await pipeline.cycle(all=True)
    for n in range(1, 5):  # four headline updates in 40 minutes: the first is announced, the rest held
        clock.advance(minutes=10)
        server.routes["/a.xml"] = Route(body=live(n), content_type=ATOM_TYPE)
        await pipeline.cycle(all=True)
    assert [b["details"]["version"] for b in revised_deliveries(receiver)] == [2]
    assert await count(store, match_revisions_t) == 4, "every revision is recorded"

    # A correction within the cooldown changes the stance: announced at once, from the last announced version.
    clock.advance(minutes=10)
    server.routes["/a.xml"] = Route(body=live(5, STORY + CORRECTION), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)
    # Past the cooldown, the next headline update is announced again.
    clock.advance(hours=7)
    server.routes["/a.xml"] = Route(body=live(6, STORY + CORRECTION), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)

    bodies = revised_deliveries(receiver)
    assert [(b["details"]["previous_version"], b["details"]["version"]) for b in bodies] == [
        (1, 2),
        (2, 6),
        (6, 7),
    ]
    folded = bodies[1]["details"]
    assert folded["revisions"] == 4 and folded["after"]["stance"] == "disputes"
    assert "stance" in folded["changes"] and "(update 1)" in folded["before"]["title"]
    assert ["-", "1)"] in folded["diff"]["title"] and ["+", "5)"] in folded["diff"]["title"]
    assert any(op == "+" and "Correction:" in words for op, words in folded["diff"]["text"])
    assert "(4 revisions since the last alert)" in bodies[1]["summary"]
    assert bodies[2]["details"]["revisions"] == 1 and "stance" not in bodies[2]["details"]["changes"]
    assert await count(store, match_revisions_t) == 6
    # Replayed: nothing more, nothing twice.
    clock.advance(hours=7)
    await pipeline.cycle(all=True)
    assert len(revised_deliveries(receiver)) == 3 and receiver.duplicates == 0


async def test_a_correction_days_later_raises_first_disputes_from_when_it_was_seen(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    clock = Clock()
    published = clock() - timedelta(minutes=5)
    original = ("urn:wire:1", "NATO has surpassed Russia in ammunition production, Rutte says", STORY)
    server.routes["/a.xml"] = Route(body=atom([(*original, published, published)]), content_type=ATOM_TYPE)
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml"), clock)
    await pipeline.cycle(all=True)

    clock.advance(days=2)
    seen = clock()
    corrected = (
        "urn:wire:1",
        "CORRECTION: NATO has not surpassed Russia in ammunition production",
        STORY + CORRECTION,
        published,
        seen - timedelta(minutes=1),
    )
    server.routes["/a.xml"] = Route(body=atom([corrected]), content_type=ATOM_TYPE)
    await pipeline.cycle(all=True)

    (shift,) = [e for e in await store.list_events() if e.type is EventType.FRAMING_SHIFT]
    assert shift.dedupe_key == "framing_shift:first_disputes" and not shift.backfill
    assert shift.details["trigger_at"] == seen.isoformat().replace("+00:00", "Z")
    delivered = sorted(r.json()["type"] for r in receiver.requests)
    assert delivered == ["article_revised", "first_seen", "framing_shift"]


async def test_a_revision_held_by_its_cooldown_is_announced_when_it_ends_though_nothing_new_comes(
    server: FeedServer, receiver: Receiver, store: SqlStore, make_pipeline: Any, db_url: str
) -> None:
    """The last update of a story, held back by the cooldown, on a claim that gets no more coverage: it goes
    out when the cooldown ends, not at the claim's next match, which may never come."""
    clock = Clock()
    published = clock() - timedelta(minutes=5)

    def live(n: int) -> bytes:
        title = f"LIVE: NATO has surpassed Russia in ammunition production, Rutte says (update {n})"
        return atom([("urn:wire:live", title, STORY, published, clock())])

    server.routes["/a.xml"] = Route(body=live(0), content_type=ATOM_TYPE)
    pipeline = await make_pipeline(settings_for(server, db_url, receiver, "/a.xml"), clock)
    await pipeline.cycle(all=True)
    announced_at = clock() + timedelta(minutes=10)
    for n in (1, 2):  # the first update is announced, the second held
        clock.advance(minutes=10)
        server.routes["/a.xml"] = Route(body=live(n), content_type=ATOM_TYPE)
        await pipeline.cycle(all=True)
    assert [b["details"]["version"] for b in revised_deliveries(receiver)] == [2]

    clock.advance(hours=5, minutes=45)  # the feed unchanged; still within the cooldown
    await pipeline.cycle(all=True)
    assert [b["details"]["version"] for b in revised_deliveries(receiver)] == [2]
    clock.advance(minutes=10)  # the cooldown has ended: nothing new, yet the held update goes out
    await pipeline.cycle(all=True)
    bodies = revised_deliveries(receiver)
    assert [(b["details"]["previous_version"], b["details"]["version"]) for b in bodies] == [(1, 2), (2, 3)]
    ended = (announced_at + timedelta(hours=6)).isoformat().replace("+00:00", "Z")
    assert bodies[1]["details"]["trigger_at"] == ended
    async with store.engine.connect() as conn:
        due = (await conn.execute(select(claims_t.c.detect_due_at))).scalars().all()
    assert due == [None], "nothing held: detection waits for new coverage again"
