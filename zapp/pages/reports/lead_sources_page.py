"""The Lead sources report: where new contacts came from, the status funnel, archiving reasons, per day."""

from __future__ import annotations

from flask import Response

from ...i18n import N_
from ...openapi import documented
from ...reports.lead_sources_query import lead_sources_report, read_lead_sources
from ...reports.ranges import RangeQuerySchema
from ...reports.tables import Report
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, report
from .shared import ReportInputs, ReportKind, download_report, show_report


def _build(inputs: ReportInputs) -> Report:
    return lead_sources_report(read_lead_sources(inputs.session, inputs.scope), inputs.t, inputs.day_label)


KIND = ReportKind("lead-sources", N_("Lead sources"), _build)


@report(
    KIND.key,
    name=KIND.name,
    summary="Lead sources report: new contacts by UTM source, medium and campaign (signed by Sales)",
)
def lead_sources(page: Page) -> Response:
    return show_report(KIND, page)


@bp.get("/reports/lead-sources/csv")
@documented(
    summary="The Lead sources report as CSV (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=RangeQuerySchema,
    responses={200: None},
    errors=(400, 401, 403, 404),
)
@require_context(purpose=lead_sources.extension_point.purpose)
def lead_sources_csv(followup: FollowUp) -> Response:
    return download_report(KIND, followup)
