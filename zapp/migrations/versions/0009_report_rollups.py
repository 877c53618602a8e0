"""report_rollups: the store counted ahead for the reports (filled from the raw rows)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column(
            "instance_id", sa.Integer(), sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grain", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(24), nullable=False),
        sa.Column("key1", sa.String(200), nullable=False),
        sa.Column("key2", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint(
            "instance_id", "kind", "grain", "bucket", "group_id", "key1", "key2",
            postgresql_include=["count", "label"],
        ),
        sqlite_with_rowid=False,
    )  # fmt: skip
    _fill_from_the_store()


def _fill_from_the_store() -> None:
    """Rows stored before this migration are counted now (the same rebuild as ``zapp reports rebuild``)."""
    from zapp.store.rollups import rebuild

    bind = op.get_bind()
    session = Session(bind=bind)
    for (instance_id,) in bind.execute(sa.text("SELECT id FROM instances")).all():
        for _step in rebuild(session, instance_id):
            pass
    session.flush()


def downgrade() -> None:
    op.drop_table("report_rollups")
