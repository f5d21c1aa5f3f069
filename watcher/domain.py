"""Domain records shared by every stage; plain frozen dataclasses, no project imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, get_args


class Stance(StrEnum):
    SUPPORTS = "supports"
    NEUTRAL = "neutral"
    DISPUTES = "disputes"


class EventType(StrEnum):
    FIRST_SEEN = "first_seen"
    COVERAGE_SPIKE = "coverage_spike"
    NEW_SEGMENT = "new_segment"
    FRAMING_SHIFT = "framing_shift"
    ARTICLE_REVISED = "article_revised"  # a matched article's headline, claim sentences or stance changed


class ClaimStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (first try or a retry)
    DELIVERED = "delivered"
    DEAD = "dead"  # out of retries, or a permanent failure
    CANCELLED = "cancelled"  # destination disabled (HTTP 410) or removed


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind watcher stores or compares)."""
    return datetime.now(UTC)


Leaning = Literal["left", "lean-left", "center", "lean-right", "right", "unknown"]
Ownership = Literal["private", "public", "state", "unknown"]
LEANINGS: tuple[str, ...] = get_args(Leaning)
OWNERSHIPS: tuple[str, ...] = get_args(Ownership)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSpec:
    """A feed as configured in feeds.yaml."""

    url: str
    outlet: str
    country: str = "ZZ"  # ISO 3166 alpha-2; ZZ = unknown
    language: str = "und"  # ISO 639-1; und = undetermined
    leaning: str = "unknown"
    ownership: str = "unknown"
    interval_s: int = 900
    full_text: str = "auto"  # never | auto | always: when to fetch an item's page for its full text


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """A feed as stored, with its polling state."""

    id: int
    url: str
    outlet: str
    country: str
    language: str
    leaning: str
    ownership: str
    interval_s: int
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_full_fetch_at: datetime | None = None
    last_status: int | None = None
    error_count: int = 0
    last_error: str | None = None
    last_warning: str | None = None
    last_new_items: int = 0
    enabled: bool = True
    full_text: str = "auto"
    body_digest: str | None = None  # of the last 200 body that parsed (see watcher.ingest.fetch.body_digest)


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
        full_text=spec.full_text,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleIn:
    """An entry parsed from a feed, not yet stored."""

    key: str  # stable per feed: GUID, else canonical link, else content hash
    url: str
    canonical_url: str
    title: str
    text: str  # plain text of summary/content, HTML stripped
    content_hash: str  # sha256 of normalised title + text
    published_at: datetime | None
    language: str | None = None
    guid: str | None = None
    updated_at: datetime | None = (
        None  # when the publisher last revised it (Atom updated, JSON Feed date_modified)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleVersion:
    """One version of a stored article's feed title and text; version 1 is the original."""

    version: int
    title: str
    text: str
    content_hash: str
    updated_at: datetime | None  # the feed's revision time (Atom updated, JSON Feed date_modified), if given
    seen_at: datetime  # when watcher first saw this version


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    """A stored article with its feed's outlet metadata.

    ``text`` is the text to analyse: the page's extracted main text once fetched, else the feed's.
    """

    id: int
    feed_id: int
    story_id: int  # id of the first article of the same story (itself if original)
    url: str
    canonical_url: str
    title: str
    text: str
    content_hash: str
    published_at: datetime | None
    first_seen_at: datetime
    language: str
    outlet: str
    country: str
    leaning: str
    ownership: str
    # How published_at was found: "published" (the feed's date), "clamped" (the feed's date was later than
    # first seen, so first seen stands in) or "first_seen" (no date at all).
    published_at_basis: str = "published"
    full_text: str = "auto"  # the feed's full-text mode
    page_fetched_at: datetime | None = None  # set once the page was tried, whatever the outcome
    version: int = 1  # 1 until the feed serves a changed title or text for the item (see ArticleVersion)
    updated_at: datetime | None = None  # the feed's revision time of the current version, if given
    versions: tuple[ArticleVersion, ...] = ()  # every version, oldest first, where loaded (revised articles)
    # Stored by its feed's first successful poll without a date of its own (basis first_seen or clamped): an
    # archive item of unknown age, not news. Shift detection records what it alone raises as backfill.
    backlog: bool = False

    @property
    def is_copy(self) -> bool:
        return self.story_id != self.id

    @property
    def published(self) -> datetime:
        """Publication time in UTC: the stored one, never later than first seen (first seen when unknown).

        Compared as instants (a naive time is UTC, the storage convention): two times in one feed zone around the
        hour that repeats when daylight saving time ends compare right, and naive beside aware does not raise."""
        seen = as_utc(self.first_seen_at)
        return seen if self.published_at is None else min(as_utc(self.published_at), seen)


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; a naive value is taken to be UTC already (the storage convention)."""
    if value.tzinfo is UTC:  # as storage returns times: the value itself (detection asks per match, twice)
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSpec:
    """A claim declared in feeds.yaml (synced into the database on start)."""

    name: str
    text: str
    keywords: tuple[str, ...] = ()
    threshold: float | None = None
    status: str = "active"
    language: str | None = None  # ISO 639-1; None: detected from the text


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimPause:
    """A span a claim was paused (``claims pause`` to ``claims resume``): it matched nothing then."""

    paused_at: datetime
    resumed_at: datetime | None = None  # None: paused still


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    id: int
    name: str
    text: str
    keywords: tuple[str, ...] = ()
    threshold: float | None = None  # None = the matcher's default
    status: ClaimStatus = ClaimStatus.ACTIVE
    created_at: datetime | None = None
    language: str | None = None  # ISO 639-1 as configured; None: detected from the text when compiled
    # The spans it was paused, oldest first: the store keeps them as the status changes (never written as given).
    pauses: tuple[ClaimPause, ...] = ()


def folded_name(name: str) -> str | None:
    """What a claim name is compared by, in any letter case: its ASCII letters in lower case; None for a name that
    is not ASCII, which is compared only as written (a name is ASCII, and a Kelvin sign is no "K")."""
    return name.lower() if name.isascii() else None


def same_name(a: str, b: str) -> bool:
    """Whether two claim names are one (:func:`folded_name`)."""
    return a == b or (folded_name(a) is not None and folded_name(a) == folded_name(b))


@dataclass(frozen=True, slots=True, kw_only=True)
class Cue:
    """One framing cue found in the text: kind (e.g. distancing_verb) and the words."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Framing:
    stance: Stance
    skepticism: float  # 0..1
    cues: tuple[Cue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchScore:
    """Output of the matcher for one (claim, article) pair."""

    claim_id: int
    article_id: int
    score: float  # calibrated 0..1
    lexical: float
    semantic: float | None  # None when the semantic stage did not run
    evidence: tuple[str, ...]
    matched: bool  # score >= the claim's threshold
    # The claim has two parts ("Putin" and "dead") and the article holds words of one only: its words do not
    # match it; the semantic stage's cosine alone decides, when there is one (watcher.match.lexical.claim_parts).
    one_part: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """A stored match with its framing, as ``matches list`` shows it."""

    id: int
    claim_id: int
    claim_name: str
    article: Article
    score: float
    lexical: float
    semantic: float | None
    stance: Stance
    skepticism: float
    cues: tuple[Cue, ...]
    evidence: tuple[str, ...]
    matched_at: datetime
    version: int = 1  # the article version this match was scored and framed on
    unmatched_at: datetime | None = None  # when a revision of the article stopped matching the claim


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRevision:
    """A revised article seen through one claim it matched: the match before and after the new version.

    ``before`` and ``after`` hold ``title``, ``stance``, ``skepticism``, ``evidence``, ``score`` and
    ``matched``; ``diff`` the word diffs of the title and text (see :mod:`watcher.revisions`).
    ``changes`` says what a reader would care about (``headline``, ``evidence``, ``stance``,
    ``unmatched``, ``rematched``); a revision without any is not stored. ``update`` is the new score and
    framing to write into the match (None when the article no longer matches); it is not read back.
    """

    match_id: int
    claim_id: int
    article_id: int
    story_id: int
    version: int
    previous_version: int
    content_hash: str  # of the new version: the same revision seen in two feeds has the same
    changes: tuple[str, ...]
    before: dict[str, Any]
    after: dict[str, Any]
    diff: dict[str, Any]
    updated_at: datetime | None  # the feed's revision time, if given
    revised_at: datetime  # when watcher first saw the new version
    id: int = 0
    update: tuple[MatchScore, Framing] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventDraft:
    """An event produced by shift detection, before it is stored."""

    type: EventType
    claim_id: int
    dedupe_key: str  # unique per claim: a re-run never raises the same event twice
    summary: str
    details: dict[str, Any]
    match_ids: tuple[int, ...]
    created_at: datetime
    backfill: bool = False  # found in a backlog (published before shifts.fresh_window): stored, not delivered


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    id: str  # "evt_..."
    type: EventType
    claim_id: int
    dedupe_key: str
    summary: str
    details: dict[str, Any]
    match_ids: tuple[int, ...]
    created_at: datetime
    backfill: bool = False  # found in a backlog: recorded, never delivered


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    name: str
    kind: str  # slack | webhook
    # A Slack webhook's URL is its credential, as is a signing secret: neither is shown in a repr.
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    events: tuple[EventType, ...] | None = None  # None = all types
    digest_minutes: int = 0  # 0 = send each event on its own
    allow_private: bool = False

    def wants(self, event_type: EventType) -> bool:
        return self.events is None or event_type in self.events


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    id: int
    event_id: str
    destination: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None = None
    leased_until: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryUpdate:
    """The new state of a delivery row after one attempt (``Store.update_delivery`` writes it as is).

    When ``disable_destination`` is true the outbox also cancels the destination's other pending deliveries.
    """

    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None = None
    disable_destination: bool = False
