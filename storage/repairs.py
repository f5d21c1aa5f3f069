"""Data repairs that migrations share: a row an earlier release let through that a later check refuses."""

from __future__ import annotations

import logging

import sqlalchemy as sa

logger = logging.getLogger("storage.migrations")

# NaN included on PostgreSQL, which orders it above every number; SQLite stores a NaN as NULL.
_INVALID_THRESHOLD = "threshold IS NOT NULL AND NOT (threshold >= 0 AND threshold <= 1)"


def reset_invalid_thresholds(bind: sa.Connection) -> None:
    """Set each claim's threshold outside 0..1 (or NaN) to NULL, the default, and log the claims reset
    (migrations 0004 and 0009)."""
    rows = bind.execute(
        sa.text(f"SELECT name, threshold FROM claims WHERE {_INVALID_THRESHOLD} ORDER BY name")
    ).all()
    for name, threshold in rows:
        logger.warning(
            "claim %r: threshold %r is not a number from 0 to 1; reset to the default", name, threshold
        )
    if rows:
        bind.execute(sa.text(f"UPDATE claims SET threshold = NULL WHERE {_INVALID_THRESHOLD}"))
