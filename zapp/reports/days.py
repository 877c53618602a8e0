"""Counting per local day, exactly, across daylight-saving changes.

SQL groups rows by 15-minute UTC bucket (``created_ms / 900000``, integer
division on both SQLite and PostgreSQL, so the index still drives the scan);
Python maps each bucket to the local day it falls in. Every time zone in use
today is offset from UTC by a multiple of 15 minutes and changes offset on a
quarter hour, so no bucket ever straddles a local midnight, whatever the day
length (23, 24 or 25 hours).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, literal_column

BUCKET_MS = 15 * 60 * 1000


def bucket_of(created_ms_column):
    """The SQL expression of a row's 15-minute bucket: integer division by an inlined constant,
    so the same text can appear in SELECT and GROUP BY on PostgreSQL."""
    return created_ms_column // literal_column(str(BUCKET_MS), BigInteger)


def local_day(epoch_ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(zone).date()


def per_day(buckets: Iterable[tuple[int, int]], zone: ZoneInfo) -> Counter[date]:
    """Sum ``(bucket, count)`` pairs into local days."""
    days: Counter[date] = Counter()
    cache: dict[int, date] = {}
    for bucket, count in buckets:
        day = cache.get(bucket)
        if day is None:
            day = cache[bucket] = local_day(int(bucket) * BUCKET_MS, zone)
        days[day] += int(count)
    return days
