"""The circuit breaker and the call budget: Sales failing or slow costs a page little time."""

from __future__ import annotations

import time

import pytest
import requests

from zapp.sales import MemoryBudget, SalesClient
from zapp.sales.breaker import CircuitBreaker
from zapp.sales.deadline import call_budget
from zapp.sales.errors import CircuitOpen, RateLimited, Timeout


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _faults(sandbox, **knobs) -> None:
    assert requests.post(sandbox.base_url + "/_sandbox/faults", json=knobs, timeout=5).ok


def test_the_breaker_opens_after_five_failures_and_lets_one_probe_through_after_the_cool_down():
    clock = _Clock()
    breaker = CircuitBreaker(failures=5, cool_down=30, clock=clock)
    for _ in range(4):
        assert breaker.closed_for() == 0
        breaker.failed()
    breaker.failed()
    assert breaker.closed_for() == 30
    clock.now += 29.2
    assert breaker.closed_for() == 1
    clock.now += 1
    assert breaker.closed_for() == 0  # the probe
    assert breaker.closed_for() > 0  # everyone else still waits for its answer
    breaker.failed()
    assert breaker.closed_for() == 30  # the probe failed: another cool-down
    clock.now += 30
    assert breaker.closed_for() == 0
    breaker.succeeded()
    assert breaker.closed_for() == 0 and breaker.closed_for() == 0 and not breaker.is_open


def test_a_probe_that_never_reports_is_replaced_after_a_cool_down():
    clock = _Clock()
    breaker = CircuitBreaker(failures=1, cool_down=10, clock=clock)
    breaker.failed()
    clock.now += 10
    assert breaker.closed_for() == 0  # a probe that dies with its thread
    clock.now += 9
    assert breaker.closed_for() > 0
    clock.now += 1
    assert breaker.closed_for() == 0


def test_an_open_breaker_fails_every_client_of_that_sales_at_once(sandbox, account):
    breaker = CircuitBreaker(failures=2, cool_down=60)
    one = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget(), breaker=breaker)
    other = SalesClient("another-key", base_url=sandbox.api_url, budget=MemoryBudget(), breaker=breaker)
    _faults(sandbox, errorRate=1.0)
    with pytest.raises(CircuitOpen) as refused:
        one.get_integration()  # two 503s open it; the retry after them is refused without a request
    assert refused.value.retry_after == 60
    calls = one.calls + other.calls
    with pytest.raises(CircuitOpen):
        other.get_integration()
    assert one.calls + other.calls == calls
    _faults(sandbox, errorRate=0.0)


def test_a_call_budget_bounds_a_slow_answer(sandbox, account):
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    _faults(sandbox, latencyMs=5000)
    started = time.monotonic()
    with pytest.raises(Timeout), call_budget(0.8):
        client.get_integration()
    assert time.monotonic() - started < 1.5


def test_a_call_budget_refuses_a_rate_limit_wait_it_cannot_afford_while_a_job_waits_it_out(sandbox, account):
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    _faults(sandbox, stormSeconds=2.5)
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused, call_budget(1.0):
        client.get_integration()
    assert time.monotonic() - started < 1.0
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1
    assert client.get_integration()["groupId"] == account["groupId"]  # no budget opened: it waits
    assert time.monotonic() - started >= 2.0
