"""What every report page shares: ``@report``, reading its scope, rendering it, and its CSV download.

A report is one declaration: ``@report(key, name=..., summary=...)`` on a
function that reads its data from the store (a ``reports.*_query`` module)
and turns it into a ``reports.tables.Report``. That defines the framed page
at ``/reports/<key>`` (signed by Sales, in the manifest) and its CSV at
``/reports/<key>/csv`` (behind the page's context token); both go through
``build_report``, so they show the same figures for the same period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date
from flask import Response, current_app, url_for
from sqlalchemy.orm import Session

from ...i18n import N_, translate
from ...installations.lookup import GroupRef, ResolvedInstance
from ...openapi import documented
from ...reports.charts import render_chart
from ...reports.export import report_csv
from ...reports.freshness import Freshness, read_freshness
from ...reports.ranges import RangeError, RangeQuerySchema, ReportRange, parse_range
from ...reports.scope import ReportScope, group_and_descendants, instance_settings
from ...reports.tables import Cell, CellFormatter, Moment, Report, Table
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, report_page, single_parameters
from ..refusals import BadRange
from ..rendering import render_page

# Strings the page's script shows.
MESSAGES = {
    "preparing": N_("Preparing the download…"),
    "failed": N_("The download failed. Close the report and open it again."),
}


@dataclass(frozen=True)
class ReportInputs:
    """What a report's builder gets: the session, the rows to read, settings, language helpers."""

    session: Session
    scope: ReportScope
    settings: Mapping[str, Any]
    t: Callable[[str], str]
    day_label: Callable[[date], str]
    now_ms: int


@dataclass(frozen=True)
class ReportKind:
    key: str
    name: str
    build: Callable[[ReportInputs], Report]


def report(key: str, *, name: str, summary: str) -> Callable[[Callable[[ReportInputs], Report]], ReportKind]:
    """Declare a manager report: its page at ``/reports/<key>`` and its CSV, both built by the function."""

    def declare(build: Callable[[ReportInputs], Report]) -> ReportKind:
        kind = ReportKind(key, name, build)
        endpoint = _endpoint(kind)

        def show(page: Page) -> Response:
            return show_report(kind, page)

        def download(followup: FollowUp) -> Response:
            return download_report(kind, followup)

        show.__name__, download.__name__ = endpoint, f"{endpoint}_csv"
        page_view = report_page(key, name=name, summary=summary)(show)
        csv_view = documented(
            summary=f"The {name} report as CSV (needs the page's X-Zapp-Context token)",
            tags=("pages",),
            query=RangeQuerySchema,
            responses={200: None},
            errors=(400, 401, 403, 404),
        )(require_context(purpose=page_view.extension_point.purpose)(download))
        bp.add_url_rule(
            f"/reports/{key}/csv", endpoint=download.__name__, view_func=csv_view, methods=["GET"]
        )
        return kind

    return declare


@dataclass(frozen=True)
class BuiltReport:
    kind: ReportKind
    window: ReportRange
    group: GroupRef
    report: Report
    freshness: Freshness
    language: str

    @property
    def formatter(self) -> CellFormatter:
        return CellFormatter(self.language, self.window.zone)


def build_report(
    kind: ReportKind, instance: ResolvedInstance, params: Mapping[str, str], language: str
) -> BuiltReport:
    """The report for the instance's group and period; ``BadRange`` (400) for a period Sales never sends."""
    now = datetime.now(UTC)
    try:
        window = parse_range(dict(params), instance.group.timezone, now)
    except RangeError as error:
        raise BadRange(error.message, str(error)) from None
    database = current_app.extensions["zapp"].database
    with database.reading_session() as session:
        scope = ReportScope(
            instance.id, group_and_descendants(session, instance.id, instance.group.group_id), window
        )
        inputs = ReportInputs(
            session=session,
            scope=scope,
            settings=instance_settings(session, instance.id),
            t=lambda message: translate(language, message),
            day_label=lambda day: format_date(day, "medium", locale=language),
            now_ms=int(now.timestamp() * 1000),
        )
        report = kind.build(inputs)
        freshness = read_freshness(session, instance.id)
    return BuiltReport(kind, window, instance.group, report, freshness, language)


def show_report(kind: ReportKind, page: Page) -> Response:
    """The framed page: figures, SVG charts and tables, readable without any script."""
    built = build_report(kind, page.instance, page.params, page.language)
    csv_url = url_for(f"pages.{_endpoint(kind)}_csv", **_range_args(built.window))
    page_data = {
        "context": page.context_token,
        "language": page.language,
        "urls": {"csv": csv_url},
        "filename": csv_filename(built),
        "messages": {key: translate(page.language, message) for key, message in MESSAGES.items()},
    }
    return render_page(
        "pages/reports/report.html",
        page.language,
        page_data=page_data,
        **_template_values(built),
    )


def download_report(kind: ReportKind, followup: FollowUp) -> Response:
    """The CSV of the page the token was minted for: its group, the period in the query string."""
    params = single_parameters(("range", "start", "end"))
    built = build_report(kind, followup.instance, params, followup.context.language)
    t = _translator(built.language)
    heading = [
        (t(N_("Report")), t(kind.name)),
        (t(N_("Group")), built.group.display_name),
        (t(N_("First day")), built.window.first.isoformat()),
        (t(N_("Last day")), built.window.last.isoformat()),
        (t(N_("Time zone")), built.window.timezone),
        (t(N_("Data as of")), _iso(built.freshness.synced_at)),
    ]
    body = "\ufeff" + report_csv(built.report, heading, t)  # the BOM makes spreadsheets read UTF-8
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{csv_filename(built)}"'
    return response


def csv_filename(built: BuiltReport) -> str:
    """Only our own characters: the key and ISO dates, never a name from Sales."""
    return f"{built.kind.key}-{built.window.first.isoformat()}-{built.window.last.isoformat()}.csv"


def _endpoint(kind: ReportKind) -> str:
    return kind.key.replace("-", "_")


def _range_args(window: ReportRange) -> dict[str, Any]:
    """The resolved days, never the word: a download just after midnight keeps the period on screen."""
    return {"range": "custom", "start": window.first.isoformat(), "end": window.last.isoformat()}


def _translator(language: str) -> Callable[[str], str]:
    return lambda message: translate(language, message)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else ""


def _template_values(built: BuiltReport) -> dict[str, Any]:
    t, cell = _translator(built.language), built.formatter
    return {
        "title": t(built.kind.name),
        "group_name": built.group.display_name,
        "period": _period(built),
        "timezone": built.window.timezone,
        "freshness": _freshness_line(built, t),
        "importing": [
            t(N_("Importing history: %(count)s records so far.")) % {"count": cell(item.imported)}
            for item in built.freshness.running
        ],
        "nothing_imported": built.freshness.nothing_imported,
        "empty": built.report.empty,
        "figures": [(t(f.label), cell(f.value)) for f in built.report.figures],
        "charts": [render_chart(chart, t(chart.title), cell) for chart in built.report.charts],
        "tables": [_table(table, t, cell) for table in built.report.tables],
    }


def _period(built: BuiltReport) -> str:
    window = built.window
    first, last = (format_date(day, "medium", locale=built.language) for day in (window.first, window.last))
    return first if first == last else f"{first} – {last}"


def _freshness_line(built: BuiltReport, t: Callable[[str], str]) -> str:
    synced = built.freshness.synced_at
    if synced is None:
        return t(N_("The App has not received data from Zenvia Sales yet."))
    when = built.formatter(Moment(int(synced.timestamp() * 1000)))
    return t(N_("Data as of %(when)s.")) % {"when": when}


@dataclass(frozen=True)
class ShownTable:
    key: str
    title: str
    columns: list[str]
    rows: list[list[tuple[str, bool]]]
    note: str | None


def _table(table: Table, t: Callable[[str], str], cell: Callable[[Cell], str]) -> ShownTable:
    """Cells as text, each with whether it is a figure (right-aligned) or a label."""
    return ShownTable(
        key=table.key,
        title=t(table.title),
        columns=[t(column) for column in table.columns],
        rows=[[(cell(value), not isinstance(value, str)) for value in row] for row in table.rows],
        note=table.note,
    )
