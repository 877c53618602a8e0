"""Sales (the sandbox) delivering to the app under gunicorn, with a real worker and real databases."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import select

from tests.conftest import free_port, sent_to, wait_until
from tests.webhooks.conftest import REPLY_ON, envelope
from tests.webhooks.tcp_proxy import TcpProxy
from zapp.models import AutoReply, Instance, WebhookEvent
from zapp.sandbox.leads import process_lead


@dataclass
class Stack:
    sandbox: Any
    server: Any
    env: dict[str, str]
    api_key: str
    callback: str
    worker: Any

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(f"{self.sandbox.base_url}{path}", json=body, timeout=30)

    def deliveries(self, operation: str | None = None) -> list[dict]:
        every = requests.get(f"{self.sandbox.base_url}/_sandbox/deliveries", timeout=10).json()
        return [d for d in every if operation is None or d["operationId"] == operation]

    def lead(self) -> dict:
        """A new lead through Sales' control surface: Sales notifies the app as it would."""
        response = self.post("/_sandbox/leads", {"apiKey": self.api_key, "lead": {"utmSource": "google",
                             "firstName": "Ana", "phones": ["+5511987654321"]}})  # fmt: skip
        assert response.status_code == 201, response.text
        return response.json()["prospect"]


def _queue_env(database_url: str, request) -> dict[str, str]:
    """SQLite tests keep the jobs in a SQLite file beside their database; PostgreSQL ones in Redis."""
    if database_url.startswith("sqlite"):
        return {}
    return {"ZAPP_REDIS_URL": request.getfixturevalue("redis_url")}


def _start(sandbox_factory, gunicorn_server, zapp_worker, extra: dict[str, str]) -> Stack:
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}")
    env = {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}", **extra}
    server = gunicorn_server(env, port=port)
    worker_env = {key: value for key, value in env.items() if key != "ZAPP_WORKER_DATABASE_URL"}
    if "ZAPP_WORKER_DATABASE_URL" in env:
        worker_env["ZAPP_DATABASE_URL"] = env["ZAPP_WORKER_DATABASE_URL"]
    process = zapp_worker(worker_env)
    installed = requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    api_key = installed.json()["apiKey"]
    subscriptions = lambda: requests.get(f"{sandbox.base_url}/_sandbox/subscriptions", timeout=10).json()  # noqa: E731
    [subscription] = wait_until(subscriptions, message="the app's subscription")
    stack = Stack(sandbox, server, worker_env, api_key, subscription["callbackUrl"], process)
    answer = requests.put(
        f"{sandbox.base_url}/_sandbox/installs/{api_key}/settings", json=REPLY_ON, timeout=30
    )
    assert answer.ok, answer.text
    return stack


def _events(app, topic: str = "prospects") -> list[WebhookEvent]:
    with app.extensions["zapp"].database.transaction() as session:
        return list(session.scalars(select(WebhookEvent).where(WebhookEvent.topic == topic)))


def _reply(app, prospect_id: str) -> AutoReply | None:
    with app.extensions["zapp"].database.transaction() as session:
        instance_id = session.scalar(select(Instance.id))
        return session.get(AutoReply, (instance_id, prospect_id))


def test_twenty_deliveries_ten_at_once_give_one_event_and_one_reply(
    app, database_url, request, sandbox_factory, gunicorn_server, zapp_worker
):
    stack = _start(sandbox_factory, gunicorn_server, zapp_worker, _queue_env(database_url, request))
    state = stack.sandbox.state
    integration = state.integrations[stack.api_key]
    lead = {"utmSource": "google", "firstName": "Ana", "phones": ["+5511912345678"]}
    prospect, _ = process_lead(state, state.account_of(integration), integration, lead, "retail")
    body = envelope(prospect)  # Sales' retries differ only in attempts/sent/received
    deliveries = [{**body, "attempts": n, "sent": f"2026-01-01T00:00:{n:02d}.000Z"} for n in range(1, 21)]

    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def deliver(delivery: dict) -> None:
        barrier.wait()
        statuses.append(requests.post(stack.callback, json=delivery, timeout=30).status_code)

    threads = [threading.Thread(target=deliver, args=(d,)) for d in deliveries[:10]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses += [requests.post(stack.callback, json=d, timeout=30).status_code for d in deliveries[10:]]

    assert sorted(statuses) == [200] * 19 + [202]
    wait_until(lambda: (r := _reply(app, prospect["id"])) and r.state == "sent", message="the reply")
    [event] = wait_until(
        lambda: (events := _events(app)) and all(e.processed_at for e in events) and events,
        message="the processed event",
    )
    assert event.payload["operationId"] == body["operationId"]
    assert len(sent_to(stack.sandbox, prospect["id"])) == 1


def test_a_delivery_while_the_database_is_down_gets_503_and_its_retry_is_processed(
    app, database_url, request, sandbox_factory, gunicorn_server, zapp_worker
):
    if database_url.startswith("sqlite"):
        pytest.skip("stopping the database server is a PostgreSQL scenario")
    parts = urlsplit(database_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432), free_port())
    proxy.start()
    request.addfinalizer(proxy.stop)
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    extra = {**_queue_env(database_url, request), "ZAPP_DATABASE_URL": proxied,
             "ZAPP_WORKER_DATABASE_URL": database_url}  # fmt: skip
    stack = _start(sandbox_factory, gunicorn_server, zapp_worker, extra)

    proxy.stop()
    prospect = stack.lead()
    created = wait_until(lambda: [d for d in stack.deliveries() if d["type"] == "created"], message="a try")[
        0
    ]
    refused = wait_until(
        lambda: [d for d in stack.deliveries(created["operationId"]) if d["status"] == 503],
        message="a 503 while the database is down",
    )
    assert _events(app) == []  # nothing half-stored
    proxy.start()

    wait_until(
        lambda: any(d["ok"] for d in stack.deliveries(created["operationId"])), message="a stored retry"
    )
    [event] = wait_until(lambda: [e for e in _events(app) if e.processed_at], message="the processed event")
    assert event.payload["operationId"] == created["operationId"] and refused[0]["attempt"] == 1
    wait_until(lambda: len(sent_to(stack.sandbox, prospect["id"])) == 1, message="the automatic reply")


def test_an_event_stored_while_no_worker_runs_is_processed_by_the_next_worker(
    app, database_url, request, sandbox_factory, gunicorn_server, zapp_worker
):
    stack = _start(sandbox_factory, gunicorn_server, zapp_worker, _queue_env(database_url, request))
    stack.worker.kill()  # kill -9: no goodbye
    stack.worker.wait(timeout=10)

    prospect = stack.lead()
    [created] = wait_until(
        lambda: [d for d in stack.deliveries() if d["type"] == "created" and d["ok"]], message="the ack"
    )
    [event] = _events(app)
    assert event.processed_at is None

    zapp_worker(stack.env)
    wait_until(lambda: _events(app)[0].processed_at, message="processing by the new worker")
    wait_until(lambda: len(sent_to(stack.sandbox, prospect["id"])) == 1, message="the automatic reply")
    assert created["attempt"] == 1
