"""The Agent activity report: interactions by agent and channel, the share agents started, per day."""

from __future__ import annotations

from ...i18n import N_
from ...reports.agent_activity_query import agent_activity_report, read_agent_activity
from ...reports.tables import Report
from .shared import ReportInputs, report


@report(
    "agent-activity",
    name=N_("Agent activity"),
    summary="Agent activity report: interactions by agent and channel, per day (signed by Sales)",
)
def agent_activity(inputs: ReportInputs) -> Report:
    data = read_agent_activity(inputs.session, inputs.scope)
    return agent_activity_report(data, inputs.t, inputs.day_label)
