"""What the database holds, read from its tables, so that "exactly once" is checked on the rows themselves.

The store API returns what it chooses to; a duplicate or a lost row shows only in the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from storage.sql import SqlStore
from storage.tables import ArticleRow, ClaimRow, DeliveryRow, EventRow, FeedRow, MatchRow


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds at the end of a run."""

    articles: list[tuple[str, str, str]]  # (feed URL, guid, content hash)
    matches: list[tuple[str, str]]  # (claim, guid)
    events: list[tuple[str, str, str, str]]  # (id, claim, type, dedupe key)
    deliveries: list[tuple[str, str, str, int]]  # (event id, destination, status, attempts)
    pending_articles: int
    undetected: int
    feed_errors: list[tuple[str, int]]  # (last error, feeds) for feeds failing at the end


async def read_stored(store: SqlStore) -> Stored:
    """Every article, match, event and delivery in ``store``, with the keys a duplicate would share."""
    a, f, c, m, e, d = (t.__table__ for t in (ArticleRow, FeedRow, ClaimRow, MatchRow, EventRow, DeliveryRow))
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(f.c.url, a.c.guid, a.c.content_hash, a.c.processed_at).join(f))
        articles, pending = [], 0
        for url, guid, chash, processed in rows:
            articles.append((url, guid, chash))
            pending += processed is None
        matches = [
            (claim, guid)
            for claim, guid in await conn.execute(
                select(c.c.name, a.c.guid)
                .select_from(m)
                .join(c, c.c.id == m.c.claim_id)
                .join(a, a.c.id == m.c.article_id)
            )
        ]
        events = [
            tuple(r)
            for r in await conn.execute(
                select(e.c.id, c.c.name, e.c.type, e.c.dedupe_key)
                .select_from(e)
                .join(c, c.c.id == e.c.claim_id)
            )
        ]
        deliveries = [
            tuple(r)
            for r in await conn.execute(select(d.c.event_id, d.c.destination, d.c.status, d.c.attempts))
        ]
        undetected = (
            await conn.execute(select(func.count()).select_from(m).where(m.c.detected_at.is_(None)))
        ).scalar_one()
        errors = await conn.execute(
            select(f.c.last_error, func.count()).where(f.c.error_count > 0).group_by(f.c.last_error)
        )
        feed_errors = [(str(err), int(n)) for err, n in errors]
    return Stored(articles, matches, events, deliveries, pending, int(undetected), feed_errors)
