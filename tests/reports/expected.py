"""Each report's figures computed straight from the sandbox's data, with plain Python.

Nothing here uses the app's code: local days come from ``zoneinfo`` applied
to each record's own timestamp, percentiles are nearest-rank on a sorted list.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


def epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def local_date(text: str, zone: str) -> date:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).date()


def nearest_rank(values: list[int], percentile: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(percentile * len(ordered) / 100) - 1]


def name_of(agent: dict[str, Any] | None) -> str:
    return f"{agent['firstName']} {agent['lastName']}" if agent else "No agent"


def prospects_in(account, groups: set[str], first: date, last: date, zone: str) -> list[dict[str, Any]]:
    return [
        p
        for p in account.prospects.values()
        if p["groupId"] in groups and first <= local_date(p["created"], zone) <= last
    ]


def interactions_in(account, groups: set[str], first: date, last: date, zone: str) -> list[dict[str, Any]]:
    return [
        i
        for i in account.interactions.values()
        if i["groupId"] in groups and first <= local_date(i["createdAt"], zone) <= last
    ]


def response_ms(prospect: dict[str, Any]) -> int | None:
    if not prospect["firstContactedAt"]:
        return None
    return epoch_ms(prospect["firstContactedAt"]) - epoch_ms(prospect["created"])


# The bounds the report promises for a time to first contact (minutes), before the target joins them.
BOUNDS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 360,
          480, 600, 720, 960, 1200, 1440, 2160, 2880, 4320, 5760, 7200, 10080)  # fmt: skip


def shown_as(response: int | None, target_minutes: int) -> int | None:
    """A time to first contact as the report states it (in milliseconds): whole minutes rounded up to
    the next bound (the target is one), whole weeks past the last one."""
    if response is None:
        return None
    minutes = max(0, math.ceil(response / 60_000))
    bounds = sorted({*BOUNDS, target_minutes})
    if minutes == 0:
        return 0
    if minutes > bounds[-1]:
        return math.ceil(minutes / 10080) * 10080 * 60_000
    return next(bound for bound in bounds if bound >= minutes) * 60_000


def speed_to_lead(prospects: list[dict[str, Any]], target_minutes: int, now: datetime) -> dict[str, Any]:
    """Per agent name and per source: leads, contacted, p50, p90, on time, waiting; and the total.

    ``due``: the leads the on-time share is of (contacted, or waiting longer than the target).
    """
    target_ms = target_minutes * 60_000

    def tally(items: list[dict[str, Any]]) -> dict[str, Any]:
        times = [r for r in map(response_ms, items) if r is not None]
        late = [p for p in items if not p["firstContactedAt"] and epoch_ms(p["created"]) < now_ms - target_ms]
        return {
            "due": len(times) + len(late),
            "leads": len(items),
            "contacted": len(times),
            "p50": shown_as(nearest_rank(times, 50), target_minutes),
            "p90": shown_as(nearest_rank(times, 90), target_minutes),
            "on_time": sum(1 for r in times if r <= target_minutes * 60_000),
            "waiting": len(items) - len(times),
        }

    now_ms = int(now.timestamp() * 1000)
    by_agent, by_source = defaultdict(list), defaultdict(list)
    for prospect in prospects:
        by_agent[name_of(prospect["agent"])].append(prospect)
        by_source[prospect["leads"][0]["source"]].append(prospect)
    waiting = [p for p in prospects if not p["firstContactedAt"]]
    waiting.sort(key=lambda p: (p["created"], p["id"]))
    return {
        "total": tally(prospects),
        "agents": {name: tally(items) for name, items in by_agent.items()},
        "sources": {name: tally(items) for name, items in by_source.items()},
        "waiting": waiting,
    }


def lead_sources(prospects: list[dict[str, Any]], zone: str) -> dict[str, Counter]:
    lead = [p["leads"][0] for p in prospects]
    return {
        "sources": Counter(item["utmSource"] for item in lead),
        "mediums": Counter(item["utmMedium"] for item in lead),
        "campaigns": Counter(item["utmCampaign"] for item in lead),
        "statuses": Counter(p["status"] for p in prospects),
        "reasons": Counter(p["archivingReason"] for p in prospects if p["status"] == "archived"),
        "contacted": Counter(bool(p["firstContactedAt"]) for p in prospects),
        "days": Counter(local_date(p["created"], zone) for p in prospects),
    }


def agent_activity(interactions: list[dict[str, Any]], zone: str) -> dict[str, Any]:
    agents, vias, days = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    for item in interactions:
        for counter in (agents[name_of(item["agent"])], vias[item["via"]],
                        days[local_date(item["createdAt"], zone)]):  # fmt: skip
            counter["total"] += 1
            counter["proactive"] += 1 if item["proactive"] else 0
    return {"agents": agents, "vias": vias, "days": days}
