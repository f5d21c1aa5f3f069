"""claim_pauses: when each claim was paused and resumed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

A paused claim matches nothing, so its coverage has a hole while paused. Spike detection averaged the baseline
rate over that hole as if the press had been silent, and coverage at its usual pace after a resume read as a
spike. Each pause is now kept, and detection leaves it out of the time it observed the claim.

A claim paused before 0011 (and not removed) gets an open pause from its last update, which is when
``claims pause`` or the configuration paused it unless it was edited since.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, storage.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "claim_pauses",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("claim_id", _ID, nullable=False),
        _time("paused_at", nullable=False),
        _time("resumed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_pauses_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_pauses")),
    )
    op.create_index(op.f("ix_claim_pauses_claim_id"), "claim_pauses", ["claim_id"], unique=False)
    claims = sa.table(
        "claims", sa.column("id"), sa.column("status"), sa.column("updated_at"), sa.column("deleted_at")
    )
    pauses = sa.table("claim_pauses", sa.column("claim_id"), sa.column("paused_at"))
    paused = sa.select(claims.c.id, claims.c.updated_at).where(
        claims.c.status == "paused", claims.c.deleted_at.is_(None)
    )
    op.execute(pauses.insert().from_select(["claim_id", "paused_at"], paused))


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_pauses_claim_id"), table_name="claim_pauses")
    op.drop_table("claim_pauses")
