"""claims.detect_due_at: when a claim's detection must run again without new coverage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

A story's article revisions seen within the article_revised cooldown are held and announced when it ends; a
claim with held revisions and no new match was not detected again, so they waited for its next coverage.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("detect_due_at", storage.tables.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("detect_due_at")
