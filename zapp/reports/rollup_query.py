"""Reading the report rollups (``store/rollups.py``) for one report's scope.

A range of local days is [start, end) in UTC milliseconds, both on a quarter
hour. The whole UTC days inside it are read at the day grain, the two ends at
the 15-minute grain, so a 120-day report sums a few thousand rows per kind,
whatever the number of records. Each (kind, grain, bucket range) is its own
index range on the rollups' primary key, joined with ``UNION ALL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import Session

from ..store.rollups import DAY_MS, QUARTER_MS, ROLLUPS
from .scope import ReportScope

R = ROLLUPS.c
QUARTERS_PER_DAY = DAY_MS // QUARTER_MS


@dataclass(frozen=True)
class Sum:
    """A rollup key summed over the scope: ``key1`` is None where the store had no value."""

    kind: str
    key1: str | None
    key2: int
    count: int
    label: str


def bucket_ranges(start_ms: int, end_ms: int) -> list[tuple[int, int, int]]:
    """(grain, first bucket, bucket after the last) covering [start_ms, end_ms) exactly."""
    first_day, last_day = -(-start_ms // DAY_MS), end_ms // DAY_MS
    first_quarter, end_quarter = start_ms // QUARTER_MS, -(-end_ms // QUARTER_MS)
    if first_day >= last_day:
        return [(15, first_quarter, end_quarter)]
    ranges = [
        (15, first_quarter, first_day * QUARTERS_PER_DAY),
        (1440, first_day, last_day),
        (15, last_day * QUARTERS_PER_DAY, end_quarter),
    ]
    return [(grain, low, high) for grain, low, high in ranges if low < high]


def _in_scope(scope: ReportScope, kind: str, grain: int, low: int, high: int):
    return (
        R.instance_id == scope.instance_id,
        R.kind == kind,
        R.grain == grain,
        R.bucket >= low,
        R.bucket < high,
        R.group_id.in_(scope.group_ids),
    )


def sums(session: Session, scope: ReportScope, kinds: Sequence[str]) -> list[Sum]:
    """Every (kind, key1, key2) of ``kinds`` summed over the scope's groups and range; zero sums left out.
    The label is the newest name seen on a row that still counts (an agent's name)."""
    ranges = bucket_ranges(scope.window.start_ms, scope.window.end_ms)
    parts = [
        select(R.kind, R.key1, R.key2, R["count"], R.label).where(*_in_scope(scope, kind, *bucket_range))
        for kind in kinds
        for bucket_range in ranges
    ]
    if not parts:
        return []
    rows = union_all(*parts).subquery()
    summed = session.execute(
        select(
            rows.c.kind,
            rows.c.key1,
            rows.c.key2,
            func.sum(rows.c["count"]),
            func.max(case((rows.c["count"] > 0, rows.c.label), else_="")),
        ).group_by(rows.c.kind, rows.c.key1, rows.c.key2)
    )
    return [
        Sum(kind, key1 or None, int(key2), int(count), label or "")
        for kind, key1, key2, count, label in summed
        if count
    ]


def quarters(session: Session, scope: ReportScope, kind: str) -> list[tuple[int, int, int]]:
    """(15-minute bucket, key2, count) of ``kind`` over the scope: what per-day counts are made of."""
    start, end = scope.window.start_ms // QUARTER_MS, -(-scope.window.end_ms // QUARTER_MS)
    rows = session.execute(
        select(R.bucket, R.key2, func.sum(R["count"]))
        .where(*_in_scope(scope, kind, 15, start, end))
        .group_by(R.bucket, R.key2)
    )
    return [(int(bucket), int(key2), int(count)) for bucket, key2, count in rows if count]
