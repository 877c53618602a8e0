"""Webhook benchmark: acknowledgements per second under gunicorn, beside a bare Flask hello-world.

Both servers run with the Procfile's settings (``zapp/gunicorn_config.py``) and
the same worker count, and take the same load from the same client: ``wrk``
(see ``load.py``) posting distinct notifications of the size Sales sends
(about 1 KiB), one in ten of them a retry of an earlier one, as Sales
retries. zapp stores each event durably (one write) before it answers; the
baseline answers at once. No worker runs: this measures the acknowledgement
only. Every run has envelopes of its own, so each is a new event for zapp.

Measured on SQLite and on PostgreSQL (with the Redis job queue, as when
scaled out), each with the access log on (as deployed) and off, in
alternating rounds; the best round of each side counts. Prints the table,
wrk's own ceiling, then one line per target:
``<figure>: <value> (target <target>) PASS|SHORT``.

    python benchmarks/webhooks.py                          # full: 8 s per side per round, 2 rounds
    python benchmarks/webhooks.py --size tiny              # the smoke size CI runs
    python benchmarks/webhooks.py --backend sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from cryptography.fernet import Fernet
from harness import free_port, gunicorn, postgres_database, print_table, print_targets
from load import Rounds, Wrk, WrkRun, ceiling_server
from sqlalchemy import func, select

from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import WebhookEvent
from zapp.sandbox.server import SandboxOptions, start_sandbox

SIZES = {"tiny": (1.0, 1), "full": (8.0, 2)}  # seconds per run, rounds
RETRY_EVERY = 10
P99_TARGET_MS = 250.0
RATIO_TARGET = 0.5
SECRET, SIGNING_KEY = "benchmark-secret", "benchmark-signing-key"
# A Redis database of the benchmark's own (the tests use theirs), emptied before and after.
REDIS_URL = os.environ.get("ZAPP_BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/14")
MOST_PER_SECOND = 6000  # envelopes written per run: more than either side answers in a second


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (one wrk thread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for both sides")
    return parser.parse_args(argv)


def envelope(operation: str, attempt: int = 1) -> dict:
    """A ``prospects``/``created`` notification of the size Sales sends (about 1 KiB)."""
    return {
        "subscriptionId": "5f0c1a2b3c4d5e6f7a8b9c0d", "topic": "prospects", "type": "created",
        "received": "2026-03-01T10:00:00.000Z", "sent": f"2026-03-01T10:00:{attempt:02d}.000Z",
        "attempts": attempt, "updatedAt": "2026-03-01T10:00:00.000Z", "operationId": operation,
        "prospect": [{"id": operation[-24:], "firstName": "Ana", "lastName": "Souza", "status": "unclaimed",
                      "groupId": "5f0c1a2b3c4d5e6f7a8b9c0e", "created": "2026-03-01T10:00:00.000Z",
                      "phones": ["+55 11 98765 4321"], "emails": ["ana@example.com"],
                      "leads": [{"source": "Portal", "utmSource": "google", "comments": "x" * 300}]}],
        "whatsAppDueAt": "2026-03-02T10:00:00.000Z", "facebookDueAt": "2026-03-02T10:00:00.000Z",
        "updates": [],
    }  # fmt: skip


class Envelopes:
    """A file of fresh envelopes per run: events no run sent before, one in ten followed later by
    its retry. Knows how many distinct events a prefix of the file holds."""

    def __init__(self, wrk: Wrk, count: int) -> None:
        self._wrk = wrk
        self._count = count
        self._numbers = itertools.count()
        self.distinct_before: list[int] = []  # distinct events among the first n lines, by n

    def next_file(self) -> Path:
        lines, seen, self.distinct_before = [], set(), [0]
        retries: list[str] = []
        for position in range(self._count):
            if position % RETRY_EVERY == RETRY_EVERY - 1 and retries:
                operation, attempt = retries.pop(0), 2
            else:
                operation, attempt = f"bench-{next(self._numbers):024x}", 1
                if position % RETRY_EVERY == 0:
                    retries.append(operation)
            seen.add(operation)
            lines.append(json.dumps(envelope(operation, attempt), separators=(",", ":")))
            self.distinct_before.append(len(seen))
        return self._wrk.write_items("envelopes.jsonl", lines)

    def stored_range(self, answered: int, in_flight: int) -> tuple[int, int]:
        """How many new events a run that answered ``answered`` requests may have stored: every
        request sent was answered or was among the last ``in_flight`` in the air. The upper end
        allows each connection one more line, which wrk may have taken (and the server stored)
        as the run ended; a retry stored as a new event would still pass it by one in ten."""
        low = self.distinct_before[min(answered, self._count)] - in_flight
        return max(0, low), self.distinct_before[min(answered + 2 * in_flight, self._count)]


@dataclass
class AckResult:
    """One backend under one gunicorn configuration."""

    backend: str
    access_log: bool
    acks: Rounds
    hello: Rounds
    misstored: list[str]

    @property
    def label(self) -> str:
        return f"{self.backend}, {'access log on' if self.access_log else 'no access log'}"

    @property
    def ratio(self) -> float:
        return self.acks.best.throughput / self.hello.best.throughput


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    sandbox = start_sandbox(SandboxOptions(prospects=20, seed=5, app_secret=SECRET, signing_key=SIGNING_KEY))
    try:
        with tempfile.TemporaryDirectory() as folder:
            wrk = Wrk(Path(folder), connections=args.connections)
            results = [
                result
                for backend in backends
                for result in measure_acks(backend, args, sandbox, wrk, Path(folder))
            ]
            with ceiling_server(free_port()) as ceiling_url:
                items = Envelopes(wrk, 2000).next_file()
                seconds = SIZES[args.size][0]
                ceiling = wrk.run(ceiling_url, items, seconds=seconds, method="POST") if ceiling_url else None
    finally:
        sandbox.stop()
    return _report(args, results, ceiling)


def measure_acks(backend: str, args, sandbox, wrk: Wrk, folder: Path) -> list[AckResult]:
    """Both gunicorn configurations on one backend: a fresh database, one instance installed."""
    seconds, rounds = SIZES[args.size]
    envelopes = Envelopes(wrk, int(MOST_PER_SECOND * seconds))
    with _database(backend, folder) as (database_url, redis_url):
        port = free_port()
        env = _environment(database_url, redis_url, sandbox, port)
        stored, token = _prepare_app(env, sandbox)
        path = f"/webhooks/{token}"
        results = []
        for access_log in (True, False):
            acks, hello, misstored = Rounds(), Rounds(), []
            with (
                gunicorn("zapp:create_app()", env, args.workers, folder / "zapp.log", port=port,
                         access_log=access_log) as zapp_url,
                gunicorn("benchmarks.hello:app", {}, args.workers, folder / "hello.log",
                         access_log=access_log) as hello_url,
            ):  # fmt: skip
                wrk.run(zapp_url, envelopes.next_file(), seconds=min(2, seconds), method="POST", path=path)
                wrk.run(hello_url, envelopes.next_file(), seconds=min(2, seconds), method="POST", path=path)
                for _ in range(rounds):
                    before = stored()
                    run = wrk.run(zapp_url, envelopes.next_file(), seconds=seconds, method="POST", path=path)
                    low, high = envelopes.stored_range(run.requests, args.connections)
                    if not low <= stored() - before <= high:
                        misstored.append(f"{stored() - before} new events, expected {low}..{high}")
                    acks.runs.append(run)
                    hello.runs.append(
                        wrk.run(hello_url, envelopes.next_file(), seconds=seconds, method="POST", path=path)
                    )
            results.append(AckResult(backend, access_log, acks, hello, misstored))
        return results


@contextlib.contextmanager
def _database(backend: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """SQLite with its queue file beside it, or PostgreSQL with the Redis queue (emptied around)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'webhooks.db'}", None
        return
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    try:
        with postgres_database() as url:
            yield url, REDIS_URL
    finally:
        queue.flushdb()
        queue.close()


def _environment(database_url: str, redis_url: str | None, sandbox, port: int) -> dict[str, str]:
    env = {
        "ZAPP_MODE": "production", "ZAPP_APP_ID": "benchmark", "ZAPP_APP_SECRET": SECRET,
        "ZAPP_SIGNING_KEY": SIGNING_KEY, "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_DATABASE_URL": database_url, "ZAPP_SALES_API_URL": sandbox.api_url,
        "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}", "ZAPP_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    if redis_url:
        env["ZAPP_REDIS_URL"] = redis_url
    return env


def _prepare_app(env: dict[str, str], sandbox) -> tuple[Callable[[], int], str]:
    """Migrate, install and provision one instance; (count of stored events, its webhook token)."""
    app = create_app(env)
    zapp = app.extensions["zapp"]
    upgrade_database(app)
    account = sandbox.create_account()
    public_id = zapp.lifecycle.install(account["apiKey"], True).public_id
    zapp.provisioner.provision(public_id)
    subscriptions = sandbox.state.subscriptions.values()
    [subscription] = [s for s in subscriptions if s["active"] and s["accountId"] == account["accountId"]]

    def stored() -> int:
        with zapp.database.reading() as connection:
            return connection.scalar(select(func.count()).select_from(WebhookEvent))

    return stored, subscription["callbackUrl"].rsplit("/", 1)[-1]


def _report(args: argparse.Namespace, results: list[AckResult], ceiling: WrkRun | None) -> int:
    seconds, rounds = SIZES[args.size]
    rows = [
        ("load", f"wrk, 1 thread, {args.connections} connections, {seconds:g} s x {rounds} rounds"),
        ("envelopes", f"distinct, ~1 KiB, every {RETRY_EVERY}th a retry of an earlier one"),
        ("gunicorn workers (both sides)", str(args.workers)),
        ("wrk ceiling (HAProxy answering from memory)",
         f"{ceiling.throughput:,.0f}/s" if ceiling else "not measured (no haproxy)"),
    ]  # fmt: skip
    for result in results:
        rows += [
            (f"[{result.label}] webhook acks per second", f"{result.acks.best.throughput:,.0f}"),
            (f"[{result.label}] hello-world per second", f"{result.hello.best.throughput:,.0f}"),
            (f"[{result.label}] ack / hello-world", f"{result.ratio:.2f}"),
            (f"[{result.label}] ack latency p50 / p99", result.acks.best.latency_text()),
            (f"[{result.label}] hello latency p50 / p99", result.hello.best.latency_text()),
        ]
    print_table(rows)
    fastest = max(result.hello.best.throughput for result in results)
    headroom = ceiling.throughput / fastest if ceiling else 0.0
    checks = [target for result in results for target in ack_targets(result)]
    checks.append(("wrk ceiling / fastest hello-world", f"{headroom:.1f}", ">= 3", headroom >= 3))
    print_targets(checks)
    return 0 if all(not r.acks.failures and not r.misstored for r in results) else 1


def ack_targets(result: AckResult) -> list[tuple[str, str, str, bool]]:
    """Throughput ratio, p99, every ack 2xx, every event stored once; for one backend and configuration."""
    label, best = result.label, result.acks.best
    failures, misstored = result.acks.failures, result.misstored
    return [
        (f"ack / hello-world throughput, {label}", f"{result.ratio:.2f}", f">= {RATIO_TARGET}",
         result.ratio >= RATIO_TARGET),
        (f"p99 acknowledgement latency, {label}", f"{best.p99_ms:.1f} ms", f"<= {P99_TARGET_MS:g} ms",
         best.p99_ms <= P99_TARGET_MS),
        (f"every ack 2xx, {label}", f"{failures} failed", "0 failed", failures == 0),
        (f"every event stored once, {label}", misstored[0] if misstored else "yes", "yes", not misstored),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
