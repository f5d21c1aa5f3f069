"""Retry policy, outcome classification, delivery updates and digest planning: pure functions."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.records import make_delivery
from watcher.domain import Delivery, DeliveryStatus, Destination
from watcher.ingest.retry_after import retry_after_seconds
from watcher.notify import (
    DIGEST_ID_KEY,
    ErrorKind,
    Outcome,
    SendResult,
    apply_outcome,
    classify,
    digest_message_id,
    next_attempt_delay,
    plan_digests,
)
from watcher.notify.retry import JITTER, MAX_ATTEMPTS, MAX_ERROR_CHARS, RETRY_WINDOW, SCHEDULE

NOW = datetime(2025, 11, 6, 15, 0, tzinfo=UTC)


def delivery(attempts: int = 0, **kw: object) -> Delivery:
    return make_delivery(**({"attempts": attempts, "next_attempt_at": NOW, "created_at": NOW} | kw))


def result(
    status: int | None, outcome: Outcome, *, retry_after: float | None = None, error: str = "e"
) -> SendResult:
    return SendResult(outcome=outcome, status=status, error=error, retry_after_s=retry_after, elapsed_ms=1.0)


def test_schedule_is_the_documented_one() -> None:
    hours = [d / timedelta(hours=1) for d in SCHEDULE]
    assert SCHEDULE[:5] == (
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
    )
    assert hours[5:] == [10.0] * 6
    assert sum(SCHEDULE, timedelta()) <= timedelta(days=3)
    assert sum(SCHEDULE, timedelta()) + timedelta(hours=10) > timedelta(days=3)
    assert MAX_ATTEMPTS == 12


@given(attempt=st.integers(1, len(SCHEDULE)), seed=st.integers(0, 2**32))
def test_delays_have_bounded_jitter(attempt: int, seed: int) -> None:
    delay = next_attempt_delay(attempt, random.Random(seed))
    nominal = SCHEDULE[attempt - 1]
    assert delay is not None
    assert nominal * (1 - JITTER) <= delay <= nominal * (1 + JITTER)


def test_jitter_spreads_retries_and_schedule_ends() -> None:
    delays = {next_attempt_delay(1, random.Random(seed)) for seed in range(20)}
    assert len(delays) > 10
    assert next_attempt_delay(len(SCHEDULE) + 1, random.Random(0)) is None
    with pytest.raises(ValueError, match="starts at 1"):
        next_attempt_delay(0, random.Random(0))


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (200, None, Outcome.DELIVERED),
        (202, None, Outcome.DELIVERED),
        (299, None, Outcome.DELIVERED),
        (408, None, Outcome.RETRY),
        (429, None, Outcome.RETRY),
        (500, None, Outcome.RETRY),
        (502, None, Outcome.RETRY),
        (503, None, Outcome.RETRY),
        (504, None, Outcome.RETRY),
        (400, None, Outcome.DEAD),
        (401, None, Outcome.DEAD),
        (403, None, Outcome.DEAD),
        (404, None, Outcome.DEAD),
        (422, None, Outcome.DEAD),
        (301, None, Outcome.DEAD),
        (410, None, Outcome.DISABLE),
        (None, ErrorKind.TIMEOUT, Outcome.RETRY),
        (None, ErrorKind.NETWORK, Outcome.RETRY),
        (None, ErrorKind.INVALID, Outcome.DEAD),
        (None, None, Outcome.RETRY),
    ],
)
def test_classify(status: int | None, kind: ErrorKind | None, expected: Outcome) -> None:
    assert classify(status, kind) is expected


def test_retry_after_seconds() -> None:
    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds(" 0 ", NOW) == 0.0
    for junk in ("\u00b2", "\u0663", "1\u00b2"):  # digits to isdigit(), not to a header
        assert retry_after_seconds(junk, NOW) is None
    assert retry_after_seconds("Thu, 06 Nov 2025 15:10:00 GMT", NOW) == 600.0
    assert retry_after_seconds("Thu, 06 Nov 2025 14:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds("-5", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_delivered() -> None:
    update = apply_outcome(delivery(2), result(204, Outcome.DELIVERED), NOW, random.Random(0))
    assert update.status is DeliveryStatus.DELIVERED
    assert (update.attempts, update.delivered_at, update.next_attempt_at) == (3, NOW, None)
    assert (update.last_status, update.last_error, update.disable_destination) == (204, None, False)


def test_retry_follows_schedule() -> None:
    update = apply_outcome(delivery(1), result(500, Outcome.RETRY, error="HTTP 500"), NOW, random.Random(0))
    assert update.status is DeliveryStatus.PENDING
    assert update.attempts == 2
    assert update.next_attempt_at is not None
    assert timedelta(minutes=4.5) <= update.next_attempt_at - NOW <= timedelta(minutes=5.5)
    assert (update.last_status, update.last_error) == (500, "HTTP 500")


def test_retry_after_wins_when_longer_and_schedule_when_shorter() -> None:
    longer = apply_outcome(delivery(), result(429, Outcome.RETRY, retry_after=120), NOW, random.Random(0))
    assert longer.next_attempt_at == NOW + timedelta(seconds=120)
    shorter = apply_outcome(delivery(2), result(503, Outcome.RETRY, retry_after=1), NOW, random.Random(0))
    assert shorter.next_attempt_at is not None
    assert shorter.next_attempt_at - NOW >= timedelta(minutes=27)


def test_retry_after_beyond_the_window_is_dead() -> None:
    update = apply_outcome(
        delivery(), result(429, Outcome.RETRY, retry_after=4 * 86400), NOW, random.Random(0)
    )
    assert update.status is DeliveryStatus.DEAD


def test_dead_after_the_last_scheduled_attempt() -> None:
    rng = random.Random(1)
    current, now, attempts_made = delivery(), NOW, 0
    while current.status is DeliveryStatus.PENDING:
        update = apply_outcome(current, result(503, Outcome.RETRY), now, rng)
        attempts_made += 1
        now = update.next_attempt_at or now
        current = delivery(update.attempts, status=update.status, next_attempt_at=update.next_attempt_at)
    assert attempts_made == MAX_ATTEMPTS
    assert current.status is DeliveryStatus.DEAD
    assert timedelta(days=2.5) < now - NOW <= timedelta(days=3) * (1 + JITTER)


@pytest.mark.parametrize("retry_after_s", [86400, 259000])
def test_retry_after_never_stretches_the_retry_window(retry_after_s: float) -> None:
    """A receiver that keeps asking for long waits gets its last try at the window's end, then none."""
    rng = random.Random(0)
    current, now, attempts_made = delivery(), NOW, 0
    while current.status is DeliveryStatus.PENDING:
        update = apply_outcome(
            current, result(429, Outcome.RETRY, retry_after=retry_after_s, error="HTTP 429"), now, rng
        )
        attempts_made += 1
        if update.next_attempt_at is not None:
            assert update.next_attempt_at <= NOW + RETRY_WINDOW
            now = update.next_attempt_at
        current = delivery(update.attempts, status=update.status, next_attempt_at=update.next_attempt_at)
    assert now == NOW + RETRY_WINDOW, "the last try is at the window's end, not beyond"
    assert attempts_made == (4 if retry_after_s == 86400 else 3)
    assert update.status is DeliveryStatus.DEAD and update.next_attempt_at is None
    assert update.last_error == f"retry window exhausted (3 days) after {attempts_made} attempts: HTTP 429"


def test_a_wait_is_cut_to_what_is_left_of_the_window() -> None:
    late = NOW + RETRY_WINDOW - timedelta(hours=1)
    for retry_after in (None, 7200.0):
        update = apply_outcome(
            delivery(6), result(503, Outcome.RETRY, retry_after=retry_after), late, random.Random(0)
        )
        assert (update.status, update.next_attempt_at) == (DeliveryStatus.PENDING, NOW + RETRY_WINDOW)
    early = apply_outcome(delivery(), result(503, Outcome.RETRY, retry_after=60), NOW, random.Random(0))
    assert early.next_attempt_at == NOW + timedelta(seconds=60), "a wait within the window is kept"


def test_gone_disables_and_permanent_is_dead() -> None:
    gone = apply_outcome(delivery(), result(410, Outcome.DISABLE), NOW, random.Random(0))
    assert gone.status is DeliveryStatus.CANCELLED and gone.disable_destination
    dead = apply_outcome(delivery(), result(400, Outcome.DEAD, error="x" * 5000), NOW, random.Random(0))
    assert dead.status is DeliveryStatus.DEAD and not dead.disable_destination
    assert dead.next_attempt_at is None and dead.last_status == 400
    assert dead.last_error is not None and len(dead.last_error) == MAX_ERROR_CHARS


DESTS = {
    "daily": Destination(name="daily", kind="webhook", url="https://a.example/", digest_minutes=10),
    "live": Destination(name="live", kind="slack", url="https://b.example/"),
}


def test_digest_waits_for_its_window_then_groups() -> None:
    pending = [
        delivery(id=i, event_id=f"evt_{i}", destination="daily", created_at=NOW + timedelta(minutes=i))
        for i in range(3)
    ]
    pending.append(delivery(id=9, destination="live"))
    assert plan_digests(pending, DESTS, NOW + timedelta(minutes=9)) == []
    [batch] = plan_digests(pending, DESTS, NOW + timedelta(minutes=10))
    assert batch.destination == "daily"
    assert [d.id for d in batch.deliveries] == [0, 1, 2]
    assert batch.digest_id == digest_message_id(["evt_0", "evt_1", "evt_2"])


def test_full_digests_go_out_early_and_retries_keep_their_group() -> None:
    pending = [delivery(id=i, event_id=f"evt_{i}", destination="daily") for i in range(5)]
    batches = plan_digests(pending, DESTS, NOW, max_events=2)
    assert [len(b.deliveries) for b in batches] == [2, 2]  # the fifth waits for its window
    pinned = digest_message_id(["evt_0", "evt_1"])  # the id the digest went out with
    retry = [
        delivery(
            id=i,
            event_id=f"evt_{i}",
            destination="daily",
            extra={DIGEST_ID_KEY: pinned},
            next_attempt_at=NOW + timedelta(hours=1),
        )
        for i in range(2)
    ]
    assert plan_digests(retry, DESTS, NOW) == []
    [batch] = plan_digests(retry, DESTS, NOW + timedelta(hours=1))
    assert batch.digest_id == pinned and len(batch.deliveries) == 2


def test_a_digest_retry_scheduled_by_a_clock_since_set_back_is_due() -> None:
    """A retry further ahead than the retry window (which no retry outlasts) was scheduled by a clock that
    was ahead: the digest goes out now rather than days late. One within the window waits."""
    pinned = digest_message_id(["evt_0", "evt_1"])
    far = [
        delivery(
            id=i,
            event_id=f"evt_{i}",
            destination="daily",
            extra={DIGEST_ID_KEY: pinned},
            next_attempt_at=NOW + RETRY_WINDOW + timedelta(days=1),
        )
        for i in range(2)
    ]
    [batch] = plan_digests(far, DESTS, NOW)
    assert batch.digest_id == pinned
    near = [replace(d, next_attempt_at=NOW + RETRY_WINDOW) for d in far]
    assert plan_digests(near, DESTS, NOW) == []
