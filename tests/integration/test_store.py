"""Store contract tests, on real SQLite and (when configured) real PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage.base import PollOutcome, Store
from storage.sql import SqlStore, open_store
from tests.support.database import get_state, purge
from watcher.cli.feeds import import_feeds
from watcher.domain import (
    ArticleIn,
    Claim,
    ClaimSpec,
    ClaimStatus,
    Cue,
    DeliveryStatus,
    DeliveryUpdate,
    Destination,
    EventDraft,
    EventType,
    FeedSpec,
    Framing,
    MatchScore,
    Stance,
)
from watcher.errors import ConflictError, NotFoundError, StorageError

T0 = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)


def spec(n: int, **kw: object) -> FeedSpec:
    return FeedSpec(url=f"https://feeds{n}.example/rss", outlet=f"Outlet {n}", **kw)  # type: ignore[arg-type]


def item(key: str, *, url: str | None = None, chash: str | None = None, title: str = "t") -> ArticleIn:
    link = url or f"https://news.example/{key}"
    return ArticleIn(
        key=key,
        url=link,
        canonical_url=link,
        title=title,
        text="body",
        content_hash=chash or f"h-{key}",
        published_at=T0,
    )


def ok(at: datetime = T0, **kw: object) -> PollOutcome:
    return PollOutcome(polled_at=at, next_poll_at=at + timedelta(minutes=15), status=200, error=None, **kw)  # type: ignore[arg-type]


async def test_sync_feeds_adds_updates_and_disables(store: Store) -> None:
    r = await store.sync_feeds([spec(1), spec(2)], source="config", now=T0)
    assert (r.added, r.updated, r.disabled) == (2, 0, 0)
    r = await store.sync_feeds([spec(1, country="UA")], source="config", now=T0)
    assert (r.added, r.updated, r.disabled) == (0, 1, 1)
    feeds = await store.list_feeds()
    assert [(f.url, f.country) for f in feeds] == [(spec(1).url, "UA")]
    assert len(await store.list_feeds(include_disabled=True)) == 2
    # Feeds added by other means are not disabled by a config sync.
    await store.sync_feeds([spec(3)], source="opml", now=T0)
    await store.sync_feeds([spec(1)], source="config", now=T0)
    assert {f.url for f in await store.list_feeds()} == {spec(1).url, spec(3).url}


async def test_sync_feeds_knows_a_feed_by_any_spelling_of_its_url(store: Store) -> None:
    """An OPML import stored "https://example.com/rss"; feeds.yaml lists "https://Example.COM:443/rss/". That is one
    feed, polled once: the file takes it over, in its own spelling, and dropping it from the file disables it."""
    await store.sync_feeds([FeedSpec(url="https://example.com/rss", outlet="Ex")], source="opml", now=T0)
    spelled = FeedSpec(url="https://Example.COM:443/rss/", outlet="Ex", country="FR")
    r = await store.sync_feeds([spelled], source="config", now=T0)
    assert (r.added, r.updated, r.disabled) == (0, 1, 0)
    feeds = await store.list_feeds(include_disabled=True)
    assert [(f.url, f.country) for f in feeds] == [("https://Example.COM:443/rss/", "FR")]
    r = await store.sync_feeds([spelled], source="config", now=T0)
    assert (r.added, r.updated, r.disabled) == (0, 0, 0)
    r = await store.sync_feeds([spec(1)], source="config", now=T0)
    assert (r.added, r.disabled) == (1, 1)
    assert [f.url for f in await store.list_feeds()] == [spec(1).url]


async def test_sync_feeds_prefers_the_exact_url_and_disables_a_second_row_of_one_feed(
    store: SqlStore,
) -> None:
    """Two stored rows of one feed (an earlier release stored "/rss" and "/rss/"): feeds.yaml's exact URL is the
    one it keeps, every time, and the other is disabled, not polled beside it."""
    from storage.tables import feeds_t

    async with store.engine.begin() as conn:
        for url, source in (("https://example.com/rss", "config"), ("https://example.com/rss/", "config")):
            await conn.execute(
                feeds_t.insert().values(
                    url=url,
                    outlet=url,
                    source=source,
                    enabled=True,
                    next_poll_at=T0,
                    created_at=T0,
                    error_count=0,
                    last_new_items=0,
                    interval_s=900,
                )
            )
    listed = FeedSpec(url="https://example.com/rss/", outlet="Ex")
    for _ in range(2):
        await store.sync_feeds([listed], source="config", now=T0)
        assert [(f.url, f.outlet) for f in await store.list_feeds()] == [("https://example.com/rss/", "Ex")]


async def test_a_corrected_spelling_in_feeds_yaml_is_polled_from_then_on(store: SqlStore) -> None:
    """feeds.yaml listed ".../feed" (the server answers only ".../feed/"); fixed in the file, the stored feed takes the
    file's spelling, and the old spelling's validators are dropped."""
    await store.sync_feeds([FeedSpec(url="https://example.com/feed", outlet="Ex")], source="config", now=T0)
    (feed,) = await store.lease_due_feeds(T0, 10, lease_s=60)
    await store.record_poll(feed.id, ok(etag='"old"'), [])
    r = await store.sync_feeds(
        [FeedSpec(url="https://example.com/feed/", outlet="Ex")], source="config", now=T0
    )
    assert (r.added, r.updated, r.disabled) == (0, 1, 0)
    (moved,) = await store.list_feeds(include_disabled=True)
    assert (moved.id, moved.url, moved.etag) == (feed.id, "https://example.com/feed/", None)
    # An OPML spelling of a feed that feeds.yaml lists does not move it.
    await store.sync_feeds([FeedSpec(url="https://EXAMPLE.com/feed", outlet="Ex")], source="opml", now=T0)
    assert [f.url for f in await store.list_feeds()] == ["https://example.com/feed/"]


async def test_disabling_many_feeds_at_once_runs_in_batches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's driver takes at most 32,767 parameters in one statement: the feeds a sync disables go in batches."""
    import storage.sql.feeds

    monkeypatch.setattr(storage.sql.feeds, "STALE_BATCH", 2)
    await store.sync_feeds([spec(n) for n in range(5)], source="config", now=T0)
    r = await store.sync_feeds([spec(9)], source="config", now=T0)
    assert (r.added, r.disabled) == (1, 5)
    assert [f.url for f in await store.list_feeds()] == [spec(9).url]


async def test_a_large_import_analyzes_the_feeds_table(store: SqlStore) -> None:
    """After 1,000 feeds at once the planner knows the table's size at once, not after autovacuum's next round
    (until then PostgreSQL's due query scans the table)."""
    from sqlalchemy import text

    async def rows_known() -> float:
        query = (
            "SELECT reltuples FROM pg_class WHERE relname = 'feeds'"
            if store.dialect == "postgresql"
            else "SELECT coalesce(max(CAST(stat AS INTEGER)), -1) FROM sqlite_stat1 WHERE tbl = 'feeds'"
        )
        async with store.engine.connect() as conn:
            if store.dialect != "postgresql":
                found = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
                if not (await conn.execute(text(found))).scalar():
                    return -1
            return float((await conn.execute(text(query))).scalar() or -1)

    r = await store.sync_feeds([spec(n) for n in range(1000, 2010)], source="opml", now=T0)
    assert r.added == 1010
    assert await rows_known() >= 1010


async def test_config_sync_never_disables_cli_feeds_and_owns_the_feeds_it_lists(store: Store) -> None:
    await store.sync_feeds([spec(1)], source="config", now=T0)
    await store.sync_feeds([spec(2), spec(3, country="FR")], source="cli", now=T0)
    r = await store.sync_feeds([spec(1)], source="config", now=T0)
    assert r.disabled == 0
    assert {f.url for f in await store.list_feeds()} == {spec(1).url, spec(2).url, spec(3).url}
    # Listing a CLI-added feed in feeds.yaml hands it to the file: its metadata, and removal disables it.
    r = await store.sync_feeds([spec(1), spec(3, country="DE")], source="config", now=T0)
    assert (r.added, r.updated) == (0, 1)
    assert {f.url: f.country for f in await store.list_feeds()}[spec(3).url] == "DE"
    r = await store.sync_feeds([spec(1)], source="config", now=T0)
    assert r.disabled == 1
    assert {f.url for f in await store.list_feeds()} == {spec(1).url, spec(2).url}
    # A feed the file dropped and that is then added by hand stays: the next sync of the file leaves it alone.
    r = await store.sync_feeds([spec(3)], source="cli", now=T0)
    assert (r.added, r.updated) == (0, 1)
    r = await store.sync_feeds([spec(1)], source="config", now=T0)
    assert r.disabled == 0
    assert {f.url for f in await store.list_feeds()} == {spec(1).url, spec(2).url, spec(3).url}
    # A feed the file still lists stays the file's, whatever is added by hand.
    await store.sync_feeds([spec(1)], source="cli", now=T0)
    r = await store.sync_feeds([], source="config", now=T0)
    assert r.disabled == 1
    assert {f.url for f in await store.list_feeds()} == {spec(2).url, spec(3).url}


async def test_an_opml_import_stores_a_batch_at_a_time_and_says_how_far_it_got(store: Store) -> None:
    # One transaction per batch: a list of 200,000 feeds held the write lock for minutes in one.
    seen: list[int] = []
    report = await import_feeds(store, [spec(i) for i in range(5)], batch=2, progress=seen.append)
    assert (report.added, report.updated) == (5, 0) and seen == [2, 4, 5]
    assert len(await store.list_feeds()) == 5
    again: list[int] = []
    report = await import_feeds(
        store, [spec(i, country="FR") for i in range(2)], batch=2, progress=again.append
    )
    assert (report.added, report.updated, again) == (0, 2, [])  # a list of one batch says nothing


async def test_lease_due_feeds_hands_each_feed_once(store: Store) -> None:
    await store.sync_feeds([spec(i) for i in range(5)], source="config", now=T0)
    first = await store.lease_due_feeds(T0, 3, lease_s=60)
    second = await store.lease_due_feeds(T0, 10, lease_s=60)
    assert len(first) == 3 and len(second) == 2
    assert not {f.id for f in first} & {f.id for f in second}
    assert await store.lease_due_feeds(T0, 10, lease_s=60) == []
    # An expired lease (a crashed worker) makes the feed available again.
    again = await store.lease_due_feeds(T0 + timedelta(seconds=61), 10, lease_s=60)
    assert len(again) == 5


async def test_a_time_written_by_a_clock_since_set_back_does_not_keep_a_feed_unpolled(store: Store) -> None:
    """A poll by a clock a day ahead scheduled the next one a day ahead, and a lease taken then lasts a day:
    once the clock is set back, neither keeps the feed from being polled (both are beyond any time a right
    clock writes). A next poll within the feed's interval or the 24 h backoff cap is kept."""
    specs = [spec(1), spec(2), spec(3), spec(4, interval_s=7 * 86400), spec(5)]
    await store.sync_feeds(specs, source="config", now=T0)
    f1, f2, f3, f4, f5 = await store.lease_due_feeds(T0, 10, lease_s=60)
    ahead = T0 + timedelta(days=1)

    def at(next_poll_at: datetime) -> PollOutcome:
        return PollOutcome(polled_at=T0, next_poll_at=next_poll_at, status=200, error=None)

    await store.record_poll(f1.id, at(ahead + timedelta(minutes=15)), [])  # polled with the clock a day ahead
    await store.record_poll(f2.id, ok(), [])  # due in 15 min
    await store.record_poll(f3.id, at(T0 + timedelta(hours=23)), [])  # backed off, within the 24 h cap
    await store.record_poll(f4.id, at(T0 + timedelta(days=6)), [])  # its interval is a week
    await store.record_poll(f5.id, ok(), [])
    # Every feed leased by a worker whose clock is a day ahead (its leases run out a day from now)...
    assert len(await store.lease_due_feeds(ahead, 10, lease_s=60, all=True)) == 5
    # ... then the clock is set back.
    now = T0 + timedelta(minutes=1)
    assert [f.id for f in await store.lease_due_feeds(now, 10, lease_s=60)] == [f1.id]
    again = await store.lease_due_feeds(now, 10, lease_s=60, all=True)
    assert [f.id for f in again] == [f2.id, f3.id, f4.id, f5.id]


async def test_record_poll_dedupes_and_links_wire_copies(store: Store) -> None:
    await store.sync_feeds([spec(1), spec(2)], source="config", now=T0)
    f1, f2 = await store.lease_due_feeds(T0, 10, lease_s=60)
    new = await store.record_poll(f1.id, ok(etag='"v1"'), [item("a"), item("b"), item("a")])
    assert len(new) == 2
    assert await store.record_poll(f1.id, ok(etag='"v1"'), [item("a"), item("b")]) == []
    # Feed 2 carries the same story (same canonical URL) and a copy with the same text under another URL.
    copies = await store.record_poll(
        f2.id, ok(), [item("x", url="https://news.example/a"), item("y", chash="h-b"), item("z")]
    )
    arts = {a.id: a for a in await store.lease_unprocessed_articles(T0, 50, lease_s=60)}
    x, y, z = (arts[i] for i in copies)
    assert x.story_id == new[0] and x.is_copy
    assert y.story_id == new[1] and y.is_copy
    assert z.story_id == z.id and not z.is_copy
    feed = (await store.list_feeds())[0]
    assert feed.etag == '"v1"' and feed.last_status == 200 and feed.error_count == 0
    assert all(a.first_seen_at.tzinfo is not None for a in arts.values())


async def test_urls_that_differ_past_the_column_width_stay_two_stories(store: Store) -> None:
    # canonical_url holds 2,048 characters: a longer URL is stored as its start and a digest of the whole, so
    # two stories whose URLs share their first 2,048 characters are not linked as wire copies of one
    await store.sync_feeds([spec(1), spec(2)], source="config", now=T0)
    f1, f2 = await store.lease_due_feeds(T0, 10, lease_s=60)
    stem = "https://news.example/story?" + "q" * 2_100
    (a,) = await store.record_poll(f1.id, ok(), [item("a", url=stem + "-one", chash="h-one")])
    (b,) = await store.record_poll(f2.id, ok(), [item("b", url=stem + "-two", chash="h-two")])
    (c,) = await store.record_poll(f2.id, ok(), [item("c", url=stem + "-one", chash="h-three")])
    arts = {x.id: x for x in await store.lease_unprocessed_articles(T0, 50, lease_s=60)}
    assert arts[b].story_id == b and not arts[b].is_copy
    assert arts[c].story_id == a and arts[c].is_copy  # the same long URL is still the same story
    assert len(arts[a].canonical_url) == 2048 and arts[a].canonical_url != arts[b].canonical_url


async def test_a_link_longer_than_the_column_is_not_stored_as_the_articles_link(store: Store) -> None:
    # A link cut to 2,048 characters leads nowhere, and a 10 MB one would ride along into every alert: the
    # article is stored without a link, its canonical URL and key bounded as usual, so that a second copy of
    # the same story still links to it.
    await store.sync_feeds([spec(1), spec(2)], source="config", now=T0)
    f1, f2 = await store.lease_due_feeds(T0, 10, lease_s=60)
    huge = "https://news.example/story?" + "q" * 10_000_000
    edge = "https://news.example/edge?" + "e" * (2048 - len("https://news.example/edge?"))
    new = await store.record_poll(
        f1.id, ok(), [item("huge", url=huge, chash="h-huge"), item("edge", url=edge, chash="h-edge")]
    )
    (copy,) = await store.record_poll(f2.id, ok(), [item("copy", url=huge, chash="h-copy")])
    arts = {a.id: a for a in await store.lease_unprocessed_articles(T0, 50, lease_s=60)}
    stored, at_edge = arts[new[0]], arts[new[1]]
    assert (
        stored.url == ""
        and len(stored.canonical_url) == 2048
        and stored.canonical_url.startswith(huge[:1000])
    )
    assert at_edge.url == edge and len(edge) == 2048, "a link of exactly 2,048 characters is kept"
    assert arts[copy].story_id == stored.id and arts[copy].is_copy and arts[copy].url == ""
    assert await store.record_poll(f1.id, ok(), [item("huge", url=huge, chash="h-huge")]) == [], "stored once"


async def test_record_poll_errors_count_and_reset(store: Store) -> None:
    await store.sync_feeds([spec(1)], source="config", now=T0)
    (f,) = await store.lease_due_feeds(T0, 10, lease_s=60)
    fail = PollOutcome(polled_at=T0, next_poll_at=T0 + timedelta(hours=1), status=500, error="HTTP 500")
    await store.record_poll(f.id, fail, [])
    await store.record_poll(f.id, fail, [])
    (f,) = await store.list_feeds()
    assert (f.error_count, f.last_error, f.last_status) == (2, "HTTP 500", 500)
    await store.record_poll(f.id, ok(new_url="https://moved.example/rss", warning="bozo: mismatched tag"), [])
    (f,) = await store.list_feeds()
    assert (f.error_count, f.last_error, f.url) == (0, None, "https://moved.example/rss")
    assert f.last_warning == "bozo: mismatched tag"


async def test_claims_crud_and_sync(store: Store) -> None:
    c = await store.add_claim(Claim(id=0, name="nato-ammo", text="NATO has surpassed Russia"), now=T0)
    assert (await store.get_claim("nato-ammo")).id == c.id == (await store.get_claim(str(c.id))).id
    with pytest.raises(StorageError):
        await store.add_claim(Claim(id=0, name="nato-ammo", text="again"), now=T0)

    await store.update_claim(replace(c, status=ClaimStatus.PAUSED, keywords=("NATO",)), now=T0)
    assert [x.name for x in await store.list_claims(status=ClaimStatus.ACTIVE)] == []
    assert (await store.get_claim(c.id)).keywords == ("NATO",)
    r = await store.sync_claims([ClaimSpec(name="cfg", text="A claim from the config")], now=T0)
    assert r.added == 1
    r = await store.sync_claims([ClaimSpec(name="cfg", text="A claim from the config")], now=T0)
    assert (r.added, r.updated) == (0, 0)
    r = await store.sync_claims(
        [ClaimSpec(name="cfg", text="A claim from the config", language="uk")], now=T0
    )
    assert r.updated == 1 and (await store.get_claim("cfg")).language == "uk"
    await store.update_claim(replace(await store.get_claim(c.id), language="de"), now=T0)
    assert (await store.get_claim(c.id)).language == "de"
    await store.remove_claim(c.id, now=T0)
    with pytest.raises(NotFoundError):
        await store.get_claim("nato-ammo")
    assert (await store.get_claim(c.id, include_deleted=True)).id == c.id
    # The name is free again after removal.
    await store.add_claim(Claim(id=0, name="nato-ammo", text="NATO has surpassed Russia"), now=T0)


async def test_claim_names_are_compared_ignoring_case(store: Store) -> None:
    """Claims named "NATO-ammo" and "nato-ammo" would share one report file where file names ignore case: refused, and a
    name typed in other letter case finds its claim."""

    c = await store.add_claim(Claim(id=0, name="nato-ammo", text="NATO has surpassed Russia"), now=T0)
    with pytest.raises(ConflictError, match="'nato-ammo' already exists"):
        await store.add_claim(Claim(id=0, name="NATO-Ammo", text="again"), now=T0)
    other = await store.add_claim(Claim(id=0, name="other", text="Another claim"), now=T0)
    with pytest.raises(ConflictError, match="ignoring case"):
        await store.update_claim(replace(other, name="Nato-Ammo"), now=T0)
    assert (await store.get_claim("NATO-AMMO")).id == c.id
    kyiv = await store.add_claim(Claim(id=0, name="kyiv-ammo", text="Kyiv makes more shells"), now=T0)
    assert (await store.get_claim("KYIV-AMMO")).id == kyiv.id
    with pytest.raises(NotFoundError):
        await store.get_claim("\u212ayiv-ammo")  # a Kelvin sign lower-cases to "k", but is no name's letter
    # A claim may change the case of its own name.
    assert (await store.update_claim(replace(c, name="NATO-ammo"), now=T0)).name == "NATO-ammo"
    # feeds.yaml's spelling of a stored claim is that claim, renamed to the file's spelling; not a second one.
    r = await store.sync_claims([ClaimSpec(name="nato-ammo", text="NATO has surpassed Russia")], now=T0)
    assert (r.added, r.updated) == (0, 1)
    assert [(x.id, x.name) for x in await store.list_claims()] == [
        (c.id, "nato-ammo"),
        (other.id, "other"),
        (kyiv.id, "kyiv-ammo"),
    ]
    # A removed claim's name is free in any case.
    await store.remove_claim(other.id, now=T0)
    await store.add_claim(Claim(id=0, name="OTHER", text="Another claim"), now=T0)


async def test_claims_stored_before_names_ignored_case_stay_editable(store: SqlStore) -> None:
    """Two names that differ only in case, stored by an earlier release, are each still found and edited."""

    from storage.tables import claims_t

    async with store.engine.begin() as conn:
        for name in ("Legacy", "legacy"):
            await conn.execute(
                claims_t.insert().values(
                    name=name,
                    text=f"{name} claim text",
                    keywords=[],
                    status="active",
                    source="cli",
                    created_at=T0,
                    updated_at=T0,
                )
            )
    upper, lower = await store.get_claim("Legacy"), await store.get_claim("legacy")
    assert upper.id != lower.id
    assert (await store.update_claim(replace(lower, threshold=0.4), now=T0)).threshold == 0.4
    with pytest.raises(NotFoundError, match="2 claims have that name in other letter case"):
        await store.get_claim("LEGACY")  # two claims answer to it: neither is guessed


async def _one_match(store: Store) -> tuple[int, int]:
    await store.sync_feeds([spec(1)], source="config", now=T0)
    (f,) = await store.lease_due_feeds(T0, 10, lease_s=60)
    (aid,) = await store.record_poll(f.id, ok(), [item("a")])
    c = await store.add_claim(Claim(id=0, name="c", text="claim text"), now=T0)
    score = MatchScore(
        claim_id=c.id, article_id=aid, score=0.9, lexical=0.8, semantic=0.7, evidence=("s1",), matched=True
    )
    framing = Framing(
        stance=Stance.DISPUTES, skepticism=0.7, cues=(Cue(kind="counter_voice", text="denied"),)
    )
    assert await store.save_matches([aid], [(score, framing)], T0) == 1
    assert await store.save_matches([aid], [(score, framing)], T0) == 0  # unique per (claim, article)
    return c.id, aid


async def test_save_matches_is_unique_and_marks_processed(store: Store) -> None:
    claim_id, aid = await _one_match(store)
    assert await store.lease_unprocessed_articles(T0 + timedelta(hours=1), 10, lease_s=60) == []
    (m,) = await store.list_matches(claim_id=claim_id)
    assert m.article.id == aid and m.stance is Stance.DISPUTES and m.cues[0].text == "denied"
    assert m.evidence == ("s1",) and m.semantic == 0.7


async def test_record_events_once_with_deliveries_per_destination(store: Store) -> None:
    claim_id, _ = await _one_match(store)
    (m,) = await store.matches_for_claim(claim_id)
    dests = [
        Destination(name="slack", kind="slack", url="https://hooks.example/x"),
        Destination(
            name="cms", kind="webhook", url="https://cms.example/x", events=(EventType.FRAMING_SHIFT,)
        ),
    ]
    await store.sync_destinations(dests)
    claims = await store.lease_claims_to_detect(T0, lease_s=60)
    assert [c.id for c in claims] == [claim_id]
    draft = EventDraft(
        type=EventType.FIRST_SEEN,
        claim_id=claim_id,
        dedupe_key="first_seen",
        summary="First coverage",
        details={"n": 1},
        match_ids=(m.id,),
        created_at=T0,
    )
    (event,) = await store.record_events(claim_id, [draft], dests, T0)
    assert event.id.startswith("evt_")
    assert await store.record_events(claim_id, [draft], dests, T0) == []  # dedupe key: never twice
    assert await store.lease_claims_to_detect(T0, lease_s=60) == []  # matches marked detected
    deliveries = await store.list_deliveries()
    assert [(d.destination, d.status) for d in deliveries] == [("slack", DeliveryStatus.PENDING)]
    assert (await store.get_event(event.id)).details == {"n": 1}


async def test_delivery_lease_update_disable_and_retry(store: Store) -> None:
    claim_id, _ = await _one_match(store)
    dests = [Destination(name="hook", kind="webhook", url="https://cms.example/x")]
    await store.sync_destinations(dests)
    drafts = [
        EventDraft(
            type=EventType.FIRST_SEEN,
            claim_id=claim_id,
            dedupe_key=f"k{i}",
            summary="s",
            details={},
            match_ids=(),
            created_at=T0,
        )
        for i in range(3)
    ]
    await store.record_events(claim_id, drafts, dests, T0)
    a = await store.lease_due_deliveries(T0, 2, lease_s=30)
    b = await store.lease_due_deliveries(T0, 10, lease_s=600)
    assert len(a) == 2 and len(b) == 1
    await store.update_delivery(
        a[0].id,
        DeliveryUpdate(
            status=DeliveryStatus.DELIVERED,
            attempts=1,
            next_attempt_at=None,
            last_error=None,
            last_status=200,
            delivered_at=T0,
        ),
    )
    await store.update_delivery(
        a[1].id,
        DeliveryUpdate(
            status=DeliveryStatus.PENDING,
            attempts=1,
            next_attempt_at=T0 + timedelta(minutes=5),
            last_error="HTTP 503",
            last_status=503,
        ),
    )
    assert await store.lease_due_deliveries(T0 + timedelta(minutes=1), 10, lease_s=30) == []
    assert [d.id for d in await store.lease_due_deliveries(T0 + timedelta(minutes=6), 10, lease_s=30)] == [
        a[1].id
    ]
    assert await store.disable_destination("hook", "HTTP 410 Gone", T0) == 2
    assert {d.status for d in await store.list_deliveries(status=DeliveryStatus.CANCELLED)} == {
        DeliveryStatus.CANCELLED
    }
    retried = await store.retry_delivery(b[0].id, T0)
    assert retried.status is DeliveryStatus.PENDING


async def test_leases_and_retries_written_by_a_clock_since_set_back_are_free(store: Store) -> None:
    """Articles, claims to detect and deliveries leased by a worker whose clock was a day ahead, and a retry it
    scheduled then, are free and due once the clock is set back: a right clock writes no lease of more than an
    hour, and no retry beyond the retry window. A lease within those bounds is kept."""
    claim_id, _ = await _one_match(store)
    await store.sync_destinations([Destination(name="hook", kind="webhook", url="https://cms.example/x")])
    (f,) = await store.lease_due_feeds(T0 + timedelta(hours=1), 10, lease_s=60, all=True)
    await store.record_poll(f.id, ok(), [item("b")])
    ahead, now = T0 + timedelta(days=1), T0 + timedelta(minutes=1)

    (article,) = await store.lease_unprocessed_articles(ahead, 10, lease_s=60)
    assert [a.id for a in await store.lease_unprocessed_articles(now, 10, lease_s=60)] == [article.id]
    assert await store.lease_unprocessed_articles(now, 10, lease_s=60) == []  # leased for a minute: kept

    assert [c.id for c in await store.lease_claims_to_detect(ahead, lease_s=60)] == [claim_id]
    assert [c.id for c in await store.lease_claims_to_detect(now, lease_s=60)] == [claim_id]
    draft = EventDraft(
        type=EventType.FIRST_SEEN,
        claim_id=claim_id,
        dedupe_key="first_seen",
        summary="s",
        details={},
        match_ids=(),
        created_at=T0,
    )
    await store.record_events(claim_id, [draft], [Destination(name="hook", kind="webhook", url="u")], T0)
    (delivery,) = await store.lease_due_deliveries(ahead, 10, lease_s=30)
    assert [d.id for d in await store.lease_due_deliveries(now, 10, lease_s=30)] == [delivery.id]
    retry = DeliveryUpdate(
        status=DeliveryStatus.PENDING,
        attempts=1,
        next_attempt_at=ahead + timedelta(days=3),  # the clock a day ahead, then the whole retry window
        last_error="HTTP 503",
        last_status=503,
    )
    await store.update_delivery(delivery.id, retry)
    assert [d.id for d in await store.lease_due_deliveries(now, 10, lease_s=30)] == [delivery.id]
    await store.update_delivery(delivery.id, replace(retry, next_attempt_at=T0 + timedelta(hours=10)))
    assert await store.lease_due_deliveries(now + timedelta(minutes=1), 10, lease_s=30) == []


async def test_state_and_counts(store: SqlStore) -> None:
    await store.set_state("last_cycle_at", "x", T0)
    await store.set_state("last_cycle_at", "y", T0)
    assert await get_state(store, "last_cycle_at") == "y"
    counts = await store.counts()
    assert counts["feeds"] == 0 and counts["articles_pending"] == 0


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await store.set_state("k", "v", datetime(2025, 1, 1))


@pytest.mark.postgres
async def test_concurrent_workers_never_lease_the_same_feed(postgres_url: str) -> None:
    """Three stores (three pools, as three processes would have) racing for 200 due feeds."""
    stores = [await open_store(postgres_url, upgrade=True) for _ in range(3)]
    try:
        assert isinstance(stores[0], SqlStore)
        await purge(stores[0])
        await stores[0].sync_feeds([spec(i) for i in range(200)], source="config", now=T0)

        async def worker(s: Store) -> list[int]:
            got: list[int] = []
            while batch := await s.lease_due_feeds(T0, 7, lease_s=60):
                got.extend(f.id for f in batch)
            return got

        results = await asyncio.gather(*(worker(s) for s in stores))
        leased = [i for r in results for i in r]
        assert len(leased) == 200 and len(set(leased)) == 200
        assert all(results), "every worker got a share"
    finally:
        for s in stores:
            await s.close()


async def test_release_feeds_hands_back_only_the_lease_it_names(store: Store) -> None:
    await store.sync_feeds([spec(1), spec(2)], source="config", now=T0)
    leased = await store.lease_due_feeds(T0, 10, lease_s=60)
    assert len(leased) == 2
    ids = [f.id for f in leased]
    # A lease that ran out and was taken again (another worker, another `until`) is not ours to free.
    assert await store.release_feeds(ids, T0 + timedelta(seconds=30)) == 0
    assert await store.lease_due_feeds(T0 + timedelta(seconds=1), 10, lease_s=60) == []
    assert await store.release_feeds(ids[:1], T0 + timedelta(seconds=60)) == 1
    assert [f.id for f in await store.lease_due_feeds(T0 + timedelta(seconds=1), 10, lease_s=60)] == ids[:1]


async def test_feeds_check_checks_a_feed_once_in_any_spelling(store: Store) -> None:
    from watcher.pipeline import feeds_to_check

    await store.sync_feeds([FeedSpec(url="https://example.com/rss", outlet="Ex")], source="opml", now=T0)
    listed = [FeedSpec(url="https://EXAMPLE.com/rss/", outlet="Ex"), spec(2)]
    assert [f.url for f in await feeds_to_check(store, listed)] == ["https://example.com/rss", spec(2).url]
