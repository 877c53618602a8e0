"""The rate-limit budget: never over the limit, waits out 429s, shared across processes."""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests

from tests.conftest import free_port, wait_until
from tests.sales.conftest import stats
from tests.webhooks.tcp_proxy import TcpProxy
from zapp.db import Database
from zapp.sales import DatabaseBudget, MemoryBudget, RedisBudget, SalesClient
from zapp.sales.budget import WindowState, observe, parse_reset, take
from zapp.sales.errors import BudgetUnavailable


def test_reset_is_read_as_epoch_or_seconds_from_now():
    now = 1_800_000_000.0
    assert parse_reset("1800000042", now) == 1_800_000_042
    assert parse_reset("42", now) == now + 42
    assert parse_reset("soon", now) is None


def test_an_unknown_window_lets_one_probe_through():
    state, wait = take(None, 100.0)
    assert wait == 0
    _same, wait = take(state, 100.1)
    assert wait > 0  # the others wait for the probe's answer
    state = observe(state, limit=5, remaining=4, reset_at=160.0)
    assert take(state, 100.2) == (WindowState(5, 3, 160.0), 0.0)


def test_observe_never_hands_back_taken_slots():
    state = WindowState(10, 2, 160.0)
    assert observe(state, 10, 7, 160.0).remaining == 2
    assert observe(state, 10, 9, 220.0) == WindowState(10, 9, 220.0)  # a new window


@pytest.mark.parametrize("style", ["epoch", "delta"])
def test_a_backfill_under_a_low_limit_never_exceeds_it(sandbox_factory, style):
    sandbox = sandbox_factory(prospects=1200, seed=4, rate_limit=4, window_seconds=2, reset_style=style)
    account = sandbox.create_account()
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    end = datetime.now(UTC) + timedelta(minutes=1)
    items = list(_page_small(client, end))
    assert len(items) == 1200
    numbers = stats(sandbox)
    assert numbers["rateLimited"] == 0
    assert numbers["maxInWindow"][account["apiKey"]] <= 4


def _page_small(client, end):
    from zapp.sales.paging import iter_windowed

    return iter_windowed(lambda q: client.request("GET", "/prospects", params=q),
                         end - timedelta(days=121), end, page_size=100)  # fmt: skip


def test_a_429_storm_is_waited_out(sandbox, account):
    import requests

    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    requests.post(sandbox.base_url + "/_sandbox/faults", json={"stormSeconds": 1.5}, timeout=5)
    started = time.monotonic()
    assert client.get_integration()["groupId"] == account["groupId"]
    assert time.monotonic() - started >= 1.0


def _worker(api_url: str, key: str, budget_kind: str, target: str, calls: int, queue) -> None:
    if budget_kind == "database":
        budget = DatabaseBudget(Database(target))
    else:
        budget = RedisBudget(redis.Redis.from_url(target))
    client = SalesClient(key, base_url=api_url, budget=budget, budget_key="shared-bucket")
    failures = 0
    for _ in range(calls):
        try:
            client.get_integration()
        except Exception:
            failures += 1
    queue.put(failures)


def _run_four_processes(sandbox_factory, budget_kind: str, target: str) -> None:
    sandbox = sandbox_factory(prospects=50, rate_limit=6, window_seconds=1.5)
    key = sandbox.create_account()["apiKey"]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(sandbox.api_url, key, budget_kind, target, 6, queue))
               for _ in range(4)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [queue.get(timeout=5) for _ in workers] == [0, 0, 0, 0]
    numbers = stats(sandbox)
    assert numbers["requests"][key] == 24
    assert numbers["rateLimited"] == 0
    assert numbers["maxInWindow"][key] <= 6


def test_four_processes_share_one_budget_in_the_database(sandbox_factory, database_url):
    _run_four_processes(sandbox_factory, "database", database_url)


def test_four_processes_share_one_budget_in_redis(sandbox_factory, redis_url):
    _run_four_processes(sandbox_factory, "redis", redis_url)


def _redis_behind(port: int, db: int = 0) -> RedisBudget:
    return RedisBudget(redis.Redis(port=port, db=db, socket_connect_timeout=1, socket_timeout=1))


def _send_welcome(client: SalesClient, sandbox, account) -> list:
    prospect = sandbox.state.accounts[account["accountId"]].prospect_ids[-1]
    body = {"key": "welcome_lead", "parameters": {}}
    return client.request("POST", f"/prospect/{prospect}/messaging/whatsapp/notification", json=body)


def test_a_budget_that_cannot_be_read_sends_nothing(sandbox, account):
    """Redis down before the call: nothing reaches Sales, and the error says it is safe to try again."""
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=_redis_behind(free_port()))

    with pytest.raises(BudgetUnavailable) as raised:
        _send_welcome(client, sandbox, account)

    assert not raised.value.may_have_changed_something
    assert stats(sandbox)["totalRequests"] == 0


def test_a_budget_lost_during_the_call_keeps_sales_answer(sandbox, account, redis_url):
    """Redis gone while Sales answers: the message was sent, so the answer comes back, not an error."""
    direct = redis.Redis.from_url(redis_url)
    options = direct.connection_pool.connection_kwargs
    proxy = TcpProxy((options.get("host", "127.0.0.1"), options.get("port", 6379)), free_port())
    proxy.start()
    bucket = f"lost-{time.time_ns()}"
    budget = _redis_behind(proxy.port, options.get("db", 0))
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=budget, budget_key=bucket)
    client.get_integration()  # the window is known now: the next slot is taken at once
    remaining = json.loads(direct.get(RedisBudget.PREFIX + bucket))["remaining"]
    requests.post(sandbox.base_url + "/_sandbox/faults", json={"latencyMs": 1500}, timeout=5)
    try:
        with ThreadPoolExecutor(1) as pool:
            sending = pool.submit(_send_welcome, client, sandbox, account)
            wait_until(lambda: json.loads(direct.get(RedisBudget.PREFIX + bucket))["remaining"] < remaining,
                       message="the slot taken")  # fmt: skip
            proxy.stop()  # Sales is still sleeping on its latency
            answer = sending.result(timeout=30)
    finally:
        direct.delete(RedisBudget.PREFIX + bucket)

    assert answer[0]["output"]["message"]["template"] == "welcome_lead"
    prospect = sandbox.state.accounts[account["accountId"]].prospect_ids[-1]
    assert [m["template"] for m in sandbox.state.messages[prospect]] == ["welcome_lead"]
