"""claim language, per-feed full text mode, article page text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("full_text", sa.String(length=8), nullable=False, server_default="auto"))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("page_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("page_fetched_at", storage.tables.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("page_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("page_error")
        batch.drop_column("page_fetched_at")
        batch.drop_column("page_text")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("full_text")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("language")
