"""A slow, failing or rate-limiting Sales never takes the pages down (gunicorn, the Procfile's settings).

Every follow-up call that asks Sales answers within ``ZAPP_SALES_REQUEST_BUDGET``
with our JSON error (503/504 and ``Retry-After``), never gunicorn's 500 after
a killed worker; the circuit breaker answers at once once Sales has failed
repeatedly.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import free_port
from tests.pages.conftest import install_account, object_id, page_data, sign, with_interactions
from tests.sales.conftest import stats
from zapp.pages.context import CONTEXT_HEADER

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # Sales' faults, not SQL

BUDGET = 2.0
SLACK = 1.5  # the page's own work around its Sales calls, on a loaded 2-core machine


def _faults(sandbox, **knobs) -> None:
    assert requests.post(sandbox.base_url + "/_sandbox/faults", json=knobs, timeout=5).ok


class _Timeline:
    """A timeline dialog opened through gunicorn, ready for its data call."""

    def __init__(self, sandbox, make_instance, gunicorn_server, workers: int = 2) -> None:
        installed, data = install_account(sandbox, make_instance, act_as_user=True)
        extra = {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_SALES_REQUEST_BUDGET": str(BUDGET)}
        self.server = gunicorn_server(extra, workers=workers)
        self.workers = workers
        prospect = with_interactions(data)["id"]
        target = f"/dialogs/timeline?prospect={prospect}&user={object_id()}&group={installed.group}&lang=es"
        opened = requests.get(self.server.url + sign(target, base=self.server.url), timeout=10)
        assert opened.status_code == 200, opened.text
        self.token = page_data(opened.text)["context"]
        self.url = f"{self.server.url}/dialogs/timeline/data?prospect={prospect}"

    def data(self) -> tuple[requests.Response, float]:
        started = time.monotonic()
        answer = requests.get(self.url, headers={CONTEXT_HEADER: self.token}, timeout=60)
        return answer, time.monotonic() - started

    def assert_no_worker_died(self) -> None:
        log = self.server.log()
        assert "WORKER TIMEOUT" not in log and log.count("Booting worker") == self.workers, log


def _assert_refused_in_time(answer: requests.Response, took: float, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"]["code"] == code
    seconds = int(answer.headers["Retry-After"])
    assert seconds >= 1
    assert f"{seconds} s" in answer.json()["error"]["message"]  # the dialog shows it, in Spanish here
    assert "inténtalo de nuevo" in answer.json()["error"]["message"].lower()
    assert took < BUDGET + SLACK, took


def test_a_slow_sales_gets_a_504_within_the_budget_and_no_worker_is_killed(
    sandbox, make_instance, gunicorn_server
):
    timeline = _Timeline(sandbox, make_instance, gunicorn_server)
    first, _took = timeline.data()
    assert first.status_code == 200, first.text
    _faults(sandbox, latencyMs=45_000)
    with ThreadPoolExecutor(max_workers=2) as pool:  # every worker waits on Sales at once
        answers = list(pool.map(lambda _: timeline.data(), range(4)))
    for answer, took in answers:
        _assert_refused_in_time(answer, took, 504, "sales_timeout")
    timeline.assert_no_worker_died()
    assert requests.get(timeline.server.url + "/healthz", timeout=5).ok


def test_the_breaker_answers_at_once_after_repeated_failures(sandbox, make_instance, gunicorn_server):
    timeline = _Timeline(sandbox, make_instance, gunicorn_server, workers=1)
    _faults(sandbox, errorRate=1.0)
    for _ in range(2):  # four failed attempts (the call and three retries), then the fifth opens it
        answer, took = timeline.data()
        _assert_refused_in_time(answer, took, 503, "sales_unavailable")
    sent = stats(sandbox)["errorsInjected"]
    answer, took = timeline.data()
    _assert_refused_in_time(answer, took, 503, "sales_unavailable")
    assert took < 0.5 and 20 <= int(answer.headers["Retry-After"]) <= 30  # the cool-down left
    assert stats(sandbox)["errorsInjected"] == sent  # Sales was not asked
    timeline.assert_no_worker_died()


def test_a_spent_rate_limit_answers_503_with_its_reset_instead_of_waiting(
    sandbox, make_instance, gunicorn_server
):
    timeline = _Timeline(sandbox, make_instance, gunicorn_server)
    _faults(sandbox, rateLimit=3)
    answers = [timeline.data() for _ in range(4)]  # two Sales calls each: the window is spent early
    assert {answer.status_code for answer, _took in answers} <= {200, 503}
    refused = [(answer, took) for answer, took in answers if answer.status_code == 503]
    assert refused, [answer.status_code for answer, _took in answers]
    for answer, took in refused:
        _assert_refused_in_time(answer, took, 503, "sales_unavailable")
        assert int(answer.headers["Retry-After"]) > BUDGET  # the window's reset, not a guess
    assert stats(sandbox)["rateLimited"] <= 1  # the shared budget knew before Sales had to say 429
    timeline.assert_no_worker_died()


def test_flaky_sales_is_retried_within_the_budget(sandbox, make_instance, gunicorn_server):
    timeline = _Timeline(sandbox, make_instance, gunicorn_server)
    _faults(sandbox, errorRate=0.3)
    answers = [timeline.data() for _ in range(6)]
    assert {answer.status_code for answer, _took in answers} <= {200, 503}
    assert sum(answer.status_code == 200 for answer, _took in answers) >= 3  # retries hid most failures
    assert all(took < BUDGET + SLACK for _answer, took in answers)
    timeline.assert_no_worker_died()


def test_the_apps_own_budget_store_down_is_not_blamed_on_sales(sandbox, make_instance, gunicorn_server):
    """Redis (the shared rate-limit budget) unreachable: nothing is sent, and the person is told
    the App is recovering, not that Sales is not answering."""
    installed, data = install_account(sandbox, make_instance, act_as_user=True)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    extra = {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_SALES_REQUEST_BUDGET": str(BUDGET),
             "ZAPP_REDIS_URL": nowhere}  # fmt: skip
    server = gunicorn_server(extra, workers=1)
    prospect = with_interactions(data)["id"]
    target = f"/dialogs/timeline?prospect={prospect}&user={object_id()}&group={installed.group}&lang=es"
    opened = requests.get(server.url + sign(target, base=server.url), timeout=10)
    assert opened.status_code == 200, opened.text  # opening a page asks nothing of Sales
    before = stats(sandbox)["totalRequests"]
    started = time.monotonic()
    answer = requests.get(
        f"{server.url}/dialogs/timeline/data?prospect={prospect}",
        headers={CONTEXT_HEADER: page_data(opened.text)["context"]},
        timeout=60,
    )
    _assert_refused_in_time(answer, time.monotonic() - started, 503, "app_recovering")
    assert "No se envió nada" in answer.json()["error"]["message"]
    assert stats(sandbox)["totalRequests"] == before  # Sales was not asked
