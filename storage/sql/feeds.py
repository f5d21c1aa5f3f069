"""Feeds: syncing the configured list, leasing due feeds, and writing polls with a group commit."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.base import PollOutcome, SyncReport
from storage.sql.articles import add_articles
from storage.sql.core import SqlBase, insert, lease_free
from storage.sql.rows import to_feed
from storage.tables import feeds_t
from watcher.domain import ArticleIn, Feed, FeedSpec
from watcher.ingest.urls import stored_feed_key

logger = logging.getLogger("storage.sql")  # one logger name for the whole SQL store

MAX_DELAY_S = 86400  # watcher.ingest.fetch.MAX_DELAY: the longest a backoff or server hint defers a poll
ANALYZE_AFTER_ADDING = 1000  # feeds added by one sync (a large import) after which the table is analyzed


class FeedQueries(SqlBase):
    """The feeds table: what to poll, and what each poll found."""

    _poll_writer: _GroupCommit | None = None

    async def database_now(self) -> datetime | None:
        if self.dialect == "sqlite":
            return None  # a file on this host: its time is ours
        async with self.engine.connect() as conn:
            # clock_timestamp(), not now(): the time of this statement, not of its transaction's start.
            at = (await conn.execute(select(func.clock_timestamp()))).scalar_one()
        return at.astimezone(UTC) if isinstance(at, datetime) else None

    async def sync_feeds(self, specs: Sequence[FeedSpec], *, source: str, now: datetime) -> SyncReport:
        added = updated = disabled = 0
        async with self.engine.begin() as conn:
            found = list((await conn.execute(select(feeds_t).order_by(feeds_t.c.id))).mappings())
            # A spec is the stored feed with its URL, or the one a permanent redirect moved from it; failing that,
            # the one with the same key (_Stored.same: "https://Example.com/rss/" in feeds.yaml is the feed an OPML
            # import stored as "https://example.com/rss").
            stored = _Stored(found)
            matched: set[int] = set()
            for spec in specs:
                values: dict[str, Any] = {
                    "outlet": spec.outlet,
                    "country": spec.country,
                    "language": spec.language,
                    "leaning": spec.leaning,
                    "ownership": spec.ownership,
                    "interval_s": spec.interval_s,
                    "full_text": spec.full_text,
                }
                row = stored.exact.get(spec.url)
                if row is None:
                    row = stored.same(spec.url)
                    if row is not None and source == "config":
                        # The file's spelling is polled from now on (a server may answer "/feed/" and not "/feed"),
                        # and the validators of the old one no longer apply.
                        values.update(
                            url=spec.url, config_url=None, etag=None, last_modified=None, body_digest=None
                        )
                # feeds.yaml is the source of truth for the feeds it lists, even ones first added otherwise; a
                # feed it dropped (disabled) and that is then added by hand is the adder's, or the next sync of
                # the file would disable it again
                claimed = row is not None and (
                    row["source"] != "config"
                    if source == "config"
                    else row["source"] == "config" and not row["enabled"]
                )
                if claimed:
                    values["source"] = source
                if row is None:
                    # Another worker syncing the same file at the same moment may insert it first.
                    inserted = await conn.execute(
                        insert(self.dialect, feeds_t)
                        .values(
                            url=spec.url,
                            source=source,
                            enabled=True,
                            next_poll_at=now,
                            created_at=now,
                            error_count=0,
                            last_new_items=0,
                            **values,
                        )
                        .on_conflict_do_nothing(index_elements=["url"])
                    )
                    added += inserted.rowcount
                    continue
                matched.add(row["id"])
                if any(row[k] != v for k, v in values.items()) or not row["enabled"] or claimed:
                    await conn.execute(
                        update(feeds_t).where(feeds_t.c.id == row["id"]).values(enabled=True, **values)
                    )
                    updated += 1
            if source == "config":
                # What the file no longer lists, and a second stored row of a feed it lists (stored twice by an
                # earlier release, or by a redirect to another spelling of a listed URL).
                stale = [
                    r["id"]
                    for r in found
                    if r["source"] == "config" and r["enabled"] and r["id"] not in matched
                ]
                for start in range(0, len(stale), STALE_BATCH):
                    batch = stale[start : start + STALE_BATCH]
                    await conn.execute(update(feeds_t).where(feeds_t.c.id.in_(batch)).values(enabled=False))
                disabled = len(stale)
        if added >= ANALYZE_AFTER_ADDING:
            # Fresh statistics, so that the due query keeps using its index right after a large import
            # (PostgreSQL would otherwise scan the table until autovacuum gets to it).
            async with self.engine.begin() as conn:
                await conn.execute(text("ANALYZE feeds"))
        return SyncReport(added=added, updated=updated, disabled=disabled)

    async def list_feeds(self, *, include_disabled: bool = False) -> list[Feed]:
        q = select(feeds_t).order_by(feeds_t.c.id)
        if not include_disabled:
            q = q.where(feeds_t.c.enabled.is_(True))
        async with self.engine.connect() as conn:
            return [to_feed(r) for r in (await conn.execute(q)).mappings()]

    async def lease_due_feeds(
        self,
        now: datetime,
        limit: int,
        *,
        lease_s: float,
        all: bool = False,
        polled_before: datetime | None = None,
    ) -> list[Feed]:
        # A time further ahead than any this worker could have written (a lease: lease_s; a next poll: the
        # feed's interval or the 24 h cap of backoffs and server hints, plus lease_s of clock slack) was
        # written by a clock that was ahead and has since been set back: it counts as now, not as then.
        far = now + timedelta(seconds=MAX_DELAY_S + lease_s)
        cond = and_(feeds_t.c.enabled.is_(True), lease_free(feeds_t.c.leased_until, now, lease_s))
        if not all:
            beyond_interval = (
                self._seconds_after(feeds_t.c.next_poll_at, now) > feeds_t.c.interval_s + lease_s
            )
            cond = and_(
                cond,
                or_(feeds_t.c.next_poll_at <= now, and_(feeds_t.c.next_poll_at > far, beyond_interval)),
            )
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
        feeds = [to_feed(r) for r in await self._lease(feeds_t, pick, now + timedelta(seconds=lease_s))]
        ahead = [f.id for f in feeds if f.next_poll_at is not None and f.next_poll_at > far]
        if ahead and not all:
            logger.warning(
                "%d feeds were scheduled further ahead than their interval allows (a clock set back?): "
                "polling them now",
                len(ahead),
                extra={"feed_ids": ahead[:20]},
            )
        return feeds

    def _seconds_after(self, column: Any, now: datetime) -> Any:
        """SQL: seconds from ``now`` to the timestamp ``column`` (negative before it)."""
        at = bindparam("now_ts", now, type_=feeds_t.c.next_poll_at.type)
        if self.dialect == "sqlite":
            return (func.julianday(column) - func.julianday(at)) * 86400.0
        return func.extract("epoch", column - at)

    async def release_feeds(self, feed_ids: Sequence[int], leased_until: datetime) -> int:
        if not feed_ids:
            return 0
        async with self.engine.begin() as conn:
            released = await conn.execute(
                update(feeds_t)
                .where(feeds_t.c.id.in_(feed_ids), feeds_t.c.leased_until == leased_until)
                .values(leased_until=None)
            )
        return int(released.rowcount)

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
        new_ids = await add_articles(conn, [(p.feed_id, p.outcome.polled_at, p.articles) for p in polls])
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
            values["config_url"] = func.coalesce(feeds_t.c.config_url, feeds_t.c.url)
        else:
            logger.warning("feed %s redirects permanently to a feed already stored", feed_id)
        if failed:
            values["error_count"] = feeds_t.c.error_count + 1
        await conn.execute(update(feeds_t).where(feeds_t.c.id == feed_id).values(**values))


# Feeds disabled per statement: PostgreSQL's driver takes at most 32,767 parameters in one.
STALE_BATCH = 10_000


class _Stored:
    """The stored feeds by URL (and by the URL a redirect moved each from), and by same-feed key when asked."""

    def __init__(self, rows: Sequence[RowMapping]) -> None:
        self._rows = rows  # by id
        self.exact: dict[str, RowMapping] = {r["url"]: r for r in rows}
        for r in rows:
            if r["config_url"]:
                self.exact.setdefault(r["config_url"], r)
        self._keyed: dict[str, RowMapping] | None = None

    def same(self, url: str) -> RowMapping | None:
        """The stored feed with ``url``'s same-feed key; of two, the older (keys are worked out only when a spec
        has no exact match, so a sync of unchanged specs reads no key)."""
        if self._keyed is None:
            self._keyed = {}
            for r in self._rows:
                self._keyed.setdefault(stored_feed_key(r["url"]), r)
                if r["config_url"]:
                    self._keyed.setdefault(stored_feed_key(r["config_url"]), r)
        return self._keyed.get(stored_feed_key(url))


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
    }
    if not outcome.unchanged:  # the same body would give the same warnings
        values["last_warning"] = _storable(outcome.warning[:2000]) if outcome.warning else None
    if outcome.error is None:
        values.update(error_count=0, last_error=None)
        if outcome.status != 304:
            values.update(
                etag=outcome.etag, last_modified=outcome.last_modified, body_digest=outcome.body_digest
            )
        if outcome.full_fetch:
            values["last_full_fetch_at"] = outcome.polled_at
    else:
        values["last_error"] = _storable(outcome.error[:2000])
    return values


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """Free text as every backend stores it: PostgreSQL refuses NUL, and no driver encodes a lone surrogate.

    Warnings and errors may quote what a feed or a driver said; one that cannot be written would fail the poll.
    """
    return _UNSTORABLE.sub("\ufffd", text)


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

    def __init__(self, store: FeedQueries, loop: asyncio.AbstractEventLoop) -> None:
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
