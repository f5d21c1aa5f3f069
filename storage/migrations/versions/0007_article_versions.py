"""article versions: revised titles and texts kept, matches re-framed on the new version

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Articles stored before need no backfill: an article without rows in article_versions is at version 1, and
its first revision writes version 1 (from the article row) along with version 2.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, storage.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(_time("updated_at", nullable=True))
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(_time("unmatched_at", nullable=True))
    op.create_table(
        "article_versions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        _time("updated_at", nullable=True),
        _time("seen_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_versions_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint("article_id", "version", name=op.f("uq_article_versions_article_id_version")),
    )
    op.create_table(
        "match_revisions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("match_id", _ID, nullable=False),
        sa.Column("claim_id", _ID, nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        _time("updated_at", nullable=True),
        _time("revised_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_match_revisions_match_id_matches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_match_revisions_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_revisions")),
        sa.UniqueConstraint("match_id", "version", name=op.f("uq_match_revisions_match_id_version")),
    )
    op.create_index(op.f("ix_match_revisions_claim_id"), "match_revisions", ["claim_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_match_revisions_claim_id"), table_name="match_revisions")
    op.drop_table("match_revisions")
    op.drop_table("article_versions")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("unmatched_at")
        batch.drop_column("version")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("version")
