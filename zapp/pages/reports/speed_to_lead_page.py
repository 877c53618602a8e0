"""The Speed to lead report: time from a new contact to its first contact, against the team's target."""

from __future__ import annotations

from ...i18n import N_
from ...reports.speed_to_lead_query import read_speed_to_lead, speed_to_lead_report
from ...reports.tables import Report
from .shared import ReportInputs, report


@report(
    "speed-to-lead",
    name=N_("Speed to lead"),
    summary="Speed to lead report: time to first contact by agent and source (signed by Sales)",
)
def speed_to_lead(inputs: ReportInputs) -> Report:
    target = int(inputs.settings["speedToLeadTargetMinutes"])
    data = read_speed_to_lead(inputs.session, inputs.scope, target, inputs.now_ms)
    return speed_to_lead_report(data, inputs.t, inputs.now_ms)
