"""Record factories for tests and benchmarks: a plausible record, with only what a test cares about overridden.

``make_article(id=7, outlet="RT")`` is article 7 (its URLs, story and content hash follow the id) from RT,
everything else a plain English news item first seen at T0.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from watcher.domain import (
    Article,
    ArticleIn,
    Claim,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Match,
    MatchScore,
    Stance,
)

T0 = datetime(2025, 11, 6, 15, 2, tzinfo=UTC)
CLAIM_TEXT = "NATO has surpassed Russia in ammunition production"


def make_claim(**overrides: Any) -> Claim:
    """Claim 1, "nato-ammo", active, no keywords."""
    fields: dict[str, Any] = {"id": 1, "name": "nato-ammo", "text": CLAIM_TEXT}
    return Claim(**(fields | overrides))


def make_article_in(**overrides: Any) -> ArticleIn:
    """A parsed feed item keyed by its URL (https://news.example/ammo by default), published at T0."""
    url = overrides.get("url", "https://news.example/ammo")
    fields: dict[str, Any] = {
        "key": url,
        "url": url,
        "canonical_url": url,
        "title": f"{CLAIM_TEXT}, report says",
        "text": f"{CLAIM_TEXT}, officials said on Thursday.",
        "content_hash": url,
        "published_at": T0,
    }
    return ArticleIn(**(fields | overrides))


def make_article(**overrides: Any) -> Article:
    """A stored article; ``id`` (1 by default) also names its URLs, story and content hash."""
    i = overrides.get("id", 1)
    url = f"https://news.example/{i}"
    fields: dict[str, Any] = {
        "id": i,
        "feed_id": 1,
        "story_id": i,
        "url": url,
        "canonical_url": url,
        "title": f"Article {i}",
        "text": "...",
        "content_hash": f"h{i}",
        "published_at": T0,
        "first_seen_at": T0,
        "language": "en",
        "outlet": "Example Times",
        "country": "US",
        "leaning": "center",
        "ownership": "private",
    }
    return Article(**(fields | overrides))


def make_match_score(**overrides: Any) -> MatchScore:
    """A matched score of claim 1 against article 1, lexical only."""
    fields: dict[str, Any] = {
        "claim_id": 1,
        "article_id": 1,
        "score": 0.9,
        "lexical": 0.9,
        "semantic": None,
        "evidence": (f"{CLAIM_TEXT}.",),
        "matched": True,
    }
    return MatchScore(**(fields | overrides))


def make_match(**overrides: Any) -> Match:
    """Match 1 of claim 1 ("nato-ammo") with article 1 (``make_article()``), supporting, at T0."""
    fields: dict[str, Any] = {
        "id": 1,
        "claim_id": 1,
        "claim_name": "nato-ammo",
        "article": make_article(),
        "score": 0.8,
        "lexical": 0.8,
        "semantic": None,
        "stance": Stance.SUPPORTS,
        "skepticism": 0.0,
        "cues": (),
        "evidence": (f"{CLAIM_TEXT}.",),
        "matched_at": T0,
    }
    return Match(**(fields | overrides))


def make_event(**overrides: Any) -> Event:
    """Event "evt_1", first_seen of claim 1 on match 1, at T0; its dedupe key is its id."""
    event_id = overrides.get("id", "evt_1")
    fields: dict[str, Any] = {
        "id": event_id,
        "type": EventType.FIRST_SEEN,
        "claim_id": 1,
        "dedupe_key": event_id,
        "summary": "First coverage: Example Times (US, private)",
        "details": {},
        "match_ids": (1,),
        "created_at": T0,
    }
    return Event(**(fields | overrides))


def make_delivery(**overrides: Any) -> Delivery:
    """Delivery 1 of "evt_1" to "cms", pending and due at T0, never attempted."""
    fields: dict[str, Any] = {
        "id": 1,
        "event_id": "evt_1",
        "destination": "cms",
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": T0,
        "last_error": None,
        "last_status": None,
        "created_at": T0,
    }
    return Delivery(**(fields | overrides))


def feed_row(
    feed_id: int, *, outlet: str, country: str, leaning: str, ownership: str, now: datetime, **more: Any
) -> dict[str, Any]:
    """A ``feeds`` row, for bulk inserts: feed ``feed_id`` at https://feed{id}.example/rss, in English unless
    ``more`` says otherwise, due at ``now``."""
    return {
        "id": feed_id,
        "url": f"https://feed{feed_id}.example/rss",
        "outlet": outlet,
        "country": country,
        "language": "en",
        "leaning": leaning,
        "ownership": ownership,
        "next_poll_at": now,
        "created_at": now,
    } | more


def stance_revision_row(
    match: Mapping[str, Any],
    *,
    was: str,
    revised_at: datetime,
    diff: Mapping[str, Any] | None = None,
    content_hash: str | None = None,
) -> dict[str, Any]:
    """A ``match_revisions`` row, for bulk inserts: the stored match row ``match`` (a ``matches`` row as inserted)
    moved from stance ``was`` to its own at ``revised_at``, its article from version 1 to 2."""
    return {
        "match_id": match["id"],
        "claim_id": match["claim_id"],
        "article_id": match["article_id"],
        "story_id": match["story_id"],
        "version": 2,
        "previous_version": 1,
        "content_hash": content_hash or f"r{match['id']}",
        "changes": ["stance"],
        "before": {"stance": was, "matched": True},
        "after": {"stance": match["stance"], "matched": True},
        "diff": dict(diff or {}),
        "revised_at": revised_at,
    }
