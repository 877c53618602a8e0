"""Pages benchmark: opening a signed toolbar dialog under gunicorn, against a bare Flask hello-world.

Each request to zapp is a distinct URL signed as Sales signs it (other prospect,
other user), so it pays for everything a real page load does: the signature
check on the raw URL, finding the installation from its group, minting the
context token, and rendering the localized page with its CSP nonce. (The
dialog's Sales data comes after first paint, from its own call, so it is not
part of opening the page.) The hello-world runs under the same gunicorn
settings and worker count, driven by the same client, in the same run.

    python benchmarks/pages.py                  # 4,000 requests per side per round, 2 rounds
    python benchmarks/pages.py --requests 200   # the smoke size CI runs
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import secrets
import sys
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet
from harness import Load, drive, free_port, gunicorn, print_table, print_targets

from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import Instance, InstanceGroup, InstanceState

SIGNING_KEY = "benchmark-signing-key-" + secrets.token_hex(8)
TARGET_RATIO = 0.5


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000, help="requests per side per round")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds; the best of each side counts"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for both sides")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in a temporary folder)")
    return parser.parse_args(argv)


def _environment(database_url: str, public_url: str) -> dict[str, str]:
    """Production mode, with every secret given, as an operator would run it."""
    return {
        "ZAPP_MODE": "production",
        "ZAPP_DATABASE_URL": database_url,
        "ZAPP_APP_ID": "benchmark-app",
        "ZAPP_APP_SECRET": secrets.token_urlsafe(24),
        "ZAPP_SIGNING_KEY": SIGNING_KEY,
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_PUBLIC_URL": public_url,
        "ZAPP_LOG_LEVEL": "WARNING",
    }


def _install(env: dict[str, str]) -> str:
    """Migrate the database and record one installation covering a small group tree; returns a group."""
    app = create_app(env)
    zapp = app.extensions["zapp"]
    upgrade_database(app)
    groups = [secrets.token_hex(12) for _ in range(8)]
    index = zapp.vault.blind_index("benchmark-api-key")
    with zapp.database.transaction() as session:
        instance = Instance(
            state=InstanceState.ENABLED.value,
            key_index=index,
            key_ciphertext=zapp.vault.encrypt("benchmark-api-key"),
            language="pt",
            sales_group_id=groups[0],
            provisioned_version=1,
        )
        session.add(instance)
        session.flush()
        for position, group in enumerate(groups):
            parent = None if position == 0 else groups[0]
            session.add(InstanceGroup(instance_id=instance.id, group_id=group, parent_id=parent,
                                      name=f"Loja {position}", display_name=f"Loja {position}",
                                      timezone="America/Sao_Paulo"))  # fmt: skip
    zapp.database.dispose()
    return groups[-1]


def signed_targets(public_url: str, group: str, count: int) -> list[str]:
    """Distinct dialog URLs signed as the seed says: hex HMAC-SHA256 of the full URL."""
    targets = []
    for _ in range(count):
        target = (
            f"/dialogs/timeline?prospect={secrets.token_hex(12)}&user={secrets.token_hex(12)}"
            f"&group={group}&lang=pt"
        )
        signature = hmac.new(SIGNING_KEY.encode(), (public_url + target).encode(), hashlib.sha256).hexdigest()
        targets.append(f"{target}&signature={signature}")
    return targets


def _dialog_check(response) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}"
    if b'id="zapp-page"' not in response.content:
        return "not the dialog"
    return None


def _hello_check(response) -> str | None:
    return None if response.status_code == 200 and response.content == b"Hello, World!" else "wrong answer"


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory() as folder:
        return _run(args, Path(folder))


def _run(args: argparse.Namespace, folder: Path) -> int:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = _environment(args.database or f"sqlite:///{folder / 'zapp.db'}", public_url)
    group = _install(env)
    targets = signed_targets(public_url, group, args.requests)
    zapp_runs: list[Load] = []
    hello_runs: list[Load] = []
    with (
        gunicorn("zapp:create_app()", env, args.workers, folder / "zapp.log", port=port) as zapp_url,
        gunicorn("benchmarks.hello:app", {}, args.workers, folder / "hello.log") as hello_url,
    ):

        def open_dialog(session, number):
            return session.get(zapp_url + targets[number], timeout=30)

        def hello(session, _number):
            return session.get(hello_url + "/", timeout=30)

        drive(open_dialog, _dialog_check, total=min(200, args.requests), concurrency=args.concurrency)
        drive(hello, _hello_check, total=min(200, args.requests), concurrency=args.concurrency)
        for _ in range(args.rounds):
            zapp_runs.append(
                drive(open_dialog, _dialog_check, total=args.requests, concurrency=args.concurrency)
            )
            hello_runs.append(drive(hello, _hello_check, total=args.requests, concurrency=args.concurrency))
    return _report(args, zapp_runs, hello_runs)


def _report(args: argparse.Namespace, zapp_runs: list[Load], hello_runs: list[Load]) -> int:
    best_zapp = max(zapp_runs, key=lambda run: run.throughput)
    best_hello = max(hello_runs, key=lambda run: run.throughput)
    ratio = best_zapp.throughput / best_hello.throughput
    failures = sum(len(run.failures) for run in (*zapp_runs, *hello_runs))
    answered = sum(len(run.latencies) for run in zapp_runs)
    print_table([
        ("requests per side per round", f"{args.requests:,} x {args.rounds} rounds"),
        ("client threads / gunicorn workers", f"{args.concurrency} / {args.workers}"),
        ("signed dialog opens per second", f"{best_zapp.throughput:,.0f}"),
        ("hello-world requests per second", f"{best_hello.throughput:,.0f}"),
        ("dialog / hello-world throughput", f"{ratio:.2f}"),
        ("dialog latency p50 / p99", best_zapp.latency_text()),
        ("hello latency p50 / p99", best_hello.latency_text()),
        ("failed or wrong answers", f"{failures}"),
    ])  # fmt: skip
    total = args.requests * args.rounds
    print_targets([
        ("every dialog opened", f"{answered}/{total}", f"{total}/{total}", answered == total),
        ("failed or wrong answers", str(failures), "0", failures == 0),
        ("dialog / hello-world throughput", f"{ratio:.2f}", f">= {TARGET_RATIO}", ratio >= TARGET_RATIO),
    ])  # fmt: skip
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
