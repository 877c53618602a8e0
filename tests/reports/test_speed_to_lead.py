"""Speed to lead: the page and its CSV against figures computed from the sandbox's own data."""

from __future__ import annotations

from datetime import date

import pytest
from babel.numbers import format_decimal

from tests.pages.conftest import page_data
from tests.reports import expected
from tests.reports.conftest import NOW, csv_sections, report_target, shown

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

    data = page_data(response)
    download = client.get(data["urls"]["csv"], headers={"X-Zapp-Context": data["context"]})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    heading, tables = csv_sections(download.get_data(as_text=True))
    period = (heading["First day"], heading["Last day"], heading["Time zone"])
    assert period == (start, end, group["timezone"])
    for title, key in (("By agent", "agents"), ("By source", "sources")):
        rows = {row[0]: row[1:] for row in tables[title][1:]}
        assert set(rows) == set(figures[key])
        for name, tally in figures[key].items():
            share = "" if not tally["due"] else f"{tally['on_time'] / tally['due']:.4f}"
            assert rows[name] == [
                str(tally["leads"]), str(tally["contacted"]), _seconds(tally["p50"]), _seconds(tally["p90"]),
                share.rstrip("0").rstrip(".") if share else "", str(tally["waiting"]),
            ], name  # fmt: skip
    waiting = tables["Still waiting, oldest first"][1:]
    assert [row[0] for row in waiting] == [
        f"{p['firstName']} {p['lastName']}" for p in figures["waiting"][:100]
    ]
