"""Processing stored webhook events (a job per event): the store upserts and the automatic reply.

An event is processed in three steps so that no transaction waits on Sales:
read it (and its instance), ask Sales what is needed (a ``created``
prospect is re-read whole: the envelope carries summaries), then one
transaction that locks the event, upserts the store, claims any automatic
reply and sets ``processed_at``. A second run of the same event finds
``processed_at`` set and does nothing; the upserts are newest-wins, so events
arriving out of order never roll a record back.

Events of an instance that is not enabled stay pending; enabling it queues
its backlog (``Jobs.on_lifecycle``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..installations.clients import SalesClients, StoredKey
from ..models import Instance, InstanceState, StoredProspect, WebhookEvent, utcnow
from ..sales import SalesClient
from ..sales.errors import NotFound
from ..sales.ids import OBJECT_ID
from ..sales.inferred import QUOTE_ENVELOPE_KEY, UPDATE_ITEM_KEYS
from ..store.agents import agents_named, note_agent_names
from ..store.quotes import quote_row, store_quote
from ..store.records import (
    epoch_ms,
    interaction_row,
    prospect_row,
    prospect_summary_row,
    store_interactions,
    store_prospects,
)
from .auto_reply import AutoReplier, ReplyPlan
from .custom_field_writer import first_contacted
from .retention import PURGE_BATCH, purge_events
from .schemas import is_known

log = logging.getLogger(__name__)

FirstContactListener = Callable[[int, str], None]
"""Called with (instance id, prospect id) after a commit that stored a prospect's first contact."""

# The sweep backs off after each failure (1, 2, 4 ... minutes, at most an hour) and gives up on an
# event only when it is this old: counting attempts would retire events after a short outage,
# since huey's own retries and the sweep both count.
SWEEP_FIRST_BACKOFF = timedelta(minutes=1)
SWEEP_MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)
# An event the sweep or the backlog has queued is left to that job this long before it is queued again.
REQUEUE_AFTER = timedelta(minutes=5)


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    PENDING = "pending"  # the instance is not enabled: kept for later
    ALREADY = "already"  # another run processed it first
    GONE = "gone"  # no such event (its instance was removed)
    IGNORED = "ignored"  # a topic or type we do not know: kept as delivered, marked, never retried


@dataclass(frozen=True)
class _Event:
    id: int
    instance_id: int
    topic: str
    kind: str
    payload: dict[str, Any]
    key_index: str
    key_ciphertext: bytes = field(repr=False)
    reply: ReplyPlan | None


@dataclass
class _Work:
    full_prospects: list[dict[str, Any]] = field(default_factory=list)
    partial_prospects: list[dict[str, Any]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    reply_to: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (prospect, its group)
    first_contacts: list[str] = field(default_factory=list)  # set when committed


class EventProcessor:
    def __init__(self, database: Database, clients: SalesClients, replier: AutoReplier) -> None:
        self._database = database
        self._clients = clients
        self._replier = replier
        self._first_contact_listeners: list[FirstContactListener] = []

    def on_first_contact(self, listener: FirstContactListener) -> None:
        """Be told of each prospect whose first contact an event brought (the custom fields' job)."""
        self._first_contact_listeners.append(listener)

    def process(self, event_id: int) -> Outcome:
        """Process one stored event, at most once; Sales errors propagate (the job retries)."""
        loaded = self._load(event_id)
        if isinstance(loaded, Outcome):
            return loaded
        if not is_known(loaded.topic, loaded.kind):
            return self._ignore(loaded)
        client = self._clients.client_for(loaded)
        work = self._prepare(loaded, client)
        outcome, claimed = self._commit(loaded, work)
        for prospect_id in work.first_contacts:
            for listener in self._first_contact_listeners:
                listener(loaded.instance_id, prospect_id)
        if loaded.reply is not None:
            for prospect in claimed:
                self._replier.send(client, loaded.instance_id, loaded.reply, prospect)
        return outcome

    def _ignore(self, event: _Event) -> Outcome:
        """Mark an event of an unknown topic or type processed, saying so where people look."""
        reason = f"ignored: unknown topic {event.topic!r} or type {event.kind!r}"
        with self._database.transaction() as session:
            row = session.get(WebhookEvent, event.id, with_for_update=True)
            if row is None or row.processed_at is not None:
                return Outcome.ALREADY if row is not None else Outcome.GONE
            row.processed_at, row.last_error = utcnow(), reason[:200]
        log.warning("webhook event %s %s", event.id, reason, extra={"webhook_outcome": "ignored"})
        return Outcome.IGNORED

    def replies_due(self, now: datetime) -> list[tuple[int, str]]:
        return self._replier.due(now)

    def retry_reply(self, instance_id: int, prospect_id: str) -> bool:
        """Try an automatic reply again while its instance is enabled and still asks for it."""
        with self._database.reading_session() as session:
            instance = session.get(Instance, instance_id)
            if instance is None or not instance.is_active or instance.key_ciphertext is None:
                return False  # kept: enabling the instance brings it back to the sweep
            plan = ReplyPlan.from_settings(instance.settings or {})
            key = StoredKey.of(instance)
        if plan is None:
            self._replier.give_up(instance_id, prospect_id, "automatic reply was turned off")
            return False
        if key.key_index is None:
            return False
        return self._replier.resend(self._clients.client_for(key), instance_id, plan, prospect_id)

    def record_failure(self, event_id: int, error: BaseException) -> None:
        """Count the failed attempt and keep a short reason (Sales errors name the path, never the key)."""
        with self._database.transaction() as session:
            event = session.get(WebhookEvent, event_id)
            if event is not None and event.processed_at is None:
                event.attempts += 1
                event.last_error = f"{type(error).__name__}: {error}"[:200]
                event.retry_at = utcnow() + sweep_backoff(event.attempts)

    def pending_of(self, public_id: str) -> list[int]:
        """The instance's unprocessed events, oldest first (the backlog queued when it is enabled),
        marked as queued so that the sweep leaves them to these jobs for a while."""
        with self._database.transaction() as session:
            ids = list(
                session.scalars(
                    select(WebhookEvent.id)
                    .join(Instance, Instance.id == WebhookEvent.instance_id)
                    .where(Instance.public_id == public_id, WebhookEvent.processed_at.is_(None))
                    .order_by(WebhookEvent.id)
                )
            )
            return _mark_queued(session, ids, utcnow())

    def stale(self, now: datetime, older_than: timedelta, limit: int = 500) -> list[int]:
        """Events of enabled instances left unprocessed for longer than ``older_than`` (lost enqueues)
        or failed and past their backoff; none older than ``GIVE_UP_AFTER``. Marked as queued, so
        that a queue running behind does not get the same events again every minute."""
        with self._database.transaction() as session:
            ids = list(
                session.scalars(
                    select(WebhookEvent.id)
                    .join(Instance, Instance.id == WebhookEvent.instance_id)
                    .where(
                        WebhookEvent.processed_at.is_(None),
                        WebhookEvent.received_at < now - older_than,
                        WebhookEvent.received_at > now - GIVE_UP_AFTER,
                        or_(WebhookEvent.retry_at.is_(None), WebhookEvent.retry_at < now),
                        Instance.state == InstanceState.ENABLED.value,
                    )
                    .order_by(WebhookEvent.id)
                    .limit(limit)
                )
            )
            return _mark_queued(session, ids, now)

    def claim_new(self, after_id: int, now: datetime, limit: int = 500) -> tuple[list[int], int]:
        """Events stored after ``after_id`` that nothing has queued yet, of enabled instances, marked as
        queued; and the last id looked at. How the worker finds new events: the acknowledgement
        writes the event and nothing else.

        The look is a read; only found events are claimed, with an update that takes only rows
        still unclaimed, so several workers feeding at once never queue an event twice.
        """
        with self._database.reading() as connection:
            found = {"after": after_id, "enabled": InstanceState.ENABLED.value, "limit": limit}
            ids = list(connection.scalars(_UNQUEUED, found))
        if not ids:
            return [], after_id
        with self._database.transaction() as session:
            claimed = session.scalars(
                update(cast(Table, WebhookEvent.__table__))
                .where(WebhookEvent.id.in_(ids), WebhookEvent.retry_at.is_(None))
                .values(retry_at=now + REQUEUE_AFTER)
                .returning(WebhookEvent.id)
            )
            return sorted(claimed), ids[-1]

    def release(self, ids: list[int], claimed_at: datetime) -> None:
        """Undo ``claim_new``'s claims (made at ``claimed_at``) on events that could not be queued."""
        with self._database.transaction() as session:
            session.execute(
                update(cast(Table, WebhookEvent.__table__))
                .where(WebhookEvent.id.in_(ids), WebhookEvent.retry_at == claimed_at + REQUEUE_AFTER)
                .values(retry_at=None)
            )

    def purge(self, received_before: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete the events past keeping (see ``retention``), a batch per transaction; how many."""
        return purge_events(self._database, received_before, batch)

    # -- steps -------------------------------------------------------------------

    def _load(self, event_id: int) -> _Event | Outcome:
        with self._database.reading_session() as session:
            event = session.get(WebhookEvent, event_id)
            if event is None:
                return Outcome.GONE
            if event.processed_at is not None:
                return Outcome.ALREADY
            instance = session.get(Instance, event.instance_id)
            if instance is None or instance.key_ciphertext is None or instance.key_index is None:
                return Outcome.GONE
            if not instance.is_active:
                return Outcome.PENDING
            return _Event(
                id=event.id,
                instance_id=instance.id,
                topic=event.topic,
                kind=event.kind,
                payload=event.payload,
                key_index=instance.key_index,
                key_ciphertext=instance.key_ciphertext,
                reply=ReplyPlan.from_settings(instance.settings or {}),
            )

    def _prepare(self, event: _Event, client: SalesClient) -> _Work:
        work = _Work()
        summaries = [s for s in event.payload.get("prospect") or () if isinstance(s, Mapping)]
        if event.topic == "prospects" and event.kind == "created":
            windows = _windows(event.payload)
            for summary in summaries:
                prospect, read_at = _reread(client, summary.get("id")), utcnow()
                if prospect is None:
                    continue
                row = prospect_row(event.instance_id, prospect, read_at=read_at, **windows)
                if row is not None:
                    work.full_prospects.append(row)
                    work.reply_to.append((prospect, row["group_id"]))
        elif event.topic == "prospects":
            work.partial_prospects = _summary_rows(event, summaries, _windows(event.payload))
        elif event.topic in ("agents", "quotes"):
            # Their prospect summaries are as current as any other envelope's (L1266-1329).
            work.partial_prospects = _summary_rows(event, summaries, {})
            if event.topic == "quotes":
                work.quotes = _quote_rows(event)
        elif event.topic == "interactions":
            work.partial_prospects = _summary_rows(event, summaries, {})
            self._prepare_interaction(event, client, summaries, work)
        return work

    def _prepare_interaction(
        self, event: _Event, client: SalesClient, summaries: list[Mapping[str, Any]], work: _Work
    ) -> None:
        """The interaction's row, filed under its prospect's group.

        Interactions name their prospect, not its group, which the reports
        need: the envelope's summary tells it, else the store, else the
        prospect read from Sales (stored whole too). An interaction of a
        prospect that is gone or not ours is left out.
        """
        interaction = _interaction_of(event.payload)
        if interaction is None:
            return
        prospect_id = interaction.get("prospectId")
        group = interaction.get("groupId") or _group_in(summaries, prospect_id)
        group = group or self._stored_group(event.instance_id, prospect_id)
        if group is None:
            prospect, read_at = _reread(client, prospect_id), utcnow()
            row = prospect_row(event.instance_id, prospect, read_at=read_at) if prospect else None
            if row is not None:
                work.full_prospects.append(row)
                group = row["group_id"]
        row = interaction_row(event.instance_id, interaction, group_id=group)
        if row is not None:
            work.interactions.append(row)

    def _stored_group(self, instance_id: int, prospect_id: Any) -> str | None:
        if not isinstance(prospect_id, str):
            return None
        with self._database.reading_session() as session:
            return session.scalar(
                select(StoredProspect.group_id).where(
                    StoredProspect.instance_id == instance_id, StoredProspect.prospect_id == prospect_id
                )
            )

    def _commit(self, event: _Event, work: _Work) -> tuple[Outcome, list[dict[str, Any]]]:
        with self._database.transaction() as session:
            row = session.get(WebhookEvent, event.id, with_for_update=True)
            if row is None:
                return Outcome.GONE, []
            if row.processed_at is not None:
                return Outcome.ALREADY, []
            instance = session.get(Instance, event.instance_id)
            if instance is None or not instance.is_active:  # disabled while we asked Sales
                return Outcome.PENDING, []
            work.first_contacts = first_contacted(
                session, event.instance_id, [*work.full_prospects, *work.partial_prospects]
            )
            store_prospects(session, work.full_prospects)
            store_prospects(session, work.partial_prospects, partial=True)
            store_interactions(session, work.interactions)
            for quote in work.quotes:
                store_quote(session, quote)
            rows = [*work.full_prospects, *work.partial_prospects, *work.interactions]
            note_agent_names(session, event.instance_id, agents_named(rows))
            row.processed_at = utcnow()
            row.last_error = None
            if event.reply is None:
                return Outcome.PROCESSED, []
            claimed = [
                prospect
                for prospect, group_id in work.reply_to
                if self._replier.claim(session, event.instance_id, prospect["id"], group_id)
            ]
            return Outcome.PROCESSED, claimed


# Unprocessed, never queued, newer than the feed's cursor: the pending index (processed_at, id) drives it.
_UNQUEUED = (
    select(WebhookEvent.id)
    .join(Instance, Instance.id == WebhookEvent.instance_id)
    .where(
        WebhookEvent.processed_at.is_(None),
        WebhookEvent.retry_at.is_(None),
        WebhookEvent.id > bindparam("after"),
        Instance.state == bindparam("enabled"),
    )
    .order_by(WebhookEvent.id)
    .limit(bindparam("limit"))
)


def _mark_queued(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Hold the events back from the sweep until ``REQUEUE_AFTER`` (a failure sets its own backoff)."""
    if ids:
        session.execute(
            update(WebhookEvent).where(WebhookEvent.id.in_(ids)).values(retry_at=now + REQUEUE_AFTER)
        )
    return ids


def sweep_backoff(attempts: int) -> timedelta:
    return min(SWEEP_FIRST_BACKOFF * 2 ** min(max(attempts - 1, 0), 10), SWEEP_MAX_BACKOFF)


def _reread(client: SalesClient, prospect_id: Any) -> dict[str, Any] | None:
    """The whole prospect as Sales has it now; None when it is gone or not ours to see."""
    if not isinstance(prospect_id, str) or not OBJECT_ID.fullmatch(prospect_id):
        return None
    try:
        return client.get_prospect(prospect_id)
    except NotFound:
        return None


def _windows(payload: Mapping[str, Any]) -> dict[str, int | None]:
    """The conversation windows the envelope tells (only those it tells: others are kept)."""
    windows: dict[str, int | None] = {}
    if payload.get("whatsAppDueAt"):
        windows["whatsapp_due_ms"] = epoch_ms(payload["whatsAppDueAt"])
    if payload.get("facebookDueAt"):
        windows["facebook_due_ms"] = epoch_ms(payload["facebookDueAt"])
    return windows


def _with_updates(summary: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """The summary with ``updates[]`` applied and the event's time.

    The seed prints ``updates`` as ``[{}]``; its item shape is ``inferred.UPDATE_ITEM_KEYS``. A
    change of ``agent`` names an id, not the summary's array of agents: the summary tells the agent.
    """
    merged = dict(summary)
    name_key, value_key = UPDATE_ITEM_KEYS
    for change in payload.get("updates") or ():
        if not isinstance(change, Mapping) or value_key not in change:
            continue
        name = change.get(name_key)
        if isinstance(name, str) and name != "agent":
            merged[name] = change[value_key]
    if not merged.get("updatedAt") and payload.get("updatedAt"):
        merged["updatedAt"] = payload["updatedAt"]
    return merged


def _summary_rows(
    event: _Event, summaries: list[Mapping[str, Any]], windows: dict[str, int | None]
) -> list[dict[str, Any]]:
    rows = []
    for summary in summaries:
        row = prospect_summary_row(event.instance_id, _with_updates(summary, event.payload), **windows)
        if row is not None:
            rows.append(row)
    return rows


def _quote_rows(event: _Event) -> list[dict[str, Any]]:
    payload = event.payload
    row = quote_row(event.instance_id, payload.get(QUOTE_ENVELOPE_KEY), updated_at=payload.get("updatedAt"))
    return [row] if row is not None else []


def _interaction_of(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    interaction = payload.get("interaction")
    if not isinstance(interaction, Mapping):
        return None
    if not interaction.get("updatedAt") and payload.get("updatedAt"):
        # Interactions carry no time of change: two status updates would otherwise tie.
        return {**interaction, "updatedAt": payload["updatedAt"]}
    return dict(interaction)


def _group_in(summaries: list[Mapping[str, Any]], prospect_id: Any) -> str | None:
    """The group the envelope's summary of the prospect names (the only summary, if ids are missing)."""
    group = next((s.get("groupId") for s in summaries if s.get("id") == prospect_id), None)
    if group is None and len(summaries) == 1 and not summaries[0].get("id"):
        group = summaries[0].get("groupId")
    return group if isinstance(group, str) else None
