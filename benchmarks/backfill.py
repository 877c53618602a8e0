"""Backfill benchmark: a full windowed import of prospects through the Sales client, against the sandbox.

Prints calls made against the minimum possible (one per 1,000 items per
31-day window plus one per window, computed from the sandbox's own data in the
same run), and wall time against the floor the rate limit imposes. Ends with
one line per target: ``<figure>: <value> (target <target>) PASS|SHORT``.

    python benchmarks/backfill.py                       # 50,000 prospects over 120 days
    python benchmarks/backfill.py --prospects 2000      # the smoke size CI runs
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import requests

from zapp.db import Database, upgrade_schema
from zapp.sales import DatabaseBudget, MemoryBudget, SalesClient
from zapp.sales.paging import PAGE_SIZE, windows
from zapp.sandbox.server import SandboxOptions, start_sandbox

DAYS = 120
SECRET, SIGNING_KEY = "benchmark-secret", "benchmark-signing-key"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--rate-limit", type=int, default=20, help="requests per window the sandbox allows")
    parser.add_argument(
        "--window-seconds", type=float, default=5.0, help="length of the sandbox's rate window"
    )
    parser.add_argument("--budget", choices=("database", "memory"), default="database")
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args(argv)


def _minimum_calls(ids: list[str], start: datetime, end: datetime) -> tuple[int, int]:
    """(windows, minimum calls): per window, one call per full page plus the closing short page."""
    total = 0
    cuts = windows(start, end)
    for begin, stop in cuts:
        low, high = f"{int(begin.timestamp()):08x}", f"{math.ceil(stop.timestamp()):08x}"
        count = sum(1 for item in ids if low <= item[:8] < high)
        total += count // PAGE_SIZE + 1
    return len(cuts), total


def _budget(kind: str, folder: str):
    if kind == "memory":
        return MemoryBudget()
    database = Database(f"sqlite:///{os.path.join(folder, 'budget.db')}")
    upgrade_schema(database.engine)
    return DatabaseBudget(database)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    print(f"generating {args.prospects:,} prospects over {DAYS} days…", file=sys.stderr)
    sandbox = start_sandbox(
        SandboxOptions(
            prospects=args.prospects,
            seed=args.seed,
            days=DAYS,
            rate_limit=args.rate_limit,
            window_seconds=args.window_seconds,
            app_secret=SECRET,
            signing_key=SIGNING_KEY,
        )  # fmt: skip
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            return _run(args, sandbox, folder)
    finally:
        sandbox.stop()


def _run(args: argparse.Namespace, sandbox, folder: str) -> int:
    account = sandbox.create_account()
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=_budget(args.budget, folder),
                         budget_key="benchmark")  # fmt: skip
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(days=DAYS + 1)
    started = time.perf_counter()
    items = sum(1 for _ in client.iter_prospects(start, end))
    wall = time.perf_counter() - started

    ids = sandbox.state.accounts[account["accountId"]].prospect_ids
    window_count, minimum = _minimum_calls(ids, start, end)
    stats = requests.get(sandbox.base_url + "/_sandbox/stats", timeout=10).json()
    floor = (math.ceil(client.calls / args.rate_limit) - 1) * args.window_seconds
    call_ratio = client.calls / minimum
    wall_ratio = wall / floor if floor else float("nan")

    rows = [
        ("prospects in the sandbox", f"{len(ids):,}"),
        ("prospects imported", f"{items:,}"),
        ("31-day windows", f"{window_count}"),
        ("calls made", f"{client.calls}"),
        ("minimum possible calls", f"{minimum}"),
        ("calls / minimum", f"{call_ratio:.3f}"),
        ("rate limit", f"{args.rate_limit} per {args.window_seconds:g} s"),
        ("429 answers", f"{stats['rateLimited']}"),
        ("most calls in one window", f"{stats['maxInWindow'].get(account['apiKey'], 0)}"),
        ("wall time", f"{wall:.2f} s"),
        ("rate-limit floor", f"{floor:.2f} s"),
        ("wall / floor", f"{wall_ratio:.2f}" if floor else "n/a (fits in one window)"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print()
    checks = [
        ("calls / minimum", f"{call_ratio:.3f}", "<= 1.05", call_ratio <= 1.05),
        ("every prospect once", f"{items}/{len(ids)}", f"{len(ids)}/{len(ids)}", items == len(ids)),
        ("429 answers", str(stats["rateLimited"]), "0", stats["rateLimited"] == 0),
    ]
    if floor:
        checks.append(("wall / rate-limit floor", f"{wall_ratio:.2f}", "<= 1.50", wall_ratio <= 1.5))
    for name, value, target, ok in checks:
        print(f"{name}: {value} (target {target}) {'PASS' if ok else 'SHORT'}")
    return 0 if items == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
