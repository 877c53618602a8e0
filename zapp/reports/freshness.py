"""How current a report's data is: the store is filled by history imports and webhooks, never live.

A manager must be able to tell "nobody called these leads" from "the App has
not heard about the calls yet", so every report says when the store last
heard from Sales and whether an import is still running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..models import StoredInteraction, StoredProspect, SyncState, WebhookEvent


@dataclass(frozen=True)
class ImportProgress:
    kind: str
    imported: int
    started_at: datetime


@dataclass(frozen=True)
class Freshness:
    """``synced_at``: the newest of the last finished sync and the last webhook; None if never."""

    synced_at: datetime | None
    running: tuple[ImportProgress, ...]
    has_data: bool

    @property
    def nothing_imported(self) -> bool:
        return not self.has_data and self.synced_at is None and not self.running


def read_freshness(session: Session, instance_id: int) -> Freshness:
    states = session.scalars(select(SyncState).where(SyncState.instance_id == instance_id)).all()
    last_webhook = session.scalar(
        select(func.max(WebhookEvent.received_at)).where(WebhookEvent.instance_id == instance_id)
    )
    synced = [_aware(state.last_synced_at) for state in states if state.last_synced_at is not None]
    if last_webhook is not None:
        synced.append(_aware(last_webhook))
    running = tuple(
        ImportProgress(state.kind, state.imported or 0, _aware(state.started_at))
        for state in states
        # An import that started and has not finished is running, whatever its status word says.
        if state.started_at is not None and state.finished_at is None
    )
    return Freshness(max(synced) if synced else None, running, _has_rows(session, instance_id))


def _has_rows(session: Session, instance_id: int) -> bool:
    prospects = exists().where(StoredProspect.instance_id == instance_id)
    interactions = exists().where(StoredInteraction.instance_id == instance_id)
    return bool(session.scalar(select(prospects | interactions)))


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
