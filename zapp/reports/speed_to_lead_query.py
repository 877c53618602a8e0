"""Speed to lead: how long new contacts wait for their first contact, by agent and by source.

Read from ``store_prospects`` rows created in the period: the time to first
contact is ``first_contact_ms - created_ms``. Percentiles are nearest-rank
(the value at position ``ceil(p·n)`` of the sorted times), from one pass
over a small tuple per contacted lead; the counts are one ``GROUP BY`` whose
rows are few (agents × sources × buckets). The share contacted within the
target counts leads still waiting past it as missed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from ..i18n import N_
from ..models import StoredProspect
from ..vocabulary import NO_AGENT
from .scope import ReportScope
from .tables import Chart, Duration, Figure, Moment, Report, Share, Table

P = StoredProspect.__table__
MINUTE = 60_000
# Upper bounds (inclusive) of the distribution's buckets; the last one is open.
BUCKETS: tuple[tuple[int | None, str], ...] = (
    (5 * MINUTE, N_("Up to 5 minutes")),
    (15 * MINUTE, N_("5 to 15 minutes")),
    (60 * MINUTE, N_("15 to 60 minutes")),
    (4 * 60 * MINUTE, N_("1 to 4 hours")),
    (24 * 60 * MINUTE, N_("4 to 24 hours")),
    (72 * 60 * MINUTE, N_("1 to 3 days")),
    (None, N_("More than 3 days")),
)
PERCENTILES = (50, 90)
WAITING_SHOWN = 100
NO_SOURCE = N_("Unknown source")


@dataclass
class Tally:
    """Counts of one agent, one source, or everyone."""

    name: str = ""
    leads: int = 0
    contacted: int = 0
    on_time: int = 0
    overdue: int = 0  # not contacted yet, and already older than the target
    percentiles: dict[int, int] = field(default_factory=dict)

    @property
    def on_time_share(self) -> Share:
        """Contacted within the target, of every lead that is due: a lead still waiting past the
        target counts against the share (leaving it out would flatter a growing backlog)."""
        return Share(self.on_time, self.contacted + self.overdue)

    @property
    def waiting(self) -> int:
        return self.leads - self.contacted


@dataclass
class SpeedToLead:
    target_minutes: int
    total: Tally
    agents: dict[str | None, Tally]
    sources: dict[str | None, Tally]
    distribution: list[int]
    waiting: list[Any]


def read_speed_to_lead(session: Session, scope: ReportScope, target_minutes: int, now_ms: int) -> SpeedToLead:
    result = SpeedToLead(
        target_minutes, Tally(), defaultdict(Tally), defaultdict(Tally), [0] * len(BUCKETS), []
    )
    _read_counts(session, scope, target_minutes * MINUTE, now_ms, result)
    _read_percentiles(session, scope, result)
    result.waiting = _read_waiting(session, scope)
    return result


def _read_counts(
    session: Session, scope: ReportScope, target_ms: int, now_ms: int, result: SpeedToLead
) -> None:
    response = P.c.first_contact_ms - P.c.created_ms
    contacted = P.c.first_contact_ms.is_not(None)
    bucket = case(
        (~contacted, None),
        *((response <= limit, index) for index, (limit, _) in enumerate(BUCKETS) if limit is not None),
        else_=len(BUCKETS) - 1,
    ).label("bucket")
    on_time = case((and_(contacted, response <= target_ms), 1), else_=0).label("on_time")
    overdue = case((and_(~contacted, P.c.created_ms < now_ms - target_ms), 1), else_=0).label("overdue")
    rows = session.execute(
        select(P.c.agent_id, P.c.source, bucket, on_time, overdue, func.max(P.c.agent_name), func.count())
        .where(*scope.where(P))
        .group_by(P.c.agent_id, P.c.source, bucket, on_time, overdue)
    ).all()
    for agent_id, source, index, is_on_time, is_overdue, name, count in rows:
        for tally in (result.total, result.agents[agent_id], result.sources[source]):
            tally.leads += count
            tally.overdue += count * is_overdue
            if index is not None:
                tally.contacted += count
                tally.on_time += count * is_on_time
        result.agents[agent_id].name = max(result.agents[agent_id].name, name or "")
        if index is not None:
            result.distribution[index] += count


def _read_percentiles(session: Session, scope: ReportScope, result: SpeedToLead) -> None:
    """Nearest-rank percentiles of the times to first contact, overall, by agent and by source.

    One pass fetching a small tuple per contacted lead, then sorting here: window functions
    ranking the same rows three times cost about three times more on SQLite.
    """
    response = P.c.first_contact_ms - P.c.created_ms
    rows = session.execute(
        select(P.c.agent_id, P.c.source, response).where(*scope.where(P), P.c.first_contact_ms.is_not(None))
    )
    overall: list[int] = []
    agents: dict[str | None, list[int]] = defaultdict(list)
    sources: dict[str | None, list[int]] = defaultdict(list)
    for agent_id, source, time_ms in rows:
        overall.append(time_ms)
        agents[agent_id].append(time_ms)
        sources[source].append(time_ms)
    for tally, times in (
        (result.total, overall),
        *((result.agents[agent_id], times) for agent_id, times in agents.items()),
        *((result.sources[source], times) for source, times in sources.items()),
    ):
        if times:
            times.sort()
            tally.percentiles = {p: nearest_rank(times, p) for p in PERCENTILES}


def nearest_rank(sorted_values: list[int], percentile: int) -> int:
    """The value at position ``ceil(p·n/100)`` (1-based) of the sorted values."""
    return sorted_values[(len(sorted_values) * percentile + 99) // 100 - 1]


def _read_waiting(session: Session, scope: ReportScope) -> list[Any]:
    return session.execute(
        select(P.c.prospect_id, P.c.first_name, P.c.last_name, P.c.agent_name, P.c.source, P.c.created_ms)
        .where(*scope.where(P), P.c.first_contact_ms.is_(None))
        .order_by(P.c.created_ms, P.c.prospect_id)
        .limit(WAITING_SHOWN)
    ).all()


# -- presentation ------------------------------------------------------------------------


def speed_to_lead_report(data: SpeedToLead, t: Callable[[str], str], now_ms: int) -> Report:
    """Figures, the distribution chart and the tables; ``t`` localizes our own labels."""
    total = data.total
    if not total.leads:
        return Report(empty=True)
    target = t(N_("Contacted within %(minutes)s min")) % {"minutes": data.target_minutes}
    figures = [
        Figure(N_("New contacts"), total.leads),
        Figure(N_("Contacted"), total.contacted),
        Figure(N_("Median time to first contact"), Duration(total.percentiles.get(50))),
        Figure(N_("90th percentile"), Duration(total.percentiles.get(90))),
        Figure(target, total.on_time_share),
        Figure(N_("Still waiting"), total.waiting),
    ]
    chart = Chart(
        "distribution",
        N_("Time to first contact"),
        [(t(label), count) for (_, label), count in zip(BUCKETS, data.distribution, strict=True)],
    )
    tables = [
        _tally_table("agents", N_("By agent"), N_("Agent"), _named(data.agents, t(NO_AGENT)), target),
        _tally_table("sources", N_("By source"), N_("Source"), _sources(data.sources, t(NO_SOURCE)), target),
        Table("distribution", N_("Time to first contact"), (N_("Time"), N_("Contacts")), chart.bars),
        _waiting_table(data, t, now_ms),
    ]
    return Report(figures=figures, charts=[chart], tables=tables)


def _named(agents: dict[str | None, Tally], nobody: str) -> list[tuple[str, Tally]]:
    rows = [(tally.name or nobody if agent else nobody, tally) for agent, tally in agents.items()]
    return sorted(rows, key=lambda row: (-row[1].leads, row[0]))


def _sources(sources: dict[str | None, Tally], unknown: str) -> list[tuple[str, Tally]]:
    rows = [(source or unknown, tally) for source, tally in sources.items()]
    return sorted(rows, key=lambda row: (-row[1].leads, row[0]))


def _tally_table(key: str, title: str, label: str, rows: list[tuple[str, Tally]], target: str) -> Table:
    columns = (label, N_("New contacts"), N_("Contacted"), N_("Median"), N_("90th percentile"), target,
               N_("Still waiting"))  # fmt: skip
    return Table(
        key,
        title,
        columns,
        [
            (
                name,
                tally.leads,
                tally.contacted,
                Duration(tally.percentiles.get(50)),
                Duration(tally.percentiles.get(90)),
                tally.on_time_share,
                tally.waiting,
            )
            for name, tally in rows
        ],  # fmt: skip
    )


def _waiting_table(data: SpeedToLead, t: Callable[[str], str], now_ms: int) -> Table:
    rows = [
        (
            " ".join(part for part in (row.first_name, row.last_name) if part),
            row.source or t(NO_SOURCE),
            row.agent_name or t(NO_AGENT),
            Moment(row.created_ms),
            Duration(now_ms - row.created_ms),
        )
        for row in data.waiting
    ]
    note = None
    if data.total.waiting > len(rows):
        note = t(N_("The %(shown)s oldest of %(total)s are shown.")) % {
            "shown": len(rows),
            "total": data.total.waiting,
        }
    columns = (N_("Contact"), N_("Source"), N_("Agent"), N_("Created"), N_("Waiting for"))
    return Table("waiting", N_("Still waiting, oldest first"), columns, rows, note)
