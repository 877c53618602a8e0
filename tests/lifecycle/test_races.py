"""Racing transitions: whatever the interleaving, one consistent instance comes out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from tests.conftest import APP_ID, APP_SECRET
from zapp.lifecycle.service import InstanceNotFound
from zapp.models import Instance

CREDS = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}


def _race(*calls, rounds: int = 1):
    """Start every call at the same instant (a barrier), return each one's outcome."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except Exception as error:  # the outcome we assert on
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _rows(app) -> list[Instance]:
    with app.extensions["zapp"].database.transaction() as session:
        return list(session.scalars(select(Instance).order_by(Instance.id)))


def test_concurrent_installs_of_one_key_make_one_instance(app):
    lifecycle = app.extensions["zapp"].lifecycle
    results = _race(*[lambda: lifecycle.install("same-key", True)] * 8)
    assert sum(r.created for r in results) == 1
    assert len({r.public_id for r in results}) == 1
    assert len(_rows(app)) == 1


@pytest.mark.parametrize("round_", range(5))
def test_disable_and_delete_milliseconds_apart_end_deleted(app, round_):
    lifecycle = app.extensions["zapp"].lifecycle
    lifecycle.install(f"k-{round_}", True)
    disable, remove = _race(
        lambda: lifecycle.set_enabled(f"k-{round_}", False), lambda: lifecycle.delete(f"k-{round_}")
    )
    assert remove is None
    assert disable is None or isinstance(disable, InstanceNotFound)  # lost the race: already deleted
    [instance] = _rows(app)
    assert (instance.state, instance.key_index, instance.key_ciphertext) == ("deleted", None, None)


@pytest.mark.parametrize("round_", range(5))
def test_reinstall_during_refresh_leaves_one_live_instance_on_the_new_key(app, round_):
    lifecycle = app.extensions["zapp"].lifecycle
    old, new = f"old-{round_}", f"new-{round_}"
    lifecycle.install(old, True)
    lifecycle.update_settings(old, {"automaticReplyTemplate": "welcome_lead"})
    refresh, reinstall = _race(lambda: lifecycle.refresh_key(old, new), lambda: lifecycle.install(new, True))
    assert refresh is None
    assert not isinstance(reinstall, Exception)
    live = [i for i in _rows(app) if i.state != "deleted"]
    assert len(live) == 1
    assert (
        lifecycle.settings(new)["automaticReplyTemplate"] == "welcome_lead"
    )  # the refreshed instance kept its settings
    with pytest.raises(InstanceNotFound):
        lifecycle.settings(old)


def test_concurrent_settings_puts_lose_no_change(app):
    lifecycle = app.extensions["zapp"].lifecycle
    lifecycle.install("k", True)
    _race(
        lambda: lifecycle.update_settings("k", {"automaticReplyTemplate": "welcome_lead"}),
        lambda: lifecycle.update_settings("k", {"historyImportDays": 30}),
        lambda: lifecycle.update_settings("k", {"speedToLeadTargetMinutes": 15}),
    )
    settings = lifecycle.settings("k")
    assert (
        settings["automaticReplyTemplate"],
        settings["historyImportDays"],
        settings["speedToLeadTargetMinutes"],
    ) == (
        "welcome_lead",
        30,
        15,
    )


def test_races_across_gunicorn_workers(gunicorn_server, app):
    """The same races over real HTTP, served by separate worker processes."""
    server = gunicorn_server(workers=3)
    url = server.url

    def post_install(key):
        return requests.post(
            f"{url}/lifecycle/install",
            json={"integration": {"apiKey": key, "enabled": True}},
            headers=CREDS,
            timeout=30,
        ).status_code

    statuses = _race(*[lambda: post_install("gk")] * 6)
    assert sorted(statuses) == [200] * 5 + [201]
    statuses = _race(
        lambda: (
            requests.put(
                f"{url}/lifecycle/enabled?api-key=gk", json={"enabled": False}, headers=CREDS, timeout=30
            ).status_code
        ),
        lambda: requests.delete(f"{url}/lifecycle?api-key=gk", headers=CREDS, timeout=30).status_code,
    )
    assert statuses[1] == 200 and statuses[0] in (200, 404)
    assert requests.get(f"{url}/lifecycle/settings?api-key=gk", headers=CREDS, timeout=30).status_code == 404
    assert [i.state for i in _rows(app)] == ["deleted"]
