"""Webhook benchmark: acknowledgements per second under gunicorn, beside a bare Flask app.

Both servers run with the production settings (``zapp/gunicorn_config.py``)
and the same worker count, and take the same load from the same client: N
notifications (plus one retry for every tenth, as Sales retries) from
concurrent clients. zapp stores each event in one transaction and queues its
processing before answering; the baseline answers at once. No worker runs:
this measures the acknowledgement only.

Prints both throughputs, their ratio (target at least 0.5) and the p99
acknowledgement latency, then one line per target:
``<figure>: <value> (target <target>) PASS|SHORT``.

    python benchmarks/webhooks.py                 # 4,000 events, 8 concurrent clients, SQLite
    python benchmarks/webhooks.py --size tiny     # the smoke size CI runs
    python benchmarks/webhooks.py --database-url postgresql+psycopg://... --redis-url redis://...
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from harness import Load, drive, free_port, gunicorn, print_table, print_targets
from sqlalchemy import func, select

from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import WebhookEvent
from zapp.sandbox.server import SandboxOptions, start_sandbox

SIZES = {"tiny": 120, "full": 4000}
RETRY_EVERY = 10
P99_TARGET_MS = 250.0
RATIO_TARGET = 0.5
SECRET, SIGNING_KEY = "benchmark-secret", "benchmark-signing-key"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--concurrency", type=int, default=8, help="clients sending at once")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for both sides")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--redis-url", help="default: the SQLite job queue beside the database")
    return parser.parse_args(argv)


def _envelope(number: int, attempt: int = 1) -> dict:
    """A ``prospects``/``created`` notification of the size Sales sends (about 1 KiB)."""
    return {
        "subscriptionId": "5f0c1a2b3c4d5e6f7a8b9c0d", "topic": "prospects", "type": "created",
        "received": "2026-03-01T10:00:00.000Z", "sent": f"2026-03-01T10:00:{attempt:02d}.000Z",
        "attempts": attempt, "updatedAt": "2026-03-01T10:00:00.000Z", "operationId": f"bench-{number}",
        "prospect": [{"id": f"{number:024x}", "firstName": "Ana", "lastName": "Souza", "status": "unclaimed",
                      "groupId": "5f0c1a2b3c4d5e6f7a8b9c0e", "created": "2026-03-01T10:00:00.000Z",
                      "phones": ["+55 11 98765 4321"], "emails": ["ana@example.com"],
                      "leads": [{"source": "Portal", "utmSource": "google", "comments": "x" * 300}]}],
        "whatsAppDueAt": "2026-03-02T10:00:00.000Z", "facebookDueAt": "2026-03-02T10:00:00.000Z",
        "updates": [],
    }  # fmt: skip


def _prepare_app(env: dict[str, str], sandbox) -> tuple[Callable[[], int], str]:
    """Migrate, install and provision one instance; (count of stored events, its webhook token)."""
    app = create_app(env)
    zapp = app.extensions["zapp"]
    upgrade_database(app)
    account = sandbox.create_account()
    public_id = zapp.lifecycle.install(account["apiKey"], True).public_id
    zapp.provisioner.provision(public_id)
    [subscription] = [s for s in sandbox.state.subscriptions.values() if s["active"]]

    def stored() -> int:
        with zapp.database.transaction() as session:
            return session.scalar(select(func.count()).select_from(WebhookEvent))

    return stored, subscription["callbackUrl"].rsplit("/", 1)[-1]


@dataclass
class AckRun:
    """What one side-by-side run measured."""

    events: int
    sent: int
    concurrency: int
    workers: int
    hello: Load
    acks: Load
    new_events: int

    @property
    def ratio(self) -> float:
        return self.acks.throughput / self.hello.throughput

    @property
    def p99_ms(self) -> float:
        return self.acks.percentile(0.99) * 1000

    @property
    def acked(self) -> int:
        return len(self.acks.latencies)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    run = measure_acks(
        SIZES[args.size],
        concurrency=args.concurrency,
        workers=args.workers,
        database_url=args.database_url,
        redis_url=args.redis_url,
    )
    return _report(run)


def measure_acks(
    events: int, *, concurrency: int = 8, workers: int = 2, database_url: str | None = None,
    redis_url: str | None = None,
) -> AckRun:  # fmt: skip
    """Start a sandbox, zapp and the hello world under gunicorn, and deliver ``events`` notifications."""
    sandbox = start_sandbox(SandboxOptions(prospects=50, seed=5, app_secret=SECRET, signing_key=SIGNING_KEY))
    try:
        with tempfile.TemporaryDirectory() as folder:
            return _run(events, concurrency, workers, database_url, redis_url, sandbox, Path(folder))
    finally:
        sandbox.stop()


def _run(
    count: int, concurrency: int, workers: int, database_url: str | None, redis_url: str | None,
    sandbox, folder: Path,
) -> AckRun:  # fmt: skip
    port = free_port()
    env = {
        "ZAPP_MODE": "test", "ZAPP_APP_ID": "benchmark", "ZAPP_APP_SECRET": SECRET,
        "ZAPP_SIGNING_KEY": SIGNING_KEY, "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_DATABASE_URL": database_url or f"sqlite:///{folder / 'zapp.db'}",
        "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ZAPP_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    if redis_url:
        env["ZAPP_REDIS_URL"] = redis_url
    stored, token = _prepare_app(env, sandbox)
    bodies = [_envelope(n) for n in range(count)]
    bodies += [_envelope(n, attempt=2) for n in range(0, count, RETRY_EVERY)]  # Sales' retries
    warmup = [_envelope(-n - 1) for n in range(min(50, count))]
    with (
        gunicorn("zapp:create_app()", env, workers, folder / "zapp.log", port=port) as zapp_url,
        gunicorn("benchmarks.hello:app", {}, workers, folder / "hello.log") as hello_url,
    ):
        webhook_url = f"{zapp_url}/webhooks/{token}"

        def deliver(body_list: list[dict]) -> Load:
            return drive(
                lambda session, n: session.post(webhook_url, json=body_list[n], timeout=30),
                _acknowledged,
                total=len(body_list),
                concurrency=concurrency,
            )

        def hello(total: int) -> Load:
            return drive(
                lambda session, n: session.post(hello_url + "/", json=bodies[n], timeout=30),
                _acknowledged,
                total=total,
                concurrency=concurrency,
            )

        hello(len(warmup))
        deliver(warmup)
        before = stored()
        hello_load = hello(len(bodies))
        ack_load = deliver(bodies)
        new_events = stored() - before
    return AckRun(count, len(bodies), concurrency, workers, hello_load, ack_load, new_events)


def _acknowledged(response) -> str | None:
    return None if 200 <= response.status_code < 300 else f"status {response.status_code}"


def _report(run: AckRun) -> int:
    print_table([
        ("events (+ retries of every tenth)", f"{run.events:,} (+{run.sent - run.events:,})"),
        ("client threads / gunicorn workers", f"{run.concurrency} / {run.workers}"),
        ("hello-world requests per second", f"{run.hello.throughput:,.0f}"),
        ("webhook acks per second", f"{run.acks.throughput:,.0f}"),
        ("ack / hello-world throughput", f"{run.ratio:.2f}"),
        ("ack latency p50 / p99", run.acks.latency_text()),
        ("hello latency p50 / p99", run.hello.latency_text()),
    ])  # fmt: skip
    print_targets(ack_targets(run))
    return 0 if run.acked == run.sent and run.new_events == run.events else 1


def ack_targets(run: AckRun, prefix: str = "") -> list[tuple[str, str, str, bool]]:
    """The target lines of one run: throughput ratio, p99, every ack 2xx, every event stored once."""
    ratio, p99, sent, events = run.ratio, run.p99_ms, run.sent, run.events
    return [
        (f"{prefix}ack throughput / hello world", f"{ratio:.2f}", f">= {RATIO_TARGET}",
         ratio >= RATIO_TARGET),
        (f"{prefix}p99 acknowledgement latency", f"{p99:.1f} ms", f"<= {P99_TARGET_MS:g} ms",
         p99 <= P99_TARGET_MS),
        (f"{prefix}every ack 2xx", f"{run.acked}/{sent}", f"{sent}/{sent}", run.acked == sent),
        (f"{prefix}every event stored once", f"{run.new_events}/{events}", f"{events}/{events}",
         run.new_events == events),
    ]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
