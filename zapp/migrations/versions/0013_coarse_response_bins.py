"""report_rollups: speed-to-lead rows re-binned into the coarse response bins (and each target's bound)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The ``stl_agent`` / ``stl_source`` rows counted with per-minute bins are recounted from the store
    in the bins the report now reads (the same rebuild a change of the target makes)."""
    _rebin_speed_to_lead()


def downgrade() -> None:
    """The older code reads per-minute bins, which only its own code can count: the coarse rows are
    dropped (no report reads them as minutes) and ``zapp reports rebuild`` of that version refills them."""
    op.execute(sa.text("DELETE FROM report_rollups WHERE kind IN ('stl_agent', 'stl_source')"))


def _rebin_speed_to_lead() -> None:
    from zapp.store.rollups import SPEED_TO_LEAD_KINDS, rebuild

    bind = op.get_bind()
    session = Session(bind=bind)
    for (instance_id,) in bind.execute(sa.text("SELECT id FROM instances")).all():
        for _step in rebuild(session, instance_id, SPEED_TO_LEAD_KINDS):
            pass
    session.flush()
