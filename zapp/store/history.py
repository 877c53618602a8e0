"""The history import: the last N days of prospects, then interactions, into the store.

It reads through the client's windowed iterators and commits each page
together with its checkpoint, its count and ``last_synced_at`` in
``sync_states``, so a crash loses at most the page in flight and the next run
resumes after the last committed one; every item is counted once.

Two runs of one import cannot both count a page: a page commits only if the
stored cursor is still the one the run read from (compare and set, in the
page's transaction), so the run that falls behind stops. Nothing has to be
unlocked after a crash, which a lock in the job queue would need (huey's
locks do not expire). Runs as a job after the first successful provisioning
and on demand (``zapp backfill``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..installations.clients import SalesClients
from ..installations.lookup import by_public_id
from ..installations.settings_form import merged_settings
from ..models import Instance, InstanceState, StoredProspect, SyncState, utcnow
from ..sales import SalesClient
from ..sales.errors import Forbidden, NotFound, SalesError
from ..sales.paging import Checkpoint
from .records import interaction_row, prospect_row, store_interactions, store_prospects

log = logging.getLogger(__name__)

KINDS = ("prospects", "interactions")
# An import that has committed nothing for this long has stopped: its worker died or its retries ran out.
STALLED_AFTER = timedelta(minutes=15)
_ANY_GROUP = "0" * 24  # only to ask whether an interaction lacks nothing but its group


class ImportRefused(Exception):
    """The instance cannot be imported now; the message says what to do about it."""


@dataclass(frozen=True)
class ImportStep:
    """One committed page: its kind, the rows it stored and the kind's total so far."""

    kind: str
    stored: int
    imported: int


@dataclass(frozen=True)
class _Target:
    instance_id: int
    public_id: str
    key_index: str
    key_ciphertext: bytes = field(repr=False)
    default_days: int


@dataclass(frozen=True)
class _Plan:
    start: datetime
    end: datetime
    cursor: dict[str, Any] | None  # as stored: the compare-and-set expects it unchanged

    @property
    def resume_from(self) -> Checkpoint | None:
        return Checkpoint.from_dict(self.cursor) if self.cursor else None


class HistoryImporter:
    def __init__(
        self,
        database: Database,
        clients: SalesClients,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._clients = clients
        self._clock = clock

    def run(self, public_id: str, *, days: int | None = None, again: bool = False) -> int:
        """Import (or resume importing) the instance's history; returns the rows stored by this run."""
        return sum(step.stored for step in self.steps(public_id, days=days, again=again))

    def steps(self, public_id: str, *, days: int | None = None, again: bool = False) -> Iterator[ImportStep]:
        """Import page by page, yielding after each committed page.

        An unfinished import resumes from its checkpoint (unless ``days``
        asks for a different range); a finished one is left alone unless
        ``again``. ``days`` defaults to the instance's history setting.
        """
        target = self._target(public_id)
        client = self._clients.client_for(target)
        for kind in KINDS:
            plan = self._plan(target, kind, days, again)
            if plan is not None:
                yield from self._import_kind(target, client, kind, plan)

    def stalled(self, now: datetime, idle: timedelta = STALLED_AFTER) -> list[str]:
        """Enabled, provisioned instances whose import never started (its job was lost) or stopped
        (a killed worker, retries spent) without finishing: the periodic reconcile resumes them."""
        last_attempt = case(
            (SyncState.last_synced_at > SyncState.started_at, SyncState.last_synced_at),
            else_=SyncState.started_at,
        )
        unfinished = select(SyncState.instance_id).where(
            SyncState.status.in_(("running", "failed")), last_attempt < now - idle
        )
        started = select(SyncState.instance_id)
        with self._database.transaction() as session:
            return list(
                session.scalars(
                    select(Instance.public_id).where(
                        Instance.state == InstanceState.ENABLED.value,
                        Instance.provisioned_at.is_not(None),
                        Instance.provisioned_at < now - idle,
                        or_(Instance.id.in_(unfinished), Instance.id.not_in(started)),
                    )
                )
            )

    # -- steps -------------------------------------------------------------------

    def _target(self, public_id: str) -> _Target:
        with self._database.reading_session() as session:
            instance = by_public_id(session, public_id)
            if instance is None or instance.is_deleted or instance.key_ciphertext is None:
                raise ImportRefused(
                    f"No installation has the id {public_id!r} (or it was deleted). "
                    "Use the public id of an installed instance (instances.public_id)."
                )
            if not instance.is_active:
                raise ImportRefused(
                    f"Installation {public_id} is {instance.state}: the account must enable the App "
                    "in Sales first; then run this again."
                )
            return _Target(
                instance_id=instance.id,
                public_id=instance.public_id,
                key_index=instance.key_index or "",
                key_ciphertext=instance.key_ciphertext,
                default_days=int(merged_settings(instance.settings or {})["historyImportDays"]),
            )

    def _plan(self, target: _Target, kind: str, days: int | None, again: bool) -> _Plan | None:
        with self._database.transaction() as session:
            state = session.get(SyncState, (target.instance_id, kind), with_for_update=True)
            if state is not None and _resumable(state, days):
                return _resumed(state)
            if state is not None and state.status == "done" and not again:
                return None
            return _started(session, state, target, kind, days, self._clock())

    def _import_kind(
        self, target: _Target, client: SalesClient, kind: str, plan: _Plan
    ) -> Iterator[ImportStep]:
        rows: list[dict[str, Any]] = []
        ungrouped: list[Mapping[str, Any]] = []  # interactions: Sales names no group for them
        committed: list[ImportStep] = []
        cursor = [plan.cursor]

        def on_page(checkpoint: Checkpoint, _count: int) -> None:
            prospects = self._place(target, client, ungrouped, rows) if ungrouped else []
            committed.append(self._save_page(target, kind, rows, cursor[0], checkpoint, prospects))
            cursor[0] = checkpoint.as_dict()
            rows.clear()
            ungrouped.clear()

        read = client.iter_prospects if kind == "prospects" else client.iter_interactions
        try:
            for item in read(plan.start, plan.end, resume_from=plan.resume_from, on_page=on_page):
                yield from _drain(committed)
                if kind == "prospects":
                    row = prospect_row(target.instance_id, item, read_at=self._clock())
                else:
                    row = interaction_row(target.instance_id, item)
                    if row is None and interaction_row(target.instance_id, item, group_id=_ANY_GROUP):
                        ungrouped.append(item)
                if row is not None:
                    rows.append(row)
            yield from _drain(committed)
        except SalesError as error:
            self._finish(target, kind, error=str(error))
            raise
        self._finish(target, kind)

    def _save_page(
        self,
        target: _Target,
        kind: str,
        rows: list[dict[str, Any]],
        expected: dict[str, Any] | None,
        checkpoint: Checkpoint,
        prospects: list[dict[str, Any]],
    ) -> ImportStep:
        with self._database.transaction() as session:
            state = session.get(SyncState, (target.instance_id, kind), with_for_update=True)
            instance = session.get(Instance, target.instance_id)
            if state is None or instance is None or not instance.is_active:
                raise ImportRefused(f"Installation {target.public_id} was disabled or deleted meanwhile.")
            if (state.checkpoint or {}).get("cursor") != expected:
                raise ImportRefused(
                    f"Another run is importing {target.public_id} ({kind}); this one stopped. "
                    "Wait for it to finish (zapp backfill resumes an unfinished import)."
                )
            store_prospects(session, prospects)  # read to place this page's interactions
            (store_prospects if kind == "prospects" else store_interactions)(session, rows)
            state.checkpoint = {**(state.checkpoint or {}), "cursor": checkpoint.as_dict()}
            state.imported += len(rows)
            state.last_synced_at = utcnow()
            return ImportStep(kind, len(rows), state.imported)

    def _place(
        self,
        target: _Target,
        client: SalesClient,
        interactions: list[Mapping[str, Any]],
        rows: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Give each interaction its prospect's group: from the store, else from Sales.

        Sales' interactions name their prospect but not its group, which the
        reports need. Prospects are imported first, so the store knows most of
        them; one outside the import's range is read from Sales (and its row
        returned, to be stored with the page). An interaction whose prospect
        is gone or not ours is left out.
        """
        wanted = {item["prospectId"] for item in interactions}
        with self._database.reading_session() as session:
            groups = dict(
                session.execute(
                    select(StoredProspect.prospect_id, StoredProspect.group_id).where(
                        StoredProspect.instance_id == target.instance_id,
                        StoredProspect.prospect_id.in_(wanted),
                    )
                ).all()
            )
        prospects = []
        for prospect_id in sorted(wanted - set(groups)):
            try:
                prospect = client.get_prospect(prospect_id)
            except (NotFound, Forbidden):
                continue
            row = prospect_row(target.instance_id, prospect, read_at=self._clock())
            if row is not None:
                groups[prospect_id] = row["group_id"]
                prospects.append(row)
        for item in interactions:
            row = interaction_row(target.instance_id, item, group_id=groups.get(item["prospectId"]))
            if row is not None:
                rows.append(row)
        return prospects

    def _finish(self, target: _Target, kind: str, error: str | None = None) -> None:
        with self._database.transaction() as session:
            state = session.get(SyncState, (target.instance_id, kind), with_for_update=True)
            if state is None:
                return
            state.status = "failed" if error else "done"
            state.error = error[:200] if error else None
            if error is None:
                state.finished_at = state.last_synced_at = utcnow()
        if error is None:
            self._refresh_statistics(kind)
        log.info("history import of %s (%s): %s", target.public_id, kind, "failed" if error else "done")

    def _refresh_statistics(self, kind: str) -> None:
        """An import can add a large share of a store table at once; until autovacuum gets to it,
        PostgreSQL would plan the reports on stale statistics (several times slower, measured)."""
        if self._database.engine.dialect.name != "postgresql":
            return
        table = "store_prospects" if kind == "prospects" else "store_interactions"
        with self._database.engine.begin() as connection:
            connection.exec_driver_sql(f"ANALYZE {table}")


def _drain(committed: list[ImportStep]) -> Iterator[ImportStep]:
    while committed:
        yield committed.pop(0)


def _resumable(state: SyncState, days: int | None) -> bool:
    unfinished = state.status in ("running", "failed") and bool(state.checkpoint)
    return unfinished and (days is None or days == state.days)


def _resumed(state: SyncState) -> _Plan:
    checkpoint: Mapping[str, Any] = state.checkpoint or {}
    cursor = checkpoint.get("cursor")
    state.status, state.error = "running", None
    state.started_at = utcnow()  # this attempt's start: the reconcile leaves a running attempt alone
    return _Plan(
        start=datetime.fromisoformat(checkpoint["from"]),
        end=datetime.fromisoformat(checkpoint["to"]),
        cursor=cursor,
    )


def _started(
    session: Session, state: SyncState | None, target: _Target, kind: str, days: int | None, now: datetime
) -> _Plan | None:
    """A fresh import of the last ``days`` days (None when there is nothing to import)."""
    days = target.default_days if days is None else days
    if state is None:
        state = SyncState(instance_id=target.instance_id, kind=kind)
        session.add(state)
    start = now - timedelta(days=days)
    state.status, state.days, state.imported, state.error = "running", days, 0, None
    state.checkpoint = {"from": start.isoformat(), "to": now.isoformat(), "cursor": None}
    state.started_at, state.finished_at = utcnow(), None
    if days == 0:
        state.status, state.finished_at = "done", utcnow()
        return None
    return _Plan(start=start, end=now, cursor=None)
