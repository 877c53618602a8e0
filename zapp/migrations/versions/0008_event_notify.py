"""webhook_events: PostgreSQL notifies the workers' feed of every stored event

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A row trigger: an INSERT ... ON CONFLICT DO NOTHING that stores nothing (a duplicate) notifies no one.
# The notification is sent at commit, so a worker woken by it always finds the event.
_FUNCTION = """
CREATE OR REPLACE FUNCTION zapp_notify_webhook_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('zapp_webhook_events', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_TRIGGER = """
CREATE TRIGGER webhook_events_notify AFTER INSERT ON webhook_events
FOR EACH ROW EXECUTE FUNCTION zapp_notify_webhook_event()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the feed looks every half second instead
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS webhook_events_notify ON webhook_events")
    op.execute("DROP FUNCTION IF EXISTS zapp_notify_webhook_event()")
