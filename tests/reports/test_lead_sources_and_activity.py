"""Lead sources and agent activity: page and CSV against figures computed from the sandbox's data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.numbers import format_decimal

from tests.pages.conftest import page_data
from tests.reports import expected
from tests.reports.conftest import csv_sections, report_target, shown
from tests.reports.test_speed_to_lead import PERIODS
from zapp.vocabulary import VIA_LABELS


def _download(client, response) -> dict[str, list[list[str]]]:
    data = page_data(response)
    download = client.get(data["urls"]["csv"], headers={"X-Zapp-Context": data["context"]})
    assert download.status_code == 200
    return csv_sections(download.get_data(as_text=True))[1]


def _days(start: str, end: str) -> list[date]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize(("region", "start", "end"), PERIODS)
def test_lead_sources_match_the_sandbox(stack, region, start, end):
    group = stack.group(region)
    prospects = expected.prospects_in(
        stack.account, stack.covered(group["id"]), date.fromisoformat(start), date.fromisoformat(end),
        group["timezone"],
    )  # fmt: skip
    figures = expected.lead_sources(prospects, group["timezone"])
    client = stack.app.test_client()
    response = client.get(report_target("lead-sources", group["id"], start=start, end=end))
    assert response.status_code == 200
    page = shown(response)
    for name, count in figures["sources"].items():
        assert page.rows("sources")[name][0] == format_decimal(count, locale="en")

    tables = _download(client, response)
    for title, key in (("By source", "sources"), ("By medium", "mediums"), ("By campaign", "campaigns"),
                       ("Archiving reasons", "reasons")):  # fmt: skip
        assert {row[0]: int(row[1]) for row in tables[title][1:]} == dict(figures[key]), title
    funnel = {row[0]: int(row[1]) for row in tables["Status funnel"][1:]}
    assert funnel["Received"] == len(prospects)
    assert funnel["Contacted"] == figures["contacted"][True]
    assert funnel["Claimed by an agent"] == len(prospects) - figures["statuses"]["unclaimed"]
    trend = {row[0]: int(row[1]) for row in tables["New contacts per day"][1:]}
    assert trend == {day.isoformat(): figures["days"].get(day, 0) for day in _days(start, end)}


@pytest.mark.parametrize(("region", "start", "end"), PERIODS)
def test_agent_activity_matches_the_sandbox(stack, region, start, end):
    group = stack.group(region)
    interactions = expected.interactions_in(
        stack.account, stack.covered(group["id"]), date.fromisoformat(start), date.fromisoformat(end),
        group["timezone"],
    )  # fmt: skip
    figures = expected.agent_activity(interactions, group["timezone"])
    assert len(interactions) > 20
    client = stack.app.test_client()
    response = client.get(report_target("agent-activity", group["id"], start=start, end=end))
    assert response.status_code == 200
    page = shown(response)
    assert page.figures["Interactions"] == format_decimal(len(interactions), locale="en")

    tables = _download(client, response)
    agents = {row[0]: [int(row[1]), int(row[2])] for row in tables["By agent"][1:]}
    assert agents == {name: [c["total"], c["proactive"]] for name, c in figures["agents"].items()}
    vias = {row[0]: [int(row[1]), int(row[2])] for row in tables["By channel"][1:]}
    assert vias == {VIA_LABELS[via]: [c["total"], c["proactive"]] for via, c in figures["vias"].items()}
    days = {row[0]: [int(row[1]), int(row[2])] for row in tables["Interactions per day"][1:]}
    per_day = figures["days"]
    assert days == {
        d.isoformat(): [per_day[d]["total"], per_day[d]["proactive"]] if d in per_day else [0, 0]
        for d in _days(start, end)
    }
