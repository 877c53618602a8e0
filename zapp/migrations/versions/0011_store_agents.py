"""store_agents: each agent's latest name; indexes to rename an agent's store rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_agents",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_store_agents_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "agent_id", name=op.f("pk_store_agents")),
    )
    op.create_index("ix_store_prospects_agent", "store_prospects", ["instance_id", "agent_id"], unique=False)
    op.create_index(
        "ix_store_interactions_agent", "store_interactions", ["instance_id", "agent_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_store_interactions_agent", table_name="store_interactions")
    op.drop_index("ix_store_prospects_agent", table_name="store_prospects")
    op.drop_table("store_agents")
