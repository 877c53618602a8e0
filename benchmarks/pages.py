"""Pages benchmark: opening a signed toolbar dialog under gunicorn, against a bare Flask hello-world.

Each request to zapp is a distinct URL signed as Sales signs it (other prospect,
other user), so it pays for everything a real page load does: the signature
check on the raw URL, finding the installation from its group, minting the
context token, and rendering the localized page with its CSP nonce. (The
dialog's Sales data comes after first paint, from its own call, so it is not
part of opening the page.) The hello-world runs under the same gunicorn
settings and worker count and takes the very same URLs from the same client
(``wrk``, see ``load.py``), in the same run, alternating rounds; the best
round of each side counts. Both sides are measured as deployed (the
Procfile's settings, access log on) and again without the access log.

    python benchmarks/pages.py                              # 8 s per side per round, 2 rounds
    python benchmarks/pages.py --seconds 1 --rounds 1       # the smoke size CI runs
    python benchmarks/pages.py --profile 3000               # cProfile of 3,000 opens, top lines
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import io
import pstats
import secrets
import sys
import tempfile
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from harness import free_port, gunicorn, print_table, print_targets
from load import Rounds, Wrk, WrkRun, ceiling_server

from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import Instance, InstanceGroup, InstanceState

SIGNING_KEY = "benchmark-signing-key-" + secrets.token_hex(8)
TARGET_RATIO = 0.5
P99_TARGET_MS = 50.0
CEILING_TARGET = 3.0  # the client must reach this multiple of the hello-world, or it is the bottleneck
SAMPLE = 20  # URLs checked whole (status and page) before the load


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8, help="wrk run per side per round")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds; the best of each side counts"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (one wrk thread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, the same for both sides")
    parser.add_argument("--urls", type=int, default=20_000, help="distinct signed URLs wrk cycles through")
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--profile", type=int, metavar="N", help="instead: cProfile N opens in process")
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


def _dialog_problem(response: requests.Response) -> str | None:
    if response.status_code != 200:
        return f"status {response.status_code}"
    if b'id="zapp-page"' not in response.content:
        return "not the dialog"
    return None


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            return _profile(args, Path(folder))
        return _run(args, Path(folder))


def _run(args: argparse.Namespace, folder: Path) -> int:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = _environment(args.database or f"sqlite:///{folder / 'zapp.db'}", public_url)
    group = _install(env)
    wrk = Wrk(folder, connections=args.connections)
    targets = signed_targets(public_url, group, args.urls)
    items = wrk.write_items("urls.txt", targets)
    results: dict[bool, tuple[Rounds, Rounds]] = {}
    problems: list[str] = []
    for access_log in (True, False):
        zapp_side, hello_side = Rounds(), Rounds()
        with (
            gunicorn("zapp:create_app()", env, args.workers, folder / "zapp.log", port=port,
                     access_log=access_log) as zapp_url,
            gunicorn("benchmarks.hello:app", {}, args.workers, folder / "hello.log",
                     access_log=access_log) as hello_url,
        ):  # fmt: skip
            problems += [p for p in (_dialog_problem(requests.get(zapp_url + t, timeout=30))
                                     for t in targets[-SAMPLE:]) if p]  # fmt: skip
            wrk.run(zapp_url, items, seconds=min(2, args.seconds))  # warm both up
            wrk.run(hello_url, items, seconds=min(2, args.seconds))
            for _ in range(args.rounds):
                zapp_side.runs.append(wrk.run(zapp_url, items, seconds=args.seconds))
                hello_side.runs.append(wrk.run(hello_url, items, seconds=args.seconds))
        results[access_log] = (zapp_side, hello_side)
    with ceiling_server(free_port()) as ceiling_url:
        ceiling = wrk.run(ceiling_url, items, seconds=args.seconds) if ceiling_url else None
    return _report(args, results, ceiling, problems)


def _report(
    args: argparse.Namespace, results: dict[bool, tuple[Rounds, Rounds]], ceiling: WrkRun | None,
    problems: list[str],
) -> int:  # fmt: skip
    rows = [
        ("load", f"wrk, 1 thread, {args.connections} connections, {args.seconds:g} s x {args.rounds} rounds"),
        ("distinct signed URLs cycled", f"{args.urls:,}"),
        ("gunicorn workers (both sides)", str(args.workers)),
        ("wrk ceiling (HAProxy answering from memory)",
         f"{ceiling.throughput:,.0f}/s" if ceiling else "not measured (no haproxy)"),
    ]  # fmt: skip
    checks = []
    for access_log, (zapp_side, hello_side) in results.items():
        label = "access log on" if access_log else "no access log"
        zapp_best, hello_best = zapp_side.best, hello_side.best
        ratio = zapp_best.throughput / hello_best.throughput
        rows += [
            (f"[{label}] signed dialog opens per second", f"{zapp_best.throughput:,.0f}"),
            (f"[{label}] hello-world requests per second", f"{hello_best.throughput:,.0f}"),
            (f"[{label}] dialog / hello-world", f"{ratio:.2f}"),
            (f"[{label}] dialog latency p50 / p99", zapp_best.latency_text()),
            (f"[{label}] hello latency p50 / p99", hello_best.latency_text()),
        ]
        checks += [
            (f"dialog / hello-world throughput, {label}", f"{ratio:.2f}", f">= {TARGET_RATIO}",
             ratio >= TARGET_RATIO),
            (f"dialog p99 latency, {label}", f"{zapp_best.p99_ms:.1f} ms", f"<= {P99_TARGET_MS:g} ms",
             zapp_best.p99_ms <= P99_TARGET_MS),
        ]  # fmt: skip
    failures = sum(side.failures for pair in results.values() for side in pair) + len(problems)
    rows.append(("failed or wrong answers", f"{failures}" + (f" ({problems[0]})" if problems else "")))
    print_table(rows)
    hello_best = max((hello.best for _, hello in results.values()), key=lambda run: run.throughput)
    headroom = ceiling.throughput / hello_best.throughput if ceiling else 0.0
    print_targets([
        ("failed or wrong answers", str(failures), "0", failures == 0),
        *checks,
        ("wrk ceiling / fastest hello-world", f"{headroom:.1f}", f">= {CEILING_TARGET:g}",
         headroom >= CEILING_TARGET),
    ])  # fmt: skip
    return 0 if failures == 0 else 1


def _profile(args: argparse.Namespace, folder: Path) -> int:
    """Where an open's time goes, in process (Flask's test client), as cProfile's top lines."""
    public_url = "http://localhost"
    env = _environment(args.database or f"sqlite:///{folder / 'zapp.db'}", public_url)
    group = _install(env)
    app = create_app(env)
    targets = signed_targets(public_url, group, args.profile + 100)
    client = app.test_client()
    for target in targets[:100]:
        assert client.get(target).status_code == 200
    profiler = cProfile.Profile()
    profiler.enable()
    for target in targets[100:]:
        client.get(target)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
