"""store_quotes: each quote as the newest quotes envelope told it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_quotes",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.String(length=24), nullable=False),
        sa.Column("prospect_id", sa.String(length=24), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_store_quotes_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "quote_id", name=op.f("pk_store_quotes")),
    )
    op.create_index("ix_store_quotes_prospect", "store_quotes", ["instance_id", "prospect_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_store_quotes_prospect", table_name="store_quotes")
    op.drop_table("store_quotes")
