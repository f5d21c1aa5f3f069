"""SqlStore: the Store contract over SQLAlchemy 2 async (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.base import PollOutcome, SyncReport
from storage.engine import make_engine
from storage.tables import (
    ArticleRow,
    ClaimRow,
    DeliveryRow,
    DestinationRow,
    EventRow,
    FeedRow,
    MatchRow,
    StateRow,
)
from watcher.domain import (
    Article,
    ArticleIn,
    Claim,
    ClaimStatus,
    Cue,
    Delivery,
    DeliveryStatus,
    DeliveryUpdate,
    Destination,
    Event,
    EventDraft,
    EventType,
    Feed,
    FeedSpec,
    Framing,
    Match,
    MatchScore,
    Stance,
)
from watcher.errors import NotFoundError, StorageError

logger = logging.getLogger(__name__)

feeds_t = cast(Table, FeedRow.__table__)
articles_t = cast(Table, ArticleRow.__table__)
claims_t = cast(Table, ClaimRow.__table__)
matches_t = cast(Table, MatchRow.__table__)
events_t = cast(Table, EventRow.__table__)
deliveries_t = cast(Table, DeliveryRow.__table__)
destinations_t = cast(Table, DestinationRow.__table__)
state_t = cast(Table, StateRow.__table__)

_ARTICLE_COLS = [
    articles_t.c.id,
    articles_t.c.feed_id,
    articles_t.c.story_id,
    articles_t.c.url,
    articles_t.c.canonical_url,
    articles_t.c.title,
    articles_t.c.text,
    articles_t.c.content_hash,
    articles_t.c.published_at,
    articles_t.c.first_seen_at,
    articles_t.c.language,
    feeds_t.c.outlet,
    feeds_t.c.country,
    feeds_t.c.leaning,
    feeds_t.c.ownership,
    feeds_t.c.language.label("feed_language"),
]


def new_event_id(now: datetime) -> str:
    """Time-ordered, unique event id: evt_<ms since epoch, hex><random>."""
    return f"evt_{int(now.timestamp() * 1000):011x}{secrets.token_hex(6)}"


# --- row → record ---------------------------------------------------------------------------------


def _feed(r: RowMapping) -> Feed:
    return Feed(
        id=r["id"],
        url=r["url"],
        outlet=r["outlet"],
        country=r["country"],
        language=r["language"],
        leaning=r["leaning"],
        ownership=r["ownership"],
        interval_s=r["interval_s"],
        etag=r["etag"],
        last_modified=r["last_modified"],
        next_poll_at=r["next_poll_at"],
        last_polled_at=r["last_polled_at"],
        last_full_fetch_at=r["last_full_fetch_at"],
        last_status=r["last_status"],
        error_count=r["error_count"],
        last_error=r["last_error"],
        last_warning=r["last_warning"],
        last_new_items=r["last_new_items"],
        enabled=r["enabled"],
    )


def _article(r: RowMapping) -> Article:
    language = r["language"]
    if language in (None, "", "und"):
        language = r["feed_language"] or "und"
    return Article(
        id=r["id"],
        feed_id=r["feed_id"],
        story_id=r["story_id"] or r["id"],
        url=r["url"],
        canonical_url=r["canonical_url"],
        title=r["title"],
        text=r["text"],
        content_hash=r["content_hash"],
        published_at=r["published_at"],
        first_seen_at=r["first_seen_at"],
        language=language,
        outlet=r["outlet"],
        country=r["country"],
        leaning=r["leaning"],
        ownership=r["ownership"],
    )


def _claim(r: RowMapping) -> Claim:
    return Claim(
        id=r["id"],
        name=r["name"],
        text=r["text"],
        keywords=tuple(r["keywords"] or ()),
        threshold=r["threshold"],
        status=ClaimStatus(r["status"]),
        created_at=r["created_at"],
    )


def _event(r: RowMapping) -> Event:
    return Event(
        id=r["id"],
        type=EventType(r["type"]),
        claim_id=r["claim_id"],
        dedupe_key=r["dedupe_key"],
        summary=r["summary"],
        details=dict(r["details"] or {}),
        match_ids=tuple(r["match_ids"] or ()),
        created_at=r["created_at"],
    )


def _delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        event_id=r["event_id"],
        destination=r["destination"],
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        last_status=r["last_status"],
        created_at=r["created_at"],
        delivered_at=r["delivered_at"],
        leased_until=r["leased_until"],
        extra={"digest_id": r["digest_id"]} if r["digest_id"] else {},
    )


# --- the store --------------------------------------------------------------------------------------


class SqlStore:
    """The one Store implementation. Build it with :func:`open_store`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.worker = f"{os.uname().nodename}:{os.getpid()}"
        self._poll_writer: _GroupCommit | None = None

    # infrastructure

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    async def upgrade(self) -> None:
        from storage.migrate import upgrade

        await upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # feeds

    async def sync_feeds(self, specs: Sequence[FeedSpec], *, source: str, now: datetime) -> SyncReport:
        added = updated = disabled = 0
        async with self.engine.begin() as conn:
            rows = {r["url"]: r for r in (await conn.execute(select(feeds_t))).mappings()}
            for spec in specs:
                values = {
                    "outlet": spec.outlet,
                    "country": spec.country,
                    "language": spec.language,
                    "leaning": spec.leaning,
                    "ownership": spec.ownership,
                    "interval_s": spec.interval_s,
                }
                row = rows.get(spec.url)
                if row is None:
                    await conn.execute(
                        feeds_t.insert().values(
                            url=spec.url,
                            source=source,
                            enabled=True,
                            next_poll_at=now,
                            created_at=now,
                            error_count=0,
                            last_new_items=0,
                            **values,
                        )
                    )
                    added += 1
                elif any(row[k] != v for k, v in values.items()) or not row["enabled"]:
                    await conn.execute(
                        update(feeds_t).where(feeds_t.c.id == row["id"]).values(enabled=True, **values)
                    )
                    updated += 1
            if source == "config":
                keep = {s.url for s in specs}
                stale = [
                    r["id"]
                    for u, r in rows.items()
                    if r["source"] == "config" and r["enabled"] and u not in keep
                ]
                if stale:
                    await conn.execute(update(feeds_t).where(feeds_t.c.id.in_(stale)).values(enabled=False))
                    disabled = len(stale)
        return SyncReport(added=added, updated=updated, disabled=disabled)

    async def list_feeds(self, *, include_disabled: bool = False) -> list[Feed]:
        q = select(feeds_t).order_by(feeds_t.c.id)
        if not include_disabled:
            q = q.where(feeds_t.c.enabled.is_(True))
        async with self.engine.connect() as conn:
            return [_feed(r) for r in (await conn.execute(q)).mappings()]

    async def get_feed(self, ref: str | int) -> Feed:
        cond = feeds_t.c.id == int(ref) if str(ref).isdigit() else feeds_t.c.url == str(ref)
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(feeds_t).where(cond))).mappings().first()
        if row is None:
            raise NotFoundError(f"no feed {ref!r}")
        return _feed(row)

    async def lease_due_feeds(
        self,
        now: datetime,
        limit: int,
        *,
        lease_s: float,
        all: bool = False,
        polled_before: datetime | None = None,
    ) -> list[Feed]:
        free = or_(feeds_t.c.leased_until.is_(None), feeds_t.c.leased_until < now)
        cond = and_(feeds_t.c.enabled.is_(True), free)
        if not all:
            cond = and_(cond, feeds_t.c.next_poll_at <= now)
        if polled_before is not None:
            cond = and_(
                cond, or_(feeds_t.c.last_polled_at.is_(None), feeds_t.c.last_polled_at < polled_before)
            )
        pick = (
            select(feeds_t.c.id)
            .where(cond)
            .order_by(feeds_t.c.next_poll_at, feeds_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_feed(r) for r in await self._lease(feeds_t, pick, now + timedelta(seconds=lease_s))]

    async def _lease(self, table: Any, pick: Select[Any], until: datetime) -> list[RowMapping]:
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(update(table).where(table.c.id.in_(ids)).values(leased_until=until))
            rows = (
                await conn.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
            ).mappings()
            return list(rows)

    async def record_poll(
        self, feed_id: int, outcome: PollOutcome, articles: Sequence[ArticleIn]
    ) -> list[int]:
        poll = _Poll(feed_id, outcome, articles, asyncio.get_running_loop().create_future())
        return await self._group_commit().submit(poll)

    def _group_commit(self) -> _GroupCommit:
        loop = asyncio.get_running_loop()
        if self._poll_writer is None or self._poll_writer.loop is not loop:
            self._poll_writer = _GroupCommit(self, loop)
        return self._poll_writer

    async def _record_polls(self, conn: AsyncConnection, polls: Sequence[_Poll]) -> list[list[int]]:
        """Write polls of distinct feeds in ``conn``'s transaction, exactly as one after another.

        Returns the ids of each poll's new articles. A handful of statements serve every poll.
        """
        new_ids = await self._add_articles(conn, polls)
        grouped: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        for poll, ids in zip(polls, new_ids, strict=True):
            values = _feed_values(poll.outcome, len(ids))
            failed = poll.outcome.error is not None
            if poll.outcome.new_url:  # rare: checked and written on its own, in order
                await self._move_feed(conn, poll.feed_id, poll.outcome.new_url, values, failed=failed)
                continue
            grouped.setdefault((failed, tuple(values)), []).append(
                {"feed": poll.feed_id, **{f"v_{k}": v for k, v in values.items()}}
            )
        for (failed, keys), params in grouped.items():
            set_values: dict[str, Any] = {k: bindparam(f"v_{k}") for k in keys}
            if failed:
                set_values["error_count"] = feeds_t.c.error_count + 1
            stmt = update(feeds_t).where(feeds_t.c.id == bindparam("feed")).values(set_values)
            await conn.execute(stmt, params)  # one executemany per shape of update
        return new_ids

    async def _move_feed(
        self, conn: AsyncConnection, feed_id: int, new_url: str, values: dict[str, Any], *, failed: bool
    ) -> None:
        clash = await conn.execute(select(feeds_t.c.id).where(feeds_t.c.url == new_url))
        if clash.first() is None:
            values["url"] = new_url
        else:
            logger.warning("feed %s redirects permanently to a feed already stored", feed_id)
        if failed:
            values["error_count"] = feeds_t.c.error_count + 1
        await conn.execute(update(feeds_t).where(feeds_t.c.id == feed_id).values(**values))

    async def _add_articles(self, conn: AsyncConnection, polls: Sequence[_Poll]) -> list[list[int]]:
        rows = [
            {
                "feed_id": poll.feed_id,
                "key": a.key[:600],
                "guid": a.guid[:2048] if a.guid else None,
                "url": a.url,
                "canonical_url": a.canonical_url[:2048],
                "title": a.title,
                "text": a.text,
                "content_hash": a.content_hash,
                "language": a.language or "und",
                "published_at": a.published_at,
                "first_seen_at": poll.outcome.polled_at,
            }
            for poll in polls
            for a in {a.key[:600]: a for a in poll.articles}.values()
        ]
        if not rows:
            return [[] for _ in polls]
        stmt = self._insert(articles_t).on_conflict_do_nothing(index_elements=["feed_id", "key"])
        # An executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues"),
        # one round trip per page of rows on both backends; rows skipped on conflict return nothing.
        # Ids grow in the order rows are inserted: by poll, then by item.
        ret = stmt.returning(
            articles_t.c.id, articles_t.c.feed_id, articles_t.c.canonical_url, articles_t.c.content_hash
        )
        inserted = sorted(tuple(r) for r in (await conn.execute(ret, rows)).all())
        if inserted:
            await self._link_stories(conn, inserted)
        by_feed: dict[int, list[int]] = {}
        for aid, feed_id, _, _ in inserted:
            by_feed.setdefault(feed_id, []).append(aid)
        return [by_feed.get(poll.feed_id, []) for poll in polls]

    async def _link_stories(
        self, conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]
    ) -> None:
        """Point each new article at the earliest article with the same canonical URL or content.

        ``inserted``: (id, feed id, canonical URL, content hash) by id. The links are those that
        linking each poll's articles right after inserting them would make: an article of an
        earlier poll in the batch counts with its own link, one of the same poll as itself.
        """
        first_by_url: dict[str, tuple[int, int | None]] = {}
        first_by_hash: dict[str, tuple[int, int | None]] = {}
        for aid, story, url, chash in await self._same_story_candidates(conn, inserted):
            first_by_url.setdefault(url, (aid, story))
            first_by_hash.setdefault(chash, (aid, story))
        feed_of = {aid: feed_id for aid, feed_id, _, _ in inserted}
        story_of: dict[int, int] = {}

        def root(first: tuple[int, int | None], feed_id: int) -> int:
            aid, story = first
            if aid in feed_of:  # new: already linked if an earlier poll's, unlinked (itself) if this one's
                return story_of[aid] if feed_of[aid] != feed_id else aid
            return story or aid

        for aid, feed_id, url, chash in inserted:
            story_of[aid] = min(root(first_by_url[url], feed_id), root(first_by_hash[chash], feed_id))
        set_story = (
            update(articles_t).where(articles_t.c.id == bindparam("aid")).values(story_id=bindparam("story"))
        )
        await conn.execute(
            set_story, [{"aid": a, "story": s} for a, s in story_of.items()]
        )  # one executemany

    async def _same_story_candidates(
        self, conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]
    ) -> list[Any]:
        """(id, story id, canonical URL, content hash) of every article sharing a URL or hash with ``inserted``, by id."""
        cols = (articles_t.c.id, articles_t.c.story_id, articles_t.c.canonical_url, articles_t.c.content_hash)
        urls = sorted({r[2] for r in inserted})
        hashes = sorted({r[3] for r in inserted})
        # One query, unless that would pass the driver's bound-parameter limit (999 on SQLite before 3.32).
        limit = self.engine.dialect.insertmanyvalues_max_parameters
        if len(urls) + len(hashes) <= limit:
            conditions = [or_(articles_t.c.canonical_url.in_(urls), articles_t.c.content_hash.in_(hashes))]
        else:
            conditions = [
                articles_t.c.canonical_url.in_(urls[i : i + limit]) for i in range(0, len(urls), limit)
            ]
            conditions += [
                articles_t.c.content_hash.in_(hashes[i : i + limit]) for i in range(0, len(hashes), limit)
            ]
        rows: dict[int, Any] = {}
        for condition in conditions:
            rows.update((row[0], row) for row in (await conn.execute(select(*cols).where(condition))).all())
        return [rows[aid] for aid in sorted(rows)]

    # articles and matching

    async def lease_unprocessed_articles(self, now: datetime, limit: int, *, lease_s: float) -> list[Article]:
        free = or_(articles_t.c.leased_until.is_(None), articles_t.c.leased_until < now)
        pick = (
            select(articles_t.c.id)
            .where(articles_t.c.processed_at.is_(None), free)
            .order_by(articles_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self._lease(articles_t, pick, now + timedelta(seconds=lease_s))
        return await self._articles_by_id([r["id"] for r in rows])

    async def _articles_by_id(self, ids: Sequence[int]) -> list[Article]:
        if not ids:
            return []
        q = select(*_ARTICLE_COLS).join(feeds_t).where(articles_t.c.id.in_(ids)).order_by(articles_t.c.id)
        async with self.engine.connect() as conn:
            return [_article(r) for r in (await conn.execute(q)).mappings()]

    async def get_article(self, article_id: int) -> Article:
        found = await self._articles_by_id([article_id])
        if not found:
            raise NotFoundError(f"no article {article_id}")
        return found[0]

    async def articles_since(
        self, since: datetime | None, *, after_id: int = 0, limit: int = 500
    ) -> list[Article]:
        q = select(*_ARTICLE_COLS).join(feeds_t).where(articles_t.c.id > after_id)
        if since is not None:
            q = q.where(articles_t.c.first_seen_at >= since)
        q = q.order_by(articles_t.c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [_article(r) for r in (await conn.execute(q)).mappings()]

    async def recent_articles(self, limit: int) -> list[Article]:
        """The ``limit`` most recently stored articles (to warm up the matcher's term statistics)."""
        q = select(*_ARTICLE_COLS).join(feeds_t).order_by(articles_t.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [_article(r) for r in (await conn.execute(q)).mappings()]

    async def count_articles_since(self, since: datetime | None) -> int:
        q = select(func.count()).select_from(articles_t)
        if since is not None:
            q = q.where(articles_t.c.first_seen_at >= since)
        async with self.engine.connect() as conn:
            return int((await conn.execute(q)).scalar_one())

    async def save_matches(
        self, article_ids: Sequence[int], results: Sequence[tuple[MatchScore, Framing]], now: datetime
    ) -> int:
        async with self.engine.begin() as conn:
            inserted = 0
            if results:
                story = dict(
                    (
                        await conn.execute(
                            select(articles_t.c.id, articles_t.c.story_id).where(
                                articles_t.c.id.in_({m.article_id for m, _ in results})
                            )
                        )
                    ).all()
                )
                stmt = self._insert(matches_t).on_conflict_do_nothing(
                    index_elements=["claim_id", "article_id"]
                )
                for m, f in results:
                    res = await conn.execute(
                        stmt.values(
                            claim_id=m.claim_id,
                            article_id=m.article_id,
                            story_id=story.get(m.article_id) or m.article_id,
                            score=m.score,
                            lexical=m.lexical,
                            semantic=m.semantic,
                            stance=f.stance.value,
                            skepticism=f.skepticism,
                            cues=[{"kind": c.kind, "text": c.text} for c in f.cues],
                            evidence=list(m.evidence),
                            matched_at=now,
                        )
                    )
                    inserted += res.rowcount or 0
            if article_ids:
                await conn.execute(
                    update(articles_t)
                    .where(articles_t.c.id.in_(article_ids))
                    .values(processed_at=now, leased_until=None)
                )
        return inserted

    def _match_query(self) -> Select[Any]:
        return select(
            matches_t.c.id.label("match_id"),
            matches_t.c.claim_id,
            claims_t.c.name.label("claim_name"),
            matches_t.c.score,
            matches_t.c.lexical,
            matches_t.c.semantic,
            matches_t.c.stance,
            matches_t.c.skepticism,
            matches_t.c.cues,
            matches_t.c.evidence,
            matches_t.c.matched_at,
            *_ARTICLE_COLS,
        ).select_from(
            matches_t.join(claims_t, claims_t.c.id == matches_t.c.claim_id)
            .join(articles_t, articles_t.c.id == matches_t.c.article_id)
            .join(feeds_t, feeds_t.c.id == articles_t.c.feed_id)
        )

    @staticmethod
    def _to_match(r: RowMapping) -> Match:
        return Match(
            id=r["match_id"],
            claim_id=r["claim_id"],
            claim_name=r["claim_name"],
            article=_article(r),
            score=r["score"],
            lexical=r["lexical"],
            semantic=r["semantic"],
            stance=Stance(r["stance"]),
            skepticism=r["skepticism"],
            cues=tuple(Cue(kind=c["kind"], text=c["text"]) for c in r["cues"] or ()),
            evidence=tuple(r["evidence"] or ()),
            matched_at=r["matched_at"],
        )

    async def list_matches(self, *, claim_id: int | None = None, limit: int = 100) -> list[Match]:
        q = self._match_query()
        if claim_id is not None:
            q = q.where(matches_t.c.claim_id == claim_id)
        q = q.order_by(matches_t.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [self._to_match(r) for r in (await conn.execute(q)).mappings()]

    async def matches_for_claim(self, claim_id: int) -> list[Match]:
        q = self._match_query().where(matches_t.c.claim_id == claim_id).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return [self._to_match(r) for r in (await conn.execute(q)).mappings()]

    async def matches_by_id(self, ids: Sequence[int]) -> list[Match]:
        if not ids:
            return []
        q = self._match_query().where(matches_t.c.id.in_(ids)).order_by(matches_t.c.id)
        async with self.engine.connect() as conn:
            return [self._to_match(r) for r in (await conn.execute(q)).mappings()]

    # claims

    async def sync_claims(self, specs: Sequence[Any], *, now: datetime) -> SyncReport:
        """Claims from feeds.yaml: added if new, updated if they changed; never removed automatically."""
        added = updated = 0
        async with self.engine.begin() as conn:
            rows = {r["name"]: r for r in (await conn.execute(select(claims_t))).mappings()}
            for s in specs:
                values = {
                    "text": s.text,
                    "keywords": list(s.keywords),
                    "threshold": s.threshold,
                    "status": s.status,
                }
                row = rows.get(s.name)
                if row is None:
                    await conn.execute(
                        claims_t.insert().values(
                            name=s.name, source="config", created_at=now, updated_at=now, **values
                        )
                    )
                    added += 1
                elif row["deleted_at"] is None and any(row[k] != v for k, v in values.items()):
                    await conn.execute(
                        update(claims_t).where(claims_t.c.id == row["id"]).values(updated_at=now, **values)
                    )
                    updated += 1
        return SyncReport(added=added, updated=updated)

    async def add_claim(self, claim: Claim, *, now: datetime, source: str = "cli") -> Claim:
        try:
            async with self.engine.begin() as conn:
                res = await conn.execute(
                    claims_t.insert()
                    .values(
                        name=claim.name,
                        text=claim.text,
                        keywords=list(claim.keywords),
                        threshold=claim.threshold,
                        status=claim.status.value,
                        source=source,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(claims_t.c.id)
                )
                claim_id = res.scalar_one()
        except IntegrityError:
            raise StorageError(f"a claim named {claim.name!r} already exists") from None
        return await self.get_claim(claim_id)

    async def get_claim(self, ref: str | int, *, include_deleted: bool = False) -> Claim:
        cond = (
            claims_t.c.id == int(ref)
            if isinstance(ref, int) or str(ref).isdigit()
            else claims_t.c.name == ref
        )
        if not include_deleted:
            cond = and_(cond, claims_t.c.deleted_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(claims_t).where(cond))).mappings().first()
        if row is None:
            raise NotFoundError(f"no claim {ref!r} (give its id or name; see `watcher claims list`)")
        return _claim(row)

    async def list_claims(self, *, status: ClaimStatus | None = None) -> list[Claim]:
        q = select(claims_t).where(claims_t.c.deleted_at.is_(None)).order_by(claims_t.c.id)
        if status is not None:
            q = q.where(claims_t.c.status == status.value)
        async with self.engine.connect() as conn:
            return [_claim(r) for r in (await conn.execute(q)).mappings()]

    async def update_claim(self, claim: Claim, *, now: datetime) -> Claim:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(claims_t)
                    .where(claims_t.c.id == claim.id)
                    .values(
                        name=claim.name,
                        text=claim.text,
                        keywords=list(claim.keywords),
                        threshold=claim.threshold,
                        status=claim.status.value,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise StorageError(f"a claim named {claim.name!r} already exists") from None
        return await self.get_claim(claim.id)

    async def remove_claim(self, claim_id: int, *, now: datetime) -> None:
        """Soft delete: the claim disappears from listings and matching; its history stays for reports."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(claims_t)
                .where(claims_t.c.id == claim_id)
                .values(
                    deleted_at=now, status=ClaimStatus.PAUSED.value, name=claims_t.c.name + f"~{claim_id}"
                )
            )

    # shift detection and the outbox

    async def lease_claims_to_detect(self, now: datetime, *, lease_s: float) -> list[Claim]:
        pending = select(matches_t.c.claim_id).where(matches_t.c.detected_at.is_(None)).distinct()
        free = or_(claims_t.c.detect_leased_until.is_(None), claims_t.c.detect_leased_until < now)
        pick = (
            select(claims_t.c.id)
            .where(claims_t.c.id.in_(pending), claims_t.c.deleted_at.is_(None), free)
            .order_by(claims_t.c.id)
            .with_for_update(skip_locked=True)
        )
        until = now + timedelta(seconds=lease_s)
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(
                update(claims_t).where(claims_t.c.id.in_(ids)).values(detect_leased_until=until)
            )
            rows = (
                await conn.execute(select(claims_t).where(claims_t.c.id.in_(ids)).order_by(claims_t.c.id))
            ).mappings()
            return [_claim(r) for r in rows]

    async def events_for_claim(self, claim_id: int) -> list[Event]:
        q = (
            select(events_t)
            .where(events_t.c.claim_id == claim_id)
            .order_by(events_t.c.created_at, events_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [_event(r) for r in (await conn.execute(q)).mappings()]

    async def record_events(
        self, claim_id: int, drafts: Sequence[EventDraft], destinations: Sequence[Destination], now: datetime
    ) -> list[Event]:
        out: list[Event] = []
        async with self.engine.begin() as conn:
            disabled = set(
                (
                    await conn.execute(
                        select(destinations_t.c.name).where(destinations_t.c.disabled_at.is_not(None))
                    )
                ).scalars()
            )
            ev_stmt = self._insert(events_t).on_conflict_do_nothing(index_elements=["claim_id", "dedupe_key"])
            dl_stmt = self._insert(deliveries_t).on_conflict_do_nothing(
                index_elements=["event_id", "destination"]
            )
            for d in drafts:
                event_id = new_event_id(d.created_at)
                res = await conn.execute(
                    ev_stmt.values(
                        id=event_id,
                        claim_id=claim_id,
                        type=d.type.value,
                        dedupe_key=d.dedupe_key,
                        summary=d.summary,
                        details=d.details,
                        match_ids=list(d.match_ids),
                        created_at=d.created_at,
                    )
                )
                if not res.rowcount:
                    continue  # raised before: a re-run never raises an event twice
                for dest in destinations:
                    if dest.wants(d.type) and dest.name not in disabled:
                        await conn.execute(
                            dl_stmt.values(
                                event_id=event_id,
                                destination=dest.name,
                                status=DeliveryStatus.PENDING.value,
                                attempts=0,
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                out.append(
                    Event(
                        id=event_id,
                        type=d.type,
                        claim_id=claim_id,
                        dedupe_key=d.dedupe_key,
                        summary=d.summary,
                        details=d.details,
                        match_ids=d.match_ids,
                        created_at=d.created_at,
                    )
                )
            await conn.execute(
                update(matches_t)
                .where(matches_t.c.claim_id == claim_id, matches_t.c.detected_at.is_(None))
                .values(detected_at=now)
            )
            await conn.execute(
                update(claims_t).where(claims_t.c.id == claim_id).values(detect_leased_until=None)
            )
        return out

    async def list_events(self, *, claim_id: int | None = None, limit: int = 100) -> list[Event]:
        q = select(events_t).order_by(events_t.c.created_at.desc(), events_t.c.id.desc()).limit(limit)
        if claim_id is not None:
            q = q.where(events_t.c.claim_id == claim_id)
        async with self.engine.connect() as conn:
            return [_event(r) for r in (await conn.execute(q)).mappings()]

    async def get_event(self, event_id: str) -> Event:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(events_t).where(events_t.c.id == event_id))).mappings().first()
        if row is None:
            raise NotFoundError(f"no event {event_id!r}")
        return _event(row)

    async def sync_destinations(self, destinations: Sequence[Destination]) -> None:
        async with self.engine.begin() as conn:
            known = set((await conn.execute(select(destinations_t.c.name))).scalars())
            for d in destinations:
                if d.name not in known:
                    await conn.execute(destinations_t.insert().values(name=d.name, kind=d.kind))

    async def destination_states(self) -> dict[str, str | None]:
        """Destination name → disabled reason (None while enabled)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(destinations_t.c.name, destinations_t.c.disabled_reason))).all()
        return {name: reason for name, reason in rows}

    async def lease_due_deliveries(
        self, now: datetime, limit: int, *, lease_s: float, exclude: Sequence[str] = ()
    ) -> list[Delivery]:
        """Pending deliveries due by ``now`` (but those to the ``exclude`` destinations), leased."""
        free = or_(deliveries_t.c.leased_until.is_(None), deliveries_t.c.leased_until < now)
        cond = and_(
            deliveries_t.c.status == DeliveryStatus.PENDING.value,
            deliveries_t.c.next_attempt_at <= now,
            free,
        )
        if exclude:
            cond = and_(cond, deliveries_t.c.destination.not_in(exclude))
        pick = (
            select(deliveries_t.c.id)
            .where(cond)
            .order_by(deliveries_t.c.next_attempt_at, deliveries_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_delivery(r) for r in await self._lease(deliveries_t, pick, now + timedelta(seconds=lease_s))]

    async def pending_deliveries(self, destinations: Sequence[str], now: datetime) -> list[Delivery]:
        """Pending, unleased deliveries to ``destinations`` (due or not), for digest planning."""
        free = or_(deliveries_t.c.leased_until.is_(None), deliveries_t.c.leased_until < now)
        q = (
            select(deliveries_t)
            .where(
                deliveries_t.c.status == DeliveryStatus.PENDING.value,
                deliveries_t.c.destination.in_(destinations),
                free,
            )
            .order_by(deliveries_t.c.id)
        )
        async with self.engine.connect() as conn:
            return [_delivery(r) for r in (await conn.execute(q)).mappings()]

    async def lease_digest(
        self, ids: Sequence[int], digest_id: str, now: datetime, *, lease_s: float
    ) -> bool:
        """Lease every delivery of a digest and pin them to ``digest_id``; False if another worker has any."""
        free = or_(deliveries_t.c.leased_until.is_(None), deliveries_t.c.leased_until < now)
        pick = (
            select(deliveries_t.c.id)
            .where(deliveries_t.c.id.in_(ids), deliveries_t.c.status == DeliveryStatus.PENDING.value, free)
            .with_for_update(skip_locked=True)
        )
        async with self.engine.begin() as conn:
            got = set((await conn.execute(pick)).scalars())
            if got != set(ids):
                return False
            await conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id.in_(ids))
                .values(leased_until=now + timedelta(seconds=lease_s), digest_id=digest_id)
            )
        return True

    async def claim_delivery(self, delivery: Delivery, now: datetime, *, lease_s: float) -> datetime | None:
        """Renew our lease on a pending delivery just before sending it.

        Returns the new lease end, or None when the lease is no longer ours (it ran out and another
        worker took the delivery) or the delivery is no longer pending (e.g. its destination was
        disabled): the caller must not send it then.
        """
        until = now + timedelta(seconds=lease_s)
        cond = [deliveries_t.c.id == delivery.id, deliveries_t.c.status == DeliveryStatus.PENDING.value]
        if delivery.leased_until is not None:
            cond.append(deliveries_t.c.leased_until == delivery.leased_until)
        async with self.engine.begin() as conn:
            res = await conn.execute(update(deliveries_t).where(*cond).values(leased_until=until))
        return until if res.rowcount == 1 else None

    async def update_delivery(
        self, delivery_id: int, upd: DeliveryUpdate, *, lease: datetime | None = None
    ) -> bool:
        """Record an attempt's outcome on a pending delivery (held under ``lease``, when given).

        Returns False, changing nothing, when the delivery is no longer pending or no longer ours.
        """
        cond = [deliveries_t.c.id == delivery_id, deliveries_t.c.status == DeliveryStatus.PENDING.value]
        if lease is not None:
            cond.append(deliveries_t.c.leased_until == lease)
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(deliveries_t)
                .where(*cond)
                .values(
                    status=upd.status.value,
                    attempts=upd.attempts,
                    next_attempt_at=upd.next_attempt_at,
                    last_error=upd.last_error,
                    last_status=upd.last_status,
                    delivered_at=upd.delivered_at,
                    leased_until=None,
                )
            )
        return res.rowcount == 1

    async def disable_destination(self, name: str, reason: str, now: datetime) -> int:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(destinations_t)
                .where(destinations_t.c.name == name)
                .values(disabled_at=now, disabled_reason=reason)
            )
            res = await conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.destination == name, deliveries_t.c.status == DeliveryStatus.PENDING.value
                )
                .values(status=DeliveryStatus.CANCELLED.value, last_error=reason, leased_until=None)
            )
            return res.rowcount or 0

    async def enable_destination(self, name: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(destinations_t)
                .where(destinations_t.c.name == name)
                .values(disabled_at=None, disabled_reason=None)
            )

    async def list_deliveries(
        self, *, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[Delivery]:
        q = select(deliveries_t).order_by(deliveries_t.c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(deliveries_t.c.status == status.value)
        async with self.engine.connect() as conn:
            return [_delivery(r) for r in (await conn.execute(q)).mappings()]

    async def get_delivery(self, delivery_id: int) -> Delivery:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(deliveries_t).where(deliveries_t.c.id == delivery_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return _delivery(row)

    async def retry_delivery(self, delivery_id: int, now: datetime) -> Delivery:
        """Make a dead, cancelled or pending delivery due now, with a fresh retry schedule."""
        await self.get_delivery(delivery_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.id == delivery_id, deliveries_t.c.status != DeliveryStatus.DELIVERED.value
                )
                .values(
                    status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, leased_until=None
                )
            )
        return await self.get_delivery(delivery_id)

    # health and metrics

    async def set_state(self, key: str, value: str, now: datetime) -> None:
        stmt = self._insert(state_t).values(key=key, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": now})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def get_state(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(select(state_t.c.value).where(state_t.c.key == key))
            ).scalar_one_or_none()

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            out: dict[str, int] = {}
            for name, table in (
                ("feeds", feeds_t),
                ("articles", articles_t),
                ("claims", claims_t),
                ("matches", matches_t),
                ("events", events_t),
            ):
                out[name] = int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
            out["feeds_failing"] = int(
                (
                    await conn.execute(
                        select(func.count()).select_from(feeds_t).where(feeds_t.c.error_count > 0)
                    )
                ).scalar_one()
            )
            out["articles_pending"] = int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(articles_t)
                        .where(articles_t.c.processed_at.is_(None))
                    )
                ).scalar_one()
            )
            for status, n in (
                await conn.execute(
                    select(deliveries_t.c.status, func.count()).group_by(deliveries_t.c.status)
                )
            ).all():
                out[f"deliveries_{status}"] = int(n)
            return out

    async def purge_for_tests(self) -> None:
        """Delete every row (tests reuse one schema per session)."""
        async with self.engine.begin() as conn:
            for table in (
                deliveries_t,
                events_t,
                matches_t,
                articles_t,
                claims_t,
                feeds_t,
                destinations_t,
                state_t,
            ):
                await conn.execute(delete(table))


# --- poll writes ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Poll:
    """One record_poll call waiting to be written; ``done`` gets its new article ids."""

    feed_id: int
    outcome: PollOutcome
    articles: Sequence[ArticleIn]
    done: asyncio.Future[list[int]]


def _feed_values(outcome: PollOutcome, new_items: int) -> dict[str, Any]:
    """The feed row's new values after a poll (error_count + 1 on failure is added by the caller)."""
    values: dict[str, Any] = {
        "last_polled_at": outcome.polled_at,
        "next_poll_at": outcome.next_poll_at,
        "last_status": outcome.status,
        "leased_until": None,
        "last_new_items": new_items,
        "last_warning": outcome.warning[:2000] if outcome.warning else None,
    }
    if outcome.error is None:
        values.update(error_count=0, last_error=None)
        if outcome.status != 304:
            values.update(etag=outcome.etag, last_modified=outcome.last_modified)
        if outcome.full_fetch:
            values["last_full_fetch_at"] = outcome.polled_at
    else:
        values["last_error"] = outcome.error[:2000]
    return values


class _GroupCommit:
    """This process's concurrent record_poll calls share transactions (group commit).

    Through SQLAlchemy's async drivers every statement is a round trip to a driver thread or the
    server, and a transaction of its own per poll costs several of them. On SQLite it is worse:
    one writer at a time, and concurrent transactions wait in SQLite's busy handler, which sleeps
    in growing steps (up to 100 ms) instead of waking when the lock is free, so throughput
    collapses and, past the busy timeout, polls fail with "database is locked". Here polls queue
    in the event loop; whoever holds the lock writes every poll queued so far (within bounds) in
    one transaction of a few statements, with the same result as writing them one by one. A batch
    that fails is written again one poll per transaction, so a bad poll fails alone, as before.
    """

    MAX_POLLS = 200
    MAX_ARTICLES = 4_000

    def __init__(self, store: SqlStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self.lock = asyncio.Lock()
        self.queue: list[_Poll] = []

    async def submit(self, poll: _Poll) -> list[int]:
        self.queue.append(poll)
        try:
            async with self.lock:
                while not poll.done.done():
                    batch = self._take()
                    try:
                        await self._write(batch)
                    except BaseException:
                        # Cancelled mid-batch: the transaction rolled back; the others still wait.
                        self.queue[:0] = [p for p in batch if not p.done.done()]
                        raise
        except BaseException:
            poll.done.cancel()  # no-op once written; otherwise no later batch writes it
            raise
        return poll.done.result()

    def _take(self) -> list[_Poll]:
        """The longest run of queued polls that one transaction may write as if one by one."""
        queue = [poll for poll in self.queue if not poll.done.done()]  # done: caller cancelled
        feeds: set[int] = set()
        articles = taken = 0
        for poll in queue:
            articles += len(poll.articles)
            full = taken >= self.MAX_POLLS or articles > self.MAX_ARTICLES
            if poll.feed_id in feeds or (taken and full):
                break  # a feed's second poll starts the next transaction
            feeds.add(poll.feed_id)
            taken += 1
        self.queue = queue[taken:]
        return queue[:taken]

    async def _write(self, batch: list[_Poll]) -> None:
        try:
            async with self.store.engine.begin() as conn:
                results = await self.store._record_polls(conn, batch)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].done, exc=exc)
                return
            for poll in batch:
                await self._write([poll])
            return
        for poll, ids in zip(batch, results, strict=True):
            _settle(poll.done, ids)


def _settle(
    done: asyncio.Future[list[int]], ids: list[int] | None = None, exc: BaseException | None = None
) -> None:
    if done.done():
        return  # the caller was cancelled meanwhile
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(ids or [])


async def open_store(url: str, *, upgrade: bool = False, retries: int = 0) -> SqlStore:
    """A SqlStore for ``url``; with ``upgrade`` the schema is migrated first.

    ``retries`` > 0 waits for a database that is still starting (containers), 1 s apart.
    """
    store = SqlStore(make_engine(url))
    for attempt in range(retries + 1):
        try:
            await store.ping()
            break
        except Exception as exc:
            if attempt == retries:
                await store.close()
                raise StorageError(
                    f"cannot reach the database ({type(exc).__name__}: {_safe(exc)})"
                ) from None
            await asyncio.sleep(1)
    if upgrade:
        await store.upgrade()
    return store


def _safe(exc: BaseException) -> str:
    """An exception text without credentials (drivers may echo the DSN)."""
    import re

    return re.sub(r"://[^@/\s]+@", "://***@", str(exc))[:300]
