"""A report as CSV: every table in turn, machine values, and no formula a spreadsheet would run.

Durations are seconds, shares are ratios (0 to 1), instants are ISO 8601 UTC,
days are ``YYYY-MM-DD``. Text that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a
leading apostrophe (OWASP's CSV injection advice); numbers are left alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime

from .tables import Cell, Duration, Moment, Report, Share

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """Text a spreadsheet shows as text, never evaluates."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_value(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, Duration):
        return "" if cell.ms is None else _decimal(cell.ms / 1000, 3)
    if isinstance(cell, Share):
        return "" if cell.ratio is None else _decimal(cell.ratio, 4)
    if isinstance(cell, Moment):
        return datetime.fromtimestamp(cell.ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    if isinstance(cell, date):
        return cell.isoformat()
    return neutralize(str(cell))


def report_csv(report: Report, heading: Sequence[tuple[str, str]], translate: Callable[[str], str]) -> str:
    """``heading``: (label, value) lines first (report, group, period); then each table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for label, value in heading:
        writer.writerow([neutralize(label), neutralize(value)])
    for table in report.tables:
        writer.writerow([])
        writer.writerow([neutralize(translate(table.title))])
        writer.writerow([neutralize(translate(column)) for column in table.columns])
        writer.writerows(_rows(table.rows))
    return out.getvalue()


def _rows(rows: Iterable[tuple[Cell, ...]]) -> Iterable[list[str]]:
    for row in rows:
        yield [csv_value(cell) for cell in row]


def _decimal(value: float, places: int) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"
