"""publication time of articles, backfill flag of events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(
            sa.Column("published_at_basis", sa.String(length=16), nullable=False, server_default="published")
        )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("backfill", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Articles stored before: no date means first seen; a date after first seen is clamped to it.
    op.execute(
        "UPDATE articles SET published_at = first_seen_at, published_at_basis = 'first_seen' "
        "WHERE published_at IS NULL"
    )
    op.execute(
        "UPDATE articles SET published_at = first_seen_at, published_at_basis = 'clamped' "
        "WHERE published_at > first_seen_at"
    )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("backfill")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("published_at_basis")
