"""the URL a feed was configured with, kept when a permanent redirect moves it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("config_url", sa.String(length=2048), nullable=True))
        batch.create_index("ix_feeds_config_url", ["config_url"])


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_index("ix_feeds_config_url")
        batch.drop_column("config_url")
