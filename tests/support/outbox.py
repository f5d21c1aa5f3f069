"""Pending deliveries prepared through the Store API, as the stages before delivery would have stored them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.base import PollOutcome
from storage.sql import SqlStore
from tests.support.records import CLAIM_TEXT, make_article_in, make_claim, make_match_score
from watcher.domain import (
    ArticleIn,
    Cue,
    Destination,
    Event,
    EventDraft,
    EventType,
    FeedSpec,
    Framing,
    Stance,
)

EVENT_TYPES = (EventType.FIRST_SEEN, EventType.COVERAGE_SPIKE, EventType.NEW_SEGMENT, EventType.FRAMING_SHIFT)
DEFAULT_FEED = FeedSpec(url="https://feeds.example/kyiv.xml", outlet="Kyiv Post", country="UA", language="en")


def _article(i: int, now: datetime) -> ArticleIn:
    return make_article_in(
        url=f"https://news.example/ammo-{i}",
        title=f"{CLAIM_TEXT}, report {i} says",
        content_hash=f"ammo-{i}",
        published_at=now,
    )


async def seed_events(
    store: SqlStore,
    destinations: Sequence[Destination],
    count: int,
    now: datetime,
    *,
    feed: FeedSpec = DEFAULT_FEED,
    articles: int = 10,
    claim_name: str = "nato-ammo",
) -> list[Event]:
    """``count`` events for one claim, each with a pending delivery to every destination.

    Builds what the stages before delivery would have stored: a polled feed, matched articles, a claim.
    """
    await store.sync_feeds([feed], source="config", now=now)
    (leased,) = await store.lease_due_feeds(now, 1, lease_s=60, all=True)
    outcome = PollOutcome(polled_at=now, next_poll_at=now, status=200, error=None)
    article_ids = await store.record_poll(leased.id, outcome, [_article(i, now) for i in range(articles)])
    claim = await store.add_claim(make_claim(id=0, name=claim_name), now=now)
    framing = Framing(stance=Stance.SUPPORTS, skepticism=0.1, cues=(Cue(kind="attribution", text="said"),))
    results = [
        (
            make_match_score(claim_id=claim.id, article_id=aid),
            framing,
        )
        for aid in article_ids
    ]
    await store.save_matches(article_ids, results, now)
    match_ids = [m.id for m in await store.matches_for_claim(claim.id)]
    await store.sync_destinations(destinations)
    drafts = [
        EventDraft(
            type=EVENT_TYPES[i % len(EVENT_TYPES)],
            claim_id=claim.id,
            dedupe_key=f"outbox:{i}",
            summary=f"Event {i} of {count}",
            details={"n": i},
            match_ids=(match_ids[i % len(match_ids)],),
            created_at=now + timedelta(milliseconds=i),
        )
        for i in range(count)
    ]
    events = await store.record_events(claim.id, drafts, destinations, now)
    assert len(events) == count
    return events
