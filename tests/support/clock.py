"""A clock that tests and benchmarks move by hand, so that feeds and retries fall due when they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Callable like ``watcher.domain.utcnow``; starts at ``start`` (now, to the second, by default).

    ``advance(minutes=10)`` moves it forward; ``now`` may also be set outright.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        """Move forward by ``timedelta(**kw)``."""
        self.now += timedelta(**kw)
