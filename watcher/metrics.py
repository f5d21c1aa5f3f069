"""Prometheus metrics of the daemon (served on /metrics); one registry per process.

Every label takes its values from a fixed set, declared here. Each distinct value is a time series kept in
memory for the life of the process and printed on every scrape, so a value outside its set (a feed URL, an
error message, a status text) is counted under ``other`` instead: with 50,000 feeds one stray call site
would otherwise grow /metrics by megabytes and could put a credential from a URL on the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from watcher.domain import DeliveryStatus, EventType

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

OTHER = "other"

# The label sets. FETCH_ERROR_KINDS mirrors watcher.ingest.fetch.ErrorKind (a test keeps them equal); it is
# spelled out here so that importing the metrics does not import the HTTP stack.
POLL_OUTCOMES = ("ok", "not_modified", "unchanged", "error")
FETCH_ERROR_KINDS = (
    "timeout",
    "http",
    "oversized",
    "network",
    "refused",
    "redirect",
    "tls",
    "parse",
    "encoding",
)
EVENT_TYPES = tuple(t.value for t in EventType)
DELIVERY_STATUSES = tuple(s.value for s in DeliveryStatus)
STAGES = ("poll", "process", "match", "detect", "deliver", "clock")

_M = TypeVar("_M", bound="_Bounded")


class _Bounded:
    """Mixin, before the metric class, for a metric with one label whose values come from a fixed set."""

    _allowed: frozenset[str] = frozenset()
    _warned = False

    def _bounded(self, value: object) -> str:
        text = str(value)
        if text in self._allowed:
            return text
        if not self._warned:
            self._warned = True
            # The value itself is not shown: it is what must not reach the page, and may hold a credential.
            logger.warning(
                "metric %s got a label value outside its set; counted as %r",
                getattr(self, "_name", "?"),
                OTHER,
            )
        return OTHER

    def labels(self: _M, *labelvalues: object, **labelkwargs: object) -> _M:
        if labelvalues:
            labelvalues = tuple(self._bounded(v) for v in labelvalues)
        labelkwargs = {k: self._bounded(v) for k, v in labelkwargs.items()}
        # super(): the metric class that follows this mixin (Counter, Gauge)
        return super().labels(*labelvalues, **labelkwargs)  # type: ignore[misc,no-any-return]


class BoundedCounter(_Bounded, Counter):
    pass


class BoundedGauge(_Bounded, Gauge):
    pass


_B = TypeVar("_B", BoundedCounter, BoundedGauge)


def _with_values(metric: _B, values: Iterable[str]) -> _B:
    """Restrict the metric's label to ``values`` (and ``other``) and create each series at zero, so that
    rate() and alerts on a series work from the first scrape, before the first such event."""
    metric._allowed = frozenset(values) | {OTHER}
    for value in sorted(metric._allowed):
        metric.labels(value)
    return metric


FEEDS_POLLED = _with_values(
    BoundedCounter("watcher_feeds_polled", "Feed polls by outcome", ["outcome"], registry=REGISTRY),
    POLL_OUTCOMES,
)
FETCH_ERRORS = _with_values(
    BoundedCounter("watcher_fetch_errors", "Feed fetch errors by kind", ["kind"], registry=REGISTRY),
    FETCH_ERROR_KINDS,
)
ARTICLES = Counter("watcher_articles_stored", "New articles stored", registry=REGISTRY)
MATCHES = Counter("watcher_matches", "Matches stored", registry=REGISTRY)
EVENTS = _with_values(
    BoundedCounter("watcher_events", "Events raised by type", ["type"], registry=REGISTRY), EVENT_TYPES
)
DELIVERIES = _with_values(
    BoundedCounter("watcher_deliveries", "Delivery attempts by outcome", ["outcome"], registry=REGISTRY),
    DELIVERY_STATUSES,
)
DELIVERY_STATUS = _with_values(
    BoundedGauge(
        "watcher_deliveries_by_status", "Deliveries in the outbox by status", ["status"], registry=REGISTRY
    ),
    DELIVERY_STATUSES,
)
CYCLE_SECONDS = Histogram(
    "watcher_cycle_seconds",
    "Duration of one poll cycle (poll, match, detect, deliver)",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "watcher_delivery_latency_seconds",
    "From an article being first seen to its alert being delivered",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
LAST_CYCLE = Gauge(
    "watcher_last_cycle_timestamp_seconds", "Unix time the last cycle finished", registry=REGISTRY
)
UNEXPECTED = _with_values(
    BoundedCounter(
        "watcher_unexpected_errors", "Unexpected exceptions caught by stage", ["stage"], registry=REGISTRY
    ),
    STAGES,
)
