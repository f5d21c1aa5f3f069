"""The Store contract: every read and write the service does, as records in and records out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from watcher.domain import (
    Article,
    ArticleIn,
    Claim,
    ClaimStatus,
    Delivery,
    DeliveryStatus,
    DeliveryUpdate,
    Destination,
    Event,
    EventDraft,
    Feed,
    FeedSpec,
    Framing,
    Match,
    MatchScore,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PollOutcome:
    """What one fetch of a feed changes on its row (see ``Store.record_poll``)."""

    polled_at: datetime
    next_poll_at: datetime
    status: int | None
    error: str | None  # None on success; resets error_count
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None  # after a permanent redirect
    full_fetch: bool = False  # this was an unconditional GET
    warning: str | None = None  # parsed with problems (kept until the next clean poll)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    disabled: int = 0


class Store(Protocol):
    """Persistence for watcher. Every method is one transaction; records in, records out (no ORM rows).

    Leasing methods (``lease_*``) hand each row to one caller until ``lease_s`` passes or the row is
    written back, so several workers on PostgreSQL share work without doing any item twice
    (``FOR UPDATE SKIP LOCKED``); on SQLite a single writer makes this trivially true.
    """

    async def upgrade(self) -> None:
        """Create or migrate the schema to the latest revision."""

    async def close(self) -> None: ...

    # feeds
    async def sync_feeds(self, specs: Sequence[FeedSpec], *, source: str, now: datetime) -> SyncReport:
        """Insert or update feeds by URL; with source="config", config feeds no longer listed are disabled."""

    async def list_feeds(self, *, include_disabled: bool = False) -> list[Feed]: ...

    async def lease_due_feeds(
        self,
        now: datetime,
        limit: int,
        *,
        lease_s: float,
        all: bool = False,
        polled_before: datetime | None = None,
    ) -> list[Feed]:
        """Feeds due by ``next_poll_at`` (or every enabled feed with ``all``; with ``polled_before``, only
        those not polled since then), leased to the caller."""

    async def record_poll(
        self, feed_id: int, outcome: PollOutcome, articles: Sequence[ArticleIn]
    ) -> list[int]:
        """Store a poll: new articles (deduplicated on (feed, key), linked to their story) and the feed's
        new state, in one transaction; release the lease. Returns the ids of the articles inserted."""

    # articles and matching
    async def lease_unprocessed_articles(
        self, now: datetime, limit: int, *, lease_s: float
    ) -> list[Article]: ...

    async def articles_since(
        self, since: datetime | None, *, after_id: int = 0, limit: int = 500
    ) -> list[Article]:
        """Stored articles first seen at or after ``since``, by id, for backfills."""

    async def recent_articles(self, limit: int) -> list[Article]:
        """The most recently stored articles, newest first."""

    async def save_matches(
        self, article_ids: Sequence[int], results: Sequence[tuple[MatchScore, Framing]], now: datetime
    ) -> int:
        """Insert matches (unique per claim and article) and mark the articles processed. Returns inserts."""

    async def list_matches(self, *, claim_id: int | None = None, limit: int = 100) -> list[Match]: ...

    async def matches_for_claim(self, claim_id: int) -> list[Match]: ...

    # claims
    async def sync_claims(self, specs: Sequence[object], *, now: datetime) -> SyncReport: ...
    async def add_claim(self, claim: Claim, *, now: datetime, source: str = "cli") -> Claim: ...
    async def get_claim(self, ref: str | int) -> Claim:
        """A claim by id or name; raises NotFoundError."""

    async def list_claims(self, *, status: ClaimStatus | None = None) -> list[Claim]: ...
    async def update_claim(self, claim: Claim, *, now: datetime) -> Claim: ...
    async def remove_claim(self, claim_id: int, *, now: datetime) -> None: ...

    # shift detection and the outbox
    async def lease_claims_to_detect(self, now: datetime, *, lease_s: float) -> list[Claim]: ...
    async def events_for_claim(self, claim_id: int) -> list[Event]: ...
    async def record_events(
        self, claim_id: int, drafts: Sequence[EventDraft], destinations: Sequence[Destination], now: datetime
    ) -> list[Event]:
        """Insert events (unique per claim and dedupe key), one delivery per (event, destination that wants
        it), and mark the claim's matches detected, in one transaction. Returns the events inserted."""

    async def list_events(self, *, claim_id: int | None = None, limit: int = 100) -> list[Event]: ...
    async def get_event(self, event_id: str) -> Event: ...
    async def sync_destinations(self, destinations: Sequence[Destination]) -> None: ...
    async def lease_due_deliveries(
        self, now: datetime, limit: int, *, lease_s: float, exclude: Sequence[str] = ()
    ) -> list[Delivery]: ...
    async def pending_deliveries(self, destinations: Sequence[str], now: datetime) -> list[Delivery]: ...
    async def lease_digest(
        self, ids: Sequence[int], digest_id: str, now: datetime, *, lease_s: float
    ) -> bool:
        """Lease all deliveries of one digest message (or none, if another worker holds any)."""

    async def claim_delivery(self, delivery: Delivery, now: datetime, *, lease_s: float) -> datetime | None:
        """Renew the caller's lease just before a send; None if it is no longer the caller's to send."""

    async def update_delivery(
        self, delivery_id: int, update: DeliveryUpdate, *, lease: datetime | None = None
    ) -> bool:
        """Record an attempt on a delivery that is still pending (and still under ``lease``)."""

    async def disable_destination(self, name: str, reason: str, now: datetime) -> int:
        """Mark a destination disabled and cancel its pending deliveries. Returns how many were cancelled."""

    async def list_deliveries(
        self, *, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[Delivery]: ...
    async def retry_delivery(self, delivery_id: int, now: datetime) -> Delivery: ...

    # health and metrics
    async def set_state(self, key: str, value: str, now: datetime) -> None: ...
    async def get_state(self, key: str) -> str | None: ...
    async def counts(self) -> dict[str, int]: ...
