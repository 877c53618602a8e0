"""The Agent activity report: interactions by agent and channel, the share agents started, per day."""

from __future__ import annotations

from flask import Response

from ...i18n import N_
from ...openapi import documented
from ...reports.agent_activity_query import agent_activity_report, read_agent_activity
from ...reports.ranges import RangeQuerySchema
from ...reports.tables import Report
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, report
from .shared import ReportInputs, ReportKind, download_report, show_report


def _build(inputs: ReportInputs) -> Report:
    data = read_agent_activity(inputs.session, inputs.scope)
    return agent_activity_report(data, inputs.t, inputs.day_label)


KIND = ReportKind("agent-activity", N_("Agent activity"), _build)


@report(
    KIND.key,
    name=KIND.name,
    summary="Agent activity report: interactions by agent and channel, per day (signed by Sales)",
)
def agent_activity(page: Page) -> Response:
    return show_report(KIND, page)


@bp.get("/reports/agent-activity/csv")
@documented(
    summary="The Agent activity report as CSV (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=RangeQuerySchema,
    responses={200: None},
    errors=(400, 401, 403, 404),
)
@require_context(purpose=agent_activity.extension_point.purpose)
def agent_activity_csv(followup: FollowUp) -> Response:
    return download_report(KIND, followup)
