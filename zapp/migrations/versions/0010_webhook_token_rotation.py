"""instances: the previous webhook token, accepted until Sales confirms a rotation (then a grace period)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_token_index", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_webhook_token_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_instances_previous_webhook_token_index"), ["previous_webhook_token_index"]
        )


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_instances_previous_webhook_token_index"), type_="unique")
        batch_op.drop_column("previous_webhook_token_until")
        batch_op.drop_column("previous_webhook_token_index")
