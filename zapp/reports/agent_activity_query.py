"""Agent activity: the period's interactions by agent and by channel, how many the agent started, per day.

Read from the report rollups (``rollup_query``): interactions counted by
agent, by channel and in all, each split by who started them, and per
15-minute bucket for the days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from ..i18n import N_
from ..vocabulary import NO_AGENT, VIA_LABELS
from .days import per_day
from .rollup_query import quarters, sums
from .scope import ReportScope
from .tables import Chart, Figure, Report, Share, Table

OTHER = N_("Other")


@dataclass
class Activity:
    """Interactions and how many of them the agent started."""

    name: str = ""
    total: int = 0
    proactive: int = 0


@dataclass
class AgentActivity:
    total: Activity = field(default_factory=Activity)
    agents: dict[str | None, Activity] = field(default_factory=lambda: defaultdict(Activity))
    vias: dict[str | None, Activity] = field(default_factory=lambda: defaultdict(Activity))
    days: Counter[date] = field(default_factory=Counter)
    proactive_days: Counter[date] = field(default_factory=Counter)
    day_list: list[date] = field(default_factory=list)


def read_agent_activity(session: Session, scope: ReportScope) -> AgentActivity:
    data = AgentActivity(day_list=scope.window.days())
    for found in sums(session, scope, ("act", "act_agent", "act_via")):
        if found.kind == "act":
            activities = [data.total]
        elif found.kind == "act_agent":
            activities = [data.agents[found.key1]]
            data.agents[found.key1].name = max(data.agents[found.key1].name, found.label)
        else:
            activities = [data.vias[found.key1]]
        for activity in activities:
            activity.total += found.count
            activity.proactive += found.count if found.key2 else 0
    buckets = quarters(session, scope, "act")
    data.days = per_day(((b, n) for b, _, n in buckets), scope.window.zone)
    data.proactive_days = per_day(((b, n) for b, proactive, n in buckets if proactive), scope.window.zone)
    return data


def agent_activity_report(
    data: AgentActivity, t: Callable[[str], str], day_label: Callable[[date], str]
) -> Report:
    if not data.total.total:
        return Report(empty=True)
    agents = sorted(
        ((activity.name or t(NO_AGENT) if agent else t(NO_AGENT), activity)
         for agent, activity in data.agents.items()),
        key=lambda row: (-row[1].total, row[0]),
    )  # fmt: skip
    vias = sorted(
        ((t(VIA_LABELS[via]) if via in VIA_LABELS else via or t(OTHER), a) for via, a in data.vias.items()),
        key=lambda row: (-row[1].total, row[0]),
    )
    days = [(day, data.days.get(day, 0), data.proactive_days.get(day, 0)) for day in data.day_list]
    figures = [
        Figure(N_("Interactions"), data.total.total),
        Figure(N_("Started by the agent"), Share(data.total.proactive, data.total.total)),
        Figure(N_("Agents with activity"), sum(1 for agent in data.agents if agent)),
    ]
    charts = [
        Chart("vias", N_("Interactions by channel"), [(name, a.total) for name, a in vias]),
        Chart("agents", N_("Interactions by agent"), [(name, a.total) for name, a in agents]),
        Chart("days", N_("Interactions per day"), [(day_label(d), n) for d, n, _ in days], kind="columns"),
    ]
    tables = [
        _activity_table("agents", N_("By agent"), N_("Agent"), agents),
        _activity_table("vias", N_("By channel"), N_("Channel"), vias),
        Table(
            "days",
            N_("Interactions per day"),
            (N_("Day"), N_("Interactions"), N_("Started by the agent"), N_("Share started by the agent")),
            [(day, total, proactive, Share(proactive, total)) for day, total, proactive in days],
        ),
    ]
    return Report(figures=figures, charts=charts, tables=tables)


def _activity_table(key: str, title: str, label: str, rows: list[tuple[str, Activity]]) -> Table:
    columns = (label, N_("Interactions"), N_("Started by the agent"), N_("Share started by the agent"))
    return Table(
        key, title, columns, [(name, a.total, a.proactive, Share(a.proactive, a.total)) for name, a in rows]
    )
