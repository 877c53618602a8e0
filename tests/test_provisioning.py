"""Provisioning end to end: Sales (the sandbox) installs the app, a worker subscribes to its events."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from tests.conftest import APP_ID, APP_SECRET, free_port, wait_until
from zapp.models import Instance, InstanceGroup, Subscription

CREDS = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}


def _our_subscriptions(sandbox, app_url: str) -> list[dict]:
    subscriptions = requests.get(f"{sandbox.base_url}/_sandbox/subscriptions", timeout=10).json()
    return [s for s in subscriptions if s["callbackUrl"].startswith(app_url + "/webhooks/")]


def _instance(app) -> Instance:
    with app.extensions["zapp"].database.transaction() as session:
        return session.scalars(select(Instance)).one()


def _stack(sandbox_factory, gunicorn_server, zapp_worker, extra=None, **sandbox_options):
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}", **sandbox_options)
    env = {
        "ZAPP_SALES_API_URL": sandbox.api_url,
        "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(extra or {}),
    }
    server = gunicorn_server(env, port=port)
    zapp_worker(env)
    return sandbox, server


def test_install_records_groups_and_subscribes(app, sandbox_factory, gunicorn_server, zapp_worker):
    sandbox, server = _stack(sandbox_factory, gunicorn_server, zapp_worker)
    installed = requests.post(
        f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30
    ).json()

    [subscription] = wait_until(lambda: _our_subscriptions(sandbox, server.url), message="a subscription")
    assert set(subscription["topics"]) >= {"prospects", "interactions"}

    instance = wait_until(lambda: (i := _instance(app)).provisioned_at and i, message="provisioned instance")
    assert instance.provisioned_version == instance.version
    assert instance.sales_group_id == installed["groupId"]
    expected = requests.get(
        f"{sandbox.api_url}/groups",
        params={"api-key": installed["apiKey"], "parent": installed["groupId"]},
        timeout=10,
    ).json()
    with app.extensions["zapp"].database.transaction() as session:
        groups = {g.group_id: g for g in session.scalars(select(InstanceGroup))}
        [row] = session.scalars(select(Subscription)).all()
    assert set(groups) == {installed["groupId"], *(g["id"] for g in expected)}
    assert all(g.timezone for g in groups.values())
    assert (row.sales_subscription_id, row.active) == (subscription["id"], True)

    deleted = requests.delete(
        f"{server.url}/lifecycle", params={"api-key": installed["apiKey"]}, headers=CREDS, timeout=30
    )
    assert deleted.status_code == 200
    assert _our_subscriptions(sandbox, server.url) == []
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalars(select(Subscription.active)).all() == [False]


def test_sales_down_delays_provisioning_but_never_fails_the_install(
    app, sandbox_factory, gunicorn_server, zapp_worker
):
    sandbox, server = _stack(sandbox_factory, gunicorn_server, zapp_worker)
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"errorRate": 1.0}, timeout=10)
    installed = requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    assert installed.ok  # the app answered Sales' install call at once

    wait_until(lambda: _instance(app).provisioning_error, message="a failed provisioning attempt")
    assert _our_subscriptions(sandbox, server.url) == []
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"errorRate": 0.0}, timeout=10)
    wait_until(
        lambda: _our_subscriptions(sandbox, server.url), seconds=60, message="the retried provisioning"
    )
    instance = wait_until(lambda: (i := _instance(app)).provisioned_at and i, message="the recorded provisioning")
    assert instance.provisioning_error is None


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_jobs_run_on_both_storages(app_env, storage, sandbox_factory, gunicorn_server, zapp_worker, request):
    extra = {"ZAPP_REDIS_URL": request.getfixturevalue("redis_url")} if storage == "redis" else {}
    sandbox, server = _stack(sandbox_factory, gunicorn_server, zapp_worker, extra)
    requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    wait_until(lambda: _our_subscriptions(sandbox, server.url), message=f"provisioning through {storage}")


def test_reconcile_requeues_instances_whose_provisioning_lags(app, sandbox):
    """An enqueue lost after commit is caught up: the reconcile finds the instance behind."""
    installed = sandbox.create_account(act_as_user=True)
    zapp = app.extensions["zapp"]
    result = zapp.lifecycle.install(installed["apiKey"], True)
    assert zapp.provisioner.instances_behind() == [result.public_id]
