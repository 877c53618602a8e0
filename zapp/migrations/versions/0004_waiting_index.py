"""store: index for the contacts still waiting for a first contact

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_prospects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_store_prospects_waiting", ["instance_id", "first_contact_ms", "created_ms"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("store_prospects", schema=None) as batch_op:
        batch_op.drop_index("ix_store_prospects_waiting")
