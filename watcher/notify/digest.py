"""Digest planning: which pending deliveries of a digest destination go out together, and when; pure."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.domain import Delivery, DeliveryStatus, Destination
from watcher.notify.payload import digest_message_id
from watcher.notify.retry import RETRY_WINDOW

logger = logging.getLogger(__name__)

DIGEST_ID_KEY = "digest_id"  # key in Delivery.extra that pins a delivery to the digest it first went out in
MAX_DIGEST_EVENTS = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestBatch:
    """Deliveries to send as one message. The loop stores ``extra[DIGEST_ID_KEY] = digest_id`` on each,
    sends ``render_digest_for(...)`` with ``message_id=digest_id``, then applies the one result to each."""

    destination: str
    digest_id: str
    deliveries: tuple[Delivery, ...]


def plan_digests(
    pending: Sequence[Delivery],
    destinations: Mapping[str, Destination],
    now: datetime,
    *,
    max_events: int = MAX_DIGEST_EVENTS,
) -> list[DigestBatch]:
    """The digests due at ``now`` among pending deliveries of digest destinations (``digest_minutes`` > 0).

    A new digest is due when its oldest delivery has waited ``digest_minutes`` or it is full. A digest that
    failed is retried with exactly the same deliveries, so its id (the receiver's dedupe key) never changes; a
    part of one made due again by hand goes out under an id of its own.
    Deliveries of other destinations are ignored.
    """
    retries: dict[tuple[str, str], list[Delivery]] = {}
    fresh: dict[str, list[Delivery]] = {}
    for delivery in pending:
        target = destinations.get(delivery.destination)
        if target is None or target.digest_minutes <= 0 or delivery.status is not DeliveryStatus.PENDING:
            continue
        digest_id = delivery.extra.get(DIGEST_ID_KEY)
        if isinstance(digest_id, str):
            retries.setdefault((delivery.destination, digest_id), []).append(delivery)
        else:
            fresh.setdefault(delivery.destination, []).append(delivery)
    batches = [
        # The id of the events sent: the pinned one when the whole digest is sent again, a new one for a part
        # of it made due again by hand (under the whole one's id a receiver would drop it as a repeat).
        DigestBatch(
            destination=name,
            digest_id=digest_message_id([d.event_id for d in group]),
            deliveries=tuple(group),
        )
        for (name, _), group in retries.items()
        if _is_due(group, now)
    ]
    for name, group in fresh.items():
        batches.extend(_new_batches(name, group, destinations[name].digest_minutes, now, max_events))
    return batches


def _is_due(group: Sequence[Delivery], now: datetime) -> bool:
    """Whether every delivery of a digest is due: its next attempt has come, or lies further ahead than the
    retry window (which no retry outlasts: a clock since set back wrote it)."""
    latest = now + RETRY_WINDOW
    return all(d.next_attempt_at is None or not now < d.next_attempt_at <= latest for d in group)


def _new_batches(
    name: str, group: list[Delivery], minutes: int, now: datetime, max_events: int
) -> list[DigestBatch]:
    group.sort(key=lambda d: (d.created_at, d.id))
    window = timedelta(minutes=minutes)
    batches = []
    for start in range(0, len(group), max_events):
        chunk = tuple(group[start : start + max_events])
        if len(chunk) < max_events and chunk[0].created_at + window > now:
            break  # the newest, partial chunk keeps collecting until its window closes
        ids = [d.event_id for d in chunk]
        batches.append(DigestBatch(destination=name, digest_id=digest_message_id(ids), deliveries=chunk))
    return batches
