"""Page answer times while Sales misbehaves: the Timeline's data call under gunicorn (the Procfile's
settings: zapp.gunicorn_config, 2 sync workers, 30 s worker timeout) against the sandbox's fault knobs.

Each scenario gets a fresh gunicorn (fresh circuit breakers) and a Sales account of its own (a
rate-limit window of its own), and sends its requests from as many client threads as there are
workers, so every worker is waiting on Sales at once, once every worker has loaded the app. The
page's Sales budget is ZAPP_SALES_REQUEST_BUDGET (8 s by default; the tiny size shortens it to 2 s
while Sales misbehaves, never while it answers well); no answer may take longer than it (plus
1.5 s for the page's own work), none may be a 500, and no worker may be killed.

    python benchmarks/sales_faults.py                # Sales 45 s late, 3 calls per window, errors
    python benchmarks/sales_faults.py --size tiny    # the smoke size CI runs (2 s budget, 4 s late)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from harness import free_port, gunicorn, print_table, print_targets

from zapp import create_app
from zapp.cli import upgrade_database
from zapp.models import Instance, InstanceGroup, InstanceState
from zapp.sandbox.server import SandboxOptions, start_sandbox

SIGNING_KEY = "benchmark-signing-key-" + secrets.token_hex(8)
APP_SECRET = secrets.token_urlsafe(24)
SLACK_SECONDS = 1.5  # the page's own work around its Sales calls, on a shared machine
SIZES = {
    # budget (s), Sales' latency (ms), requests per scenario
    "tiny": (2.0, 4_000, 4),
    "full": (None, 45_000, 12),
}
DEFAULT_BUDGET = 8.0
PAGE_DATA = re.compile(r'<script type="application/json" id="zapp-page"[^>]*>(.*?)</script>', re.S)


@dataclass
class Scenario:
    name: str
    faults: dict
    budget: float  # the page's Sales budget it runs with (ZAPP_SALES_REQUEST_BUDGET)
    statuses: list[int] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    worker_timeouts: int = 0

    @property
    def slowest(self) -> float:
        return max(self.seconds, default=0.0)

    @property
    def late(self) -> int:
        return sum(seconds > self.budget + SLACK_SECONDS for seconds in self.seconds)

    def summary(self) -> str:
        counts = {status: self.statuses.count(status) for status in sorted(set(self.statuses))}
        shown = ", ".join(f"{count}x {status}" for status, count in counts.items())
        if self.refusals:  # which refusal, so a SHORT line says why
            shown += "; " + ", ".join(sorted(set(self.refusals)))
        median = sorted(self.seconds)[len(self.seconds) // 2] if self.seconds else 0.0
        return f"median {median:.2f} s, slowest {self.slowest:.2f} s ({shown})"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Procfile's default)")
    return parser.parse_args(argv)


def _environment(database_url: str, public_url: str, sales_url: str) -> dict:
    return {
        "ZAPP_MODE": "production",
        "ZAPP_DATABASE_URL": database_url,
        "ZAPP_APP_ID": "benchmark-app",
        "ZAPP_APP_SECRET": APP_SECRET,
        "ZAPP_SIGNING_KEY": SIGNING_KEY,
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_PUBLIC_URL": public_url,
        "ZAPP_SALES_API_URL": sales_url,
        "ZAPP_LOG_LEVEL": "WARNING",
    }


def _install(env: dict[str, str], sandbox) -> tuple[str, str]:
    """Record the sandbox account as installed; a group it covers and a prospect with interactions."""
    account = sandbox.create_account(act_as_user=True)
    data = sandbox.state.accounts[account["accountId"]]
    root = account["groupId"]
    groups = [root, *(g for g, node in data.groups.items() if root in node.get("ancestors", []))]
    prospect = next(p for p in reversed(data.prospect_ids) if data.by_prospect.get(p))
    app = create_app(env)
    zapp = app.extensions["zapp"]
    upgrade_database(app)
    with zapp.database.transaction() as session:
        instance = Instance(
            state=InstanceState.ENABLED.value,
            key_index=zapp.vault.blind_index(account["apiKey"]),
            key_ciphertext=zapp.vault.encrypt(account["apiKey"]),
            language="pt",
            sales_group_id=root,
            provisioned_version=1,
        )
        session.add(instance)
        session.flush()
        for group in groups:
            parent = None if group == root else root
            session.add(InstanceGroup(instance_id=instance.id, group_id=group, parent_id=parent,
                                      name=group, display_name=group))  # fmt: skip
    zapp.database.dispose()
    return groups[-1], prospect


def _signed(public_url: str, target: str) -> str:
    signature = hmac.new(SIGNING_KEY.encode(), (public_url + target).encode(), hashlib.sha256).hexdigest()
    return f"{target}&signature={signature}"


def _faults(sandbox, knobs: dict) -> None:
    reset = {"latencyMs": 0, "errorRate": 0, "rateLimit": None, **knobs}
    requests.post(sandbox.base_url + "/_sandbox/faults", json=reset, timeout=10).raise_for_status()


def _run_scenario(scenario: Scenario, env: dict, folder: Path, sandbox, group: str, prospect: str,
                  workers: int, total: int) -> None:  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "ZAPP_PUBLIC_URL": url, "ZAPP_SALES_REQUEST_BUDGET": str(scenario.budget)}
    log_path = folder / f"gunicorn-{scenario.name.replace(' ', '-')}.log"
    with gunicorn("zapp:create_app()", env, workers, log_path, port=port):
        target = f"/dialogs/timeline?prospect={prospect}&user={secrets.token_hex(12)}&group={group}&lang=pt"
        page = requests.get(url + _signed(url, target), timeout=30)
        page.raise_for_status()
        token = json.loads(PAGE_DATA.search(page.text).group(1))["context"]
        _faults(sandbox, scenario.faults)
        data_url = f"{url}/dialogs/timeline/data?prospect={prospect}"

        def ask(_number: int) -> tuple[int, str, float]:
            started = time.perf_counter()
            answer = requests.get(data_url, headers={"X-Zapp-Context": token}, timeout=60)
            return answer.status_code, _refusal(answer), time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for status, refusal, seconds in pool.map(ask, range(total)):
                scenario.statuses.append(status)
                scenario.seconds.append(seconds)
                if refusal:
                    scenario.refusals.append(refusal)
        _faults(sandbox, {})
    scenario.worker_timeouts = log_path.read_text(errors="replace").count("WORKER TIMEOUT")


def _refusal(answer: requests.Response) -> str:
    """The error code of a refused answer (``sales_timeout`` …)."""
    if answer.status_code == 200:
        return ""
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "no JSON error"
    return f"{answer.status_code} {code}"


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory() as folder:
        return _run(args, Path(folder))


def _run(args: argparse.Namespace, folder: Path) -> int:
    budget, latency, total = SIZES[args.size]
    options = SandboxOptions(prospects=300, seed=5, app_id="benchmark-app", app_secret=APP_SECRET,
                             signing_key=SIGNING_KEY)  # fmt: skip
    sandbox = start_sandbox(options)
    try:
        env = _environment(f"sqlite:///{folder / 'zapp.db'}", "http://127.0.0.1", sandbox.api_url)
        faulty = budget or DEFAULT_BUDGET
        scenarios = [
            # Sales answering well: the product's own budget at every size. A shorter one only keeps
            # the faulty runs quick; on a loaded machine it would time the machine, not the page.
            Scenario("healthy", {}, DEFAULT_BUDGET),
            Scenario("30% errors", {"errorRate": 0.3}, faulty),
            Scenario("every call fails", {"errorRate": 1.0}, faulty),
            Scenario(f"Sales {latency // 1000} s late", {"latencyMs": latency}, faulty),
            Scenario("3 calls per window", {"rateLimit": 3}, faulty),
        ]
        for scenario in scenarios:  # each with an account of its own: a rate-limit window of its own
            group, prospect = _install(env, sandbox)
            _run_scenario(scenario, env, folder, sandbox, group, prospect, args.workers, total)
    finally:
        sandbox.stop()
    return _report(scenarios, args, total)


def _report(scenarios: list[Scenario], args: argparse.Namespace, total: int) -> int:
    healthy_run, faulty = scenarios[0], scenarios[1:]
    limit = max(scenario.budget for scenario in faulty) + SLACK_SECONDS
    print_table([
        ("page budget (ZAPP_SALES_REQUEST_BUDGET), healthy", f"{healthy_run.budget:g} s"),
        ("page budget (ZAPP_SALES_REQUEST_BUDGET), faults", f"{limit - SLACK_SECONDS:g} s"),
        ("requests per scenario / client threads = workers", f"{total} / {args.workers}"),
        *((scenario.name, scenario.summary()) for scenario in scenarios),
    ])  # fmt: skip
    late = sum(scenario.late for scenario in scenarios)  # each against its own budget
    others = sum(status not in (200, 503, 504) for s in scenarios for status in s.statuses)
    killed = sum(scenario.worker_timeouts for scenario in scenarios)
    slowest = max(scenario.slowest for scenario in faulty)  # healthy: in "past the budget", at its own
    healthy = healthy_run.statuses.count(200)
    print_targets([
        ("slowest page answer", f"{slowest:.2f} s", f"<= {limit:g} s", slowest <= limit),
        ("answers past the budget", str(late), "0", late == 0),
        ("answers other than 200, 503, 504", str(others), "0", others == 0),
        ("workers killed", str(killed), "0", killed == 0),
        ("healthy answers", f"{healthy}/{total}", f"{total}/{total}", healthy == total),
    ])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
