"""Articles and stories: inserting a poll's new articles, linking wire copies, leasing and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.sql.core import SqlBase, insert
from storage.sql.rows import ARTICLE_COLS, to_article
from storage.tables import articles_t, feeds_t
from watcher.domain import Article, ArticleIn

# One poll's articles to insert: (feed id, when they were seen, the parsed entries).
PolledArticles = tuple[int, datetime, Sequence[ArticleIn]]


async def add_articles(conn: AsyncConnection, polls: Sequence[PolledArticles]) -> list[list[int]]:
    """Insert the polls' articles in ``conn``'s transaction, skipping those already stored (by feed and
    key), and link each to its story. Returns the ids inserted, per poll."""
    rows = [
        {
            "feed_id": feed_id,
            "key": a.key[:600],
            "guid": a.guid[:2048] if a.guid else None,
            "url": a.url,
            "canonical_url": a.canonical_url[:2048],
            "title": a.title,
            "text": a.text,
            "content_hash": a.content_hash,
            "language": a.language or "und",
            **publication(a.published_at, seen_at),
            "first_seen_at": seen_at,
        }
        for feed_id, seen_at, articles in polls
        for a in {a.key[:600]: a for a in articles}.values()
    ]
    if not rows:
        return [[] for _ in polls]
    stmt = insert(conn.dialect.name, articles_t).on_conflict_do_nothing(index_elements=["feed_id", "key"])
    # An executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues"),
    # one round trip per page of rows on both backends; rows skipped on conflict return nothing.
    # Ids grow in the order rows are inserted: by poll, then by item.
    ret = stmt.returning(
        articles_t.c.id, articles_t.c.feed_id, articles_t.c.canonical_url, articles_t.c.content_hash
    )
    inserted = sorted(tuple(r) for r in (await conn.execute(ret, rows)).all())
    if inserted:
        await _link_stories(conn, inserted)
    by_feed: dict[int, list[int]] = {}
    for aid, feed_id, _, _ in inserted:
        by_feed.setdefault(feed_id, []).append(aid)
    return [by_feed.get(feed_id, []) for feed_id, _, _ in polls]


def publication(published_at: datetime | None, seen_at: datetime) -> dict[str, Any]:
    """published_at and its basis: the feed's date, clamped to no later than first seen, else first seen."""
    if published_at is None:
        return {"published_at": seen_at, "published_at_basis": "first_seen"}
    if published_at > seen_at:
        return {"published_at": seen_at, "published_at_basis": "clamped"}
    return {"published_at": published_at, "published_at_basis": "published"}


async def _link_stories(conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]) -> None:
    """Point each new article at the earliest article with the same canonical URL or content.

    ``inserted``: (id, feed id, canonical URL, content hash) by id. The links are those that
    linking each poll's articles right after inserting them would make: an article of an
    earlier poll in the batch counts with its own link, one of the same poll as itself.
    """
    first_by_url: dict[str, tuple[int, int | None]] = {}
    first_by_hash: dict[str, tuple[int, int | None]] = {}
    for aid, story, url, chash in await _same_story_candidates(conn, inserted):
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
    await conn.execute(set_story, [{"aid": a, "story": s} for a, s in story_of.items()])  # one executemany


async def _same_story_candidates(
    conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]
) -> list[Any]:
    """(id, story id, canonical URL, content hash) of every article sharing a URL or hash with ``inserted``, by id."""
    cols = (articles_t.c.id, articles_t.c.story_id, articles_t.c.canonical_url, articles_t.c.content_hash)
    urls = sorted({r[2] for r in inserted})
    hashes = sorted({r[3] for r in inserted})
    # One query, unless that would pass the driver's bound-parameter limit (999 on SQLite before 3.32).
    limit = conn.dialect.insertmanyvalues_max_parameters
    if len(urls) + len(hashes) <= limit:
        conditions = [or_(articles_t.c.canonical_url.in_(urls), articles_t.c.content_hash.in_(hashes))]
    else:
        conditions = [articles_t.c.canonical_url.in_(urls[i : i + limit]) for i in range(0, len(urls), limit)]
        conditions += [
            articles_t.c.content_hash.in_(hashes[i : i + limit]) for i in range(0, len(hashes), limit)
        ]
    rows: dict[int, Any] = {}
    for condition in conditions:
        rows.update((row[0], row) for row in (await conn.execute(select(*cols).where(condition))).all())
    return [rows[aid] for aid in sorted(rows)]


class ArticleQueries(SqlBase):
    """Reading stored articles, and leasing the unprocessed ones to the matcher."""

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

    async def record_page(
        self, article_id: int, *, text: str | None, error: str | None, now: datetime
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(articles_t)
                .where(articles_t.c.id == article_id)
                .values(page_text=text, page_error=error[:1000] if error else None, page_fetched_at=now)
            )

    async def _articles_by_id(self, ids: Sequence[int]) -> list[Article]:
        if not ids:
            return []
        q = select(*ARTICLE_COLS).join(feeds_t).where(articles_t.c.id.in_(ids)).order_by(articles_t.c.id)
        async with self.engine.connect() as conn:
            return [to_article(r) for r in (await conn.execute(q)).mappings()]

    async def articles_since(
        self, since: datetime | None, *, after_id: int = 0, limit: int = 500
    ) -> list[Article]:
        q = select(*ARTICLE_COLS).join(feeds_t).where(articles_t.c.id > after_id)
        if since is not None:
            q = q.where(articles_t.c.first_seen_at >= since)
        q = q.order_by(articles_t.c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [to_article(r) for r in (await conn.execute(q)).mappings()]

    async def recent_articles(self, limit: int) -> list[Article]:
        q = select(*ARTICLE_COLS).join(feeds_t).order_by(articles_t.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [to_article(r) for r in (await conn.execute(q)).mappings()]

    async def count_articles_since(self, since: datetime | None) -> int:
        q = select(func.count()).select_from(articles_t)
        if since is not None:
            q = q.where(articles_t.c.first_seen_at >= since)
        async with self.engine.connect() as conn:
            return int((await conn.execute(q)).scalar_one())
