"""Windowed paging: any range, every item once, the fewest calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zapp.sales import Checkpoint, MemoryBudget, SalesClient
from zapp.sales.paging import windows


def test_windows_cover_the_range_without_gaps():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cuts = windows(start, start + timedelta(days=120))
    assert len(cuts) == 4
    assert cuts[0][0] == start and cuts[-1][1] == start + timedelta(days=120)
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:], strict=False))
    assert all(stop - begin <= timedelta(days=31) for begin, stop in cuts)


def _minimum_calls(ids_by_window: list[int]) -> int:
    return sum(count // 1000 + 1 for count in ids_by_window)


def test_120_days_with_more_than_1000_items_per_window_returns_each_once(sandbox_factory):
    sandbox = sandbox_factory(prospects=9000, seed=5, days=120, rate_limit=100_000)
    account = sandbox.create_account()
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(days=121)
    items = list(client.iter_prospects(start, end))
    data = sandbox.state.accounts[account["accountId"]]
    assert [item["id"] for item in items] == data.prospect_ids  # every item, once, in order
    per_window = [
        sum(
            1 for i in data.prospect_ids if f"{int(a.timestamp()):08x}" <= i[:8] < f"{int(b.timestamp()):08x}"
        )
        for a, b in windows(start, end)
    ]
    assert max(per_window) > 1000
    assert client.calls == _minimum_calls(per_window)


def test_a_read_resumes_from_its_checkpoint(sandbox_factory):
    sandbox = sandbox_factory(prospects=2500, seed=6, rate_limit=100_000)
    account = sandbox.create_account()
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(days=121)
    checkpoints: list[Checkpoint] = []
    first_part = []
    for item in client.iter_prospects(start, end, on_page=lambda cp, n: checkpoints.append(cp)):
        first_part.append(item)
        if len(checkpoints) == 2:
            break  # "crash" after the second page was read
    resumed = list(
        client.iter_prospects(start, end, resume_from=Checkpoint.from_dict(checkpoints[-1].as_dict()))
    )
    ids = [i["id"] for i in first_part[: len(first_part)]]
    combined = ids[: ids.index(checkpoints[-1].after) + 1] + [i["id"] for i in resumed]
    assert combined == sandbox.state.accounts[account["accountId"]].prospect_ids


def test_interactions_are_read_the_same_way(client, sandbox, account):
    end = datetime.now(UTC) + timedelta(minutes=1)
    items = list(client.iter_interactions(end - timedelta(days=121), end))
    assert [i["id"] for i in items] == sandbox.state.accounts[account["accountId"]].interaction_ids
