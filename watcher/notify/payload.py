"""JSON renderings of matches, events and digests: the DESIGN.md contracts, shared by the CLI and webhooks."""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from watcher.domain import Claim, Event, Match
from watcher.text.display import display_title

logger = logging.getLogger(__name__)

DIGEST_TYPE = "digest"
# Articles in a webhook body: an event about a large shift can rest on thousands of matches, and each
# renders to a kilobyte or more. A body whose list was cut says so with ``articles_total``.
MAX_EVENT_ARTICLES = 50
MAX_DIGEST_EVENT_ARTICLES = 10  # per event of a digest, which carries up to notify.digest.MAX_DIGEST_EVENTS


@dataclass(frozen=True, slots=True, kw_only=True)
class EventBundle:
    """An event with the claim and matches needed to render it."""

    event: Event
    claim: Claim
    matches: tuple[Match, ...]


def iso_z(value: datetime | None) -> str | None:
    """Format a timestamp as ISO-8601 UTC with a ``Z`` suffix, to the second; naive values count as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        # Storage hands back aware UTC values; a naive one can only be UTC that lost its zone.
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_match(match: Match) -> dict[str, Any]:
    """One element of ``matches list --json`` (DESIGN.md "A match").

    An untitled article's ``title`` is the first words of its text, with ``untitled`` true. An article its
    feed revised also has its ``version`` (the current one) and ``versions`` (each one's number, title, feed
    date and when watcher saw it, oldest first).
    """
    article = match.article
    title, untitled = display_title(article)
    out: dict[str, Any] = {
        "claim": {"id": match.claim_id, "name": match.claim_name},
        "article": {
            "id": article.id,
            "url": article.url,
            "title": title,
            "untitled": untitled,
            "outlet": article.outlet,
            "country": article.country,
            "language": article.language,
            "leaning": article.leaning,
            "ownership": article.ownership,
            "published_at": iso_z(article.published_at),
            "published_at_basis": article.published_at_basis,
        },
        "score": round(match.score, 4),
        "stance": str(match.stance),
        "skepticism": round(match.skepticism, 4),
        "cues": [{"kind": cue.kind, "text": cue.text} for cue in match.cues],
        "evidence": list(match.evidence),
        "matched_at": iso_z(match.matched_at),
    }
    if article.version > 1:
        out["article"]["version"] = article.version
        out["article"]["versions"] = [
            {
                "version": v.version,
                "title": v.title,
                "updated_at": iso_z(v.updated_at),
                "seen_at": iso_z(v.seen_at),
            }
            for v in article.versions
        ]
    if match.unmatched_at is not None:
        out["unmatched_at"] = iso_z(match.unmatched_at)
    return out


def report_url(public_url: str | None, claim: Claim) -> str | None:
    """The claim's report page under the daemon's ``public_url``; None without one."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/claims/{urllib.parse.quote(claim.name, safe='')}/report"


def top_matches(matches: Sequence[Match], limit: int) -> list[Match]:
    """The ``limit`` most relevant of ``matches`` (highest score; the newest match among equal scores), in
    the order given; all of them when there are no more than ``limit``."""
    if len(matches) <= limit:
        return list(matches)
    ranked = sorted(range(len(matches)), key=lambda i: (matches[i].score, matches[i].id), reverse=True)
    return [matches[i] for i in sorted(ranked[: max(limit, 0)])]


def render_event(
    event: Event,
    claim: Claim,
    matches: Sequence[Match],
    *,
    report: str | None = None,
    max_articles: int | None = None,
) -> dict[str, Any]:
    """The event JSON of DESIGN.md, which is also the body of a generic webhook.

    :param matches: the matches behind the event, rendered in the order given.
    :param report: the claim's report page (``report_url``); the body has a ``report_url`` when given.
    :param max_articles: render only this many of ``matches``, the most relevant (``top_matches``); None
        renders all. A body with fewer articles than ``matches`` has ``articles_total``, their number: the
        keys of DESIGN.md stay as they are, and a receiver that knows none of this reads a shorter list.
    """
    shown = matches if max_articles is None else top_matches(matches, max_articles)
    body = {
        "id": event.id,
        "type": str(event.type),
        "claim": {"id": claim.id, "name": claim.name, "text": claim.text},
        "summary": event.summary,
        "details": jsonable(event.details),
        "articles": [render_match(m) for m in shown],
        "created_at": iso_z(event.created_at),
        "backfill": event.backfill,
    }
    if report is not None:
        body["report_url"] = report
    if len(shown) < len(matches):
        body["articles_total"] = len(matches)
    return body


def digest_message_id(event_ids: Sequence[str]) -> str:
    """A stable id for a digest: the same set of events always yields the same id, so retries dedupe."""
    digest = hashlib.sha256("\n".join(sorted(set(event_ids))).encode()).hexdigest()
    return f"dig_{digest[:32]}"


def render_digest(
    bundles: Sequence[EventBundle], *, created_at: datetime, public_url: str | None = None
) -> dict[str, Any]:
    """A digest webhook body: ``{"id": "dig_...", "type": "digest", "events": [event JSON...], ...}``.

    Only destinations configured with ``digest_minutes`` receive this shape; the id is derived from the
    event ids so that every retry of the same digest carries the same id. With the daemon's ``public_url``
    each event has its ``report_url``, as a single event's body does. Each event carries its
    MAX_DIGEST_EVENT_ARTICLES most relevant articles (and ``articles_total`` when it has more).
    """
    return {
        "id": digest_message_id([b.event.id for b in bundles]),
        "type": DIGEST_TYPE,
        "events": [
            render_event(
                b.event,
                b.claim,
                b.matches,
                report=report_url(public_url, b.claim),
                max_articles=MAX_DIGEST_EVENT_ARTICLES,
            )
            for b in bundles
        ],
        "created_at": iso_z(created_at),
    }


def jsonable(value: Any) -> Any:
    """Event details as JSON-safe values: timestamps as ISO-8601 Z, enums by value, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # Anything else would make json.dumps fail at send time, turning one odd value into a dead alert.
    logger.debug("details value of type %s rendered as text", type(value).__name__)
    return str(value)
