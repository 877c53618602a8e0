"""The history import: every prospect once, resumable from its checkpoint, and ``zapp backfill``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from tests.conftest import ROOT, wait_until
from zapp import create_app
from zapp.models import Instance, StoredInteraction, StoredProspect, SyncState, utcnow
from zapp.sales.errors import Unavailable
from zapp.sandbox.rules import id_bound
from zapp.store.history import ImportRefused


@pytest.fixture
def history_app(app_env, sandbox_factory):
    sandbox = sandbox_factory(prospects=3000, days=120)
    application = create_app({**app_env, "ZAPP_SALES_API_URL": sandbox.api_url})
    application.sandbox = sandbox
    yield application
    application.extensions["zapp"].database.dispose()


@pytest.fixture
def installed(history_app) -> tuple[str, str]:
    """(public id, API key) of an enabled instance of the sandbox's account."""
    account = history_app.sandbox.create_account()
    result = history_app.extensions["zapp"].lifecycle.install(account["apiKey"], True)
    return result.public_id, account["apiKey"]


def _in_sandbox(app, api_key: str, kind: str) -> dict[str, dict]:
    """What Sales holds in the import's range of ``kind``, read from the sandbox's own state (not
    through the client under test): id -> item, as the integration's scope lets it see them."""
    checkpoint = _states(app)[kind].checkpoint
    low, high = (id_bound(datetime.fromisoformat(checkpoint[end]).timestamp()) for end in ("from", "to"))
    sandbox = app.sandbox.state
    integration = sandbox.integrations[api_key]
    account = sandbox.account_of(integration)
    with sandbox.lock:
        items = account.prospects if kind == "prospects" else account.interactions
        return {
            item_id: dict(item)
            for item_id, item in items.items()
            if low <= item_id < high and account.covers(item["groupId"], integration.group_id)
        }


def _assert_store_matches_sandbox(app, api_key: str) -> set[str]:
    """Every prospect and interaction of the range stored, once, and nothing else: the prospects
    created in the range, and those (created earlier) of the range's interactions. Returns the
    ids of the prospects created in the range."""
    prospects = set(_in_sandbox(app, api_key, "prospects"))
    interactions = _in_sandbox(app, api_key, "interactions")
    of_interactions = {item["prospectId"] for item in interactions.values()}
    with app.extensions["zapp"].database.transaction() as session:
        stored_prospects = set(session.scalars(select(StoredProspect.prospect_id)))
        filing = select(StoredInteraction.interaction_id, StoredInteraction.group_id)
        filed = dict(session.execute(filing).all())
    assert stored_prospects == prospects | of_interactions
    assert filed == {item_id: item["groupId"] for item_id, item in interactions.items()}  # under its group
    return prospects


def _states(app) -> dict[str, SyncState]:
    with app.extensions["zapp"].database.transaction() as session:
        return {state.kind: state for state in session.scalars(select(SyncState))}


def test_import_stores_every_prospect_and_interaction_once(history_app, installed):
    public_id, key = installed
    history_app.extensions["zapp"].lifecycle.update_settings(key, {"historyImportDays": 40})
    history_app.extensions["zapp"].history.run(public_id)
    states = _states(history_app)
    prospects = _assert_store_matches_sandbox(history_app, key)
    interactions = _in_sandbox(history_app, key, "interactions")
    assert len(prospects) > 1000  # more than one page
    assert states["prospects"].imported == len(prospects)
    assert states["interactions"].imported == len(interactions)
    # Sales' interactions name no group: each is filed under its prospect's, which is stored too
    # (read from Sales when it was created before the range).
    assert not prospects >= {item["prospectId"] for item in interactions.values()}  # the range cuts some
    with history_app.extensions["zapp"].database.transaction() as session:
        misfiled = session.scalar(
            select(func.count())
            .select_from(StoredInteraction)
            .join(StoredProspect, StoredProspect.prospect_id == StoredInteraction.prospect_id)
            .where(StoredProspect.group_id != StoredInteraction.group_id)
        )
    assert misfiled == 0
    assert {s.status for s in states.values()} == {"done"} and all(s.last_synced_at for s in states.values())
    assert states["prospects"].days == 40

    history_app.extensions["zapp"].history.run(public_id)  # finished: a second job run does nothing
    assert _states(history_app)["prospects"].imported == len(prospects)


def test_an_interrupted_import_resumes_from_its_checkpoint(history_app, installed):
    public_id, key = installed
    history = history_app.extensions["zapp"].history
    steps = history.steps(public_id, days=100)
    first = next(steps)  # one page committed, then the process "crashes"
    steps.close()
    state = _states(history_app)["prospects"]
    assert state.status == "running" and state.imported == first.imported > 0
    assert state.checkpoint["cursor"]["after"]

    calls_before = _prospect_list_calls(history_app)
    resumed = list(history.steps(public_id))
    expected = _assert_store_matches_sandbox(history_app, key)
    state = _states(history_app)["prospects"]
    assert state.status == "done" and state.imported == len(expected)
    assert sum(s.stored for s in resumed if s.kind == "prospects") == len(expected) - first.imported
    assert _prospect_list_calls(history_app) - calls_before < len(resumed) + 6  # no re-read from the start


def test_a_failed_import_records_its_error_and_resumes(history_app, installed):
    public_id, _key = installed
    history = history_app.extensions["zapp"].history
    faults = f"{history_app.sandbox.base_url}/_sandbox/faults"
    steps = history.steps(public_id, days=100)
    next(steps)
    requests.post(faults, json={"errorRate": 1.0}, timeout=10)
    try:
        with pytest.raises(Unavailable, match="GET /prospects"):
            list(steps)
    finally:
        requests.post(faults, json={"errorRate": 0.0}, timeout=10)
    state = _states(history_app)["prospects"]
    assert state.status == "failed" and state.error
    history.run(public_id)
    assert _states(history_app)["prospects"].status == "done"


def _fail_next_import(history_app, public_id: str) -> None:
    """Run the import (or its resumption) with Sales answering every read 503."""
    faults = f"{history_app.sandbox.base_url}/_sandbox/faults"
    requests.post(faults, json={"errorRate": 1.0}, timeout=10)
    try:
        with pytest.raises(Unavailable):
            history_app.extensions["zapp"].history.run(public_id, days=100)
    finally:
        requests.post(faults, json={"errorRate": 0.0}, timeout=10)


def test_the_reconcile_resumes_an_import_only_once_it_has_been_idle(history_app, installed):
    public_id, _key = installed
    zapp = history_app.extensions["zapp"]
    history, hour_ago = zapp.history, utcnow() - timedelta(hours=1)
    with zapp.database.transaction() as session:
        session.execute(update(Instance).values(provisioned_at=hour_ago))
    assert history.stalled(utcnow()) == [public_id]  # provisioned, never started: its job was lost
    _fail_next_import(history_app, public_id)
    assert history.stalled(utcnow()) == []  # just failed: the job's own retries come first
    with zapp.database.transaction() as session:  # as if that attempt were an hour old
        session.execute(update(SyncState).values(started_at=hour_ago, last_synced_at=None))
    assert history.stalled(utcnow()) == [public_id]
    _fail_next_import(history_app, public_id)  # a resumed attempt that failed at once...
    assert history.stalled(utcnow() + timedelta(minutes=1)) == []  # ...still counts as recent activity
    assert history.stalled(utcnow() + timedelta(minutes=16)) == [public_id]


def test_disabled_and_unknown_instances_are_refused_with_what_to_do(history_app, installed):
    public_id, key = installed
    with pytest.raises(ImportRefused, match="No installation has the id"):
        history_app.extensions["zapp"].history.run("0" * 32)
    history_app.extensions["zapp"].lifecycle.set_enabled(key, False)
    with pytest.raises(ImportRefused, match="enable the App in Sales first"):
        history_app.extensions["zapp"].history.run(public_id)


def _prospect_list_calls(app) -> int:
    stats = requests.get(f"{app.sandbox.base_url}/_sandbox/stats", timeout=10).json()
    return sum(count for path, count in stats["requests"].items() if path.endswith("/prospects"))


# -- the command -------------------------------------------------------------------------


def _backfill(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zapp.cli", "backfill", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_backfill_command_shows_progress_and_resumes_after_being_killed(app_env, history_app, installed):
    public_id, key = installed
    env = {**app_env, "ZAPP_SALES_API_URL": history_app.sandbox.api_url}
    requests.post(f"{history_app.sandbox.base_url}/_sandbox/faults", json={"latencyMs": 400}, timeout=10)
    first = _backfill(env, "--instance", public_id, "--days", "100")
    wait_until(lambda: (s := _states(history_app).get("prospects")) and s.imported > 0, message="a page")
    first.kill()  # kill -9 in the middle of the import
    first.communicate(timeout=10)
    requests.post(f"{history_app.sandbox.base_url}/_sandbox/faults", json={"latencyMs": 0}, timeout=10)
    assert _states(history_app)["prospects"].status == "running"

    second = _backfill(env, "--instance", public_id, "--days", "100")
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    assert f"importing {public_id}" in output
    expected = _assert_store_matches_sandbox(history_app, key)
    assert f"imported {len(expected)} prospects" in output
    assert _states(history_app)["prospects"].imported == len(expected)


def test_backfill_command_names_what_to_do_for_an_unknown_or_disabled_instance(
    app_env, history_app, installed
):
    public_id, key = installed
    unknown = _backfill(app_env, "--instance", "nope")
    output, _ = unknown.communicate(timeout=60)
    assert unknown.returncode == 1 and "No installation has the id 'nope'" in output

    history_app.extensions["zapp"].lifecycle.set_enabled(key, False)
    disabled = _backfill(app_env, "--instance", public_id)
    output, _ = disabled.communicate(timeout=60)
    assert disabled.returncode == 1 and "enable the App in Sales first" in output
    with history_app.extensions["zapp"].database.transaction() as session:
        assert session.scalar(select(Instance.state)) == "disabled"


def test_two_runs_of_one_import_never_count_a_page_twice(history_app, installed):
    public_id, key = installed
    history = history_app.extensions["zapp"].history
    first = history.steps(public_id, days=100)
    next(first)
    runs = [first, history.steps(public_id)]  # the second resumes the import the first is running
    refused = 0
    while runs:  # one page each in turn, as two workers would
        for run in list(runs):
            try:
                next(run)
            except StopIteration:
                runs.remove(run)
            except ImportRefused as refusal:
                assert "Another run is importing" in str(refusal)
                refused += 1
                runs.remove(run)
    assert refused == 1
    expected = _assert_store_matches_sandbox(history_app, key)
    assert _states(history_app)["prospects"].imported == len(expected)


def test_an_import_that_stopped_or_never_started_is_found_for_the_reconcile(history_app, installed):
    public_id, _key = installed
    history = history_app.extensions["zapp"].history
    with history_app.extensions["zapp"].database.transaction() as session:
        session.scalars(select(Instance)).one().provisioned_at = utcnow()
    later = utcnow() + timedelta(minutes=16)
    assert history.stalled(utcnow()) == []  # just provisioned: its import job is on its way
    assert history.stalled(later) == [public_id]  # that job was lost
    steps = history.steps(public_id, days=100)
    next(steps)
    steps.close()  # a worker killed after one page
    assert history.stalled(utcnow()) == []
    assert history.stalled(later) == [public_id]
    history.run(public_id)
    assert history.stalled(later) == []
