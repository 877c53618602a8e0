"""How long stored webhook events are kept.

An event's row is what makes a repeated delivery harmless, and its payload is
what an operator reads when processing failed, so events are kept well past
Sales' retries and the sweep's give-up (3 days): ``ZAPP_EVENT_RETENTION_DAYS``,
30 by default. Then an hourly job deletes them in batches: the processed ones,
and the unprocessed ones of enabled instances (the sweep gave up on them long
ago) and of deleted ones (nothing will process them). Kept whatever their age:
the unprocessed events of an instance waiting to be enabled (enabling it
processes them), and each instance's newest event (the reports' freshness
reads its time).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, exists, or_, select
from sqlalchemy.orm import aliased

from ..db import Database
from ..models import Instance, InstanceState, WebhookEvent

PURGE_BATCH = 5_000


def purge_events(database: Database, received_before: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete the events that are past keeping, a batch per transaction; returns how many."""
    deleted = 0
    while True:
        with database.transaction() as session:
            ids = list(session.scalars(_past_keeping(received_before).limit(batch)))
            if ids:
                session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


def _past_keeping(received_before: datetime) -> Select:
    newer = aliased(WebhookEvent)
    has_newer = exists().where(
        newer.instance_id == WebhookEvent.instance_id, newer.received_at > WebhookEvent.received_at
    )
    never_to_process = WebhookEvent.instance_id.in_(
        select(Instance.id).where(
            Instance.state.in_((InstanceState.ENABLED.value, InstanceState.DELETED.value))
        )
    )
    return (
        select(WebhookEvent.id)
        .where(
            WebhookEvent.received_at < received_before,
            or_(WebhookEvent.processed_at.is_not(None), never_to_process),
            has_newer,
        )
        .order_by(WebhookEvent.id)
    )
