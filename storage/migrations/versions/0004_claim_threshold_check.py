"""claims.threshold is NULL or a number from 0 to 1 (never NaN)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Before 0004 nothing refused a threshold outside 0..1 or NaN (the old CLI let ``nan`` through). Such a threshold is
first reset to NULL, i.e. the default threshold, and each claim reset is logged as a warning; otherwise the check
below would refuse the upgrade on PostgreSQL, and on SQLite refuse every later update of the claim.
"""

from __future__ import annotations

from alembic import op

from storage.repairs import reset_invalid_thresholds

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# PostgreSQL orders NaN above every number, so the range check refuses it. SQLite stores a NaN as NULL and
# cannot rebuild the claims table without touching the rows that reference it, so triggers check the range.
_SQLITE_TRIGGER = """
CREATE TRIGGER ck_claims_threshold_{when} BEFORE {when} ON claims
WHEN NEW.threshold IS NOT NULL AND NOT (NEW.threshold >= 0 AND NEW.threshold <= 1)
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_claims_threshold_range'); END
"""


def upgrade() -> None:
    reset_invalid_thresholds(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        for when in ("INSERT", "UPDATE"):
            op.execute(_SQLITE_TRIGGER.format(when=when))
    else:
        op.create_check_constraint("threshold_range", "claims", "threshold >= 0 AND threshold <= 1")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for when in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER ck_claims_threshold_{when}")
    else:
        op.drop_constraint("ck_claims_threshold_range", "claims", type_="check")
