"""The Store contract: every read and write the service does, as records in and records out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from watcher.domain import (
    Article,
    ArticleIn,
    Claim,
    ClaimSpec,
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
    MatchRevision,
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
    body_digest: str | None = None  # the 200 body's digest; stored on success, kept on 304 and on error
    unchanged: bool = False  # a 200 with the body of the last parse, not parsed again: keeps last_warning


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What a ``sync_*`` call changed: rows added, updated, and (feeds only) disabled."""

    added: int = 0
    updated: int = 0
    disabled: int = 0


class Store(Protocol):
    """Everything watcher reads and writes, as records in and records out (never ORM rows).

    Each method writes in one transaction, so a call that fails changes nothing. Times are
    timezone-aware UTC; a naive datetime is refused. Lookups of one record raise ``NotFoundError``
    when there is none.

    Leases. The ``lease_*`` methods hand each row to one caller until ``lease_s`` seconds pass or the
    caller writes the row back (``record_poll``, ``save_matches``, ``record_events``,
    ``update_delivery``), so several workers on one PostgreSQL database share the work without doing
    any item twice (``FOR UPDATE SKIP LOCKED``); on SQLite the single writer makes this trivially true.
    A lease that runs out makes the row available again: a worker that crashed loses nothing. Lease and
    due times are compared with the caller's ``now``: workers sharing a database must agree on the time
    (the daemon corrects its clock by :meth:`database_now`).

    Idempotency. Feeds are unique by URL, articles by (feed, key), matches by (claim, article), events
    by (claim, dedupe key) and deliveries by (event, destination): writing the same thing twice stores
    it once, so a stage that is repeated after a crash repeats nothing a receiver can see.
    """

    async def close(self) -> None:
        """Release the database connections; the store is not used afterwards."""

    async def ping(self) -> None:
        """One round trip to the database; raises if it cannot be reached."""

    async def schema_revision(self) -> str | None:
        """The migration revision the database is at; None before the schema was first created."""

    async def database_now(self) -> datetime | None:
        """The database server's clock (PostgreSQL); None where the database is a file on this host (SQLite)."""

    # feeds

    async def sync_feeds(self, specs: Sequence[FeedSpec], *, source: str, now: datetime) -> SyncReport:
        """Insert or update feeds by URL (idempotent).

        New feeds are enabled and due at ``now``; a known feed whose metadata changed, or that was
        disabled, is updated and enabled. With ``source="config"``, the listed feeds become config feeds
        (whatever added them first), and feeds that came from the config and are no longer in ``specs``
        are disabled (never deleted: their articles stay); feeds added otherwise ("cli", "opml") are
        never disabled by a sync.
        """

    async def list_feeds(self, *, include_disabled: bool = False) -> list[Feed]:
        """The enabled feeds (or all of them), by id."""

    async def lease_due_feeds(
        self,
        now: datetime,
        limit: int,
        *,
        lease_s: float,
        all: bool = False,
        polled_before: datetime | None = None,
    ) -> list[Feed]:
        """Lease up to ``limit`` enabled, unleased feeds that are due (``next_poll_at <= now``), most
        overdue first; returned by id.

        :param all: every enabled feed, due or not.
        :param polled_before: only feeds never polled or last polled before this time.
        """

    async def release_feeds(self, feed_ids: Sequence[int], leased_until: datetime) -> int:
        """Hand back leases not used: the feeds among ``feed_ids`` still leased until ``leased_until`` (the
        lease ``lease_due_feeds(now, ..., lease_s)`` took, ``now + lease_s``) become free to lease at once.
        A lease that ran out and was taken by another worker since is left alone. Returns how many."""

    async def record_poll(
        self, feed_id: int, outcome: PollOutcome, articles: Sequence[ArticleIn]
    ) -> list[int]:
        """Store one poll of a feed: its new articles and the feed's new state; releases its lease.

        Articles already stored for the feed (same key) are skipped; each new one is linked to its
        story (the first article with the same canonical URL or content). A stored article whose title or
        text changed (its content hash; dates alone do not count) is revised instead: its versions are
        kept (``Article.versions``), it takes the new title and text and the next version number, and it
        is pending again for the match stage, without counting as new (a stale copy, older by its feed
        date or bringing back an earlier version without a newer date, changes nothing). On success the error count
        resets and the validators are kept; on failure the error count grows. A permanent redirect
        moves the feed to ``new_url`` unless another feed has that URL. Concurrent calls in one
        process may share a transaction (group commit), with the same result as one after another; a
        poll that fails to write fails alone. Returns the ids of the articles inserted, in order.
        """

    # articles

    async def lease_unprocessed_articles(self, now: datetime, limit: int, *, lease_s: float) -> list[Article]:
        """Lease up to ``limit`` articles not yet matched (``save_matches`` marks them), by id."""

    async def record_page(
        self, article_id: int, *, text: str | None, error: str | None, now: datetime
    ) -> None:
        """Record the outcome of fetching an article's page: its main text (None when it added nothing to the
        feed's) or the error; from then on the article's ``text`` is that page text, and its page is not
        fetched again."""

    async def articles_since(
        self, since: datetime | None, *, after_id: int = 0, limit: int = 500
    ) -> list[Article]:
        """Up to ``limit`` articles first seen at or after ``since`` (any time with None) whose id is
        above ``after_id``, by id: page through them by passing the last id back."""

    async def recent_articles(self, limit: int) -> list[Article]:
        """The ``limit`` most recently stored articles, newest first."""

    async def count_articles_since(self, since: datetime | None) -> int:
        """How many articles were first seen at or after ``since`` (all of them with None)."""

    # matches

    async def save_matches(
        self,
        article_ids: Sequence[int],
        results: Sequence[tuple[MatchScore, Framing]],
        now: datetime,
        *,
        revisions: Sequence[MatchRevision] = (),
        versions: Mapping[int, int] | None = None,
    ) -> int:
        """Store matches with their framing, and mark ``article_ids`` processed (releasing their lease).

        A match already stored for the same claim and article is skipped. ``revisions`` (of revised
        articles) update their matches to the new version's score and framing, or mark them no longer
        matching, keep those with ``changes`` for :meth:`revisions_for_claim` and make the matches due for
        shift detection again. ``versions`` (article id → the version matched): an article revised since
        is released but stays pending. Returns how many matches were inserted.
        """

    async def list_matches(self, *, claim_id: int | None = None, limit: int = 100) -> list[Match]:
        """The ``limit`` newest matches, of one claim or of all."""

    async def matches_for_claim(self, claim_id: int) -> list[Match]:
        """Every match of a claim (removed claims included), oldest first."""

    async def match_summaries_for_claim(self, claim_id: int) -> list[Match]:
        """Every match of a claim (removed claims included), oldest first, as :meth:`matches_for_claim` returns
        them less what only a match shown in full needs: the match's ``cues`` and its article's ``text``,
        ``url``, ``canonical_url`` and ``content_hash`` are empty, ``page_fetched_at`` None and ``versions`` ()
        (scores, framing, evidence, times, title, story and outlet metadata are as stored). For figures over all
        of a claim's matches; :meth:`matches_by_id` reads the few shown."""

    async def matches_by_id(self, ids: Sequence[int]) -> list[Match]:
        """The matches with these ids, by id; unknown ids are left out."""

    async def matches_for_articles(self, article_ids: Sequence[int]) -> list[Match]:
        """Every match of these articles (any claim), by id.

        Matches (here and in the other match reads) carry their revised articles' ``versions``.
        """

    async def revisions_for_claim(self, claim_id: int) -> list[MatchRevision]:
        """The revisions of the claim's matched articles that changed something, in the order stored."""

    # claims

    async def sync_claims(self, specs: Sequence[ClaimSpec], *, now: datetime) -> SyncReport:
        """Claims from feeds.yaml, by name: added if new, updated if their text, keywords, threshold or
        status changed (idempotent), a change of status kept as :meth:`update_claim` keeps it. Never removes a
        claim; a removed claim is not brought back."""

    async def add_claim(self, claim: Claim, *, now: datetime, source: str = "cli") -> Claim:
        """Insert a claim (``claim.id`` and ``claim.pauses`` are ignored; one added paused is paused from
        ``now``); returns it as stored.

        Raises StorageError when a claim of that name exists.
        """

    async def get_claim(self, ref: str | int, *, include_deleted: bool = False) -> Claim:
        """A claim by id (an int or a string of digits) or by name; removed claims only with
        ``include_deleted``. Raises NotFoundError."""

    async def list_claims(self, *, status: ClaimStatus | None = None) -> list[Claim]:
        """Claims not removed, by id, optionally only those of one status.

        Every claim read (here, :meth:`get_claim`, :meth:`lease_claims_to_detect`) carries its ``pauses``.
        """

    async def update_claim(self, claim: Claim, *, now: datetime) -> Claim:
        """Write the name, text, keywords, threshold and status of claim ``claim.id``; returns it as stored.

        A change of status is kept in ``Claim.pauses`` (``claim.pauses`` itself is not written): pausing opens
        a pause at ``now``, resuming closes the open one at ``now``.

        Raises StorageError when another claim has the name, NotFoundError when the claim is gone.
        """

    async def claim_observed(self, claim_id: int, since: datetime | None, until: datetime) -> None:
        """The articles first seen from ``since`` (None: ever) to ``until`` have been matched against the claim
        (``claims backfill``): its pauses (``Claim.pauses``) no longer cover that span, which is now observed.
        A pause still open goes on from ``until``."""

    async def remove_claim(self, claim_id: int, *, now: datetime) -> None:
        """Soft delete: the claim is paused and renamed ``name~id`` (freeing its name), and leaves
        listings, matching and detection; its matches and events stay for reports."""

    async def lease_claims_to_detect(self, now: datetime, *, lease_s: float) -> list[Claim]:
        """Lease every claim (not removed) that has matches not yet through shift detection, or whose
        ``detect_again_at`` (see ``record_events``) has come, by id.

        ``record_events`` releases the lease.
        """

    # events and destinations

    async def events_for_claim(self, claim_id: int) -> list[Event]:
        """Every event of a claim, oldest first."""

    async def event_summaries_for_claim(self, claim_id: int) -> list[Event]:
        """Every event of a claim, oldest first, as :meth:`events_for_claim` returns them with only their id,
        type, ``created_at`` and ``backfill``: ``details`` holds the stored ``trigger_at`` alone (when there is
        one), and the summary, dedupe key and match ids are empty. :meth:`events_by_id` reads the few shown."""

    async def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        """The events with these ids, by id; unknown ids are left out."""

    async def record_events(
        self,
        claim_id: int,
        drafts: Sequence[EventDraft],
        destinations: Sequence[Destination],
        now: datetime,
        *,
        detect_again_at: datetime | None = None,
    ) -> list[Event]:
        """Store the events detection raised for a claim, each with one delivery (due at ``now``) per
        destination that wants its type and is not disabled; mark the claim's matches detected, release
        its lease and set when detection must run again though no match is new (``detect_again_at``: held
        article revisions fall due; None: not before new coverage); all in one transaction.

        A draft whose dedupe key the claim already has is skipped: a re-run never raises an event
        twice. A ``backfill`` draft is stored without deliveries. Returns the events inserted.
        :meth:`lease_claims_to_detect` leases claims with undetected matches or whose time has come.
        """

    async def list_events(self, *, claim_id: int | None = None, limit: int = 100) -> list[Event]:
        """The ``limit`` newest events, of one claim or of all."""

    async def get_event(self, event_id: str) -> Event:
        """An event by id; raises NotFoundError."""

    async def sync_destinations(self, destinations: Sequence[Destination]) -> None:
        """Register destinations not known yet (by name), and enable again any that an earlier version disabled
        only for being missing from the configuration; warn about every configured destination still disabled
        (an HTTP 410): nothing is queued for it until ``alerts retry`` enables it."""

    async def disable_destination(self, name: str, reason: str, now: datetime) -> int:
        """Mark a destination disabled (no new deliveries go to it) and cancel its pending deliveries
        with ``reason`` as their error. Returns how many were cancelled."""

    async def enable_destination(self, name: str) -> None:
        """Clear a destination's disabled mark; its cancelled deliveries stay cancelled."""

    # deliveries (the outbox)

    async def lease_due_deliveries(
        self, now: datetime, limit: int, *, lease_s: float, exclude: Sequence[str] = ()
    ) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries due by ``now``, most overdue first, except those to
        the ``exclude`` destinations; returned by id."""

    async def pending_deliveries(self, destinations: Sequence[str], now: datetime) -> list[Delivery]:
        """Pending, unleased deliveries to ``destinations``, due or not, by id (for planning digests)."""

    async def lease_digest(
        self, ids: Sequence[int], digest_id: str, now: datetime, *, lease_s: float
    ) -> bool:
        """Lease all of these deliveries and pin them to one digest message (``extra["digest_id"]``), or
        none: False when any of them is no longer pending or another worker holds it."""

    async def claim_delivery(self, delivery: Delivery, now: datetime, *, lease_s: float) -> datetime | None:
        """Renew the caller's lease just before a send; returns the new lease end.

        None when the delivery is no longer the caller's (its lease ran out and another worker took it)
        or no longer pending (e.g. its destination was disabled): the caller must not send it then.
        """

    async def update_delivery(
        self, delivery_id: int, outcome: DeliveryUpdate, *, lease: datetime | None = None
    ) -> bool:
        """Write the outcome of an attempt and release the lease, if the delivery is still pending (and
        still held under ``lease``, when given). Returns False, changing nothing, otherwise."""

    async def list_deliveries(
        self, *, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[Delivery]:
        """The ``limit`` newest deliveries, optionally only those of one status."""

    async def get_delivery(self, delivery_id: int) -> Delivery:
        """A delivery by id; raises NotFoundError."""

    async def retry_delivery(self, delivery_id: int, now: datetime) -> Delivery:
        """Make a dead, cancelled or pending delivery due at ``now`` with a fresh retry schedule
        (delivered ones stay as they are); returns it as stored. Raises NotFoundError."""

    # health and metrics

    async def set_state(self, key: str, value: str, now: datetime) -> None:
        """Store a value under ``key`` (insert or replace)."""

    async def get_state(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""

    async def counts(self) -> dict[str, int]:
        """Row counts for health and metrics: ``feeds``, ``articles``, ``claims``, ``matches``,
        ``events``, ``feeds_failing`` (error count above 0), ``articles_pending`` (not yet matched) and
        ``deliveries_<status>`` for each delivery status present."""
