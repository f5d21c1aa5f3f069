"""Rows to records: the one place that turns what a query returns into watcher.domain records."""

from __future__ import annotations

from sqlalchemy.engine import RowMapping

from storage.tables import articles_t, feeds_t
from watcher.domain import (
    Article,
    ArticleVersion,
    Claim,
    ClaimStatus,
    Cue,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Feed,
    Match,
    MatchRevision,
    Stance,
)

# What to_article reads: the article's columns and its feed's outlet metadata (join feeds_t).
ARTICLE_COLS = [
    articles_t.c.id,
    articles_t.c.feed_id,
    articles_t.c.story_id,
    articles_t.c.url,
    articles_t.c.canonical_url,
    articles_t.c.title,
    articles_t.c.text,
    articles_t.c.content_hash,
    articles_t.c.published_at,
    articles_t.c.published_at_basis,
    articles_t.c.first_seen_at,
    articles_t.c.language,
    articles_t.c.page_text,
    articles_t.c.page_fetched_at,
    articles_t.c.version,
    articles_t.c.updated_at,
    articles_t.c.backlog,
    feeds_t.c.full_text,
    feeds_t.c.outlet,
    feeds_t.c.country,
    feeds_t.c.leaning,
    feeds_t.c.ownership,
    feeds_t.c.language.label("feed_language"),
]


def to_feed(r: RowMapping) -> Feed:
    return Feed(
        id=r["id"],
        url=r["url"],
        outlet=r["outlet"],
        country=r["country"],
        language=r["language"],
        leaning=r["leaning"],
        ownership=r["ownership"],
        interval_s=r["interval_s"],
        etag=r["etag"],
        last_modified=r["last_modified"],
        next_poll_at=r["next_poll_at"],
        last_polled_at=r["last_polled_at"],
        last_full_fetch_at=r["last_full_fetch_at"],
        last_status=r["last_status"],
        error_count=r["error_count"],
        last_error=r["last_error"],
        last_warning=r["last_warning"],
        last_new_items=r["last_new_items"],
        enabled=r["enabled"],
        full_text=r["full_text"],
        body_digest=r["body_digest"],
    )


def to_article(r: RowMapping) -> Article:
    """An article from ARTICLE_COLS; its language falls back to the feed's when undetermined."""
    language = r["language"]
    if language in (None, "", "und"):
        language = r["feed_language"] or "und"
    # A summary row (ARTICLE_SUMMARY_COLS) has no URLs, text or content hash: they are empty. Asked once per row:
    # a row's get() of a column it lacks raises and catches inside SQLAlchemy (some 2.5 us a column).
    full = "text" in r
    return Article(
        id=r["id"],
        feed_id=r["feed_id"],
        story_id=r["story_id"] or r["id"],
        url=r["url"] if full else "",
        canonical_url=r["canonical_url"] if full else "",
        title=r["title"],
        text=(r["page_text"] or r["text"]) if full else "",
        content_hash=r["content_hash"] if full else "",
        published_at=r["published_at"],
        first_seen_at=r["first_seen_at"],
        language=language,
        outlet=r["outlet"],
        country=r["country"],
        leaning=r["leaning"],
        ownership=r["ownership"],
        published_at_basis=r["published_at_basis"],
        full_text=r["full_text"],
        page_fetched_at=r["page_fetched_at"] if full else None,
        version=r["version"],
        updated_at=r["updated_at"],
        backlog=bool(r["backlog"]),
    )


def to_article_version(r: RowMapping) -> ArticleVersion:
    return ArticleVersion(
        version=r["version"],
        title=r["title"],
        text=r["text"],
        content_hash=r["content_hash"],
        updated_at=r["updated_at"],
        seen_at=r["seen_at"],
    )


def to_match_revision(r: RowMapping) -> MatchRevision:
    return MatchRevision(
        id=r["id"],
        match_id=r["match_id"],
        claim_id=r["claim_id"],
        article_id=r["article_id"],
        story_id=r["story_id"],
        version=r["version"],
        previous_version=r["previous_version"],
        content_hash=r["content_hash"],
        changes=tuple(r["changes"] or ()),
        before=dict(r["before"] or {}),
        after=dict(r["after"] or {}),
        diff=dict(r["diff"] or {}),
        updated_at=r["updated_at"],
        revised_at=r["revised_at"],
    )


def to_claim(r: RowMapping) -> Claim:
    return Claim(
        id=r["id"],
        name=r["name"],
        text=r["text"],
        keywords=tuple(r["keywords"] or ()),
        threshold=r["threshold"],
        status=ClaimStatus(r["status"]),
        created_at=r["created_at"],
        language=r["language"],
    )


def to_match(r: RowMapping) -> Match:
    """A match from the claims module's match query (match columns, claim name, ARTICLE_COLS)."""
    return Match(
        id=r["match_id"],
        claim_id=r["claim_id"],
        claim_name=r["claim_name"],
        article=to_article(r),
        score=r["score"],
        lexical=r["lexical"],
        semantic=r["semantic"],
        stance=Stance(r["stance"]),
        skepticism=r["skepticism"],
        cues=tuple(Cue(kind=c["kind"], text=c["text"]) for c in r["cues"] or ()) if "cues" in r else (),
        evidence=tuple(r["evidence"] or ()),
        matched_at=r["matched_at"],
        version=r["match_version"],
        unmatched_at=r["unmatched_at"],
    )


# A match's article as a summary reads it (to_article, to_match): ARTICLE_COLS less its text, page text, URLs and
# content hash.
ARTICLE_SUMMARY_COLS = [
    c
    for c in ARTICLE_COLS
    if c.key not in {"text", "page_text", "url", "canonical_url", "content_hash", "page_fetched_at"}
]


def to_event(r: RowMapping) -> Event:
    return Event(
        id=r["id"],
        type=EventType(r["type"]),
        claim_id=r["claim_id"],
        dedupe_key=r["dedupe_key"],
        summary=r["summary"],
        details=dict(r["details"] or {}),
        match_ids=tuple(r["match_ids"] or ()),
        created_at=r["created_at"],
        backfill=bool(r["backfill"]),
    )


def to_event_summary(r: RowMapping) -> Event:
    """An event from the outbox module's summary query: its type, times and backfill mark, with the summary,
    dedupe key and match ids empty and ``details`` holding its ``trigger_at`` alone (when it has one)."""
    trigger_at = r["trigger_at"]
    return Event(
        id=r["id"],
        type=EventType(r["type"]),
        claim_id=r["claim_id"],
        dedupe_key="",
        summary="",
        details={} if trigger_at is None else {"trigger_at": trigger_at},
        match_ids=(),
        created_at=r["created_at"],
        backfill=bool(r["backfill"]),
    )


def to_delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        event_id=r["event_id"],
        destination=r["destination"],
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        last_status=r["last_status"],
        created_at=r["created_at"],
        delivered_at=r["delivered_at"],
        leased_until=r["leased_until"],
        extra={"digest_id": r["digest_id"]} if r["digest_id"] else {},
    )
