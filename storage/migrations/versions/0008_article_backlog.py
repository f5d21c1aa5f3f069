"""articles.backlog: undated items of a feed's first successful poll are an archive, not news

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Articles stored before are not marked: what they raised has been raised already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("backlog", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("backlog")
