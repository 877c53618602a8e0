"""Speed to lead: the page and its CSV against figures computed from the sandbox's own data."""

from __future__ import annotations

from datetime import date

import pytest
from babel.numbers import format_decimal

from tests.conftest import APP_ID, APP_SECRET
from tests.pages.conftest import page_data
from tests.reports import expected
from tests.reports.conftest import NOW, csv_sections, report_target, shown
from zapp.store import rollups

# (region, first day, last day): Madrid across the end of summer time and a month boundary;
# the whole account (root group, São Paulo) over a month boundary.
PERIODS = [
    ("España", "2026-10-20", "2026-11-03"),
    ("Grupo Autonova", "2026-09-25", "2026-10-06"),
]


def _seconds(value: int | None) -> str:
    return "" if value is None else f"{value / 1000:g}"


@pytest.mark.parametrize(("region", "start", "end"), PERIODS)
def test_page_and_csv_match_the_sandbox(stack, region, start, end):
    group = stack.group(region)
    prospects = expected.prospects_in(
        stack.account, stack.covered(group["id"]), date.fromisoformat(start), date.fromisoformat(end),
        group["timezone"],
    )  # fmt: skip
    figures = expected.speed_to_lead(prospects, target_minutes=5, now=NOW)
    assert figures["total"]["leads"] > 20 and figures["total"]["waiting"] > 0  # the period is not trivial

    client = stack.app.test_client()
    response = client.get(report_target("speed-to-lead", group["id"], start=start, end=end))
    assert response.status_code == 200, response.get_data(as_text=True)
    page = shown(response)
    assert page.figures["New contacts"] == format_decimal(figures["total"]["leads"], locale="en")
    assert page.figures["Still waiting"] == format_decimal(figures["total"]["waiting"], locale="en")
    for name, tally in figures["agents"].items():
        row = page.rows("agents")[name]
        assert row[:2] == [format_decimal(tally["leads"], locale="en"), format_decimal(tally["contacted"])]
    assert "<svg" in page.html and 'role="img"' in page.html

    heading, tables = _csv_matches(client, response, figures)
    period = (heading["First day"], heading["Last day"], heading["Time zone"])
    assert period == (start, end, group["timezone"])
    waiting = tables["Still waiting, oldest first"][1:]
    assert [row[0] for row in waiting] == [
        f"{p['firstName']} {p['lastName']}" for p in figures["waiting"][:100]
    ]


def test_a_new_target_gives_exact_shares_and_percentiles_at_once(stack):
    """A target that is no bound of the fixed bins (7 minutes) re-bins the rollups as the setting
    changes: the next report's share on time and percentiles match the sandbox's data at that target."""
    group = stack.group("Grupo Autonova")
    start, end = "2026-09-25", "2026-10-06"
    client = stack.app.test_client()
    changed = client.put(
        f"/lifecycle/settings?api-key={stack.api_key}", json={"speedToLeadTargetMinutes": 7},
        headers={"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET},
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json["speedToLeadTargetMinutes"] == 7
    prospects = expected.prospects_in(
        stack.account, stack.covered(group["id"]), date.fromisoformat(start), date.fromisoformat(end),
        group["timezone"],
    )  # fmt: skip
    figures = expected.speed_to_lead(prospects, target_minutes=7, now=NOW)
    response = client.get(report_target("speed-to-lead", group["id"], start=start, end=end))
    assert response.status_code == 200 and "Contacted within 7 min" in response.get_data(as_text=True)
    _csv_matches(client, response, figures)
    with stack.app.extensions["zapp"].database.sessions() as session, session.begin():
        kept = rollups.counts_of(session, stack.instance_id)
        for _step in rollups.rebuild(session, stack.instance_id):
            pass
        assert kept == rollups.counts_of(session, stack.instance_id)
        session.rollback()


def _csv_matches(client, response, figures) -> tuple[dict, dict]:
    """The report's CSV: its agent and source tables equal ``figures``; returns its sections."""
    data = page_data(response)
    download = client.get(data["urls"]["csv"], headers={"X-Zapp-Context": data["context"]})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    heading, tables = csv_sections(download.get_data(as_text=True))
    for title, key in (("By agent", "agents"), ("By source", "sources")):
        rows = {row[0]: row[1:] for row in tables[title][1:]}
        assert set(rows) == set(figures[key])
        for name, tally in figures[key].items():
            share = "" if not tally["due"] else f"{tally['on_time'] / tally['due']:.4f}"
            assert rows[name] == [
                str(tally["leads"]), str(tally["contacted"]), _seconds(tally["p50"]), _seconds(tally["p90"]),
                share.rstrip("0").rstrip(".") if share else "", str(tally["waiting"]),
            ], name  # fmt: skip
    return heading, tables
