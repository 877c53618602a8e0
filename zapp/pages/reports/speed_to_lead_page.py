"""The Speed to lead report: time from a new contact to its first contact, against the team's target."""

from __future__ import annotations

from flask import Response

from ...i18n import N_
from ...openapi import documented
from ...reports.ranges import RangeQuerySchema
from ...reports.speed_to_lead_query import read_speed_to_lead, speed_to_lead_report
from ...reports.tables import Report
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, report
from .shared import ReportInputs, ReportKind, download_report, show_report


def _build(inputs: ReportInputs) -> Report:
    target = int(inputs.settings["speedToLeadTargetMinutes"])
    data = read_speed_to_lead(inputs.session, inputs.scope, target, inputs.now_ms)
    return speed_to_lead_report(data, inputs.t, inputs.now_ms)


KIND = ReportKind("speed-to-lead", N_("Speed to lead"), _build)


@report(
    KIND.key,
    name=KIND.name,
    summary="Speed to lead report: time to first contact by agent and source (signed by Sales)",
)
def speed_to_lead(page: Page) -> Response:
    return show_report(KIND, page)


@bp.get("/reports/speed-to-lead/csv")
@documented(
    summary="The Speed to lead report as CSV (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=RangeQuerySchema,
    responses={200: None},
    errors=(400, 401, 403, 404),
)
@require_context(purpose=speed_to_lead.extension_point.purpose)
def speed_to_lead_csv(followup: FollowUp) -> Response:
    return download_report(KIND, followup)
