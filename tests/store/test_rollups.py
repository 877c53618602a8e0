"""Report rollups stay exact: after any sequence of upserts (new versions, older ones, replays, partial
summaries, import batches) and changes of the speed-to-lead target, the counts the upserts kept equal a
recomputation from the raw rows, and so do the Speed to lead report's figures (share on time, waiting
past the target, distribution, percentiles at the bins' resolution)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select

from tests.conftest import ROOT
from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import Instance, ReportRollup, StoredProspect
from zapp.reports.ranges import ReportRange
from zapp.reports.scope import ReportScope
from zapp.reports.speed_to_lead_query import BUCKETS, read_speed_to_lead
from zapp.store import rollups
from zapp.store.records import store_interactions, store_prospects

DAY = rollups.DAY_MS
BASE = 1_780_000_000_000 - 1_780_000_000_000 % DAY  # a UTC midnight
# Creation times on and around 15-minute and day boundaries, so rows change bucket and grain.
CREATED = st.sampled_from(
    [BASE, BASE + 14 * 60_000, BASE + 15 * 60_000, BASE + DAY - 1, BASE + DAY, BASE + 3 * DAY]
)
MINUTE = 60_000
# Times to first contact on and around bin bounds, the targets below among them.
RESPONSE = st.sampled_from([None, 0, 59_999, 60_000, 61_000, 7 * MINUTE, 7 * MINUTE + 1, 45 * MINUTE,
                            45 * MINUTE + 1, 2 * 3_600_000, DAY, 25 * 3_600_000, 9 * DAY,
                            -5_000])  # fmt: skip
TARGETS = st.sampled_from([5, 7, 45, 1440])  # a bound of the fixed bins, and targets that add one
# The report's clock: leads created at BASE + 3 days are 10 minutes old (due for 5 or 7 minutes only).
NOW_MS = BASE + 3 * DAY + 10 * MINUTE
WINDOW = ReportRange("custom", datetime.fromtimestamp((BASE - DAY) / 1000, UTC).date(),
                     datetime.fromtimestamp((BASE + 3 * DAY) / 1000, UTC).date(), "UTC")  # fmt: skip
UPDATED = st.sampled_from([100, 200, 300])  # ties and older versions are common
GROUPS = st.sampled_from(["g" * 24, "h" * 24])
AGENTS = st.sampled_from([None, "a" * 24, "b" * 24])
NAMES = st.sampled_from(["", "Ana", "Bea"])
TEXTS = st.sampled_from([None, "google", "meta"])
STATUSES = st.sampled_from([None, "unclaimed", "new", "archived"])
REASONS = st.sampled_from([None, "noAnswer", "duplicate"])
# What a partial (webhook summary) row may leave out; the key, group and times are always there.
OPTIONAL = ("agent_id", "agent_name", "status", "archiving_reason", "source", "utm_source", "utm_medium",
            "utm_campaign", "first_contact_ms")  # fmt: skip


@st.composite
def prospects(draw, instance_id: int) -> dict:
    created = draw(CREATED)
    response = draw(RESPONSE)
    row = {
        "instance_id": instance_id, "prospect_id": draw(st.sampled_from(["p1", "p2", "p3"])),
        "group_id": draw(GROUPS), "agent_id": draw(AGENTS), "agent_name": draw(NAMES),
        "first_name": "", "last_name": "", "status": draw(STATUSES), "label": None, "category": None,
        "archiving_reason": draw(REASONS), "source": draw(TEXTS), "utm_source": draw(TEXTS),
        "utm_medium": draw(TEXTS), "utm_campaign": draw(TEXTS), "created_ms": created,
        "first_contact_ms": None if response is None else created + response, "updated_ms": draw(UPDATED),
        "whatsapp_due_ms": None, "facebook_due_ms": None,
    }  # fmt: skip
    return row


@st.composite
def interactions(draw, instance_id: int) -> dict:
    return {
        "instance_id": instance_id, "interaction_id": draw(st.sampled_from(["i1", "i2", "i3"])),
        "prospect_id": "p1", "group_id": draw(GROUPS), "agent_id": draw(AGENTS), "agent_name": draw(NAMES),
        "via": draw(st.sampled_from([None, "whatsApp", "phoneCall"])), "proactive": draw(st.booleans()),
        "status": None, "created_ms": draw(CREATED), "updated_ms": draw(UPDATED),
    }  # fmt: skip


def test_rollups_equal_a_recomputation_from_the_raw_rows(app_env):
    app = create_app(app_env)
    zapp = app.extensions["zapp"]
    database = zapp.database
    zapp.vault.index_key()

    class Store(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.api_key = "key-" + uuid.uuid4().hex
            with database.transaction() as session:
                instance = Instance(
                    state="enabled", key_index=zapp.vault.blind_index(self.api_key), language="en"
                )
                session.add(instance)
                session.flush()
                self.instance_id = instance.id
            self.offered: list[tuple[str, dict]] = []
            self.target = 5  # the setting's default

        @rule(minutes=TARGETS)
        def change_the_target(self, minutes) -> None:
            """What a manager's settings change does: the bins follow the new target."""
            zapp.lifecycle.update_settings(self.api_key, {"speedToLeadTargetMinutes": minutes})
            self.target = minutes

        @rule(data=st.data())
        def upsert_a_prospect(self, data) -> None:
            row = data.draw(prospects(self.instance_id))
            self._store("prospects", [row])

        @rule(data=st.data(), left_out=st.sets(st.sampled_from(OPTIONAL)))
        def apply_a_summary(self, data, left_out) -> None:
            row = data.draw(prospects(self.instance_id))
            self._store("summary", [{name: value for name, value in row.items() if name not in left_out}])

        @rule(data=st.data())
        def upsert_an_interaction(self, data) -> None:
            self._store("interactions", [data.draw(interactions(self.instance_id))])

        @rule(data=st.data(), size=st.integers(2, 6))
        def import_a_batch(self, data, size) -> None:
            """An import page: several rows at once, the same record more than once among them."""
            self._store("prospects", [data.draw(prospects(self.instance_id)) for _ in range(size)])
            self._store("interactions", [data.draw(interactions(self.instance_id)) for _ in range(size)])

        @rule(data=st.data())
        def replay(self, data) -> None:
            if self.offered:
                kind, row = data.draw(st.sampled_from(self.offered))
                self._store(kind, [row])

        def _store(self, kind: str, rows: list[dict]) -> None:
            with database.transaction() as session:
                if kind == "interactions":
                    store_interactions(session, rows)
                else:
                    store_prospects(session, rows, partial=kind == "summary")
            self.offered += [(kind, row) for row in rows]

        @invariant()
        def counts_match_the_raw_rows(self) -> None:
            with database.sessions() as session, session.begin():
                kept = rollups.counts_of(session, self.instance_id)
                for _step in rollups.rebuild(session, self.instance_id):
                    pass
                recomputed = rollups.counts_of(session, self.instance_id)
                session.rollback()  # leave the kept counts as the upserts made them
            assert kept == recomputed

        @invariant()
        def speed_to_lead_matches_the_raw_rows(self) -> None:
            with database.reading_session() as session:
                scope = ReportScope(self.instance_id, ("g" * 24, "h" * 24), WINDOW)
                report = read_speed_to_lead(session, scope, self.target, NOW_MS)
                raw = session.execute(
                    select(StoredProspect.agent_id, StoredProspect.source, StoredProspect.created_ms,
                           StoredProspect.first_contact_ms)
                    .where(StoredProspect.instance_id == self.instance_id)
                ).all()  # fmt: skip
            expected = _speed_to_lead_from(raw, self.target)
            shown = {"total": _figures(report.total)}
            for name, tallies in (("agents", report.agents), ("sources", report.sources)):
                shown |= {(name, key): _figures(tally) for key, tally in tallies.items()}
            assert shown == expected["tallies"]
            assert report.distribution == expected["distribution"]

    try:
        run_state_machine_as_test(
            Store,
            settings=settings(max_examples=15, stateful_step_count=10, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )  # fmt: skip
    finally:
        database.dispose()


def test_a_target_change_waits_for_a_writer_that_counted_with_the_old_target(app_env):
    """A writer reads the target (5 minutes) as it starts counting; a change to 7 minutes arriving
    meanwhile waits for that writer's commit, then re-bins its lead too: the rollups end as a
    recomputation with the new target (a lead contacted after 6.5 minutes in bin 7, not 8)."""
    app = create_app(app_env)
    zapp = app.extensions["zapp"]
    zapp.vault.index_key()
    api_key = "key-" + uuid.uuid4().hex
    with zapp.database.transaction() as session:
        instance = Instance(state="enabled", key_index=zapp.vault.blind_index(api_key), language="en")
        session.add(instance)
        session.flush()
        instance_id = instance.id
    row = {"instance_id": instance_id, "prospect_id": "p1", "group_id": "g" * 24, "agent_id": "a" * 24,
           "created_ms": BASE, "first_contact_ms": BASE + 390_000, "updated_ms": 100}  # fmt: skip

    with ThreadPoolExecutor(1) as pool, zapp.database.transaction() as writer:
        assert rollups.speed_to_lead_target(writer, instance_id, lock=True) == 5  # what ``track`` reads first
        change = pool.submit(zapp.lifecycle.update_settings, api_key, {"speedToLeadTargetMinutes": 7})
        assert _waits(zapp.database, change), "the target changed under a writer counting with the old one"
        store_prospects(writer, [row])
    assert change.result()["speedToLeadTargetMinutes"] == 7

    with zapp.database.sessions() as session, session.begin():
        kept = rollups.counts_of(session, instance_id)
        for _step in rollups.rebuild(session, instance_id):
            pass
        assert kept == rollups.counts_of(session, instance_id)
        assert {key[6] for key in kept if key[1] == "stl_agent"} == {7}
        session.rollback()
    zapp.database.dispose()


_LOCK_WAITS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def _waits(database, change) -> bool:
    """Whether ``change`` is blocked: PostgreSQL shows it waiting for a lock (SQLite cannot
    say; there the change waits at ``BEGIN IMMEDIATE``, and a second without an answer is enough)."""
    if database.engine.dialect.name == "sqlite":
        return not wait([change], timeout=1).done
    for _ in range(200):
        if change.done():
            return False
        with database.reading() as connection:
            if connection.exec_driver_sql(_LOCK_WAITS).scalar():
                return True
        wait([change], timeout=0.05)
    return False


def _figures(tally) -> dict:
    return {"leads": tally.leads, "contacted": tally.contacted, "on_time": tally.on_time,
            "overdue": tally.overdue, "percentiles": tally.percentiles}  # fmt: skip


def _speed_to_lead_from(raw, target: int) -> dict:
    """The report's figures from the raw rows: exact times, nearest-rank percentiles on them, then
    shown as their bin's upper bound (the report's resolution)."""
    groups: dict = defaultdict(list, {"total": []})
    for agent_id, source, created, first_contact in raw:
        for key in ("total", ("agents", agent_id), ("sources", source)):
            groups[key].append((created, None if first_contact is None else first_contact - created))
    tallies = {}
    due_before = NOW_MS - target * MINUTE
    for key, leads in groups.items():
        times = sorted(response for _, response in leads if response is not None)
        ranks = {p: times[math.ceil(p * len(times) / 100) - 1] for p in (50, 90)} if times else {}
        tallies[key] = {
            "leads": len(leads), "contacted": len(times),
            "on_time": sum(1 for response in times if response <= target * MINUTE),
            "overdue": sum(1 for created, response in leads if response is None and created < due_before),
            "percentiles": {p: rollups.response_bin(value, target) * MINUTE for p, value in ranks.items()},
        }  # fmt: skip
    distribution = [0] * len(BUCKETS)
    for _, response in groups["total"]:
        if response is not None:
            distribution[
                next(i for i, (limit, _) in enumerate(BUCKETS) if limit is None or response <= limit)
            ] += 1
    return {"tallies": tallies, "distribution": distribution}


def test_response_bins_are_coarse_bounds_holding_the_distribution_limits_and_the_target():
    minute = 60_000
    assert [rollups.response_bin(ms, 5) for ms in (-1, 0, 1, minute, minute + 1)] == [0, 0, 1, 1, 2]
    assert [rollups.response_bin(m * minute, 5) for m in (7, 9, 13, 16, 61, 241, 1441)] == [
        8, 10, 15, 20, 75, 300, 2160,
    ]  # fmt: skip
    assert rollups.response_bin(7 * minute, 7) == 7 and rollups.response_bin(7 * minute + 1, 7) == 8
    assert rollups.response_bin(1439 * minute, 1439) == 1439
    assert rollups.response_bin(7 * 1440 * minute + 1, 5) == 14 * 1440  # whole weeks past a week
    for limit, _ in BUCKETS[:-1]:
        assert limit is not None and limit // minute in rollups.RESPONSE_EDGES


def _rebuild_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "zapp.cli", "reports", "rebuild", *args]
    return subprocess.run(
        command, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_the_rebuild_command_recomputes_an_instances_rollups_with_a_progress_bar(app_env):
    app = create_app(app_env)
    database = app.extensions["zapp"].database
    upgrade_database(app)
    with database.transaction() as session:
        instance = Instance(state="enabled", key_index=uuid.uuid4().hex, language="en")
        session.add(instance)
        session.flush()
        instance_id, public_id = instance.id, instance.public_id
    rows = [
        {"instance_id": instance_id, "prospect_id": f"p{n}", "group_id": "g" * 24, "agent_id": "a" * 24,
         "status": ("new", "archived")[n % 2], "utm_source": ("google", None)[n % 3 == 0],
         "created_ms": BASE + n * 600_000, "first_contact_ms": BASE + n * 700_000 if n % 4 else None,
         "updated_ms": 100}
        for n in range(20)
    ]  # fmt: skip
    with database.transaction() as session:
        store_prospects(session, rows)
        expected = rollups.counts_of(session, instance_id)
        session.execute(delete(ReportRollup))  # lost, as if the table had been emptied
    assert expected

    done = _rebuild_command(app_env, "--instance", public_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rebuilding report rollups" in done.stdout and "rebuilt the report rollups of 1" in done.stdout
    with database.reading_session() as session:
        assert rollups.counts_of(session, instance_id) == expected

    unknown = _rebuild_command(app_env, "--instance", "no-such-installation")
    assert unknown.returncode != 0 and "no installation no-such-installation" in unknown.stderr
    database.dispose()
