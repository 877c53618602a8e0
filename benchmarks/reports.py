"""Reports benchmark: each manager report over a full store, against a plain scan of the same table.

Fills a fresh store (SQLite file and/or a PostgreSQL database of its own)
with generated rows inserted in bulk: ``--size full`` is 200,000 prospects
and 1,000,000 interactions over 120 days in 12 groups. Then, in the same run,
times (best of 3):

- each report exactly as its page builds it (group tree, SQL aggregates,
  day bucketing, tables and charts), for the root group and the whole
  120 days (every row: the worst case) and for the last 30 days;
- for reference, a plain full scan of the table the report counts (every row
  and column fetched into the app) and the cheapest pass the database can
  make over it (``SELECT count(*), sum(created_ms), max(agent_name)``).

The rows are inserted in bulk, then counted into the report rollups with the
rebuild (``zapp reports rebuild``), timed too. Targets: each report answers in
at most 150 ms for the last 30 days and 400 ms for the whole 120 days.

Ends with one line per target: ``<figure>: <value> (target <target>) PASS|SHORT``.

    python benchmarks/reports.py                       # full size, SQLite and PostgreSQL
    python benchmarks/reports.py --size tiny           # the smoke size CI runs
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from harness import postgres_database, print_targets
from sqlalchemy import func, insert, select

from zapp.db import Database, upgrade_schema
from zapp.models import Instance, InstanceGroup, StoredInteraction, StoredProspect
from zapp.reports.agent_activity_query import agent_activity_report, read_agent_activity
from zapp.reports.lead_sources_query import lead_sources_report, read_lead_sources
from zapp.reports.ranges import parse_range
from zapp.reports.scope import ReportScope, group_and_descendants
from zapp.reports.speed_to_lead_query import read_speed_to_lead, speed_to_lead_report
from zapp.store.rollups import rebuild

SIZES = {"full": (200_000, 1_000_000), "tiny": (2_000, 10_000)}
DAYS = 120
NOW = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
ZONES = ("America/Sao_Paulo", "America/Mexico_City", "Europe/Madrid")
VIAS = ("phoneCall", "whatsApp", "email", "sms", "visit", "outboundCall", "inboundCall")
SOURCES = ("google", "facebook", "instagram", "webmotors", "website", "newsletter")
BATCH = 20_000
TARGET_LAST30_MS = 150
TARGET_ALL_MS = 400


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _groups(rng: random.Random) -> list[dict]:
    root = {"group_id": _hex(rng), "parent_id": None, "timezone": ZONES[0]}
    groups = [root]
    for zone in ZONES:
        region = {"group_id": _hex(rng), "parent_id": root["group_id"], "timezone": zone}
        groups.append(region)
        groups.extend(
            {"group_id": _hex(rng), "parent_id": region["group_id"], "timezone": zone} for _ in range(3)
        )
    return groups


def _fill(database: Database, prospects: int, interactions: int, seed: int) -> tuple[int, str]:
    """One installation with a group tree, and the store rows, inserted in bulk."""
    rng = random.Random(seed)
    groups = _groups(rng)
    stores = [g["group_id"] for g in groups if g["parent_id"] not in (None, groups[0]["group_id"])]
    agents = {store: [(_hex(rng), f"Agent {n} of {store[:4]}") for n in range(5)] for store in stores}
    with database.transaction() as session:
        instance = Instance(state="enabled", key_index=uuid.uuid4().hex, key_ciphertext=b"-", language="en",
                            sales_group_id=groups[0]["group_id"], provisioned_version=1)  # fmt: skip
        session.add(instance)
        session.flush()
        instance_id = instance.id
        session.add_all(
            InstanceGroup(instance_id=instance_id, name="g", display_name="g", **g) for g in groups
        )
    end_ms = int(NOW.timestamp() * 1000)
    start_ms = end_ms - DAYS * 86_400_000
    prospect_refs = _insert_prospects(database, instance_id, prospects, stores, agents, rng, start_ms, end_ms)
    _insert_interactions(database, instance_id, interactions, prospect_refs, rng, end_ms)
    return instance_id, groups[0]["group_id"]


def _insert_prospects(database, instance_id, count, stores, agents, rng, start_ms, end_ms) -> list[tuple]:
    refs, rows = [], []
    for _ in range(count):
        store = rng.choice(stores)
        agent_id, agent_name = rng.choice(agents[store])
        created = rng.randrange(start_ms, end_ms)
        contacted = created + rng.randrange(30_000, 86_400_000) if rng.random() < 0.85 else None
        source = rng.choice(SOURCES)
        rows.append({
            "instance_id": instance_id, "prospect_id": _hex(rng), "group_id": store, "agent_id": agent_id,
            "agent_name": agent_name, "first_name": "Ana", "last_name": "Silva",
            "status": rng.choice(("unclaimed", "new", "followUp", "archived")),
            "label": None, "category": None,
            "archiving_reason": rng.choice(("noAnswer", "duplicate", None)), "source": source.title(),
            "utm_source": source, "utm_medium": "cpc", "utm_campaign": f"{source}-{rng.randrange(4)}",
            "created_ms": created, "first_contact_ms": contacted, "updated_ms": created,
            "whatsapp_due_ms": None, "facebook_due_ms": None,
        })  # fmt: skip
        refs.append((rows[-1]["prospect_id"], store, agent_id, agent_name, created))
        if len(rows) >= BATCH:
            _insert(database, StoredProspect, rows)
    _insert(database, StoredProspect, rows)
    return refs


def _insert_interactions(database, instance_id, count, refs, rng, end_ms) -> None:
    rows = []
    for _ in range(count):
        prospect_id, store, agent_id, agent_name, created = rng.choice(refs)
        at = min(end_ms - 1, created + rng.randrange(0, 5 * 86_400_000))
        rows.append({
            "instance_id": instance_id, "interaction_id": _hex(rng), "prospect_id": prospect_id,
            "group_id": store, "agent_id": agent_id, "agent_name": agent_name, "via": rng.choice(VIAS),
            "proactive": rng.random() < 0.6, "status": "completed", "created_ms": at, "updated_ms": at,
        })  # fmt: skip
        if len(rows) >= BATCH:
            _insert(database, StoredInteraction, rows)
    _insert(database, StoredInteraction, rows)


def _insert(database: Database, model, rows: list[dict]) -> None:
    if rows:
        with database.transaction() as session:
            session.execute(insert(model), rows)
        rows.clear()


def _best_of(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def _reports(database: Database, instance_id: int, root: str, params: dict[str, str]):
    """Each report as its page builds it, in one transaction; returns the reports' totals."""

    def t(message: str) -> str:
        return message

    def run(name: str):
        with database.reading_session() as session:
            window = parse_range(params, "America/Sao_Paulo", NOW)
            scope = ReportScope(instance_id, group_and_descendants(session, instance_id, root), window)
            if name == "speed-to-lead":
                now_ms = int(NOW.timestamp() * 1000)
                data = read_speed_to_lead(session, scope, 5, now_ms)
                speed_to_lead_report(data, t, now_ms)
                return data.total.leads
            if name == "lead-sources":
                sources = read_lead_sources(session, scope)
                lead_sources_report(sources, t, str)
                return sources.total
            activity = read_agent_activity(session, scope)
            agent_activity_report(activity, t, str)
            return activity.total.total

    return run


def _scan(database: Database, model) -> Callable[[], int]:
    """Read the whole table into the app, every row and column, as a report without the store would."""

    def run() -> int:
        with database.reading() as connection:
            return len(connection.execute(select(model.__table__)).all())

    return run


def _aggregate_pass(database: Database, model) -> Callable[[], int]:
    """The cheapest full pass: the database reads every row and returns three numbers."""

    def run() -> int:
        with database.reading() as connection:
            count, _, _ = connection.execute(
                select(func.count(), func.sum(model.created_ms), func.max(model.agent_name))
            ).one()
        return count

    return run


def _bench(label: str, url: str, args: argparse.Namespace) -> list[tuple]:
    prospects, interactions = SIZES[args.size]
    database = Database(url)
    upgrade_schema(database.engine)
    started = time.perf_counter()
    instance_id, root = _fill(database, prospects, interactions, args.seed)
    with database.engine.begin() as connection:
        # What autovacuum (PostgreSQL) would have done after a load this size: planner statistics.
        connection.exec_driver_sql("ANALYZE")
    fill = time.perf_counter() - started
    started = time.perf_counter()
    with database.transaction() as session:
        for _step in rebuild(session, instance_id):
            pass
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    rebuilt = time.perf_counter() - started
    print(
        f"{label}: filled {prospects:,} prospects, {interactions:,} interactions in {fill:.1f} s; "
        f"rollups rebuilt in {rebuilt:.1f} s",
        file=sys.stderr,
    )
    every_day = {"range": "custom", "start": (NOW - timedelta(days=DAYS + 1)).date().isoformat(),
                 "end": NOW.date().isoformat()}  # fmt: skip
    results = []
    scans = {model: _best_of(3, _scan(database, model)) for model in (StoredProspect, StoredInteraction)}
    passes = {model: _best_of(3, _aggregate_pass(database, model))[0] for model in scans}
    for name, model in (("speed-to-lead", StoredProspect), ("lead-sources", StoredProspect),
                        ("agent-activity", StoredInteraction)):  # fmt: skip
        scan_time, scanned = scans[model]
        whole, counted = _best_of(3, lambda n=name: _reports(database, instance_id, root, every_day)(n))
        last30, _ = _best_of(3, lambda n=name: _reports(database, instance_id, root, {"range": "last30"})(n))
        results.append((label, name, scanned, counted, scan_time, whole, last30, passes[model]))
    database.dispose()
    return results


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("sqlite", "both"):
            results += _bench("sqlite", f"sqlite:///{os.path.join(folder, 'reports.db')}", args)
        if args.backend in ("postgresql", "both"):
            with postgres_database() as url:
                results += _bench("postgresql", url, args)
    _print(results)
    return 0 if all(scanned == counted for _, _, scanned, counted, *_ in results) else 1


def _print_lines(lines: list[tuple]) -> None:
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)))


def _print(results: list[tuple]) -> None:
    header = ("backend", "report", "rows", "counted", "report ms (all)", "report ms (last30)", "scan ms",
              "count/sum/max ms")  # fmt: skip
    lines = [header] + [
        (label, name, f"{scanned:,}", f"{counted:,}", f"{whole * 1000:.0f}", f"{last30 * 1000:.0f}",
         f"{scan * 1000:.0f}", f"{aggregate * 1000:.0f}")
        for label, name, scanned, counted, scan, whole, last30, aggregate in results
    ]  # fmt: skip
    _print_lines(lines)
    print()
    checks = []
    for label, name, scanned, counted, _scan, whole, last30, _ in results:
        checks += [
            (f"{label} {name} rows counted", f"{counted}/{scanned}", f"{scanned}/{scanned}",
             counted == scanned),
            (f"{label} {name} all time", f"{whole * 1000:.0f} ms", f"<= {TARGET_ALL_MS} ms",
             whole * 1000 <= TARGET_ALL_MS),
            (f"{label} {name} last30", f"{last30 * 1000:.0f} ms", f"<= {TARGET_LAST30_MS} ms",
             last30 * 1000 <= TARGET_LAST30_MS),
        ]  # fmt: skip
    print_targets(checks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
