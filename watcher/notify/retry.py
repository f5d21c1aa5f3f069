"""Delivery retry policy: classify an HTTP outcome and schedule the next attempt; pure, no I/O."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from watcher.domain import Delivery, DeliveryStatus, DeliveryUpdate

logger = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(days=3)
JITTER = 0.1  # each delay is scaled by a factor in [1 - JITTER, 1 + JITTER]
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_ERROR_CHARS = 500

_HEAD = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
)
_TAIL = timedelta(hours=10)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: try again later
    DEAD = "dead"  # permanent for this delivery
    DISABLE = "disable"  # the receiver is gone (HTTP 410): cancel everything pending for the destination


class ErrorKind(StrEnum):
    """Why a request produced no HTTP status."""

    TIMEOUT = "timeout"
    NETWORK = "network"
    INVALID = "invalid"  # our side: bad URL, bad secret, body not JSON; retrying cannot help


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """What one delivery attempt did. ``error`` never contains a URL or a secret.

    ``elapsed_ms`` is the whole attempt, including any wait for Slack pacing.
    """

    outcome: Outcome
    status: int | None
    error: str | None
    retry_after_s: float | None
    elapsed_ms: float


def _build_schedule() -> tuple[timedelta, ...]:
    delays = list(_HEAD)
    total = sum(delays, timedelta())
    while total + _TAIL <= RETRY_WINDOW:
        delays.append(_TAIL)
        total += _TAIL
    return tuple(delays)


# 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h while the nominal total stays within three days.
SCHEDULE: tuple[timedelta, ...] = _build_schedule()
MAX_ATTEMPTS = len(SCHEDULE) + 1


def next_attempt_delay(attempt: int, rng: random.Random) -> timedelta | None:
    """Delay before the next try after ``attempt`` failed attempts (1 = the first try failed).

    Returns None once the schedule is spent: the delivery is dead.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts failed attempts and starts at 1, got {attempt}")
    if attempt > len(SCHEDULE):
        return None
    # Jitter spreads out retries of many deliveries that failed together (a receiver outage).
    return SCHEDULE[attempt - 1] * rng.uniform(1 - JITTER, 1 + JITTER)


def classify(status: int | None, error_kind: ErrorKind | None = None) -> Outcome:
    """Map an HTTP status, or the kind of error when there was none, to what happens next."""
    if status is None:
        return Outcome.DEAD if error_kind is ErrorKind.INVALID else Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.DISABLE
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    if 300 <= status < 500:
        # Redirects are not followed (they could point anywhere), so a moved endpoint needs a config fix.
        return Outcome.DEAD
    return Outcome.RETRY


def apply_outcome(
    delivery: Delivery, result: SendResult, now: datetime, rng: random.Random
) -> DeliveryUpdate:
    """The delivery's state after ``result``: delivered, rescheduled, dead, or cancelled (410).

    Retries stay within ``RETRY_WINDOW`` of the delivery's ``created_at``: a longer wait (``Retry-After``
    included) is cut to the time left, and a failure once the window is spent is final.
    """
    attempts = delivery.attempts + 1
    error = _clip(result.error)
    if result.outcome is Outcome.DELIVERED:
        return DeliveryUpdate(
            status=DeliveryStatus.DELIVERED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=None,
            last_status=result.status,
            delivered_at=now,
        )
    if result.outcome is Outcome.DISABLE:
        return _final(DeliveryStatus.CANCELLED, attempts, error, result, disable=True)
    if result.outcome is Outcome.DEAD:
        return _final(DeliveryStatus.DEAD, attempts, error, result)
    delay = _retry_delay(attempts, result, rng)
    if delay is None:
        return _final(
            DeliveryStatus.DEAD, attempts, _clip(f"gave up after {attempts} attempts: {error}"), result
        )
    # The window counts from when the delivery was queued: no wait, however long the receiver asks for,
    # stretches it. The last attempt falls at its end at the latest.
    left = delivery.created_at + RETRY_WINDOW - now
    if left <= timedelta():
        return _final(
            DeliveryStatus.DEAD,
            attempts,
            _clip(f"retry window exhausted ({_days(RETRY_WINDOW)}) after {attempts} attempts: {error}"),
            result,
        )
    return DeliveryUpdate(
        status=DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now + min(delay, left),
        last_error=error,
        last_status=result.status,
        delivered_at=None,
    )


def _retry_delay(attempts: int, result: SendResult, rng: random.Random) -> timedelta | None:
    delay = next_attempt_delay(attempts, rng)
    asked_s = result.retry_after_s
    if delay is None or asked_s is None or math.isnan(asked_s):
        return delay
    # Compared as a number first: timedelta() overflows on a Retry-After of 10**14 s or inf.
    if asked_s > RETRY_WINDOW.total_seconds():
        # A receiver asking us to wait longer than we keep retrying anything is as good as a refusal.
        return None
    return max(delay, timedelta(seconds=max(asked_s, 0.0)))


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days != 1 else "1 day"


def _final(
    status: DeliveryStatus, attempts: int, error: str | None, result: SendResult, *, disable: bool = False
) -> DeliveryUpdate:
    return DeliveryUpdate(
        status=status,
        attempts=attempts,
        next_attempt_at=None,
        last_error=error,
        last_status=result.status,
        delivered_at=None,
        disable_destination=disable,
    )


def _clip(error: str | None) -> str | None:
    if error is None or len(error) <= MAX_ERROR_CHARS:
        return error
    return error[: MAX_ERROR_CHARS - 1] + "…"
