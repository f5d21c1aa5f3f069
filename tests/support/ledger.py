"""A ledger of what is stored, for the hostile-input and fault tests and the soak benchmark.

The ledger reads the tables directly, so that "exactly once" is checked on what the database holds
rather than on what the store API chooses to return: every article, match, event and delivery, with
the natural keys a duplicate would share (feed and content, claim and article, claim and dedupe key,
event and destination).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from storage.sql import SqlStore
from storage.tables import articles_t, claims_t, deliveries_t, events_t, feeds_t, matches_t


@dataclass(frozen=True, slots=True)
class StoredArticle:
    feed_url: str
    key: str
    guid: str | None
    title: str
    text: str
    content_hash: str
    published_at: datetime | None
    processed: bool
    published_at_basis: str = "published"  # | clamped | first_seen (no usable date in the feed)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    claim: str
    feed_url: str
    key: str
    guid: str | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    claim: str
    type: str
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    event_id: str
    destination: str
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Ledger:
    """Everything stored, as plain tuples a test can count."""

    articles: list[StoredArticle]
    matches: list[StoredMatch]
    events: list[StoredEvent]
    deliveries: list[StoredDelivery]
    undetected: int  # matches that shift detection has not looked at yet
    feed_errors: list[tuple[str, int]]  # (last error, feeds) of the feeds failing now

    def articles_of(self, feed_url: str) -> list[StoredArticle]:
        return [a for a in self.articles if a.feed_url == feed_url]

    def duplicates(self) -> list[str]:
        """Every natural key held more than once; empty when nothing is duplicated."""
        found: list[str] = []
        found += _repeated("article (feed, key)", ((a.feed_url, a.key) for a in self.articles))
        found += _repeated("article (feed, content)", ((a.feed_url, a.content_hash) for a in self.articles))
        found += _repeated("match (claim, article)", ((m.claim, m.feed_url, m.key) for m in self.matches))
        found += _repeated("event (claim, dedupe key)", ((e.claim, e.dedupe_key) for e in self.events))
        found += _repeated(
            "delivery (event, destination)", ((d.event_id, d.destination) for d in self.deliveries)
        )
        return found

    def orphans(self) -> list[str]:
        """Rows whose parent is missing, and events without one delivery per destination."""
        event_ids = {e.id for e in self.events}
        out = [
            f"delivery for missing event {d.event_id}" for d in self.deliveries if d.event_id not in event_ids
        ]
        keys = {(a.feed_url, a.key) for a in self.articles}
        out += [f"match on missing article {m}" for m in self.matches if (m.feed_url, m.key) not in keys]
        return out


def _repeated(what: str, keys: Iterable[tuple[Any, ...]]) -> list[str]:
    return [f"{what} {key} stored {n} times" for key, n in Counter(keys).items() if n > 1]


async def read_ledger(store: SqlStore) -> Ledger:
    """Snapshot every article, match, event and delivery in ``store``."""
    async with store.engine.connect() as conn:
        article_rows = await conn.execute(
            select(
                feeds_t.c.url,
                articles_t.c.key,
                articles_t.c.guid,
                articles_t.c.title,
                articles_t.c.text,
                articles_t.c.content_hash,
                articles_t.c.published_at,
                articles_t.c.processed_at,
                articles_t.c.published_at_basis,
            )
            .select_from(articles_t)
            .join(feeds_t, feeds_t.c.id == articles_t.c.feed_id)
        )
        articles = [
            StoredArticle(*row[:7], processed=row[7] is not None, published_at_basis=row[8])
            for row in article_rows
        ]
        match_rows = await conn.execute(
            select(claims_t.c.name, feeds_t.c.url, articles_t.c.key, articles_t.c.guid)
            .select_from(matches_t)
            .join(claims_t, claims_t.c.id == matches_t.c.claim_id)
            .join(articles_t, articles_t.c.id == matches_t.c.article_id)
            .join(feeds_t, feeds_t.c.id == articles_t.c.feed_id)
        )
        matches = [StoredMatch(*row) for row in match_rows]
        event_rows = await conn.execute(
            select(events_t.c.id, claims_t.c.name, events_t.c.type, events_t.c.dedupe_key)
            .select_from(events_t)
            .join(claims_t, claims_t.c.id == events_t.c.claim_id)
        )
        events = [StoredEvent(*row) for row in event_rows]
        delivery_rows = await conn.execute(
            select(
                deliveries_t.c.event_id,
                deliveries_t.c.destination,
                deliveries_t.c.status,
                deliveries_t.c.attempts,
                deliveries_t.c.last_error,
            )
        )
        deliveries = [StoredDelivery(*row) for row in delivery_rows]
        undetected = await conn.scalar(
            select(func.count()).select_from(matches_t).where(matches_t.c.detected_at.is_(None))
        )
        error_rows = await conn.execute(
            select(feeds_t.c.last_error, func.count())
            .where(feeds_t.c.error_count > 0)
            .group_by(feeds_t.c.last_error)
        )
        feed_errors = [(str(error), int(n)) for error, n in error_rows]
    return Ledger(articles, matches, events, deliveries, int(undetected or 0), feed_errors)
