"""One cycle of the service: poll due feeds → store → match → frame → detect shifts → deliver alerts.

Each stage finds its work in the database (feeds due, articles unprocessed, matches undetected,
deliveries due), so a crash anywhere loses nothing and a restart repeats nothing a receiver can see.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from storage.base import PollOutcome, Store
from watcher import metrics
from watcher.config import Settings
from watcher.domain import (
    Article,
    Claim,
    ClaimStatus,
    Destination,
    Event,
    Feed,
    FeedSpec,
    Framing,
    MatchScore,
    utcnow,
)
from watcher.errors import NotFoundError, WatcherError
from watcher.framing import frame
from watcher.ingest.fetch import FetchResult, body_digest, fetch_feed, next_poll_at
from watcher.ingest.http import HttpSettings, make_session
from watcher.ingest.parse import ParseResult, html_to_text
from watcher.ingest.pool import ParsePool
from watcher.ingest.urls import redact_url
from watcher.match import Embedder, Matcher, MatchSettings, load_embedder
from watcher.outbox import Outbox
from watcher.outbox.sender import Sender
from watcher.shifts import detect_shifts

logger = logging.getLogger(__name__)

WARM_UP_ARTICLES = 2000  # recent articles a new matcher learns term statistics from


Clock = Callable[[], datetime]

_IN_THREAD = ParsePool(0)  # check_feed's parser unless given one


@dataclass(slots=True)
class CycleReport:
    """What one cycle did (``poll-once --json`` prints it); ``errors``: one "OUTLET (feed ID): ERROR" per failed feed."""

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
    parsed = await (parser or _IN_THREAD).parse(
        result.body,
        result.final_url or feed.url,
        content_type=result.content_type,
        feed_language=None if feed.language == "und" else feed.language,
        now=now,
    )
    warning = "; ".join(parsed.warnings)[:1000] or None
    error = f"not a feed: {warning}" if not parsed.articles and parsed.warnings and not parsed.title else None
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


async def feeds_to_check(store: Store, specs: Sequence[FeedSpec]) -> list[Feed]:
    """The enabled feeds in the store, then those of ``specs`` not there (yet): what ``feeds check`` checks."""
    stored = await store.list_feeds()
    known = {f.url for f in stored}
    return stored + [unsaved_feed(spec) for spec in specs if spec.url not in known]


def unsaved_feed(spec: FeedSpec) -> Feed:
    """A feed record for a URL or a configured feed that is not (or not yet) in the store."""
    return Feed(
        id=0,
        url=spec.url,
        outlet=spec.outlet,
        country=spec.country,
        language=spec.language,
        leaning=spec.leaning,
        ownership=spec.ownership,
        interval_s=spec.interval_s,
    )


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
        self.outbox = Outbox(store, sender, settings.destinations, clock, lease_s=settings.daemon.lease_s)
        self._fetch_sem = asyncio.Semaphore(settings.http.limit)
        self.parser = ParsePool(settings.ingest.workers())  # its processes start with the first parse

    @classmethod
    async def open(cls, settings: Settings, store: Store, **kwargs: Any) -> Pipeline:
        session = make_session(settings.http)
        sender = Sender(allow_private=settings.http.allow_private)
        return cls(settings, store, session=session, sender=sender, **kwargs)

    async def close(self) -> None:
        await self.session.close()
        await self.sender.close()
        await asyncio.to_thread(self.parser.close)

    async def sync_config(self) -> None:
        """Bring feeds, claims and destinations declared in feeds.yaml into the database."""
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

    # -- the cycle --------------------------------------------------------------------------------

    async def cycle(self, *, all: bool = False) -> CycleReport:
        """Poll due feeds (every feed with ``all``), then match, detect and deliver what is due."""
        started = time.monotonic()
        report = CycleReport()
        await self.poll(report, all=all)
        await self.process(report)
        report.elapsed_s = round(time.monotonic() - started, 3)
        metrics.CYCLE_SECONDS.observe(report.elapsed_s)
        metrics.LAST_CYCLE.set(time.time())
        await self.store.set_state("last_cycle_at", self.clock().isoformat(), self.clock())
        return report

    async def process(self, report: CycleReport) -> None:
        """The stages after polling; each is safe to run on its own at any time."""
        report.matches += await self.match_pending()
        report.events += len(await self.detect())
        delivered, failed = await self.outbox.deliver_due()
        report.delivered += delivered
        report.delivery_failures += failed

    # -- poll ---------------------------------------------------------------------------------

    async def poll(self, report: CycleReport, *, all: bool = False) -> None:
        """Poll due feeds (every enabled feed with ``all``, each once), in leased batches."""
        started = self.clock()
        seen: set[int] = set()
        while True:
            feeds = await self.store.lease_due_feeds(
                self.clock(),
                self.settings.daemon.feed_batch,
                lease_s=self.settings.daemon.lease_s,
                all=all,
                polled_before=started if all else None,
            )
            # A feed whose write failed is offered again; it waits for its lease to run out instead.
            feeds = [f for f in feeds if f.id not in seen]
            if not feeds:
                return
            seen.update(f.id for f in feeds)
            results = await asyncio.gather(*(self._guarded_refresh(f) for f in feeds))
            for feed, (error, not_modified, new) in zip(feeds, results, strict=True):
                report.feeds_polled += 1
                report.not_modified += not_modified
                report.new_articles += new
                if error is not None:
                    report.feeds_failed += 1
                    report.errors.append(f"{feed.outlet} (feed {feed.id}): {error}")

    async def _guarded_refresh(self, feed: Feed) -> tuple[str | None, bool, int]:
        async with self._fetch_sem:
            try:
                return await self.refresh_feed(feed)
            except SQLAlchemyError as exc:
                # The database refused this feed's write (disk full, locked, restarting): nothing of it was
                # committed, and the feed is polled again once its lease runs out.
                metrics.UNEXPECTED.labels("poll").inc()
                error = _db_error(exc)
                logger.error("storing feed %s failed: %s", feed.id, error, extra={"feed_id": feed.id})
                return f"storing failed: {error}", False, 0
            except Exception as exc:
                # Errors are contained at the feed boundary: log, count, carry on with the others.
                metrics.UNEXPECTED.labels("poll").inc()
                logger.exception("unexpected error polling feed %s", feed.id, extra={"feed_id": feed.id})
                return f"unexpected error: {type(exc).__name__}", False, 0

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
                "poll feed=%s status=%s error=%s ms=%d",
                feed.id,
                result.status,
                error,
                result.elapsed_ms,
                extra=extra,
            )
        elif warning:
            extra["warning"] = warning
            logger.warning(
                "poll feed=%s status=%s items=%d new=%d ms=%d warning=%s",
                feed.id,
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
                "poll feed=%s status=%s items=%d new=%d ms=%d",
                feed.id,
                result.status,
                items,
                new,
                result.elapsed_ms,
                extra=extra,
            )

    # -- match and frame ----------------------------------------------------------------------

    def _embedder_for(self, model: str | None) -> Embedder | None:
        if self._embedder is None and self._load_model and model:
            self._load_model = False  # try once; load_embedder logs why it is off
            self._embedder = load_embedder(model)
        return self._embedder

    async def matcher(self) -> Matcher:
        """A Matcher over the active claims, rebuilt only when the claims change.

        A new matcher first learns term statistics from recent articles, so that the first
        articles after a start are not scored against an empty vocabulary.
        """
        claims = await self.store.list_claims(status=ClaimStatus.ACTIVE)
        key = tuple((c.id, c.text, c.keywords, c.threshold) for c in claims)
        if self._matcher is not None and key == self._matcher_key:
            return self._matcher
        if self._matcher is None:
            matcher = await self._new_matcher(claims, self.settings.matching)
        else:
            matcher = self._matcher.with_claims(claims)
        self._matcher, self._matcher_key, self._claims = matcher, key, claims
        return matcher

    async def _new_matcher(self, claims: Sequence[Claim], settings: MatchSettings) -> Matcher:
        embedder = await asyncio.to_thread(self._embedder_for, settings.model)
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
            results = await asyncio.to_thread(match_and_frame, matcher, self._claims, batch)
            stored = await self.store.save_matches([a.id for a in batch], results, self.clock())
            metrics.MATCHES.inc(stored)
            total += stored

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
        found = await self._claim_to_try(claim)
        if url is not None:
            title, text = await self._fetch_page(url, title)
        body = text or ""
        settings = replace(self.settings.matching, model=None) if lexical_only else self.settings.matching
        matcher = await self._new_matcher([replace(found, status=ClaimStatus.ACTIVE)], settings)
        score = await asyncio.to_thread(matcher.score, found, _unsaved_article(title, body))
        framing = frame(found.text, title, body, score.evidence)
        threshold = found.threshold if found.threshold is not None else settings.threshold
        return DryRun(claim=found, score=score, framing=framing, threshold=threshold)

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
        )

    async def _fetch_page(self, url: str, title: str) -> tuple[str, str]:
        """The title (unless given) and plain text of a web page."""
        try:
            async with self.session.get(url) as resp:
                if resp.status != 200:
                    raise WatcherError(f"{url}: HTTP {resp.status}")
                raw = await resp.content.read(self.settings.http.max_body_bytes)
                html = raw.decode(resp.charset or "utf-8", errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WatcherError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
        if not title:
            m = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
            title = html_to_text(m.group(1)) if m else ""
        return title, html_to_text(html)

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
            now = self.clock()
            drafts = detect_shifts(claim, matches, previous, now=now, settings=self.settings.shifts)
            events = await self.store.record_events(claim.id, drafts, list(self.destinations.values()), now)
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


def match_and_frame(
    matcher: Matcher, claims: Sequence[Claim], articles: Sequence[Article]
) -> list[tuple[MatchScore, Framing]]:
    """CPU work of the match stage (runs in a thread): scores, then the framing of each match."""
    by_id = {a.id: a for a in articles}
    texts = {c.id: c.text for c in claims}
    out = []
    for score in matcher.match(articles):
        article = by_id[score.article_id]
        framing = frame(texts[score.claim_id], article.title, article.text, score.evidence)
        out.append((score, framing))
    return out


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
    return f"{type(orig or exc).__name__}: {str(orig or exc).splitlines()[0][:200]}"


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
    "check_feed",
    "check_feeds",
    "feeds_to_check",
    "match_and_frame",
    "unsaved_feed",
]
