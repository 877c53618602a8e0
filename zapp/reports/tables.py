"""What a report shows, independent of how: figures, tables and charts of typed cells.

A report module builds a ``Report``; the page renders it as HTML (numbers,
durations and days in the viewer's locale and the group's time zone) and the
download as CSV (plain machine values), from the same cells, so the two can
never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

_MINUTE, _HOUR, _DAY = 60_000, 3_600_000, 86_400_000


@dataclass(frozen=True)
class Duration:
    """A length of time in milliseconds; None when there is nothing to measure."""

    ms: int | None


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``; shown as a percentage, exported as a ratio."""

    part: int
    whole: int

    @property
    def ratio(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Moment:
    """An instant (epoch milliseconds), shown in the group's time zone."""

    ms: int


Cell = str | int | Duration | Share | Moment | date | None


@dataclass(frozen=True)
class Table:
    """``title`` and ``columns`` are message ids; rows hold cells (labels already localized)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    note: str | None = None


@dataclass(frozen=True)
class Chart:
    """Bars of counts: ``kind`` is ``"bars"`` (horizontal, labelled) or ``"columns"`` (a time series)."""

    key: str
    title: str
    bars: list[tuple[str, int]]
    kind: str = "bars"


@dataclass(frozen=True)
class Figure:
    label: str
    value: Cell


@dataclass
class Report:
    """One report for one scope: ``empty`` when the period holds nothing (not an error)."""

    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    empty: bool = False


class CellFormatter:
    """Cells as people read them, in ``language`` and the group's ``zone``."""

    def __init__(self, language: str, zone: ZoneInfo) -> None:
        self.language = language
        self.zone = zone

    def __call__(self, cell: Cell) -> str:
        if cell is None:
            return "–"
        if isinstance(cell, bool):
            return str(cell)
        if isinstance(cell, int):
            return format_decimal(cell, locale=self.language)
        if isinstance(cell, Duration):
            return self.duration(cell.ms)
        if isinstance(cell, Share):
            ratio = cell.ratio
            return "–" if ratio is None else format_percent(ratio, "#,##0.0%", locale=self.language)
        if isinstance(cell, Moment):
            moment = datetime.fromtimestamp(cell.ms / 1000, UTC)
            return format_datetime(moment, "medium", tzinfo=self.zone, locale=self.language)
        if isinstance(cell, date):
            return format_date(cell, "medium", locale=self.language)
        return str(cell)

    def duration(self, ms: int | None) -> str:
        """Two units at most (``1 hr 20 min``): enough to compare, short enough to scan."""
        if ms is None:
            return "–"
        ms = max(ms, 0)
        if ms < _MINUTE:
            return self._unit(round(ms / 1000), "second")
        if ms < _HOUR:
            return self._unit(ms // _MINUTE, "minute")
        if ms < _DAY:
            return self._pair(ms // _HOUR, "hour", (ms % _HOUR) // _MINUTE, "minute")
        return self._pair(ms // _DAY, "day", (ms % _DAY) // _HOUR, "hour")

    def _pair(self, big: int, big_unit: str, small: int, small_unit: str) -> str:
        if not small:
            return self._unit(big, big_unit)
        return f"{self._unit(big, big_unit)} {self._unit(small, small_unit)}"

    def _unit(self, value: int, unit: str) -> str:
        return format_unit(value, f"duration-{unit}", length="short", locale=self.language)
