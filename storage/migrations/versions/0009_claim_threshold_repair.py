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

from alembic import op

from storage.repairs import reset_invalid_thresholds

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    reset_invalid_thresholds(op.get_bind())


def downgrade() -> None:
    pass  # the thresholds reset were invalid; nothing to restore
