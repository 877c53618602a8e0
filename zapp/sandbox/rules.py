"""Sales' list rules, in one place: dates, the 31-day window, before/after/limit, CSV.

Where the reference is silent the choices are marked *(inferred)*:
- items come sorted by id ascending (ids are time-ordered);
- ``createdAfter`` is inclusive and ``createdBefore`` exclusive;
- ``after=ID`` gives the first ``limit`` items above ID, ``before=ID`` the
  ``limit`` items just below ID (still ascending);
- a page holds at most 1000 items when no ``limit`` is given; a ``limit`` above 1000 is served
  (the seed only recommends 1000 at most);
- a reversed or over-31-day creation range is refused with 400.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

MAX_RANGE_SECONDS = 31 * 86400
MAX_LIMIT = 1000
DEFAULT_LIMIT = 1000
OBJECT_ID = re.compile(r"^[a-z0-9]{24}$")


class RuleError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def parse_instant(value: str, name: str) -> float:
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise RuleError(f"{name} must be an ISO 8601 date or date-time, got {value!r}") from None
    return moment.timestamp()


def date_range(args, now: float) -> tuple[float, float] | None:
    """The requested ``[after, before)`` in epoch seconds, or None when no date was given."""
    after = args.get("createdAfter") or args.get("start")
    before = args.get("createdBefore") or args.get("end")
    if not after and not before:
        return None
    start = parse_instant(after, "createdAfter") if after else None
    end = parse_instant(before, "createdBefore") if before else None
    start = start if start is not None else now - MAX_RANGE_SECONDS
    end = end if end is not None else now
    if start > end:
        raise RuleError("createdAfter must not be after createdBefore")
    if end - start > MAX_RANGE_SECONDS:
        raise RuleError("The date range must be 31 days or less; split longer ranges into windows")
    return start, end


def parse_limit(args) -> int | None:
    raw = args.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise RuleError("limit must be a whole number of at least 1")
    return int(raw)


def instant_filter(args, after_names: tuple[str, ...], before_names: tuple[str, ...]):
    """A test ``(epoch or None) -> bool`` for a pair of date filters with their aliases; None if unused."""
    after = next((args[n] for n in after_names if args.get(n)), None)
    before = next((args[n] for n in before_names if args.get(n)), None)
    if not after and not before:
        return None
    start = parse_instant(after, after_names[0]) if after else None
    end = parse_instant(before, before_names[0]) if before else None

    def inside(moment: float | None) -> bool:
        if moment is None:
            return False
        return (start is None or moment >= start) and (end is None or moment < end)

    return inside


ADDITIONAL_DATA = re.compile(r"^\s*([^=<>~]+?)\s*(>=|<=|=|>|<|~)\s*(.*)$")


def additional_data_filters(values: list[str]) -> list[Callable[[dict[str, Any]], bool]]:
    """``additionalData[]=FIELD OP VALUE`` filters (OP: = >= > <= < ~), each a test on a prospect's data."""
    tests = []
    for text in values:
        found = ADDITIONAL_DATA.match(text)
        if found is None:
            raise RuleError(f"additionalData filter {text!r} must read FIELD OP VALUE (OP: = >= > <= < ~)")
        tests.append(_additional_test(*found.groups()))
    return tests


def _additional_test(name: str, op: str, wanted: str) -> Callable[[dict[str, Any]], bool]:
    def test(data: dict[str, Any]) -> bool:
        if name not in data or data[name] is None:
            return False
        value = data[name]
        if op == "~":
            return wanted.lower() in str(value).lower()
        try:
            left, right = float(value), float(wanted)
        except (TypeError, ValueError):
            left, right = str(value), wanted  # type: ignore[assignment]
        return {"=": left == right, ">=": left >= right, ">": left > right,
                "<=": left <= right, "<": left < right}[op]  # fmt: skip

    return test


def epoch_of(value: Any) -> float | None:
    """Epoch seconds of a stored ISO time; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def check_id(value: str | None, name: str) -> str | None:
    if value is not None and not OBJECT_ID.fullmatch(value):
        raise RuleError(f"{name} must match ^[a-z0-9]{{24}}$")
    return value


def id_bound(moment: float) -> str:
    """The smallest id created at or after ``moment`` (ids carry whole seconds)."""
    return f"{math.ceil(moment):08x}" + "0" * 16


def page(
    sorted_ids: list[str],
    args,
    now: float,
    matches: Callable[[str], bool],
) -> list[str]:
    """Apply dates, before/after and limit to ids sorted ascending; return the page's ids."""
    limit = parse_limit(args)
    after = check_id(args.get("after"), "after")
    before = check_id(args.get("before"), "before")
    window = date_range(args, now)
    if window is None and limit is None:
        window = (now - MAX_RANGE_SECONDS, now)
    lo, hi = 0, len(sorted_ids)
    if window is not None:
        lo = bisect.bisect_left(sorted_ids, id_bound(window[0]))
        hi = bisect.bisect_left(sorted_ids, id_bound(window[1]))
    if after:
        lo = max(lo, bisect.bisect_right(sorted_ids, after))
    if before:
        hi = min(hi, bisect.bisect_left(sorted_ids, before))
    size = limit or DEFAULT_LIMIT
    if before and not after:
        picked: list[str] = []
        for index in range(hi - 1, lo - 1, -1):
            if matches(sorted_ids[index]):
                picked.append(sorted_ids[index])
                if len(picked) == size:
                    break
        return picked[::-1]
    picked = []
    for index in range(lo, hi):
        if matches(sorted_ids[index]):
            picked.append(sorted_ids[index])
            if len(picked) == size:
                break
    return picked


def wants_csv(args, accept: str) -> bool:
    if args.get("format") == "csv":
        return True
    if args.get("format") == "json":
        return False
    return "text/csv" in accept and "application/json" not in accept


def flatten(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in item.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = "" if value is None else value
    return flat


def to_csv(items: Iterable[dict[str, Any]]) -> str:
    rows = [flatten(item) for item in items]
    columns: list[str] = []
    for row in rows:
        columns.extend(column for column in row if column not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def template_parameters_ok(parameters: dict[str, Any]) -> str | None:
    """WhatsApp's rule: no four consecutive spaces, carriage return, new line or tab in a parameter."""
    for name, value in parameters.items():
        text = str(value)
        if "    " in text or "\r" in text or "\n" in text or "\t" in text:
            return f"parameter {name!r} contains four consecutive spaces, a new line or a tab"
    return None
