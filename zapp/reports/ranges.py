"""Sales' report range (``range``, ``start``, ``end``) as days of the selected group's time zone.

Sales appends ``range`` (today, yesterday, last7, last30, this-month,
last-month, custom) and, for ``custom``, ``start`` and ``end`` as
``YYYY-MM-DD``. "Today" is the group's today, so a store in Madrid and one in
Mexico City see different windows at the same instant. ``last7`` and
``last30`` end today and include it *(inferred: the reference does not say)*.
A window is the half-open interval from the first instant of its first day
to the first instant of the day after its last, so a 23- or 25-hour day is
counted exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..i18n import N_

RANGES = ("today", "yesterday", "last7", "last30", "this-month", "last-month", "custom")
DEFAULT_RANGE = "last30"
# A custom range longer than this is refused: a report is read on a screen, not a data dump.
MAX_DAYS = 366
# Dates a Sales account can have data on; outside them day arithmetic would overflow (date.max).
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
DATE_FORMAT = "%Y-%m-%d"

BAD_RANGE = N_("The period is not one Zenvia Sales offers. Choose the period again.")
BAD_DATES = N_("A custom period needs a start and an end date (YYYY-MM-DD). Choose the period again.")
END_BEFORE_START = N_("The period ends before it starts. Choose the period again.")
TOO_LONG = N_("The period is longer than 366 days. Choose a shorter one.")


class RangeError(ValueError):
    """A range Sales could not have sent; ``message`` is a message id to show the person."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message


class RangeQuerySchema(Schema):
    """The range parameters of a report page and of its CSV download."""

    range = fields.String(load_default=DEFAULT_RANGE, validate=validate.OneOf(RANGES))
    start = fields.Date(format=DATE_FORMAT, load_default=None)
    end = fields.Date(format=DATE_FORMAT, load_default=None)

    @validates_schema
    def _custom_needs_dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("range") != "custom":
            return
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            raise ValidationError("custom needs start and end", "start")
        if end < start:
            raise ValidationError("end is before start", "end")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(f"more than {MAX_DAYS} days", "end")
        if start < EARLIEST or end > LATEST:
            raise ValidationError(f"dates from {EARLIEST} to {LATEST}", "start")


@dataclass(frozen=True)
class ReportRange:
    """Local days ``first``..``last`` (inclusive) in ``timezone``, with their UTC bounds."""

    name: str
    first: date
    last: date
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_ms(self) -> int:
        return day_start_ms(self.first, self.zone)

    @property
    def end_ms(self) -> int:
        """Exclusive: the first instant of the day after ``last``."""
        return day_start_ms(self.last + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def day_start_ms(day: date, zone: ZoneInfo) -> int:
    """The first instant of a local day, in epoch milliseconds.

    ``fold=0`` is right both ways: a midnight skipped by a spring-forward maps
    to the transition itself (the day's first instant), and a midnight that
    happens twice maps to its first occurrence.
    """
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp() * 1000)


def zone_or_utc(name: str | None) -> str:
    """The group's time zone if the tz database knows it, else UTC (a zone Sales misspelt)."""
    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name or "UTC"


def parse_range(params: dict[str, str], timezone: str, now: datetime) -> ReportRange:
    """The window a report shows, from the URL's parameters; ``RangeError`` for what Sales never sends."""
    try:
        values = RangeQuerySchema().load(_range_params(params))
    except ValidationError as error:
        raise RangeError(_message_for(error.messages), str(error.messages)) from None
    zone = zone_or_utc(timezone)
    today = now.astimezone(ZoneInfo(zone)).date()
    first, last = _bounds(values["range"], values["start"], values["end"], today)
    return ReportRange(values["range"], first, last, zone)


def _range_params(params: dict[str, str]) -> dict[str, str]:
    """Sales appends ``start=&end=`` to every report URL; the dates count only for ``custom``."""
    wanted = ("range", "start", "end") if params.get("range") == "custom" else ("range",)
    return {name: params[name] for name in wanted if params.get(name)}


def _bounds(name: str, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    if name == "custom":
        assert start is not None and end is not None  # the schema made sure
        return start, end
    if name == "today":
        return today, today
    if name == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name == "last7":
        return today - timedelta(days=6), today
    if name == "last30":
        return today - timedelta(days=29), today
    if name == "this-month":
        return today.replace(day=1), today
    last_of_previous = today.replace(day=1) - timedelta(days=1)
    return last_of_previous.replace(day=1), last_of_previous


def _message_for(messages: Any) -> str:
    text = str(messages)
    if "range" in messages:
        return BAD_RANGE
    if "before start" in text:
        return END_BEFORE_START
    if "more than" in text:
        return TOO_LONG
    return BAD_DATES
