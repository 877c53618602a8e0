"""Report rollups: the store's rows counted ahead, so a report sums a few thousand rows, not a million.

``report_rollups`` holds counts per instance, kind, grain, bucket, group and
key: ``grain`` is 15 minutes (every local midnight of every time zone in use
falls on one, so a report's local days are exact) or one UTC day (the long
stretches of a range, where 15-minute rows would be as many as the records).
A report reads day rows for the whole UTC days inside its range and
15-minute rows for the two ends (``windows``).

The counts move with the store: ``track`` reads the current version of each
row an upsert is about to write (locked), ``Tracked.apply`` then takes each
replaced version's contributions away and adds the new version's, the way
the upsert's newest-wins rule decided. A replayed event or an older version
changes nothing; a status or agent change moves a count, never adds one.
``rebuild`` recomputes an instance's rollups from the raw rows in SQL, the
independent way (``zapp reports rebuild``, and the check the tests make).

Kinds (``key1``, ``key2``):

- prospects, by creation time: ``leads`` (-, -); ``utm_source``,
  ``utm_medium``, ``utm_campaign``, ``status`` (the value, -); ``reason``
  (the archiving reason, archived prospects only); ``contacted`` (-, -,
  contacted prospects only); ``stl_agent`` / ``stl_source`` (agent id / lead
  source, the response bin: -1 while not contacted, else ``response_bin``).
- interactions, by creation time: ``act`` (-, proactive 0/1), ``act_agent``
  (agent id, proactive), ``act_via`` (via, proactive).

A missing value is ``''`` in ``key1`` (Sales' values are never empty: the
store keeps ``None`` instead).

Response bins (``key2`` of ``stl_*``): few, so the rows of one (bucket,
agent or source) stay few and the Speed to lead report sums a few thousand
rows, not one per lead (whole minutes up to a day made nearly every lead its
own row: 1.5 s for 200,000 leads). A bin is named by its upper bound in
whole minutes (``RESPONSE_EDGES``): every minute up to 6, then each bound at
most a third above the one before up to a day (at most a half up to a week),
then whole weeks. The bounds hold every limit of the report's distribution
(5, 15, 60, 240, 1440, 4320 minutes), so the distribution is exact; a
percentile is read as its bin's upper bound, at most a third above the
true value within a day. Each instance's bins add its speed-to-lead target
(1 to 1440 minutes) as one more bound, so the share contacted within the
target stays exact for any target. Upserts read the target from the
instance's settings, the row held (``speed_to_lead_target``), and a change
of the target re-bins the instance's ``stl_*`` rows in the settings'
transaction (``rebuild_speed_to_lead``).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..db import dialect_insert
from ..installations.settings_form import merged_settings
from ..models import Instance, ReportRollup, StoredInteraction, StoredProspect

QUARTER_MS = 15 * 60_000
DAY_MS = 24 * 60 * 60_000
GRAINS = {15: QUARTER_MS, 1440: DAY_MS}  # the grain column: minutes
MINUTE_MS = 60_000
NOT_CONTACTED = -1
WEEK_MINUTES = 7 * 1440
# Upper bounds of the response bins (minutes) before an instance's target joins them; past a week,
# whole weeks (see the module docstring).
RESPONSE_EDGES = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 360, 480,
    600, 720, 960, 1200, 1440, 2160, 2880, 4320, 5760, 7200, WEEK_MINUTES,
)  # fmt: skip
SPEED_TO_LEAD_KINDS = ("stl_agent", "stl_source")
TARGET_SETTING = "speedToLeadTargetMinutes"

ROLLUPS = cast(Table, ReportRollup.__table__)
PROSPECTS = cast(Table, StoredProspect.__table__)
INTERACTIONS = cast(Table, StoredInteraction.__table__)

Key = tuple[int, str, int, int, str, str, int]  # instance, kind, grain, bucket, group, key1, key2


@functools.lru_cache(maxsize=64)
def response_edges(target_minutes: int) -> tuple[int, ...]:
    """The bins' upper bounds of an instance whose speed-to-lead target is ``target_minutes``
    (asked for every stored prospect: built once per target)."""
    return tuple(sorted({*RESPONSE_EDGES, target_minutes}))


def response_bin(response_ms: int, target_minutes: int) -> int:
    """The bin of a time to first contact: the smallest bound at or above it in whole minutes (rounded
    up); 0 for a contact at or before the creation; whole weeks past the last bound."""
    if response_ms <= 0:
        return 0
    minutes = -(-response_ms // MINUTE_MS)
    edges = response_edges(target_minutes)
    if minutes > edges[-1]:
        return -(-minutes // WEEK_MINUTES) * WEEK_MINUTES
    return edges[bisect.bisect_left(edges, minutes)]


def speed_to_lead_target(session: Session, instance_id: int, *, lock: bool = False) -> int:
    """The instance's speed-to-lead target (minutes), from its settings.

    ``lock`` (PostgreSQL; SQLite writers are serialised anyway): ``FOR KEY
    SHARE`` until the transaction ends. A settings change holds the row ``FOR
    UPDATE`` while it re-bins, so a writer either counts after it with the
    new target or before it, and the re-binning waits for that writer. Key
    share leaves other writers' plain updates of the row (a version bump)
    free, so two writers never wait on each other here.
    """
    query = select(Instance.settings).where(Instance.id == instance_id)
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    stored = session.execute(query).scalar()
    return int(merged_settings(stored or {})[TARGET_SETTING])


def bucket_of(created_ms: int, grain_ms: int) -> int:
    """Integer division truncating toward zero, as SQLite and PostgreSQL divide integers."""
    quotient = abs(created_ms) // grain_ms
    return quotient if created_ms >= 0 else -quotient


def prospect_keys(row: Mapping[str, Any], target_minutes: int) -> Iterator[tuple[str, str, int, str]]:
    """(kind, key1, key2, label) of each count a stored prospect adds to."""
    yield "leads", "", 0, ""
    yield "utm_source", row.get("utm_source") or "", 0, ""
    yield "utm_medium", row.get("utm_medium") or "", 0, ""
    yield "utm_campaign", row.get("utm_campaign") or "", 0, ""
    yield "status", row.get("status") or "", 0, ""
    if row.get("status") == "archived":
        yield "reason", row.get("archiving_reason") or "", 0, ""
    first_contact = row.get("first_contact_ms")
    if first_contact is not None:
        yield "contacted", "", 0, ""
    response = (
        NOT_CONTACTED
        if first_contact is None
        else response_bin(first_contact - row["created_ms"], target_minutes)
    )
    yield "stl_agent", row.get("agent_id") or "", response, row.get("agent_name") or ""
    yield "stl_source", row.get("source") or "", response, ""


def interaction_keys(row: Mapping[str, Any], target_minutes: int) -> Iterator[tuple[str, str, int, str]]:
    proactive = 1 if row.get("proactive") else 0
    yield "act", "", proactive, ""
    yield "act_agent", row.get("agent_id") or "", proactive, row.get("agent_name") or ""
    yield "act_via", row.get("via") or "", proactive, ""


KEYS_OF: dict[str, Callable[[Mapping[str, Any], int], Iterator[tuple[str, str, int, str]]]] = {
    PROSPECTS.name: prospect_keys,
    INTERACTIONS.name: interaction_keys,
}
# The columns a row's contributions depend on (what ``track`` reads of the current version).
COLUMNS_OF = {
    PROSPECTS.name: ("group_id", "created_ms", "updated_ms", "agent_id", "agent_name", "source", "utm_source",
                     "utm_medium", "utm_campaign", "status", "archiving_reason", "first_contact_ms"),
    INTERACTIONS.name: ("group_id", "created_ms", "updated_ms", "agent_id", "agent_name", "via", "proactive"),
}  # fmt: skip


@dataclass
class Deltas:
    """Count changes to apply in one statement: (+1 / -1) per key, and the newest label seen."""

    counts: dict[Key, int] = field(default_factory=dict)
    labels: dict[Key, str] = field(default_factory=dict)

    def add(self, table: str, instance_id: int, row: Mapping[str, Any], sign: int, target: int) -> None:
        """Count ``row`` (``sign`` +1) or take it away (-1); ``target``: the instance's speed-to-lead
        target, a bound of its response bins."""
        for kind, key1, key2, label in KEYS_OF[table](row, target):
            for grain, grain_ms in GRAINS.items():
                key = (instance_id, kind, grain, bucket_of(row["created_ms"], grain_ms), row["group_id"],
                       key1, key2)  # fmt: skip
                self.counts[key] = self.counts.get(key, 0) + sign
                if sign > 0 and label:
                    self.labels[key] = label

    def apply(self, session: Session) -> None:
        rows = [
            {"instance_id": key[0], "kind": key[1], "grain": key[2], "bucket": key[3], "group_id": key[4],
             "key1": key[5], "key2": key[6], "count": count, "label": self.labels.get(key, "")}
            for key, count in self.counts.items()
            if count or key in self.labels
        ]  # fmt: skip
        if not rows:
            return
        statement = dialect_insert(session.get_bind().dialect.name)(ROLLUPS)
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[column.name for column in ROLLUPS.primary_key.columns],
                set_={
                    "count": ROLLUPS.c.count + excluded["count"],
                    "label": case((excluded["label"] != "", excluded["label"]), else_=ROLLUPS.c.label),
                },
            ),
            rows,
        )


@dataclass
class Tracked:
    """An upsert's rows with the versions they may replace, read before the upsert ran."""

    table: Table
    keys: tuple[str, ...]
    rows: list[dict[str, Any]]
    current: dict[tuple, dict[str, Any]]
    kept_when_unknown: tuple[str, ...]
    targets: dict[int, int]  # speed-to-lead target per instance (prospects only)

    def apply(self, session: Session) -> None:
        """Move the counts as the upsert did: each row that won replaces its current version."""
        deltas = Deltas()
        for row in self.rows:
            key = tuple(row[name] for name in self.keys)
            old = self.current.get(key)
            if old is not None and old["updated_ms"] > row["updated_ms"]:
                continue  # older than what the store has: the upsert left the row alone
            new = self._written(old, row)
            instance_id = row["instance_id"]
            target = self.targets.get(instance_id, 0)
            if old is not None:
                deltas.add(self.table.name, instance_id, old, -1, target)
            deltas.add(self.table.name, instance_id, new, +1, target)
        deltas.apply(session)

    def _written(self, old: dict[str, Any] | None, row: Mapping[str, Any]) -> dict[str, Any]:
        """The version the upsert wrote: the given columns over the current ones (an insert's missing
        columns are empty), keeping what a row does not know where the upsert keeps it."""
        columns = COLUMNS_OF[self.table.name]
        written = {name: (old or {}).get(name) for name in columns}
        for name in columns:
            if name in row and not (name in self.kept_when_unknown and row[name] is None and old is not None):
                written[name] = row[name]
        return written


def track(
    session: Session, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]],
    kept_when_unknown: tuple[str, ...] = (),
) -> Tracked:  # fmt: skip
    """Read (and lock) the current versions of the rows an upsert of ``rows`` will write.

    On PostgreSQL a transaction-scoped advisory lock per row key, taken in one
    order, keeps two writers of the same new row from both counting it as new
    (a row that does not exist yet has nothing to lock). SQLite writers hold
    the database's write lock from BEGIN. Prospects also read each instance's
    speed-to-lead target, the instance row held (``speed_to_lead_target``).
    """
    dialect = session.get_bind().dialect.name
    instance_ids = sorted({row["instance_id"] for row in rows})
    targets = {}
    if table is PROSPECTS:
        targets = {
            instance_id: speed_to_lead_target(session, instance_id, lock=True) for instance_id in instance_ids
        }
    if dialect == "postgresql":
        locks = sorted({_lock_key(table.name, tuple(row[name] for name in keys)) for row in rows})
        session.execute(_ADVISORY_LOCKS, {"locks": locks})
    columns = [table.c[name] for name in (*keys, *COLUMNS_OF[table.name]) if name not in ("instance_id",)]
    current: dict[tuple, dict[str, Any]] = {}
    for instance_id in instance_ids:
        wanted = [row[keys[1]] for row in rows if row["instance_id"] == instance_id]
        found = session.execute(
            select(*columns).where(table.c.instance_id == instance_id, table.c[keys[1]].in_(wanted))
        ).mappings()
        for version in found:
            current[(instance_id, version[keys[1]])] = dict(version)
    return Tracked(table, keys, rows, current, kept_when_unknown, targets)


def _lock_key(table: str, key: tuple) -> int:
    digest = hashlib.blake2b(repr((table, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# In the array's order (sorted by the caller), so two writers never wait on each other in a cycle.
_ADVISORY_LOCKS = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:locks AS bigint[])) AS k")


# -- rebuilding from the raw rows, in SQL ------------------------------------------------------


def _bin_sql(response: ColumnElement, target_minutes: int) -> ColumnElement:
    """``response_bin`` in SQL (integer arithmetic only, the same on SQLite and PostgreSQL)."""
    minutes = (response + (MINUTE_MS - 1)) // _int(MINUTE_MS)
    bounds = [(minutes <= _int(edge), _int(edge)) for edge in response_edges(target_minutes)]
    return case(
        (response <= 0, _int(0)),
        *bounds,
        else_=(minutes + (WEEK_MINUTES - 1)) // _int(WEEK_MINUTES) * WEEK_MINUTES,
    )


def _int(value: int) -> ColumnElement:
    """An inlined integer: ``//`` by it is integer division on both databases (no cast to numeric)."""
    return literal_column(str(value), BigInteger)


def _text_key(column: ColumnElement) -> ColumnElement:
    return func.coalesce(column, "")


def _rebuild_statements(
    target_minutes: int,
) -> Iterator[tuple[str, Table, Any, Any, ColumnElement[bool] | None, Any]]:
    """(kind, table, key1, key2, filter or None, label) of every kind: ``prospect_keys`` and
    ``interaction_keys`` again, in SQL."""
    p, i = PROSPECTS.c, INTERACTIONS.c
    response = case(
        (p.first_contact_ms.is_(None), NOT_CONTACTED),
        else_=_bin_sql(p.first_contact_ms - p.created_ms, target_minutes),
    )
    zero, nothing = literal(0, Integer), literal("")
    proactive = case((i.proactive.is_(True), 1), else_=0)
    yield "leads", PROSPECTS, nothing, zero, None, nothing
    yield "utm_source", PROSPECTS, _text_key(p.utm_source), zero, None, nothing
    yield "utm_medium", PROSPECTS, _text_key(p.utm_medium), zero, None, nothing
    yield "utm_campaign", PROSPECTS, _text_key(p.utm_campaign), zero, None, nothing
    yield "status", PROSPECTS, _text_key(p.status), zero, None, nothing
    yield "reason", PROSPECTS, _text_key(p.archiving_reason), zero, p.status == "archived", nothing
    yield "contacted", PROSPECTS, nothing, zero, p.first_contact_ms.is_not(None), nothing
    yield "stl_agent", PROSPECTS, _text_key(p.agent_id), response, None, func.max(p.agent_name)
    yield "stl_source", PROSPECTS, _text_key(p.source), response, None, nothing
    yield "act", INTERACTIONS, nothing, proactive, None, nothing
    yield "act_agent", INTERACTIONS, _text_key(i.agent_id), proactive, None, func.max(i.agent_name)
    yield "act_via", INTERACTIONS, _text_key(i.via), proactive, None, nothing


REBUILD_STEPS = len(list(_rebuild_statements(1))) * len(GRAINS)


def rebuild(session: Session, instance_id: int, kinds: tuple[str, ...] | None = None) -> Iterator[str]:
    """Recompute ``instance_id``'s rollups (of ``kinds``, or all) from its raw rows, one statement per
    kind and grain; yields each step's name (for a progress bar). Runs in the caller's transaction."""
    cleared = delete(ROLLUPS).where(ROLLUPS.c.instance_id == instance_id)
    if kinds is not None:
        cleared = cleared.where(ROLLUPS.c.kind.in_(kinds))
    session.execute(cleared)
    yield "cleared"
    target = speed_to_lead_target(session, instance_id)
    for kind, table, key1, key2, where, label in _rebuild_statements(target):
        if kinds is not None and kind not in kinds:
            continue
        for grain, grain_ms in GRAINS.items():
            bucket = table.c.created_ms // _int(grain_ms)
            conditions = [table.c.instance_id == instance_id]
            if where is not None:
                conditions.append(where)
            query = (
                select(
                    literal(instance_id, Integer), literal(kind), literal(grain, Integer), bucket,
                    table.c.group_id, key1, key2, func.count(), func.coalesce(label, ""),
                )
                .where(and_(*conditions))
                .group_by(bucket, table.c.group_id, key1, key2)
            )  # fmt: skip
            columns = ["instance_id", "kind", "grain", "bucket", "group_id", "key1", "key2", "count", "label"]
            session.execute(ROLLUPS.insert().from_select(columns, query))
            yield f"{kind} ({grain} min)"


def rebuild_speed_to_lead(session: Session, instance_id: int) -> None:
    """Re-bin the instance's ``stl_*`` rows with its current target (after the target changed; the
    caller holds the instance row, so no writer counts with the old target meanwhile)."""
    session.flush()  # the new settings, where the rebuild reads the target
    for _step in rebuild(session, instance_id, SPEED_TO_LEAD_KINDS):
        pass


def counts_of(session: Session, instance_id: int) -> dict[Key, int]:
    """Every non-zero count of an instance (what the tests compare)."""
    rows = session.execute(
        select(ROLLUPS.c.instance_id, ROLLUPS.c.kind, ROLLUPS.c.grain, ROLLUPS.c.bucket, ROLLUPS.c.group_id,
               ROLLUPS.c.key1, ROLLUPS.c.key2, ROLLUPS.c["count"])
        .where(ROLLUPS.c.instance_id == instance_id, ROLLUPS.c["count"] != 0)
    )  # fmt: skip
    return {tuple(row[:7]): row[7] for row in rows}
