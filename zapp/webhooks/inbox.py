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
from typing import Any

from sqlalchemy import bindparam, select

from ..db import Database, dialect_insert
from ..errors import ApiError
from ..models import Instance, InstanceState, WebhookEvent, utcnow
from ..vault import Vault

# What changes from one delivery attempt of an event to the next.
PER_DELIVERY_FIELDS = frozenset({"attempts", "sent", "received"})


class UnknownWebhook(ApiError):
    def __init__(self) -> None:
        super().__init__(
            404,
            "No installation listens at this address; it may have been deleted.",
            code="unknown_webhook",
        )


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
        self._database = database
        self._vault = vault
        # Built once: the acknowledgement runs it for every delivery.
        self._insert = (
            dialect_insert(database.engine.dialect.name)(WebhookEvent)
            .on_conflict_do_nothing(index_elements=["instance_id", "dedupe_key"])
            .returning(WebhookEvent.id)
        )

    def store(self, token: str, envelope: dict[str, Any]) -> Receipt:
        """Store the event for the instance listening at ``token``, in one transaction.

        Raises ``UnknownWebhook`` for an unknown or deleted instance; database
        errors propagate (the view answers 503, so Sales retries).
        """
        index = self._vault.blind_index(token)  # may open a transaction itself: before ours
        row = {"dedupe_key": dedupe_key(envelope), "topic": envelope["topic"], "kind": envelope["type"],
               "payload": envelope, "received_at": utcnow(), "attempts": 0}  # fmt: skip
        with self._database.engine.begin() as connection:
            instance_id = connection.scalar(_LISTENING, {"index": index})
            if instance_id is None:
                raise UnknownWebhook()
            return Receipt(connection.scalar(self._insert, {"instance_id": instance_id, **row}))


# Built once: the acknowledgement path runs it for every delivery.
_LISTENING = select(Instance.id).where(
    Instance.webhook_token_index == bindparam("index"), Instance.state != InstanceState.DELETED.value
)
