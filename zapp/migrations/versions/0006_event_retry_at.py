"""webhook_events: when the sweep may try a failed event again; the last event of an instance by index

The index on ``instance_id`` alone goes: the unique constraint and the new
index both lead with it, and every acknowledgement paid for the third copy.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_webhook_events_instance_received", ["instance_id", "received_at"], unique=False
        )
        batch_op.drop_index("ix_webhook_events_instance_id")


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_events_instance_id", ["instance_id"], unique=False)
        batch_op.drop_index("ix_webhook_events_instance_received")
        batch_op.drop_column("retry_at")
