"""Articles and stories: inserting a poll's new articles, linking wire copies, keeping revised versions,
leasing and reading them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.sql.core import SqlBase, insert, lease_free
from storage.sql.rows import ARTICLE_COLS, to_article, to_article_version
from storage.tables import article_versions_t, articles_t, feeds_t
from watcher.domain import Article, ArticleIn, ArticleVersion

logger = logging.getLogger("storage.sql")

# One poll's articles to insert: (feed id, when they were seen, the parsed entries).
PolledArticles = tuple[int, datetime, Sequence[ArticleIn]]
# One article already stored by its feed, as a poll served it again: (feed id, when seen, the entry).
Reserved = tuple[int, datetime, ArticleIn]

# Statements come in a few fixed shapes: a multi-row INSERT of PAGE_ROWS rows or of a power of two below
# it, and IN lists of a power of two of values up to IN_VALUES. Both drivers keep prepared statements by
# their text (sqlite3 128 per connection, asyncpg 100), and a statement of a thousand rows of values
# costs about a megabyte prepared, so a shape per batch size filled those caches with 100+ MB and
# prepared every new size again.
PAGE_ROWS = 256
URL_CHARS = 2048  # the guid and canonical_url columns (longer values: see _bounded), and links (see _link)
IN_VALUES = 512


async def add_articles(conn: AsyncConnection, polls: Sequence[PolledArticles]) -> list[list[int]]:
    """Insert the polls' articles in ``conn``'s transaction, skipping those already stored (by feed and
    key), and link each to its story. An article already stored whose title or text changed is revised
    (see :func:`_revise_articles`). Returns the ids inserted, per poll.

    An article without a date of its own stored by its feed's first successful poll (the feed has no full
    fetch yet) is marked ``backlog``: an archive item of unknown age, not news.
    """
    first = await _first_polls(conn, {feed_id for feed_id, _, articles in polls if articles})
    rows = [
        {
            "feed_id": feed_id,
            "key": a.key[:600],
            "guid": _bounded(a.guid, URL_CHARS) if a.guid else None,
            "url": _link(a.url),
            "canonical_url": _bounded(a.canonical_url, URL_CHARS),
            "title": a.title,
            "text": a.text,
            "content_hash": a.content_hash,
            "language": a.language or "und",
            **publication(a.published_at, seen_at, first_poll=feed_id in first),
            "first_seen_at": seen_at,
            "updated_at": a.updated_at,
        }
        for feed_id, seen_at, articles in polls
        for a in _unique(articles)
    ]
    if not rows:
        return [[] for _ in polls]
    stmt = insert(conn.dialect.name, articles_t).on_conflict_do_nothing(index_elements=["feed_id", "key"])
    # An executemany with RETURNING: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues"),
    # one round trip per page of rows on both backends; rows skipped on conflict return nothing.
    # Ids grow in the order rows are inserted: by poll, then by item.
    ret = stmt.returning(
        articles_t.c.id,
        articles_t.c.feed_id,
        articles_t.c.canonical_url,
        articles_t.c.content_hash,
        articles_t.c.key,
    )
    returned = []
    for page in _pages(rows):
        returned += [tuple(r) for r in (await conn.execute(ret, page)).all()]
    returned.sort()
    inserted = [(aid, feed_id, url, chash) for aid, feed_id, url, chash, _ in returned]
    if inserted:
        await _link_stories(conn, inserted)
    new_keys = {(feed_id, key) for _, feed_id, _, _, key in returned}
    known = [
        (feed_id, seen_at, a)
        for feed_id, seen_at, articles in polls
        for a in _unique(articles)
        if (feed_id, a.key[:600]) not in new_keys
    ]
    if known:
        await _revise_articles(conn, known)
    by_feed: dict[int, list[int]] = {}
    for aid, feed_id, _, _ in inserted:
        by_feed.setdefault(feed_id, []).append(aid)
    return [by_feed.get(feed_id, []) for feed_id, _, _ in polls]


async def _first_polls(conn: AsyncConnection, feed_ids: set[int]) -> set[int]:
    """Those of the feeds that have never been fetched in full without an error: this is their first poll."""
    if not feed_ids:
        return set()
    found: set[int] = set()
    for values in _in_lists(sorted(feed_ids)):
        q = select(feeds_t.c.id).where(feeds_t.c.id.in_(values), feeds_t.c.last_full_fetch_at.is_(None))
        found.update((await conn.execute(q)).scalars())
    return found


def _pages(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``rows`` in order, in pages of PAGE_ROWS and then of the powers of two that make up the rest."""
    pages = []
    start, size = 0, PAGE_ROWS
    while start < len(rows):
        if len(rows) - start >= size:
            pages.append(rows[start : start + size])
            start += size
        else:
            size //= 2
    return pages


def _in_lists(values: Sequence[Any]) -> list[list[Any]]:
    """``values`` in lists of IN_VALUES, each padded to a power of two by repeating its last value (which
    an IN condition does not notice)."""
    lists = []
    for i in range(0, len(values), IN_VALUES):
        chunk = list(values[i : i + IN_VALUES])
        size = 1 << (len(chunk) - 1).bit_length()
        lists.append(chunk + [chunk[-1]] * (size - len(chunk)))
    return lists


def _bounded(value: str, limit: int) -> str:
    """``value`` as stored in a column of ``limit`` characters: itself when it fits, else its start and a digest of
    the whole, so that two values that differ only past the limit stay apart (two stories whose URLs share their
    first 2,048 characters are not one story). The digest follows a "#", which no canonical URL holds."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{value[: limit - len(digest) - 1]}#{digest}"


def _link(url: str) -> str:
    """The article's link as stored: none ("", as for an item without a link) when it is longer than URL_CHARS.
    A link cut short leads nowhere, and one of megabytes would ride along in every alert, listing and report;
    the article keeps its key and canonical URL (bounded by _bounded), so it is still told apart and linked
    to its story."""
    return url if len(url) <= URL_CHARS else ""


def _unique(articles: Sequence[ArticleIn]) -> list[ArticleIn]:
    """One article per stored key (the last one given), in order."""
    return list({a.key[:600]: a for a in articles}.values())


async def _revise_articles(conn: AsyncConnection, known: Sequence[Reserved]) -> list[int]:
    """Keep a new version of each stored article whose title or text changed; returns their ids.

    Only a change in the title or text counts (compared by content hash: case and whitespace aside), not
    one in dates alone. A copy that is older than the stored version by its feed date (``updated_at``),
    or that brings back the content of an earlier version without a newer feed date, is a stale copy
    (a cache or a mirror serving an old version) and changes nothing. A revised article takes the new
    title, text, language and feed date and its next version number, and is matched again: its page
    is read again, and it is not new coverage (it keeps its first seen and publication times and its
    story). Its versions, the original included, are kept in article_versions, never overwritten.
    """
    stored = await _stored_articles(conn, known)
    candidates = []
    for feed_id, seen_at, a in known:
        row = stored.get((feed_id, a.key[:600]))
        if row is None or row["content_hash"] == a.content_hash:
            continue
        if a.updated_at is not None and row["updated_at"] is not None and a.updated_at < row["updated_at"]:
            continue
        candidates.append((row, seen_at, a))
    if not candidates:
        return []
    revised_ids = [row["id"] for row, _, _ in candidates if row["version"] > 1]
    earlier: set[tuple[int, str]] = set()
    if revised_ids:
        q = select(article_versions_t.c.article_id, article_versions_t.c.content_hash).where(
            article_versions_t.c.article_id.in_(revised_ids)
        )
        earlier = {(aid, chash) for aid, chash in (await conn.execute(q)).all()}
    revisions = [
        (row, seen_at, a)
        for row, seen_at, a in candidates
        if (row["id"], a.content_hash) not in earlier or _newer(a.updated_at, row["updated_at"])
    ]
    if not revisions:
        return []
    originals = [row["id"] for row, _, _ in revisions if row["version"] == 1]
    if originals:
        # Version 1 is written with the first revision, from the article row as it stands.
        a_ = articles_t.c
        first = select(
            a_.id, literal(1), a_.title, a_.text, a_.content_hash, a_.updated_at, a_.first_seen_at
        ).where(a_.id.in_(originals))
        v_ = article_versions_t.c
        cols = [v_.article_id, v_.version, v_.title, v_.text, v_.content_hash, v_.updated_at, v_.seen_at]
        await conn.execute(article_versions_t.insert().from_select(cols, first))
    await conn.execute(
        article_versions_t.insert(),
        [
            {
                "article_id": row["id"],
                "version": row["version"] + 1,
                "title": a.title,
                "text": a.text,
                "content_hash": a.content_hash,
                "updated_at": a.updated_at,
                "seen_at": seen_at,
            }
            for row, seen_at, a in revisions
        ],
    )
    revise = (
        update(articles_t)
        .where(articles_t.c.id == bindparam("aid"))
        .values(
            title=bindparam("v_title"),
            text=bindparam("v_text"),
            content_hash=bindparam("v_hash"),
            language=bindparam("v_language"),
            updated_at=bindparam("v_updated"),
            version=bindparam("v_version"),
            processed_at=None,
            page_text=None,
            page_fetched_at=None,
            page_error=None,
        )
    )
    await conn.execute(
        revise,
        [
            {
                "aid": row["id"],
                "v_title": a.title,
                "v_text": a.text,
                "v_hash": a.content_hash,
                "v_language": a.language or "und",
                "v_updated": a.updated_at,
                "v_version": row["version"] + 1,
            }
            for row, _, a in revisions
        ],
    )
    for row, _, _ in revisions:
        logger.info(
            "article %s revised: version %d",
            row["id"],
            row["version"] + 1,
            extra={"article_id": row["id"], "feed_id": row["feed_id"]},
        )
    return [row["id"] for row, _, _ in revisions]


async def load_versions(
    conn: AsyncConnection, article_ids: Sequence[int]
) -> dict[int, tuple[ArticleVersion, ...]]:
    """The versions of these articles (those revised have any), oldest first, by article id."""
    if not article_ids:
        return {}
    found: dict[int, list[ArticleVersion]] = {}
    ids = sorted(set(article_ids))
    limit = conn.dialect.insertmanyvalues_max_parameters
    for i in range(0, len(ids), limit):
        q = (
            select(article_versions_t)
            .where(article_versions_t.c.article_id.in_(ids[i : i + limit]))
            .order_by(article_versions_t.c.article_id, article_versions_t.c.version)
        )
        for row in (await conn.execute(q)).mappings():
            found.setdefault(row["article_id"], []).append(to_article_version(row))
    return {aid: tuple(versions) for aid, versions in found.items()}


def _newer(incoming: datetime | None, stored: datetime | None) -> bool:
    return incoming is not None and stored is not None and incoming > stored


async def _stored_articles(conn: AsyncConnection, known: Sequence[Reserved]) -> dict[tuple[int, str], Any]:
    """The stored rows of the ``known`` articles served with another content hash than the one stored, by
    (feed id, key): id, content hash, version, feed date.

    Most articles served again are unchanged: one query by the content hash index finds those, and only
    the rest (few, usually none) are read by (feed, key).
    """
    a_ = articles_t.c
    hashes = sorted({a.content_hash for _, _, a in known})
    unchanged: set[tuple[int, str, str]] = set()
    for values in _in_lists(hashes):
        q = select(a_.feed_id, a_.key, a_.content_hash).where(a_.content_hash.in_(values))
        unchanged.update((feed_id, key, chash) for feed_id, key, chash in (await conn.execute(q)).all())
    keys: dict[int, set[str]] = {}
    for feed_id, _, a in known:
        if (feed_id, a.key[:600], a.content_hash) not in unchanged:
            keys.setdefault(feed_id, set()).add(a.key[:600])
    cols = (a_.id, a_.feed_id, a_.key, a_.content_hash, a_.version, a_.updated_at)
    found: dict[tuple[int, str], Any] = {}
    for feed_id, feed_keys in sorted(keys.items()):
        for values in _in_lists(sorted(feed_keys)):
            q = select(*cols).where(a_.feed_id == feed_id, a_.key.in_(values))
            for row in (await conn.execute(q)).mappings():
                found[(row["feed_id"], row["key"])] = row
    return found


def publication(
    published_at: datetime | None, seen_at: datetime, *, first_poll: bool = False
) -> dict[str, Any]:
    """published_at and its basis: the feed's date, clamped to no later than first seen, else first seen; and
    ``backlog``: first seen stands in for the date on the feed's first poll (``first_poll``)."""
    if published_at is None:
        return {"published_at": seen_at, "published_at_basis": "first_seen", "backlog": first_poll}
    if published_at > seen_at:
        return {"published_at": seen_at, "published_at_basis": "clamped", "backlog": first_poll}
    return {"published_at": published_at, "published_at_basis": "published", "backlog": False}


async def _link_stories(conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]) -> None:
    """Point each new article at the earliest article with the same canonical URL or content.

    ``inserted``: (id, feed id, canonical URL, content hash) by id. The links are those that
    linking each poll's articles right after inserting them would make: an article of an
    earlier poll in the batch counts with its own link, one of the same poll as itself. An article
    without a link (an item with no link and an id that is none) shares a story by its content only.
    """
    first_by_url: dict[str, tuple[int, int | None]] = {}
    first_by_hash: dict[str, tuple[int, int | None]] = {}
    for aid, story, url, chash in await _same_story_candidates(conn, inserted):
        if url:
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
        by_content = root(first_by_hash[chash], feed_id)
        story_of[aid] = min(root(first_by_url[url], feed_id), by_content) if url else by_content
    # Most new articles start their own story: a few IN lists set those, an executemany the copies.
    own = [aid for aid, story in story_of.items() if aid == story]
    for values in _in_lists(own):
        await conn.execute(
            update(articles_t).where(articles_t.c.id.in_(values)).values(story_id=articles_t.c.id)
        )
    copies = [{"aid": a, "story": s} for a, s in story_of.items() if a != s]
    if copies:
        set_story = (
            update(articles_t).where(articles_t.c.id == bindparam("aid")).values(story_id=bindparam("story"))
        )
        await conn.execute(set_story, copies)


async def _same_story_candidates(
    conn: AsyncConnection, inserted: Sequence[tuple[int, int, str, str]]
) -> list[Any]:
    """(id, story id, canonical URL, content hash) of every article sharing a URL or hash with ``inserted``, by id."""
    cols = (articles_t.c.id, articles_t.c.story_id, articles_t.c.canonical_url, articles_t.c.content_hash)
    urls = sorted({r[2] for r in inserted if r[2]})  # no link: no URL to share
    hashes = sorted({r[3] for r in inserted})
    conditions = [articles_t.c.canonical_url.in_(values) for values in _in_lists(urls)]
    conditions += [articles_t.c.content_hash.in_(values) for values in _in_lists(hashes)]
    rows: dict[int, Any] = {}
    for condition in conditions:
        rows.update((row[0], row) for row in (await conn.execute(select(*cols).where(condition))).all())
    return [rows[aid] for aid in sorted(rows)]


class ArticleQueries(SqlBase):
    """Reading stored articles, and leasing the unprocessed ones to the matcher."""

    async def lease_unprocessed_articles(self, now: datetime, limit: int, *, lease_s: float) -> list[Article]:
        free = lease_free(articles_t.c.leased_until, now, lease_s)
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
