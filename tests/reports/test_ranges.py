"""Sales' periods as local days of the group's time zone, and the days' exact UTC bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from zapp.reports.days import BUCKET_MS, per_day
from zapp.reports.ranges import RangeError, parse_range

# 00:30 UTC on 1 November: already November in Madrid, still October in São Paulo and Mexico City.
NOW = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "zone", "first", "last"),
    [
        ("today", "Europe/Madrid", "2026-11-01", "2026-11-01"),
        ("today", "America/Sao_Paulo", "2026-10-31", "2026-10-31"),
        ("yesterday", "America/Mexico_City", "2026-10-30", "2026-10-30"),
        ("last7", "Europe/Madrid", "2026-10-26", "2026-11-01"),
        ("last30", "America/Sao_Paulo", "2026-10-02", "2026-10-31"),
        ("this-month", "Europe/Madrid", "2026-11-01", "2026-11-01"),
        ("this-month", "America/Sao_Paulo", "2026-10-01", "2026-10-31"),
        ("last-month", "Europe/Madrid", "2026-10-01", "2026-10-31"),
        ("last-month", "America/Sao_Paulo", "2026-09-01", "2026-09-30"),
    ],
)
def test_relative_periods_follow_the_groups_today(name, zone, first, last):
    window = parse_range({"range": name, "start": "", "end": ""}, zone, NOW)
    assert (window.first, window.last) == (date.fromisoformat(first), date.fromisoformat(last))


def test_the_day_summer_time_ends_has_25_hours_in_madrid():
    window = parse_range(
        {"range": "custom", "start": "2026-10-25", "end": "2026-10-25"}, "Europe/Madrid", NOW
    )
    assert window.end_ms - window.start_ms == 25 * 3_600_000
    assert window.start_ms == int(datetime(2026, 10, 24, 22, 0, tzinfo=UTC).timestamp() * 1000)


def test_buckets_land_on_the_local_day_across_the_change():
    window = parse_range(
        {"range": "custom", "start": "2026-10-24", "end": "2026-10-26"}, "Europe/Madrid", NOW
    )
    first, last = window.start_ms // BUCKET_MS, window.end_ms // BUCKET_MS
    days = per_day(((bucket, 1) for bucket in range(first, last)), window.zone)
    assert [days[d] for d in window.days()] == [96, 100, 96]  # 24 h, 25 h, 24 h of quarter hours


def test_an_unknown_zone_falls_back_to_utc():
    assert parse_range({"range": "today"}, "Mars/Olympus", NOW).timezone == "UTC"


@pytest.mark.parametrize(
    "params",
    [
        {"range": "week"},
        {"range": "custom", "start": "2026-10-01"},
        {"range": "custom", "start": "01/10/2026", "end": "2026-10-02"},
        {"range": "custom", "start": "2026-10-02", "end": "2026-10-01"},
        {"range": "custom", "start": "2024-01-01", "end": "2026-10-01"},
        {"range": "custom", "start": "9999-12-31", "end": "9999-12-31"},
        {"range": "custom", "start": "0001-01-01", "end": "0001-01-01"},
    ],
)
def test_periods_sales_never_sends_are_refused(params):
    with pytest.raises(RangeError):
        parse_range(params, "UTC", NOW)
