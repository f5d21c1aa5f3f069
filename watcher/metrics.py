"""Prometheus metrics of the daemon (served on /metrics); one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

FEEDS_POLLED = Counter("watcher_feeds_polled", "Feed polls by outcome", ["outcome"], registry=REGISTRY)
FETCH_ERRORS = Counter("watcher_fetch_errors", "Feed fetch errors by kind", ["kind"], registry=REGISTRY)
ARTICLES = Counter("watcher_articles_stored", "New articles stored", registry=REGISTRY)
MATCHES = Counter("watcher_matches", "Matches stored", registry=REGISTRY)
EVENTS = Counter("watcher_events", "Events raised by type", ["type"], registry=REGISTRY)
DELIVERIES = Counter("watcher_deliveries", "Delivery attempts by outcome", ["outcome"], registry=REGISTRY)
DELIVERY_STATUS = Gauge(
    "watcher_deliveries_by_status", "Deliveries in the outbox by status", ["status"], registry=REGISTRY
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
UNEXPECTED = Counter(
    "watcher_unexpected_errors", "Unexpected exceptions caught by stage", ["stage"], registry=REGISTRY
)
