"""Report pages and downloads: refusals, periods Sales never sends, empty and fresh states, hostile names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.pages.conftest import HOSTILE_LAST, HOSTILE_NAME, object_id, page_data, sign
from tests.reports.conftest import csv_sections, report_target, shown
from zapp.models import SyncState, WebhookEvent
from zapp.store.records import store_interactions, store_prospects

DAY_MS = 86_400_000
FORMULA = '=HYPERLINK("http://evil.example","x")'
REPORTS = ("speed-to-lead", "lead-sources", "agent-activity")
# The cell each report's CSV must show for a value that would start a formula: the source, the
# campaign, the channel (via) of the hostile rows below.
NEUTRALISED = {
    "speed-to-lead": "'+" + HOSTILE_LAST,
    "lead-sources": "'" + FORMULA,
    "agent-activity": "'@" + HOSTILE_LAST,
}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _prospect(instance_id: int, group: str, created: str, **values) -> dict:
    created_ms = _ms(created)
    row = {
        "instance_id": instance_id, "prospect_id": object_id(), "group_id": group, "agent_id": object_id(),
        "agent_name": HOSTILE_NAME, "first_name": HOSTILE_LAST, "last_name": "-1+2", "status": "new",
        "label": None, "category": None, "archiving_reason": None, "source": "+" + HOSTILE_LAST,
        "utm_source": HOSTILE_NAME, "utm_medium": "@SUM(A1)", "utm_campaign": FORMULA,
        "created_ms": created_ms, "first_contact_ms": None, "updated_ms": created_ms,
        "whatsapp_due_ms": None, "facebook_due_ms": None,
    }  # fmt: skip
    return {**row, **values}


def _interaction(instance_id: int, group: str, created: str) -> dict:
    created_ms = _ms(created)
    return {
        "instance_id": instance_id, "interaction_id": object_id(), "prospect_id": object_id(),
        "group_id": group, "agent_id": object_id(), "agent_name": HOSTILE_NAME, "via": "@" + HOSTILE_LAST,
        "proactive": True, "status": None, "created_ms": created_ms, "updated_ms": created_ms,
    }  # fmt: skip


@pytest.fixture
def hostile(app, installed):
    """An installation whose store holds one contact and one interaction named to break out of markup."""
    with app.extensions["zapp"].database.transaction() as session:
        store_prospects(session, [_prospect(installed.id, installed.groups[1], "2026-03-10T12:00:00+00:00")])
        store_interactions(
            session, [_interaction(installed.id, installed.groups[1], "2026-03-10T13:00:00+00:00")]
        )
    return installed


def _open(client, key: str, group: str, start: str = "2026-03-01", end: str = "2026-03-31"):
    return client.get(report_target(key, group, start=start, end=end))


@pytest.mark.parametrize("key", REPORTS)
def test_hostile_names_are_escaped_in_html_svg_and_csv(client, hostile, key):
    response = _open(client, key, hostile.group)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;/script&gt;" in html or "&#34;&gt;&lt;img" in html
    # the data block, the pages' framework and the download script, each with the nonce; nothing else
    assert html.count("<script") == 3 == html.count('nonce="')
    data = page_data(response)
    csv_text = client.get(data["urls"]["csv"], headers={"X-Zapp-Context": data["context"]}).get_data(
        as_text=True
    )
    tables = csv_sections(csv_text)[1]
    for _title, rows in tables.items():
        for row in rows:
            assert not any(cell.startswith(("=", "+", "@")) for cell in row), row
            assert not any(cell.startswith("-") and not cell.lstrip("-").replace(".", "").isdigit()
                           for cell in row), row  # fmt: skip
    cells = {cell for rows in tables.values() for row in rows for cell in row}
    assert NEUTRALISED[key] in cells, tables  # each report shows a value that would start a formula
    if key == "lead-sources":
        assert tables["By campaign"][1][0] == "'" + FORMULA
        assert tables["By medium"][1][0] == "'@SUM(A1)"


def test_a_report_counts_its_group_and_descendants_only(client, hostile):
    opened_on_child = shown(_open(client, "lead-sources", hostile.groups[1]))
    assert opened_on_child.figures["New contacts"] == "1"
    other = object_id()
    with client.application.extensions["zapp"].database.transaction() as session:
        store_prospects(session, [_prospect(hostile.id, other, "2026-03-10T12:00:00+00:00")])
    assert shown(_open(client, "lead-sources", hostile.group)).figures["New contacts"] == "1"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("range=fortnight", "not one Zenvia Sales offers"),
        ("range=custom&start=2026-03-01", "needs a start and an end"),
        ("range=custom&start=2026-03-31&end=2026-03-01", "ends before it starts"),
        ("range=custom&start=2026-02-30&end=2026-03-01", "needs a start and an end"),
        ("range=custom&start=2020-01-01&end=2026-03-01", "longer than 366 days"),
    ],
)
def test_a_bad_period_is_a_400_page_with_a_reason(client, hostile, query, reason):
    response = client.get(sign(f"/reports/speed-to-lead?{query}&group={hostile.group}"))
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("replaced", "by", "reason"),
    [
        ("end=2026-03-31", "end=2026-02-01", "ends before it starts"),
        ("start=2026-03-01&end=2026-03-31", "start=9999-12-31&end=9999-12-31", "start and an end date"),
        ("end=2026-03-31", "end=2026-03-31&end=2026-04-30", "incomplete or damaged"),
    ],
)
def test_a_bad_period_on_the_download_is_a_json_400(client, hostile, replaced, by, reason):
    data = page_data(_open(client, "speed-to-lead", hostile.group))
    url = data["urls"]["csv"].replace(replaced, by)
    assert url != data["urls"]["csv"]
    response = client.get(url, headers={"X-Zapp-Context": data["context"]})
    assert response.status_code == 400 and reason in response.json["error"]["message"]


@pytest.mark.parametrize("key", REPORTS)
def test_an_empty_period_shows_the_empty_state(client, hostile, key):
    response = _open(client, key, hostile.group, "2026-05-01", "2026-05-31")
    assert response.status_code == 200
    assert "Nothing to show for this period" in response.get_data(as_text=True)


def test_nothing_imported_yet_is_said_so(client, installed):
    html = _open(client, "agent-activity", installed.group).get_data(as_text=True)
    assert "No data imported yet" in html and "download-csv" not in html


def test_freshness_shows_the_last_sync_and_a_running_import(client, hostile):
    synced = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
    with client.application.extensions["zapp"].database.transaction() as session:
        session.add(SyncState(instance_id=hostile.id, kind="prospects", last_synced_at=synced,
                              started_at=synced, finished_at=synced, imported=10))  # fmt: skip
        session.add(SyncState(instance_id=hostile.id, kind="interactions", started_at=synced, imported=1234))
        received = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)
        session.add(WebhookEvent(instance_id=hostile.id, dedupe_key="k", topic="prospects", kind="created",
                                 payload={}, received_at=received))  # fmt: skip
    html = _open(client, "speed-to-lead", hostile.group).get_data(as_text=True)
    assert "Data as of Mar 21, 2026, 8:00:00" in html  # the webhook is newer than the sync; group in UTC
    assert "Importing history: 1,234 records so far." in html


def test_the_page_speaks_the_group_language(client, hostile):
    target = report_target("agent-activity", hostile.group, start="2026-03-01", end="2026-03-31", lang="pt")
    assert "Interações por canal" in client.get(target).get_data(as_text=True)


@time_machine.travel(datetime(2026, 3, 12, 1, 0, tzinfo=UTC), tick=False)
def test_relative_periods_use_the_clock(client, hostile):
    assert (
        shown(client.get(report_target("lead-sources", hostile.group, "last7"))).figures["New contacts"]
        == "1"
    )
    assert "Nothing to show" in client.get(report_target("lead-sources", hostile.group, "today")).get_data(
        as_text=True
    )


# -- the download's token ---------------------------------------------------------------


def test_the_download_needs_the_pages_token(client, hostile):
    data = page_data(_open(client, "speed-to-lead", hostile.group))
    assert client.get(data["urls"]["csv"]).status_code == 401
    assert client.get(data["urls"]["csv"], headers={"X-Zapp-Context": "forged"}).status_code == 401


def test_another_pages_token_is_refused(client, hostile, timeline_target):
    speed = page_data(_open(client, "speed-to-lead", hostile.group))
    sources = page_data(_open(client, "lead-sources", hostile.group))
    assert client.get(speed["urls"]["csv"], headers={"X-Zapp-Context": sources["context"]}).status_code == 403
    timeline = page_data(client.get(sign(timeline_target(hostile.group))))
    assert (
        client.get(speed["urls"]["csv"], headers={"X-Zapp-Context": timeline["context"]}).status_code == 403
    )
