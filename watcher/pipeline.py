"""One cycle of the service: poll due feeds → store → match → frame → detect shifts → deliver alerts.

Each stage finds its work in the database (feeds due, articles unprocessed, matches undetected,
deliveries due), so a crash anywhere loses nothing and a restart repeats nothing a receiver can see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from storage.base import PollOutcome, Store, SyncReport
from watcher import metrics
from watcher.config import Settings
from watcher.domain import (
    Article,
    ArticleIn,
    Claim,
    ClaimStatus,
    Destination,
    Event,
    Feed,
    FeedSpec,
    Framing,
    MatchRevision,
    MatchScore,
    unsaved_feed,
    utcnow,
)
from watcher.errors import NotFoundError, WatcherError
from watcher.framing import explain, shown_evidence
from watcher.ingest.discover import discover_feeds
from watcher.ingest.fetch import FetchResult, body_digest, fetch_feed, next_poll_at
from watcher.ingest.http import HttpSettings, make_session
from watcher.ingest.pages import PageFetcher, wants_full_text
from watcher.ingest.parse import ParseResult
from watcher.ingest.pool import ParsePool
from watcher.ingest.urls import outlet_of, redact_url, stored_feed_key
from watcher.match import Embedder, Matcher, MatchSettings, load_embedder
from watcher.outbox import Outbox
from watcher.outbox.sender import Sender
from watcher.revisions import revise, revision_plan
from watcher.shifts import detect_shifts
from watcher.text.language import article_language, detect_language, load_detector

logger = logging.getLogger(__name__)

WARM_UP_ARTICLES = 2000  # recent articles a new matcher learns term statistics from
ALL_PASS_KEY = "poll_all_pass"  # state: "BEGUN RENEWED" of the --all pass in progress, "" when none


Clock = Callable[[], datetime]

# An offset from the database server's clock above this is logged (it is corrected whatever its size).
CLOCK_WARN_S = 2.0
CLOCK_MAX_ROUND_TRIP_S = 2.0  # a slower measurement is too imprecise to use: the last offset is kept


class DatabaseClock:
    """This host's clock corrected by its offset from the database server's.

    Leases and schedules are written and compared with each worker's own clock: workers sharing a
    PostgreSQL database must agree on the time, so the daemon (``Daemon.sync_clock``, every minute) and each
    command that runs the pipeline (``poll-once`` from cron on several hosts, ``sync``, ``claims backfill``) read
    the database's.
    """

    def __init__(self, local: Clock = utcnow) -> None:
        self.local = local
        self.offset = timedelta(0)  # database time - local time

    def __call__(self) -> datetime:
        return self.local() + self.offset

    async def measure(self, store: Store) -> tuple[datetime, datetime] | None:
        """Read the database server's clock and set :attr:`offset` from it; returns this host's reading (the
        midpoint of the round trip) and the database's. None, the offset kept: SQLite (a file on this host,
        whose time is ours), or a round trip too slow to be precise."""
        before = self.local()
        at = await store.database_now()
        after = self.local()
        if at is None:
            return None
        round_trip = (after - before).total_seconds()
        if round_trip > CLOCK_MAX_ROUND_TRIP_S:
            logger.debug("clock check skipped: the database answered in %.1fs", round_trip)
            return None
        local = before + (after - before) / 2
        self.offset = at - local
        return local, at


def clock_warning(local: datetime, database: datetime) -> str:
    """The line that says this host's clock (``local``) is off the database server's."""
    return (
        f"this host's clock is {(local - database).total_seconds():+.1f}s off the database server's (host "
        f"{local.isoformat(timespec='seconds')}, database {database.isoformat(timespec='seconds')}): "
        "leases and schedules use the database's time; fix the host's time sync (NTP)"
    )


_IN_THREAD = ParsePool(0)  # check_feed's parser unless given one


@dataclass(slots=True)
class CycleReport:
    """What one cycle did (``poll-once --json`` prints it); ``errors``: one "OUTLET (feed ID): ERROR" per failed feed;
    ``rounds_failed``: rounds of matching, detection and delivery that failed while feeds were still being polled
    (their work stays in the database, leased: it is taken up again when the leases end)."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    not_modified: int = 0
    new_articles: int = 0
    matches: int = 0
    events: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    rounds_failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedCheck:
    """One feed fetched and parsed, before anything is stored.

    ``error`` is the fetch error, or "not a feed: ..." when a body parsed to no entries, no title and only
    warnings; ``warning`` joins the parse warnings. ``parsed`` is None when there was no body to parse, and
    when the body was ``unchanged``: the same as the last one that parsed (``feed.body_digest``), not parsed
    again. ``digest`` is the body's (see ``body_digest``).
    """

    feed: Feed
    result: FetchResult
    parsed: ParseResult | None
    error: str | None
    warning: str | None
    found_from: str | None = None  # the HTML page whose feed this is (discovery)
    digest: str | None = None
    unchanged: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DryRun:
    """How the match and frame stages see one text against one claim (``claims test``)."""

    claim: Claim
    score: MatchScore
    framing: Framing
    threshold: float  # the one the claim is held to


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillProgress:
    """Where a backfill stands: articles scanned of ``total``, and new matches stored so far."""

    claim: Claim
    scanned: int
    total: int
    new_matches: int


async def check_feed(
    session: aiohttp.ClientSession,
    feed: Feed,
    http: HttpSettings,
    *,
    now: datetime,
    force_full: bool = False,
    parser: ParsePool | None = None,
) -> FeedCheck:
    """Fetch and parse one feed: the first half of refresh_feed, shared with ``feeds check``.

    A 200 whose body is the one last parsed is not parsed again, except on an unconditional (daily or
    forced) fetch, so that a new parser or configuration still sees it. ``parser``: where to parse (a
    worker process); None parses in a thread.
    """
    result = await fetch_feed(session, feed, http, now=now, force_full=force_full)
    if result.body is None or result.error is not None:
        return FeedCheck(feed=feed, result=result, parsed=None, error=result.error, warning=None)
    digest = body_digest(result)
    if digest == feed.body_digest and not result.unconditional:
        return FeedCheck(
            feed=feed, result=result, parsed=None, error=None, warning=None, digest=digest, unchanged=True
        )
    # The feed's configured language is only the fallback: items declare theirs, else it is detected.
    parsed = await (parser or _IN_THREAD).parse(
        result.body, result.final_url or feed.url, content_type=result.content_type, now=now
    )
    if any(not a.language for a in parsed.articles):  # most feeds declare theirs: no detection, no thread
        parsed = await asyncio.to_thread(_with_languages, parsed, feed.language)
    warning = "; ".join(parsed.warnings)[:1000] or None
    # A recognised feed without a title (title "") is a feed, even with nothing in it; None is a body that is none.
    error = (
        f"not a feed: {warning}" if not parsed.articles and parsed.warnings and parsed.title is None else None
    )
    return FeedCheck(feed=feed, result=result, parsed=parsed, error=error, warning=warning, digest=digest)


async def check_feeds(
    http: HttpSettings,
    feeds: Sequence[Feed],
    *,
    on_checked: Callable[[FeedCheck], None] | None = None,
    clock: Clock = utcnow,
) -> list[FeedCheck]:
    """Fetch and parse every feed now, unconditionally, in its own session; stores nothing."""
    sem = asyncio.Semaphore(http.limit)

    async def one(session: aiohttp.ClientSession, feed: Feed) -> FeedCheck:
        async with sem:
            checked = await check_feed(session, feed, http, now=clock(), force_full=True)
        if on_checked is not None:
            on_checked(checked)
        return checked

    async with make_session(http) as session:
        return list(await asyncio.gather(*(one(session, f) for f in feeds)))


async def find_feed(
    session: aiohttp.ClientSession, spec: FeedSpec, http: HttpSettings, *, now: datetime
) -> FeedCheck:
    """Check ``spec.url``; when it is a page rather than a feed, check the feed discovery finds for it.

    Discovery reads the page's ``<link rel="alternate">`` feeds (RSS, Atom, JSON Feed), best first, else
    tries the usual paths; the first candidate that checks clean is returned with ``found_from`` set
    to the page. A fetch failure of the URL itself, or a page without a working feed, is returned as
    the URL's own check with the error.
    """
    checked = await check_feed(session, unsaved_feed(spec), http, now=now, force_full=True)
    if checked.error is None or checked.parsed is None:  # a feed, or the URL could not be fetched
        return checked
    found = await discover_feeds(session, spec.url, http, now=now)
    for candidate in found.candidates:
        feed = unsaved_feed(replace(spec, url=candidate.url))
        c = await check_feed(session, feed, http, now=now, force_full=True)
        if c.error is None:
            return replace(c, found_from=spec.url)
    return replace(checked, error=f"{checked.error}; {found.error or 'none of its feed links is a feed'}")


async def find_feed_now(http: HttpSettings, spec: FeedSpec, *, clock: Clock = utcnow) -> FeedCheck:
    """:func:`find_feed` in its own session (``feeds check URL``, ``feeds add``)."""
    async with make_session(http) as session:
        return await find_feed(session, spec, http, now=clock())


async def add_feed(store: Store, http: HttpSettings, spec: FeedSpec, *, clock: Clock = utcnow) -> FeedCheck:
    """Find, check and store the feed of ``spec.url`` (a feed or a page that links one) as a CLI-added feed.

    Stored only when the check is clean, under the feed's own URL; an empty ``spec.outlet`` becomes the
    feed's title, else its host. CLI-added feeds are never disabled by a config sync.
    """
    checked = await find_feed_now(http, spec, clock=clock)
    if checked.error is None:
        title = checked.parsed.title if checked.parsed is not None else None
        outlet = spec.outlet or (title or "").strip()[:200] or outlet_of(checked.feed.url)
        await store.sync_feeds(
            [replace(spec, url=checked.feed.url, outlet=outlet)], source="cli", now=clock()
        )
    return checked


async def feeds_to_check(store: Store, specs: Sequence[FeedSpec]) -> list[Feed]:
    """The enabled feeds in the store, then those of ``specs`` not there (yet, in any spelling of their URL: see
    stored_feed_key): what ``feeds check`` checks."""
    stored = await store.list_feeds()
    known = {stored_feed_key(f.url) for f in stored}
    return stored + [unsaved_feed(spec) for spec in specs if stored_feed_key(spec.url) not in known]


class Pipeline:
    """The stages of watcher over one store and one HTTP session; delivery is its ``outbox``'s."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        session: aiohttp.ClientSession,
        sender: Sender,
        clock: Clock = utcnow,
        embedder: Embedder | None = None,
        load_model: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.session = session
        self.sender = sender
        self.clock = clock
        self.destinations = {d.name: d for d in settings.destinations}
        self._embedder = embedder
        self._load_model = load_model and embedder is None
        self._matcher: Matcher | None = None
        self._matcher_key: tuple[Any, ...] = ()
        self._claims: list[Claim] = []
        self.outbox = Outbox(
            store,
            sender,
            settings.destinations,
            clock,
            lease_s=settings.daemon.lease_s,
            public_url=settings.daemon.public_url,
        )
        self._fetch_sem = asyncio.Semaphore(settings.http.limit)
        self._pages: PageFetcher | None = None  # one per process, sharing the session; made on first use
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # Its processes start with the first parse.
        self.parser = ParsePool(settings.ingest.workers(), parser=settings.ingest.parser)
        # Article pages are extracted in a process of their own (a thread when feeds parse in one): a page that
        # hangs the extractor is given up without taking a parse worker, and only one process loads it.
        self.page_workers = ParsePool(min(settings.ingest.workers(), 1))

    @classmethod
    async def open(cls, settings: Settings, store: Store, **kwargs: Any) -> Pipeline:
        session = make_session(settings.http)
        sender = Sender()  # http.allow_private is for feeds and pages; each destination has its own switch
        return cls(settings, store, session=session, sender=sender, **kwargs)

    async def use_database_clock(self, local: Clock = utcnow) -> DatabaseClock | None:
        """On PostgreSQL, read the time as the database server's (see :class:`DatabaseClock`; ``local``: this
        host's clock) from now on, and warn when this host's clock is off it; the corrected clock, or None
        (SQLite, a clock a test injected, or a measurement too slow to use)."""
        if self.clock is not utcnow:
            return None
        clock = DatabaseClock(local)
        measured = await clock.measure(self.store)
        if measured is None:
            return None
        if abs(clock.offset.total_seconds()) > CLOCK_WARN_S:
            logger.warning(clock_warning(*measured))
        self.clock = self.outbox.clock = clock
        return clock

    async def close(self) -> None:
        await self.session.close()
        await self.sender.close()
        # Each waits up to its grace period for a call still running: together, not one after the other.
        await asyncio.gather(asyncio.to_thread(self.parser.close), asyncio.to_thread(self.page_workers.close))

    async def sync_config(self) -> tuple[SyncReport, SyncReport]:
        """Bring feeds, claims and destinations declared in feeds.yaml into the database.

        Returns what changed in the feeds and in the claims; rows already as the file says are not written.
        """
        now = self.clock()
        feeds = await self.store.sync_feeds(self.settings.feeds, source="config", now=now)
        claims = await self.store.sync_claims(self.settings.claims, now=now)
        await self.store.sync_destinations(self.settings.destinations)
        logger.info(
            "config synced: feeds +%d ~%d -%d, claims +%d ~%d, destinations %d",
            feeds.added,
            feeds.updated,
            feeds.disabled,
            claims.added,
            claims.updated,
            len(self.destinations),
        )
        return feeds, claims

    # -- the cycle --------------------------------------------------------------------------------

    async def cycle(self, *, all: bool = False, until: asyncio.Event | None = None) -> CycleReport:
        """Poll due feeds (every feed with ``all``), then match, detect and deliver what is due.

        The later stages do not wait for polling: each poll that stores new articles wakes a follower
        that matches, detects and delivers while the other feeds are still being fetched (it finds its
        work in the database, so nothing is held only in memory); a last round runs once polling is done.
        ``until``: see :meth:`poll`.
        """
        started = time.monotonic()
        report = CycleReport()
        stored, polled = asyncio.Event(), asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow(report, stored, polled), name="process")
                try:
                    await self.poll(report, all=all, on_stored=stored.set, until=until)
                finally:
                    polled.set()
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the follower's last round: its error is the cycle's
        report.elapsed_s = round(time.monotonic() - started, 3)
        metrics.CYCLE_SECONDS.observe(report.elapsed_s)
        metrics.LAST_CYCLE.set(time.time())
        await self.store.set_state("last_cycle_at", self.clock().isoformat(), self.clock())
        return report

    async def _follow(self, report: CycleReport, stored: asyncio.Event, polled: asyncio.Event) -> None:
        """Run :meth:`process` each time new articles are stored, and once more after polling ends."""
        while True:
            waits = [asyncio.ensure_future(e.wait()) for e in (stored, polled)]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            last = polled.is_set()
            stored.clear()
            if last:
                await self.process(report)  # the last round's errors are the cycle's
                return
            try:
                await self.process(report)
            except Exception:
                # A failed round leaves its work in the database: what it had not leased, the next round (at
                # the latest the one after polling) picks up; what it had leased, a round after the lease ends.
                # Polling carries on meanwhile; the cycle's report counts the failure (poll-once exits 1).
                report.rounds_failed += 1
                metrics.UNEXPECTED.labels("process").inc()
                logger.exception("matching new articles failed; retrying after the next poll")

    async def process(self, report: CycleReport) -> None:
        """The stages after polling; each is safe to run on its own at any time."""
        report.matches += await self.match_pending()
        report.events += len(await self.detect())
        delivered, failed = await self.outbox.deliver_due()
        report.delivered += delivered
        report.delivery_failures += failed

    # -- poll ---------------------------------------------------------------------------------

    async def poll(
        self,
        report: CycleReport,
        *,
        all: bool = False,
        on_stored: Callable[[], None] | None = None,
        until: asyncio.Event | None = None,
    ) -> None:
        """One pass over the due feeds (every enabled feed with ``all``, each once), streamed.

        ``http.concurrency`` fetchers pull leased feeds from a bounded queue that a leasing task keeps
        filled in small batches, so a slow or timing-out feed holds up only its own fetcher; the pass
        ends when nothing more is due and every fetcher is done. Each feed's result is stored on its
        own; ``on_stored`` is called after each poll that stored new articles. With ``until`` (the
        daemon's stop event; not with ``all``), feeds falling due while fetchers are still busy join
        the pass, until the event is set. Leases are not renewed: ``daemon.lease`` (default 300 s) must
        exceed ``http.total_timeout`` (default 20 s) plus the time a feed waits in the queue (about two
        fetches) and for a slot of its host (``http.per_host``) with margin.
        """
        workers = self.settings.http.limit
        batch = max(1, min(self.settings.daemon.feed_batch, workers))
        state = _PassState(asyncio.Queue(maxsize=batch), until=None if all else until)
        polled_before = await self._all_pass_start() if all else None
        failure: list[Exception] = []

        async def lease() -> None:
            try:
                await self._lease_due(state, batch, all=all, polled_before=polled_before)
            except Exception as exc:
                # The feeds in flight still finish and are stored; the error is the pass's.
                failure.append(exc)
            for _ in range(workers):
                await state.queue.put(None)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(lease(), name="lease-feeds")
                for i in range(workers):
                    group.create_task(self._fetch_queued(state, report, on_stored), name=f"fetch-{i}")
        finally:
            # A pass cut short (cancelled at shutdown, or a fetcher failing) hands back the feeds it leased
            # and did not finish (never started, or whose fetch was cancelled), so that another worker, or the
            # next pass, polls them now rather than when their leases run out.
            await asyncio.shield(self._release_unfinished(state))
        if failure:
            raise failure[0]

    async def _release_unfinished(self, state: _PassState) -> None:
        for until, ids in state.unfinished_by_lease().items():
            try:
                released = await self.store.release_feeds(ids, until)
            except Exception as exc:  # they come back when their leases run out
                logger.warning("could not hand back %d leased feeds: %s", len(ids), exc)
            else:
                logger.info("handed back %d leased feeds not polled in this pass", released)

    async def _refresh_leased(self, state: _PassState, feed: Feed) -> tuple[str | None, bool, int]:
        """Refresh one leased feed; its lease is handed back at the pass's end only if this did not return."""
        result = await self._guarded_refresh(feed)
        # Its poll is stored (or its failure recorded; a feed whose write failed keeps its lease).
        state.finished(feed)
        return result

    async def _lease_due(
        self, state: _PassState, batch: int, *, all: bool, polled_before: datetime | None
    ) -> None:
        """Lease due feeds ``batch`` at a time into the pass's queue until none is left."""
        seen: set[int] = set()
        # Articles without a declared language are detected as they are parsed, in a thread; the model
        # (about 85 MB resident) loads there with the first such article, so a process whose feeds all
        # declare their language never holds it.
        while state.until is None or not state.until.is_set():
            now = self.clock()
            lease_s = self.settings.daemon.lease_s
            feeds = await self.store.lease_due_feeds(
                now, batch, lease_s=lease_s, all=all, polled_before=polled_before
            )
            if state.until is None:
                # A feed whose write failed is offered again once its lease runs out: not in this pass.
                feeds = [f for f in feeds if f.id not in seen]
                seen.update(f.id for f in feeds)
            until = now + timedelta(seconds=lease_s)
            state.leased(feeds, until)
            if feeds:
                logger.debug(
                    "leased %d feeds until %s",
                    len(feeds),
                    until.isoformat(),
                    extra={"leased_ids": [f.id for f in feeds], "leased_until": until.isoformat()},
                )
                if polled_before is not None:
                    await self._renew_all_pass(polled_before)
                for feed in feeds:
                    await state.queue.put(feed)  # back pressure: lease more only as fetchers free up
            elif not await state.wait_for_more(self.settings.daemon.tick_s):
                break
        if polled_before is not None:
            await self.store.set_state(ALL_PASS_KEY, "", self.clock())

    async def _fetch_queued(
        self, state: _PassState, report: CycleReport, on_stored: Callable[[], None] | None
    ) -> None:
        """One fetcher: refresh queued feeds one at a time until it takes None."""
        while (feed := await state.queue.get()) is not None:
            state.busy += 1
            try:
                error, not_modified, new = await self._refresh_leased(state, feed)
            finally:
                state.busy -= 1
                state.freed.set()
            report.feeds_polled += 1
            report.not_modified += not_modified
            report.new_articles += new
            if error is not None:
                report.feeds_failed += 1
                report.errors.append(f"{feed.outlet} (feed {feed.id}): {error}")
            if new and on_stored is not None:
                on_stored()

    async def _all_pass_start(self) -> datetime:
        """When the ``--all`` pass this worker takes part in began: feeds polled since are not polled again.

        Several workers share one pass: the first records its start in the store, and those starting
        while it is renewed (within ``daemon.lease``) join it; a pass whose workers all stopped leasing
        (or died) is over, and the next ``--all`` begins a new one.
        """
        now = self.clock()
        begun, _, renewed = (await self.store.get_state(ALL_PASS_KEY) or "").partition(" ")
        if begun and renewed:
            age = (now - datetime.fromisoformat(renewed)).total_seconds()
            if age < self.settings.daemon.lease_s:
                return datetime.fromisoformat(begun)
        await self._renew_all_pass(now)
        return now

    async def _renew_all_pass(self, begun: datetime) -> None:
        now = self.clock()
        await self.store.set_state(ALL_PASS_KEY, f"{begun.isoformat()} {now.isoformat()}", now)

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        """One of ``http.per_host`` slots of the feed's host, taken before the fetch's timeout starts.

        The connector enforces the same limit, but a request queued there for a connection spends its
        total timeout waiting; queued here, only the fetch itself is timed. A URL that cannot be split
        (``http://[::1``) gets a slot of its own: its fetch then fails as that feed's error, alone.
        """
        try:
            host = urlsplit(url).netloc.lower()
        except ValueError:
            host = url
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.settings.http.limit_per_host)
        return slot

    async def _guarded_refresh(self, feed: Feed) -> tuple[str | None, bool, int]:
        async with self._fetch_sem, self._host_slot(feed.url):
            extra = {"feed_id": feed.id, "outlet": feed.outlet, "feed_url": redact_url(feed.url)}
            try:
                return await self.refresh_feed(feed)
            except SQLAlchemyError as exc:
                # The database refused this feed's write: nothing of it was committed. The cause may be passing
                # (disk full, locked, restarting) or in the feed's data, refused the same way at every poll.
                error = f"storing failed: {_db_error(exc)}"
                url = extra["feed_url"]
                logger.error(
                    "poll feed=%s outlet=%r url=%s %s", feed.id, feed.outlet, url, error, extra=extra
                )
            except Exception as exc:
                # Errors are contained at the feed boundary: log, count, carry on with the others.
                error = f"unexpected error: {type(exc).__name__}"
                logger.exception(
                    "unexpected error polling feed=%s outlet=%r url=%s",
                    feed.id,
                    feed.outlet,
                    extra["feed_url"],
                    extra=extra,
                )
            metrics.UNEXPECTED.labels("poll").inc()
            await self._record_failure(feed, error)
            return error, False, 0

    async def _record_failure(self, feed: Feed, error: str) -> None:
        """Record a poll that failed after its fetch (its write refused, or a bug) on the feed as a fetch error is:
        error count, last error and backoff, without its articles. A feed whose data is refused at every poll
        then backs off and shows as failing, rather than being fetched again each time its lease runs out."""
        now = self.clock()
        backoff = next_poll_at(feed, FetchResult(status=None, error=error), now)
        outcome = PollOutcome(polled_at=now, next_poll_at=backoff, status=None, error=error)
        try:
            await self.store.record_poll(feed.id, outcome, [])
        except Exception as exc:
            # The database itself is failing: the feed comes back when its lease runs out.
            logger.warning(
                "could not record the failure of feed=%s outlet=%r: %s",
                feed.id,
                feed.outlet,
                type(exc).__name__,
                extra={"feed_id": feed.id},
            )

    async def refresh_feed(self, feed: Feed) -> tuple[str | None, bool, int]:
        """Fetch, parse and store one feed. Returns (the error or None, not modified, new articles)."""
        now = self.clock()
        checked = await check_feed(self.session, feed, self.settings.http, now=now, parser=self.parser)
        result, warning, error = checked.result, checked.warning, checked.error
        articles = checked.parsed.articles if checked.parsed else []
        ttl_s = checked.parsed.ttl_s if checked.parsed else None
        outcome = PollOutcome(
            polled_at=now,
            next_poll_at=next_poll_at(
                feed, result if error == result.error else _failed(result, error), now, ttl_s=ttl_s
            ),
            status=result.status,
            error=error,
            etag=result.etag,
            last_modified=result.last_modified,
            new_url=result.new_url,
            full_fetch=result.unconditional and error is None,
            warning=warning,
            body_digest=checked.digest,
            unchanged=checked.unchanged,
        )
        new_ids = await self.store.record_poll(feed.id, outcome, articles)
        self._log_poll(feed, checked, len(articles), len(new_ids))
        metrics.ARTICLES.inc(len(new_ids))
        # An unchanged body counts as not modified, like a 304; its poll line says status=200 unchanged.
        return error, result.not_modified or checked.unchanged, len(new_ids)

    def _log_poll(self, feed: Feed, checked: FeedCheck, items: int, new: int) -> None:
        """One structured line per poll: feed, status, items, new items, milliseconds (and what went wrong).

        ``outcome`` (a log field and the metrics label): ok, not_modified (304), unchanged (a 200 with the
        body last parsed, not parsed again) or error.
        """
        result, error, warning = checked.result, checked.error, checked.warning
        if error:
            outcome = "error"
        elif result.not_modified:
            outcome = "not_modified"
        else:
            outcome = "unchanged" if checked.unchanged else "ok"
        metrics.FEEDS_POLLED.labels(outcome).inc()
        if error:
            metrics.FETCH_ERRORS.labels(result.error_kind or "parse").inc()
        extra: dict[str, Any] = {
            "feed_id": feed.id,
            "outlet": feed.outlet,
            "feed_url": redact_url(feed.url),
            "status": result.status,
            "items": items,
            "new_items": new,
            "ms": result.elapsed_ms,
            "outcome": outcome,
        }
        if error:
            extra["error"] = error
            logger.warning(
                "poll feed=%s outlet=%r status=%s error=%s ms=%d",
                feed.id,
                feed.outlet,
                result.status,
                error,
                result.elapsed_ms,
                extra=extra,
            )
        elif warning:
            extra["warning"] = warning
            logger.warning(
                "poll feed=%s outlet=%r status=%s items=%d new=%d ms=%d warning=%s",
                feed.id,
                feed.outlet,
                result.status,
                items,
                new,
                result.elapsed_ms,
                warning,
                extra=extra,
            )
        elif checked.unchanged:
            logger.info(
                "poll feed=%s status=%s unchanged ms=%d",
                feed.id,
                result.status,
                result.elapsed_ms,
                extra=extra,
            )
        else:
            logger.info(
                "poll feed=%s outlet=%r status=%s items=%d new=%d ms=%d",
                feed.id,
                feed.outlet,
                result.status,
                items,
                new,
                result.elapsed_ms,
                extra=extra,
            )

    # -- match and frame ----------------------------------------------------------------------

    def _embedder_for(self, settings: MatchSettings) -> Embedder | None:
        if self._embedder is None and self._load_model and settings.model:
            self._embedder = load_embedder(
                settings.model, backend=settings.backend, onnx_dir=settings.onnx_dir
            )
            # Once loaded, or off for want of the extra (load_embedder logs why). Not before: a model that
            # fails to load raises again, never turns into lexical-only matching without a word.
            self._load_model = False
        return self._embedder

    async def load_model(self) -> None:
        """Load the semantic model now (off the event loop), so that a ``matching.model`` that cannot be loaded
        stops the start with its error rather than failing at the first match."""
        await asyncio.to_thread(self._embedder_for, self.settings.matching)

    async def matcher(self) -> Matcher:
        """A Matcher over the active claims, rebuilt only when the claims change.

        A new matcher first learns term statistics from recent articles, so that the first
        articles after a start are not scored against an empty vocabulary.
        """
        claims = await self.store.list_claims(status=ClaimStatus.ACTIVE)
        key = tuple((c.id, c.text, c.keywords, c.threshold, c.language) for c in claims)
        if self._matcher is not None and key == self._matcher_key:
            return self._matcher
        if any(not c.language for c in claims):
            # Compiling such a claim detects its language: load the detector in a thread first, not on
            # the event loop amid timed fetches (a no-op once loaded).
            await asyncio.to_thread(load_detector)
        if self._matcher is None:
            matcher = await self._new_matcher(claims, self.settings.matching)
        else:
            matcher = self._matcher.with_claims(claims)
        self._matcher, self._matcher_key, self._claims = matcher, key, claims
        return matcher

    async def _new_matcher(self, claims: Sequence[Claim], settings: MatchSettings) -> Matcher:
        embedder = await asyncio.to_thread(self._embedder_for, settings)
        matcher = Matcher(claims, settings, embedder)
        await asyncio.to_thread(matcher.observe, await self.store.recent_articles(WARM_UP_ARTICLES))
        return matcher

    async def match_pending(self) -> int:
        """Match every unprocessed article against the active claims; returns matches stored."""
        total = 0
        while True:
            batch = await self.store.lease_unprocessed_articles(
                self.clock(), self.settings.daemon.match_batch, lease_s=self.settings.daemon.lease_s
            )
            if not batch:
                return total
            matcher = await self.matcher()
            batch = await self.read_pages(batch, matcher)
            try:
                results = await asyncio.to_thread(match_and_frame, matcher, self._claims, batch)
            except Exception:
                # One article the matcher or the framing cannot read must not hold back its batch for good
                # (leased again and failing at every lease): each is matched on its own (match_each).
                results = await asyncio.to_thread(match_each, matcher, self._claims, batch)
            results, revisions = await self._revise([a for a in batch if a.version > 1], results, matcher)
            stored = await self.store.save_matches(
                [a.id for a in batch],
                results,
                self.clock(),
                revisions=revisions,
                versions={a.id: a.version for a in batch},
            )
            metrics.MATCHES.inc(stored)
            total += stored

    async def _revise(
        self, revised: list[Article], results: list[tuple[MatchScore, Framing]], matcher: Matcher
    ) -> tuple[list[tuple[MatchScore, Framing]], list[MatchRevision]]:
        """Split the results of revised articles into new matches and revisions of the matches they had.

        A claim the article matched before gets a revision (its match re-scored and re-framed, or no
        longer matching); a claim it matches for the first time gets a new match, like any article's.
        Matches of claims not active now are left as they are.
        """
        if not revised:
            return results, []
        active = {c.id: c for c in self._claims}
        had = {
            (m.claim_id, m.article.id): m
            for m in await self.store.matches_for_articles([a.id for a in revised])
            if m.claim_id in active
        }
        by_id = {a.id: a for a in revised}
        # A move across the threshold of marked skepticism is a change of framing, kept with its time.
        skeptical_at = self.settings.shifts.skeptical_threshold
        fresh: list[tuple[MatchScore, Framing]] = []
        out: list[MatchRevision] = []
        for score, framing in results:
            before = had.pop((score.claim_id, score.article_id), None)
            if before is None:
                fresh.append((score, framing))
                continue
            revision = revise(before, by_id[score.article_id], (score, framing), skeptical_at=skeptical_at)
            if revision is not None:
                out.append(revision)
        for (claim_id, article_id), before in had.items():
            article = by_id[article_id]
            if before.unmatched_at is None:
                dropped = await asyncio.to_thread(matcher.score, active[claim_id], article)
                revision = revise(before, article, None, new_score=dropped.score)
                if revision is not None:
                    out.append(revision)
        return fresh, out

    async def read_pages(self, batch: list[Article], matcher: Matcher) -> list[Article]:
        """The batch with the page text of the articles that want it, fetched now (once per article).

        Runs inside the match stage, before the batch is scored, so matching and stance read the page's
        main text; the articles stay leased meanwhile. An article wants its page when its feed's mode is
        ``always``, or ``auto`` with a short feed text that passes the matcher's cheap prefilter
        (:meth:`Matcher.is_candidate`): the crawl is bounded by candidates, not by volume. The outcome is
        recorded on the article (text, or error) and never blocks it: a failure leaves the feed text.
        """
        todo = [a for a in batch if a.page_fetched_at is None and wants_full_text(a.full_text, a.text, True)]
        if not todo:
            return batch
        wanted = await asyncio.to_thread(
            lambda: [a for a in todo if a.full_text == "always" or matcher.is_candidate(a)]
        )
        if not wanted:
            return batch
        if self._pages is None:
            self._pages = PageFetcher(
                self.session, self.settings.http, self.settings.pages, workers=self.page_workers
            )
        fetcher, sem = self._pages, asyncio.Semaphore(self.settings.http.limit)

        async def read(article: Article) -> tuple[int, str | None]:
            async with sem:
                page = await fetcher.fetch_page(article.url, feed_text=article.text, now=self.clock())
            await self.store.record_page(article.id, text=page.text, error=page.error, now=self.clock())
            if page.error:
                logger.info(
                    "page of article %s not used: %s",
                    article.id,
                    page.error,
                    extra={"article_id": article.id, "error_kind": page.error_kind},
                )
            return article.id, page.text

        texts = dict(await asyncio.gather(*(read(a) for a in wanted)))
        return [replace(a, text=text) if (text := texts.get(a.id)) else a for a in batch]

    async def dry_run(
        self,
        claim: str,
        *,
        title: str = "",
        text: str | None = None,
        url: str | None = None,
        lexical_only: bool = False,
    ) -> DryRun:
        """Score and frame ``text`` (or the page at ``url``) against a claim as the match stage would; stores nothing.

        The claim is looked up in the store, else among the claims of feeds.yaml. The matcher is built as
        :meth:`matcher` builds it (the vocabulary the daemon has seen included); ``lexical_only`` skips the
        semantic stage.
        """
        found, matcher, threshold = await self._dry_matcher(claim, lexical_only)
        if url is not None:
            title, text = await self._fetch_page(url, title)
        return await _dry_score(found, matcher, threshold, title, text or "")

    async def dry_run_feed(
        self, claim: str, url: str, *, lexical_only: bool = False
    ) -> list[tuple[ArticleIn, DryRun]]:
        """:meth:`dry_run` on each item of the feed at ``url`` (its feed text, as the daemon would first see it)."""
        checked = await self._check_url(url)
        if checked.error is not None or checked.parsed is None:
            raise WatcherError(f"{redact_url(url)}: {checked.error or 'no body'}")
        found, matcher, threshold = await self._dry_matcher(claim, lexical_only)
        return [
            (item, await _dry_score(found, matcher, threshold, item.title, item.text))
            for item in checked.parsed.articles
        ]

    async def _check_url(self, url: str) -> FeedCheck:
        """``check_feed`` on a URL that is not a stored feed (a dry run reads it as a feed)."""
        return await check_feed(
            self.session, unsaved_feed(FeedSpec(url=url, outlet="")), self.settings.http, now=self.clock()
        )

    async def _dry_matcher(self, claim: str, lexical_only: bool) -> tuple[Claim, Matcher, float]:
        found = await self._claim_to_try(claim)
        settings = replace(self.settings.matching, model=None) if lexical_only else self.settings.matching
        matcher = await self._new_matcher([replace(found, status=ClaimStatus.ACTIVE)], settings)
        threshold = found.threshold if found.threshold is not None else settings.threshold
        return found, matcher, threshold

    async def _claim_to_try(self, ref: str) -> Claim:
        try:
            return await self.store.get_claim(ref)
        except NotFoundError:
            spec = next((c for c in self.settings.claims if c.name == ref), None)
            if spec is None:
                raise
        return Claim(
            id=0,
            name=spec.name,
            text=spec.text,
            keywords=spec.keywords,
            threshold=spec.threshold,
            status=ClaimStatus(spec.status),
            language=spec.language,
        )

    async def _fetch_page(self, url: str, title: str) -> tuple[str, str]:
        """The title (unless given) and main text of a web page, fetched and extracted as the daemon does.

        A feed is not a page: its URL raises an error saying so (test its items with :meth:`dry_run_feed`).
        There is no feed text to fall back on here, so a short page is read as it is, not taken for a stub.
        """
        pages = replace(self.settings.pages, min_text_chars=1)
        page = await PageFetcher(self.session, self.settings.http, pages).fetch_page(url, now=self.clock())
        if page.error_kind == "not_html":
            checked = await self._check_url(url)
            if checked.error is None and checked.parsed is not None:
                items = len(checked.parsed.articles)
                raise WatcherError(f"{redact_url(url)} is a feed with {items} items; test them with --feed")
        if page.text is None:
            raise WatcherError(f"{redact_url(url)}: {page.error}")
        return title or page.title or "", page.text

    async def backfill(
        self,
        claim: str,
        since: datetime | None,
        *,
        batch: int = 500,
        progress: Callable[[BackfillProgress], None] | None = None,
    ) -> BackfillProgress:
        """Match the stored articles first seen since ``since`` (all with None) against one claim.

        Matches already stored are kept, so running it again stores nothing new; shift detection then
        picks the new matches up. ``progress`` is called before the first batch and after each one.
        """
        found = await self.store.get_claim(claim)
        started = self.clock()
        total = await self.store.count_articles_since(since)
        active = [replace(found, status=ClaimStatus.ACTIVE)]
        matcher = (await self.matcher()).with_claims(active)
        state = BackfillProgress(claim=found, scanned=0, total=total, new_matches=0)
        after = 0
        if progress is not None:
            progress(state)
        while articles := await self.store.articles_since(since, after_id=after, limit=batch):
            results = await asyncio.to_thread(match_and_frame, matcher, active, articles)
            stored = await self.store.save_matches([], results, utcnow())
            state = replace(
                state, scanned=state.scanned + len(articles), new_matches=state.new_matches + stored
            )
            after = articles[-1].id
            if progress is not None:
                progress(state)
        # The time the claim was paused within the span is matched now: no longer a hole in its coverage.
        await self.store.claim_observed(found.id, since, started)
        return state

    # -- detect ---------------------------------------------------------------------------------

    async def detect(self) -> list[Event]:
        """Run shift detection for every claim with new matches; events and deliveries in one txn."""
        raised: list[Event] = []
        for claim in await self.store.lease_claims_to_detect(
            self.clock(), lease_s=self.settings.daemon.lease_s
        ):
            matches = await self.store.matches_for_claim(claim.id)
            previous = await self.store.events_for_claim(claim.id)
            revisions = await self.store.revisions_for_claim(claim.id)
            now = self.clock()
            shifts = self.settings.shifts
            try:
                drafts = detect_shifts(
                    claim, matches, previous, now=now, settings=shifts, revisions=revisions
                )
                revised, held_until = revision_plan(
                    claim,
                    revisions,
                    previous,
                    outlets={m.id: m.article.outlet for m in matches},
                    now=now,
                    fresh_window_s=shifts.fresh_window_s,
                    cooldown_s=shifts.article_revised_cooldown_s,
                    versions={m.article.id: m.article.versions for m in matches if m.article.versions},
                )
            except Exception:
                # Data that detection cannot read holds up this claim only (tried again when its lease ends),
                # never every claim leased after it.
                metrics.UNEXPECTED.labels("detect").inc()
                logger.exception("detecting shifts of claim %s failed; trying again later", claim.name)
                continue
            # Revisions held back by their cooldown are announced when it ends, though nothing new comes.
            events = await self.store.record_events(
                claim.id, drafts + revised, list(self.destinations.values()), now, detect_again_at=held_until
            )
            for e in events:
                metrics.EVENTS.labels(e.type.value).inc()
                logger.info(
                    "event %s %s claim=%s: %s",
                    e.id,
                    e.type.value,
                    claim.name,
                    e.summary,
                    extra={"event_id": e.id},
                )
            raised.extend(events)
        return raised


@dataclass(slots=True)
class _PassState:
    """A poll pass's queue of leased feeds, its fetchers at work, and when to stop leasing more."""

    queue: asyncio.Queue[Feed | None]
    until: asyncio.Event | None  # None: one pass over what is due now
    busy: int = 0
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    # Feeds leased by this pass whose refresh has not returned (queued, or being fetched: a fetch cancelled
    # at shutdown stored nothing), with when their lease runs out.
    _unfinished: dict[int, datetime] = field(default_factory=dict)

    def leased(self, feeds: Sequence[Feed], until: datetime) -> None:
        self._unfinished.update((f.id, until) for f in feeds)

    def finished(self, feed: Feed) -> None:
        self._unfinished.pop(feed.id, None)

    def unfinished_by_lease(self) -> dict[datetime, list[int]]:
        groups: dict[datetime, list[int]] = {}
        for feed_id, until in self._unfinished.items():
            groups.setdefault(until, []).append(feed_id)
        return groups

    async def wait_for_more(self, tick_s: float) -> bool:
        """Nothing is due now: whether to look again (after a fetcher frees up, or ``tick_s``)."""
        if self.until is None or self.until.is_set() or (self.busy == 0 and self.queue.empty()):
            return False
        self.freed.clear()
        waits = [asyncio.ensure_future(e.wait()) for e in (self.freed, self.until)]
        try:
            await asyncio.wait(waits, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return not self.until.is_set()


def match_and_frame(
    matcher: Matcher, claims: Sequence[Claim], articles: Sequence[Article]
) -> list[tuple[MatchScore, Framing]]:
    """CPU work of the match stage (runs in a thread): scores, then the framing of each match."""
    by_id = {a.id: a for a in articles}
    texts = {c.id: c.text for c in claims}
    out = []
    for score in matcher.match(articles):
        article = by_id[score.article_id]
        explanation = explain(
            texts[score.claim_id], article.title, article.text, score.evidence, language=article.language
        )
        # A disputing article shows its disputing sentence first, the claim sentence beside it.
        shown = replace(score, evidence=shown_evidence(explanation, score.evidence))
        out.append((shown, explanation.framing))
    return out


def match_each(
    matcher: Matcher, claims: Sequence[Claim], articles: Sequence[Article]
) -> list[tuple[MatchScore, Framing]]:
    """:func:`match_and_frame` article by article. When another article of the batch is matched and framed, the
    fault is the failing article's own: it is logged, with its id and URL, and stored without matches (`claims
    backfill` matches it again), and the others are kept. When none is, the fault may be the matcher's or the
    framing's (one that reads nothing): the first error is raised, and the batch is matched again when its lease
    ends, as before."""
    out: list[tuple[MatchScore, Framing]] = []
    failed: list[tuple[Article, Exception]] = []
    for article in articles:
        try:
            out.extend(match_and_frame(matcher, claims, [article]))
        except Exception as exc:
            failed.append((article, exc))
    if failed and not out:
        raise failed[0][1]
    for article, error in failed:
        metrics.UNEXPECTED.labels("match").inc()
        logger.error(
            "matching article %d (%s) failed; it is stored without matches (run 'watcher claims backfill' to "
            "match it again)",
            article.id,
            article.url,
            exc_info=error,
        )
    return out


async def _dry_score(claim: Claim, matcher: Matcher, threshold: float, title: str, text: str) -> DryRun:
    score = await asyncio.to_thread(matcher.score, claim, _unsaved_article(title, text))
    # The daemon frames an article in the language its feed declared or the detector found at ingest.
    language = await asyncio.to_thread(detect_language, f"{title}\n{text}")
    explanation = explain(claim.text, title, text, score.evidence, language=language)
    score = replace(score, evidence=shown_evidence(explanation, score.evidence))
    return DryRun(claim=claim, score=score, framing=explanation.framing, threshold=threshold)


def _with_languages(parsed: ParseResult, feed_language: str) -> ParseResult:
    """Each article's language: declared by the feed, else detected, else the feed's configured one.

    The configured language is only the fallback, so a feed that mixes languages gets each item's own.
    """
    articles = [
        a
        if a.language
        else replace(a, language=article_language(None, f"{a.title}. {a.text}", feed_language))
        for a in parsed.articles
    ]
    return replace(parsed, articles=articles)


def _unsaved_article(title: str, text: str) -> Article:
    return Article(
        id=0,
        feed_id=0,
        story_id=0,
        url="",
        canonical_url="",
        title=title,
        text=text,
        content_hash="",
        published_at=None,
        first_seen_at=utcnow(),
        language="und",
        outlet="",
        country="ZZ",
        leaning="unknown",
        ownership="unknown",
    )


def _db_error(exc: SQLAlchemyError) -> str:
    """The driver's own message (e.g. "database or disk is full"), without SQL or parameters."""
    orig = getattr(exc, "orig", None)
    message = str(orig or exc).splitlines()[0]
    # asyncpg quotes the value it could not send ("invalid input for query argument $2: 'VALUE' (WHY)"): a feed's
    # text, which may be long or hold a credential; the argument and the reason say enough.
    head, argument, rest = message.partition("query argument $")
    if argument:
        number, _, value = rest.partition(":")
        why = value[value.rfind(" (") :] if value.endswith(")") and " (" in value else ""
        message = f"{head}{argument}{number}{why}"
    return f"{type(orig or exc).__name__}: {message[:200]}"


def _failed(result: FetchResult, error: str | None) -> FetchResult:
    """The fetch result as a failure (a body that did not parse backs off like a fetch error)."""
    return replace(result, error=error, error_kind="parse")


__all__ = [
    "BackfillProgress",
    "Claim",
    "CycleReport",
    "Destination",
    "DryRun",
    "FeedCheck",
    "NotFoundError",
    "Pipeline",
    "WatcherError",
    "add_feed",
    "check_feed",
    "check_feeds",
    "feeds_to_check",
    "find_feed",
    "find_feed_now",
    "match_and_frame",
    "unsaved_feed",
]
