"""Report rollups stay exact: after any sequence of upserts (new versions, older ones, replays, partial
summaries, import batches) the counts the upserts kept equal a recomputation from the raw rows."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete

from tests.conftest import ROOT
from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import Instance, ReportRollup
from zapp.store import rollups
from zapp.store.records import store_interactions, store_prospects

DAY = rollups.DAY_MS
BASE = 1_780_000_000_000 - 1_780_000_000_000 % DAY  # a UTC midnight
# Creation times on and around 15-minute and day boundaries, so rows change bucket and grain.
CREATED = st.sampled_from(
    [BASE, BASE + 14 * 60_000, BASE + 15 * 60_000, BASE + DAY - 1, BASE + DAY, BASE + 3 * DAY]
)
RESPONSE = st.sampled_from([None, 0, 59_999, 60_000, 61_000, 2 * 3_600_000, 25 * 3_600_000, 9 * DAY, -5_000])
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
    database = app.extensions["zapp"].database
    app.extensions["zapp"].vault.index_key()

    class Store(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with database.transaction() as session:
                instance = Instance(state="enabled", key_index=uuid.uuid4().hex, language="en")
                session.add(instance)
                session.flush()
                self.instance_id = instance.id
            self.offered: list[tuple[str, dict]] = []

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

    try:
        run_state_machine_as_test(
            Store,
            settings=settings(max_examples=15, stateful_step_count=10, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow]),
        )  # fmt: skip
    finally:
        database.dispose()


def test_response_bins_are_minutes_up_to_a_day_then_hours_then_days():
    minute = 60_000
    assert [rollups.response_bin(ms) for ms in (-1, 0, 1, minute, minute + 1)] == [0, 0, 1, 1, 2]
    assert rollups.response_bin(1440 * minute) == 1440
    assert rollups.response_bin(1440 * minute + 1) == 1500
    assert rollups.response_bin(7 * 1440 * minute + 1) == 8 * 1440


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
