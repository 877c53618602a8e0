"""The webhook inbox: store each event once, durably, before Sales gets its acknowledgement.

"Once" is the database's job: ``webhook_events`` has a unique constraint on
(instance, dedupe key) and the insert is ``ON CONFLICT DO NOTHING``, so any
number of concurrent deliveries of one event leave one row, and only the
delivery whose insert created it queues the processing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, DateTime, Insert, String, bindparam, literal, select

from ..db import Database, dialect_insert
from ..installations.errors import InstallationNotFound
from ..installations.lookup import listening, listening_at
from ..models import Instance, WebhookEvent, utcnow
from ..vault import Vault

# What changes from one delivery attempt of an event to the next.
PER_DELIVERY_FIELDS = frozenset({"attempts", "sent", "received"})


@dataclass(frozen=True)
class Receipt:
    """The outcome of one delivery: the new event's id, or None when it was a duplicate."""

    event_id: int | None

    @property
    def duplicate(self) -> bool:
        return self.event_id is None


def dedupe_key(envelope: Mapping[str, Any]) -> str:
    """The same for every delivery of one event, different for different events.

    Sales' ``operationId`` names the operation; it is hashed with the topic
    and type, so one operation's notifications on two topics stay two events,
    and the key fits the column whatever Sales' ids look like. Without an
    ``operationId`` the key is a hash of the canonical envelope minus the
    fields that change per delivery attempt.
    """
    operation = envelope.get("operationId")
    if isinstance(operation, str) and operation:
        material = json.dumps(["operation", envelope.get("topic"), envelope.get("type"), operation])
    else:
        stable = {key: value for key, value in envelope.items() if key not in PER_DELIVERY_FIELDS}
        material = json.dumps(["envelope", stable], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class Inbox:
    def __init__(self, database: Database, vault: Vault) -> None:
        self._vault = vault
        self._insert = database.compiled(_insert_for_listener(database.engine.dialect.name))
        self._listening = database.compiled(_LISTENING)

    def store(self, token: str, envelope: dict[str, Any]) -> Receipt:
        """Store the event for the instance listening at ``token``, durably, before returning.

        One statement finds the instance and inserts the event (an
        acknowledgement's whole cost in the database); only when it stores
        nothing (a duplicate, or nobody listens) does a second one tell which.

        Raises ``InstallationNotFound`` for an unknown or deleted instance; database
        errors propagate (the view answers 503, so Sales retries).
        """
        index = self._vault.blind_index(token)  # may open a transaction itself: before ours
        now = utcnow()
        row = {"index": index, "now": now, "dedupe_key": dedupe_key(envelope), "topic": envelope["topic"],
               "kind": envelope["type"], "payload": envelope, "received_at": now}  # fmt: skip
        event_id = self._insert.scalar(row)
        if event_id is None and self._listening.scalar({"index": index, "now": now}) is None:
            raise InstallationNotFound("no installation listens at this address")
        return Receipt(event_id)


# Built once: the acknowledgement path runs them for every delivery. The instance listens at its
# current token, and at the previous one until a rotation's grace is over (``webhooks.tokens``).
_INDEX: BindParameter[str] = bindparam("index", type_=String())
_NOW: BindParameter[datetime] = bindparam("now", type_=DateTime(timezone=True))
_LISTENING = listening_at(_INDEX, _NOW)


def _insert_for_listener(dialect: str) -> Insert:
    """``INSERT INTO webhook_events ... SELECT`` from the listening instance, ``ON CONFLICT DO NOTHING``."""
    values = select(
        Instance.id,
        bindparam("dedupe_key", type_=String()),
        bindparam("topic", type_=String()),
        bindparam("kind", type_=String()),
        bindparam("payload", type_=WebhookEvent.__table__.c.payload.type),
        bindparam("received_at", type_=WebhookEvent.__table__.c.received_at.type),
        literal(0),
    ).where(listening(_INDEX, _NOW))
    columns = ["instance_id", "dedupe_key", "topic", "kind", "payload", "received_at", "attempts"]
    return (
        dialect_insert(dialect)(WebhookEvent)
        .from_select(columns, values)
        .on_conflict_do_nothing(index_elements=["instance_id", "dedupe_key"])
        .returning(WebhookEvent.id)
    )
