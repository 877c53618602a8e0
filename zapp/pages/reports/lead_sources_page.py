"""The Lead sources report: where new contacts came from, the status funnel, archiving reasons, per day."""

from __future__ import annotations

from ...i18n import N_
from ...reports.lead_sources_query import lead_sources_report, read_lead_sources
from ...reports.tables import Report
from .shared import ReportInputs, report


@report(
    "lead-sources",
    name=N_("Lead sources"),
    summary="Lead sources report: new contacts by UTM source, medium and campaign (signed by Sales)",
)
def lead_sources(inputs: ReportInputs) -> Report:
    return lead_sources_report(read_lead_sources(inputs.session, inputs.scope), inputs.t, inputs.day_label)
