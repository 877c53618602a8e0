"""Lead sources: where the period's new contacts came from, how far they got, why they were archived.

Read from the report rollups (``rollup_query``): each breakdown (utm source,
medium, campaign, status, archiving reason of the archived, contacted) is a
rollup kind of its own, and the daily trend sums the 15-minute counts of
new contacts into local days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from ..i18n import N_
from .days import per_day
from .rollup_query import quarters, sums
from .scope import ReportScope
from .tables import Chart, Figure, Report, Share, Table

STATUS_LABELS = {
    "unclaimed": N_("Unclaimed"),
    "new": N_("New"),
    "followUp": N_("Follow-up"),
    "archived": N_("Archived"),
}
NOT_SET = N_("(not set)")


@dataclass
class LeadSources:
    total: int
    sources: Counter[str | None]
    mediums: Counter[str | None]
    campaigns: Counter[str | None]
    statuses: Counter[str | None]
    reasons: Counter[str | None]
    contacted: int
    days: Counter[date]
    day_list: list[date]


def read_lead_sources(session: Session, scope: ReportScope) -> LeadSources:
    data = LeadSources(
        0, Counter(), Counter(), Counter(), Counter(), Counter(), 0, Counter(), scope.window.days()
    )
    breakdowns = {"utm_source": data.sources, "utm_medium": data.mediums, "utm_campaign": data.campaigns,
                  "status": data.statuses, "reason": data.reasons}  # fmt: skip
    for found in sums(session, scope, ("leads", "contacted", *breakdowns)):
        if found.kind == "leads":
            data.total += found.count
        elif found.kind == "contacted":
            data.contacted += found.count
        else:
            breakdowns[found.kind][found.key1] += found.count
    data.days = per_day(((bucket, count) for bucket, _, count in quarters(session, scope, "leads")),
                        scope.window.zone)  # fmt: skip
    return data


def lead_sources_report(
    data: LeadSources, t: Callable[[str], str], day_label: Callable[[date], str]
) -> Report:
    if not data.total:
        return Report(empty=True)
    claimed = data.total - data.statuses.get("unclaimed", 0)
    archived = data.statuses.get("archived", 0)
    funnel = [
        (t(N_("Received")), data.total),
        (t(N_("Claimed by an agent")), claimed),
        (t(N_("Contacted")), data.contacted),
        (t(N_("Archived")), archived),
    ]
    sources = _ranked(data.sources, t(NOT_SET))
    trend = [(day, data.days.get(day, 0)) for day in data.day_list]
    figures = [
        Figure(N_("New contacts"), data.total),
        Figure(N_("Sources"), sum(1 for source in data.sources if source)),  # "(not set)" is none
        Figure(N_("Contacted"), Share(data.contacted, data.total)),
        Figure(N_("Archived"), Share(archived, data.total)),
    ]
    charts = [
        Chart("sources", N_("New contacts by source"), sources),
        Chart("funnel", N_("Status funnel"), funnel),
        Chart("trend", N_("New contacts per day"), [(day_label(d), n) for d, n in trend], kind="columns"),
    ]
    tables = [
        _share_table("sources", N_("By source"), N_("Source"), sources, data.total),
        _share_table("mediums", N_("By medium"), N_("Medium"), _ranked(data.mediums, t(NOT_SET)), data.total),
        _share_table(
            "campaigns", N_("By campaign"), N_("Campaign"), _ranked(data.campaigns, t(NOT_SET)), data.total
        ),  # fmt: skip
        _share_table("funnel", N_("Status funnel"), N_("Stage"), funnel, data.total),
        _share_table("statuses", N_("By status"), N_("Status"), _statuses(data.statuses, t), data.total),
        _share_table(
            "reasons", N_("Archiving reasons"), N_("Reason"), _ranked(data.reasons, t(NOT_SET)), archived
        ),  # fmt: skip
        Table("trend", N_("New contacts per day"), (N_("Day"), N_("New contacts")), trend),
    ]
    return Report(figures=figures, charts=charts, tables=tables)


def _ranked(counts: Counter[str | None], missing: str) -> list[tuple[str, int]]:
    merged: Counter[str] = Counter()
    for key, count in counts.items():
        merged[key or missing] += count
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


def _statuses(counts: Counter[str | None], t: Callable[[str], str]) -> list[tuple[str, int]]:
    """Sales' own order first (the way a contact moves), then any status we do not know, by count."""
    known = [(t(label), counts[key]) for key, label in STATUS_LABELS.items() if counts.get(key)]
    others = {key: count for key, count in counts.items() if key not in STATUS_LABELS}
    return known + _ranked(Counter(others), t(NOT_SET))


def _share_table(key: str, title: str, label: str, rows: list[tuple[str, int]], whole: int) -> Table:
    columns = (label, N_("New contacts"), N_("Share"))
    return Table(key, title, columns, [(name, count, Share(count, whole)) for name, count in rows])
