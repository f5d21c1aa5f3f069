"""claims.threshold: reset a threshold outside 0..1 left by an upgrade to 0004 on SQLite

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

0004 used to add its checks on SQLite without fixing existing rows, so a claim with a threshold outside 0..1 kept
it, and the check then refused every update of that claim. Such a threshold is reset to NULL (the default
threshold), and each claim reset is logged as a warning. On PostgreSQL, and on databases upgraded since, there is
nothing to repair.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

logger = logging.getLogger("storage.migrations")

_INVALID = "threshold IS NOT NULL AND NOT (threshold >= 0 AND threshold <= 1)"  # NaN included on PostgreSQL


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT name, threshold FROM claims WHERE {_INVALID} ORDER BY name")).all()
    for name, threshold in rows:
        logger.warning(
            "claim %r: threshold %r is not a number from 0 to 1; reset to the default", name, threshold
        )
    if rows:
        bind.execute(sa.text(f"UPDATE claims SET threshold = NULL WHERE {_INVALID}"))


def downgrade() -> None:
    pass  # the thresholds reset were invalid; nothing to restore
