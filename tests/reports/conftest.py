"""Reports against a real Sales sandbox: the app installed and provisioned over HTTP, the store filled
from the sandbox's API the way the history import does, and the sandbox's own data to check against."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from tests.pages.conftest import installed, make_instance, sign, timeline_target  # noqa: F401 (fixtures)
from zapp import create_app
from zapp.models import Instance
from zapp.sales import MemoryBudget, SalesClient
from zapp.sandbox.state import Account
from zapp.store.records import interaction_row, prospect_row, store_interactions, store_prospects

# The sandbox's data ends here: 120 days back reach July, and Madrid leaves summer time on 2026-10-25.
NOW = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)


@dataclass
class Stack:
    """The app, its provisioned installation, and the sandbox account it reads."""

    app: Any
    account: Account
    instance_id: int
    public_id: str
    api_key: str

    def group(self, display_name: str) -> dict[str, Any]:
        return next(g for g in self.account.groups.values() if g["displayName"] == display_name)

    def covered(self, group_id: str) -> set[str]:
        """The group and its descendants, from the sandbox's own tree."""
        return {group_id, *self.account.groups[group_id]["descendants"]}


@pytest.fixture
def stack(app_env, sandbox_factory) -> Stack:
    sandbox = sandbox_factory(prospects=700, seed=21, now=NOW.timestamp(), dst_region=True)
    application = create_app({**app_env, "ZAPP_SALES_API_URL": sandbox.api_url})
    zapp = application.extensions["zapp"]
    created = sandbox.create_account()
    result = zapp.lifecycle.install(created["apiKey"], True)
    assert zapp.provisioner.provision(result.public_id)
    with zapp.database.transaction() as session:
        instance_id = session.scalar(select(Instance.id).where(Instance.public_id == result.public_id))
    fill_store(zapp.database, instance_id, created["apiKey"], sandbox.api_url)
    yield Stack(application, sandbox.state.accounts[created["accountId"]], instance_id, result.public_id,
                created["apiKey"])  # fmt: skip
    zapp.database.dispose()


def fill_store(database, instance_id: int, api_key: str, api_url: str) -> None:
    """What the history import does: every prospect and interaction through the API into the store."""
    client = SalesClient(api_key, base_url=api_url, budget=MemoryBudget())
    start, end = NOW - timedelta(days=130), NOW + timedelta(days=1)
    prospects = [prospect_row(instance_id, p) for p in client.iter_prospects(start, end)]
    groups = {row["prospect_id"]: row["group_id"] for row in prospects if row}  # Sales names none
    interactions = [
        interaction_row(instance_id, i, group_id=groups.get(i["prospectId"]))
        for i in client.iter_interactions(start, end)
    ]
    assert interactions and all(interactions)
    with database.transaction() as session:
        store_prospects(session, [row for row in prospects if row])
        store_interactions(session, [row for row in interactions if row])


def report_target(key: str, group: str, range_: str = "custom", start: str = "", end: str = "",
                  lang: str = "en") -> str:  # fmt: skip
    """A report URL as the manifest's placeholders and Sales' appended parameters make it, signed."""
    dates = f"&start={start}&end={end}" if range_ == "custom" else ""
    user = "a" * 24
    return sign(
        f"/reports/{key}?lang={lang}&user={user}&range={range_}{dates}&group={group}&parentGroup={group}"
    )


class _Tables(HTMLParser):
    """The text of every report table, by its id: {"agents": [[cell, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.figures: list[list[str]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and (values.get("id") or "").startswith("table-"):
            self._table = values["id"].removeprefix("table-")
            self.tables[self._table] = []
        elif tag == "div" and values.get("class") == "figure":
            self._row = []
            self._in_figure = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th", "dt", "dd") and self._row is not None:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "dt", "dd") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "div" and self._in_figure and self._row is not None:
            self.figures.append(self._row)
            self._row, self._in_figure = None, False
        elif tag == "section":
            self._table = None


@dataclass
class ShownReport:
    html: str
    tables: dict[str, list[list[str]]]
    figures: dict[str, str]

    def rows(self, key: str) -> dict[str, list[str]]:
        """A table's body rows by their first cell (the header row left out)."""
        return {row[0]: row[1:] for row in self.tables[key][1:]}


def shown(response) -> ShownReport:
    html = response.get_data(as_text=True)
    parser = _Tables()
    parser.feed(html)
    return ShownReport(html, parser.tables, {row[0]: row[1] for row in parser.figures})


def csv_sections(text: str) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    """The CSV's heading lines, and each table's rows (header first) by its title."""
    blocks = text.removeprefix("\ufeff").split("\r\n\r\n")
    heading = {row[0]: row[1] for row in csv.reader(io.StringIO(blocks[0]))}
    tables = {}
    for block in blocks[1:]:
        rows = list(csv.reader(io.StringIO(block)))
        tables[rows[0][0]] = rows[1:]
    return heading, tables
