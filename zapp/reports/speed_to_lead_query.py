"""Speed to lead: how long new contacts wait for their first contact, by agent and by source.

Read from the report rollups (``rollup_query``): each prospect created in
the period is counted by agent and by lead source with its time to first
contact (``first_contact_ms - created_ms``) in a response bin
(``store/rollups.py``): whole minutes rounded up, then coarser bounds whose
set holds every limit of the distribution and the instance's target. So the
share contacted within the target and the distribution are exact, and a
percentile is nearest-rank (the value at position ``ceil(p·n)`` of the
sorted times) shown as the upper bound of the bin that holds it *(inferred:
a manager reads "within 8 minutes" or "within 4 hours", not the exact time;
the bound is at most a third above the true value within a day, and exact
below 6 minutes)*. The share contacted within the target counts leads still
waiting past it as missed: the leads still waiting come from the rollups,
less those not yet due (created within the last ``target`` minutes), which
are read from the store's waiting index; so is the list of who waits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..i18n import N_
from ..models import StoredProspect
from ..store.rollups import NOT_CONTACTED
from ..vocabulary import NO_AGENT
from .rollup_query import sums
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
    not_yet_due: int = 0  # not contacted yet, and younger than the target
    percentiles: dict[int, int] = field(default_factory=dict)

    @property
    def on_time_share(self) -> Share:
        """Contacted within the target, of every lead that is due: a lead still waiting past the
        target counts against the share (leaving it out would flatter a growing backlog)."""
        return Share(self.on_time, self.contacted + self.overdue)

    @property
    def waiting(self) -> int:
        return self.leads - self.contacted

    @property
    def overdue(self) -> int:
        """Not contacted yet, and already older than the target. On PostgreSQL each statement reads its
        own snapshot: a lead stored between the rollups' read and the store's could count in the second
        only, so the difference is kept from going below zero."""
        return max(0, self.waiting - self.not_yet_due)


@dataclass
class SpeedToLead:
    target_minutes: int
    total: Tally
    agents: dict[str | None, Tally]
    sources: dict[str | None, Tally]
    distribution: list[int]
    waiting: Sequence[Any]


def read_speed_to_lead(session: Session, scope: ReportScope, target_minutes: int, now_ms: int) -> SpeedToLead:
    result = SpeedToLead(
        target_minutes, Tally(), defaultdict(Tally), defaultdict(Tally), [0] * len(BUCKETS), []
    )
    _read_counts(session, scope, target_minutes, result)
    _read_not_yet_due(session, scope, target_minutes * MINUTE, now_ms, result)
    result.waiting = _read_waiting(session, scope)
    return result


def _read_counts(session: Session, scope: ReportScope, target_minutes: int, result: SpeedToLead) -> None:
    """Leads, contacted, on time, the distribution and the percentiles, from the response bins of the
    rollups: by agent (and so in all) and by source."""
    bins: dict[int, tuple[Tally, Counter[int]]] = {}  # by id(tally): tallies are not hashable
    for found in sums(session, scope, ("stl_agent", "stl_source")):
        if found.kind == "stl_agent":
            tallies: tuple[Tally, ...] = (result.total, result.agents[found.key1])
            result.agents[found.key1].name = max(result.agents[found.key1].name, found.label)
            if found.key2 != NOT_CONTACTED:
                result.distribution[_bucket_index(found.key2)] += found.count
        else:
            tallies = (result.sources[found.key1],)
        for tally in tallies:
            tally.leads += found.count
            if found.key2 != NOT_CONTACTED:
                tally.contacted += found.count
                tally.on_time += found.count if found.key2 <= target_minutes else 0
                bins.setdefault(id(tally), (tally, Counter()))[1][found.key2] += found.count
    for tally, counted in bins.values():
        tally.percentiles = {p: nearest_rank_bin(counted, p) * MINUTE for p in PERCENTILES}


def _bucket_index(response_bin: int) -> int:
    """The distribution bucket of a response bin (bins and bucket limits are both whole minutes)."""
    for index, (limit, _) in enumerate(BUCKETS):
        if limit is not None and response_bin * MINUTE <= limit:
            return index
    return len(BUCKETS) - 1


def nearest_rank_bin(counts: Counter[int], percentile: int) -> int:
    """The bin holding the value at position ``ceil(p·n/100)`` (1-based) of the sorted values."""
    rank = (sum(counts.values()) * percentile + 99) // 100
    seen = 0
    for response_bin in sorted(counts):
        seen += counts[response_bin]
        if seen >= rank:
            return response_bin
    raise ValueError("no values")


def _read_not_yet_due(
    session: Session, scope: ReportScope, target_ms: int, now_ms: int, result: SpeedToLead
) -> None:
    """Leads waiting for less than the target: exact to the millisecond, read from the store (the
    waiting index: not contacted, by creation time), since "past the target" moves with the clock.
    Only the last ``target`` minutes are read (at most a day), whatever the period."""
    since = max(scope.window.start_ms, now_ms - target_ms)  # one lower bound: the index range is short
    rows = session.execute(
        select(P.c.agent_id, P.c.source, func.count())
        .where(
            P.c.instance_id == scope.instance_id,
            P.c.group_id.in_(scope.group_ids),
            P.c.first_contact_ms.is_(None),
            P.c.created_ms >= since,
            P.c.created_ms < scope.window.end_ms,
        )
        .group_by(P.c.agent_id, P.c.source)
    )
    for agent_id, source, count in rows:
        for tally in (result.total, result.agents[agent_id], result.sources[source]):
            tally.not_yet_due += count


def _read_waiting(session: Session, scope: ReportScope) -> Sequence[Any]:
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
