"""Provisioning end to end: Sales (the sandbox) installs the app, a worker subscribes to its events."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from tests.conftest import APP_ID, APP_SECRET, free_port, wait_until
from zapp import create_app
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
    assert set(subscription["topics"]) >= {"prospects", "interactions", "quotes"}

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
    instance = wait_until(
        lambda: (i := _instance(app)).provisioned_at and i, message="the recorded provisioning"
    )
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


def test_a_lock_left_by_a_killed_worker_does_not_strand_provisioning(
    app, app_env, sandbox_factory, gunicorn_server, zapp_worker
):
    """huey's task locks never expire, so provisioning takes none: one left behind changes nothing."""
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}")
    env = {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    server = gunicorn_server(env, port=port)
    requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    public_id = _instance(app).public_id
    # What an older worker, killed mid-provisioning, would have left: the lock, held by nobody.
    queue = app.extensions["zapp"].jobs.queue
    queue.lock_task(f"provision-{public_id}").__enter__()
    assert queue.is_locked(f"provision-{public_id}")
    zapp_worker(env)
    wait_until(lambda: _our_subscriptions(sandbox, server.url), message="provisioning despite the old lock")
    wait_until(lambda: _instance(app).provisioned_at, message="the provisioning recorded")


def test_two_provisioning_runs_at_once_leave_one_subscription(app, app_env, sandbox_factory):
    port = free_port()
    sandbox = sandbox_factory(app_url=None)
    application = create_app(
        {**app_env, "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    )
    zapp = application.extensions["zapp"]
    account = sandbox.create_account()
    public_id = zapp.lifecycle.install(account["apiKey"], True).public_id
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: zapp.provisioner.provision(public_id), range(2)))
    active = [s for s in sandbox.state.subscriptions.values() if s["active"]]
    assert len(active) == 1
    with zapp.database.transaction() as session:
        rows = session.scalars(select(Subscription).where(Subscription.active.is_(True))).all()
    assert [row.sales_subscription_id for row in rows] == [active[0]["id"]]
    zapp.database.dispose()


def test_a_run_killed_mid_provisioning_holds_the_instance_only_until_its_lease_expires(
    app_env, sandbox_factory
):
    sandbox = sandbox_factory(app_url=None)
    application = create_app({**app_env, "ZAPP_SALES_API_URL": sandbox.api_url})
    zapp = application.extensions["zapp"]
    public_id = zapp.lifecycle.install(sandbox.create_account()["apiKey"], True).public_id
    with zapp.database.transaction() as session:
        instance = session.scalars(select(Instance).where(Instance.public_id == public_id)).one()
        instance.provisioning_lease_until = time.time() + 60  # what a killed run leaves behind
    assert zapp.provisioner.provision(public_id) is False
    with zapp.database.transaction() as session:
        session.scalars(select(Instance)).one().provisioning_lease_until = time.time() - 1
    assert zapp.provisioner.provision(public_id) is True
    with zapp.database.transaction() as session:
        assert session.scalars(select(Instance)).one().provisioning_lease_until is None
    zapp.database.dispose()


def test_a_run_that_fails_unexpectedly_releases_its_lease_for_the_jobs_retry(app_env, sandbox_factory):
    sandbox = sandbox_factory(app_url=None)
    application = create_app({**app_env, "ZAPP_SALES_API_URL": sandbox.api_url})
    zapp = application.extensions["zapp"]
    public_id = zapp.lifecycle.install(sandbox.create_account()["apiKey"], True).public_id
    engine = zapp.database.engine
    with engine.begin() as connection:  # the database fails mid-run
        connection.exec_driver_sql("ALTER TABLE subscriptions RENAME TO subscriptions_away")
    try:
        with pytest.raises(DBAPIError):
            zapp.provisioner.provision(public_id)
    finally:  # the test database outlives this test on PostgreSQL
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE subscriptions_away RENAME TO subscriptions")
    with zapp.database.transaction() as session:
        lease, provisioned = session.execute(
            select(Instance.provisioning_lease_until, Instance.provisioned_at)
        ).one()
    assert lease is None and provisioned is None
    zapp.database.dispose()


@pytest.mark.parametrize(
    ("act_as_user", "scope", "topics"),
    [
        (True, True, {"prospects", "interactions", "quotes", "agents"}),
        (False, True, {"prospects", "interactions", "quotes", "agents"}),  # the scope, no user chosen yet
        (True, False, {"prospects", "interactions", "quotes"}),
    ],
)
def test_the_agents_topic_is_subscribed_where_the_key_has_the_act_as_user_scope(
    app_env, sandbox, act_as_user, scope, topics
):
    from zapp.sandbox.state import ALL_SCOPES

    scopes = [s for s in ALL_SCOPES if scope or s != "integration:act-as-user"]
    account = sandbox.create_account(act_as_user=act_as_user, scopes=scopes)
    application = create_app(
        {**app_env, "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": "http://127.0.0.1:9"}
    )
    try:
        zapp = application.extensions["zapp"]
        public_id = zapp.lifecycle.install(account["apiKey"], True).public_id
        assert zapp.provisioner.provision(public_id)
        [subscription] = [s for s in sandbox.state.subscriptions.values() if s["active"]]
        assert set(subscription["topics"]) == topics
        with zapp.database.transaction() as session:
            assert set(session.scalars(select(Subscription.topics)).one()) == topics
        # Provisioning again (a key refresh, a re-enable) keeps the subscription it made.
        zapp.provisioner.provision(public_id)
        assert [s["id"] for s in sandbox.state.subscriptions.values() if s["active"]] == [subscription["id"]]
    finally:
        application.extensions["zapp"].database.dispose()
