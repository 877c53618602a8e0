"""What the HTTP benchmarks share: gunicorn servers started the way production starts them, a load
generator, and the table and target lines every benchmark prints.

Both sides of a comparison run under ``zapp.gunicorn_config`` with the same worker count and are
driven by the same client in the same run, so the ratio says what zapp costs over bare Flask.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    app_spec: str,
    env: dict[str, str],
    workers: int,
    log_path: Path,
    port: int | None = None,
    access_log: bool = True,
) -> Iterator[str]:
    """Serve ``app_spec`` with zapp's gunicorn settings (the Procfile's); yields the base URL once it
    answers. ``access_log=False``: the same settings without gunicorn's access log."""
    port = port or free_port()
    config = "python:zapp.gunicorn_config" if access_log else "python:benchmarks.quiet_gunicorn"
    command = [
        sys.executable, "-m", "gunicorn", "--config", config,
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), app_spec,
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, log_path, workers)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, process: subprocess.Popen, log_path: Path, workers: int) -> None:
    """Until every worker has loaded the app (zapp.gunicorn_config logs "Worker ready"): measuring
    while one still boots would time its start-up, and queue answers behind the one serving."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            requests.get(url + "/healthz", timeout=1)
            if log_path.read_text(errors="replace").count("Worker ready") >= workers:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not come up:\n{log_path.read_text()}")


@dataclass
class Load:
    """What a load run measured: every latency (seconds), failures, and the wall time."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    def latency_text(self) -> str:
        return f"{self.median * 1000:.1f} / {self.percentile(0.99) * 1000:.1f} ms"


Request = Callable[[requests.Session, int], requests.Response]
Check = Callable[[requests.Response], str | None]


def drive(request: Request, check: Check, *, total: int, concurrency: int) -> Load:
    """Send ``total`` requests from ``concurrency`` threads; ``check`` says why an answer is wrong."""
    load = Load()
    counter = iter(range(total))
    lock = threading.Lock()

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    number = next(counter, None)
                if number is None:
                    return
                started = time.perf_counter()
                try:
                    response = request(session, number)
                    problem = check(response)
                except requests.RequestException as error:
                    problem = type(error).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    if problem:
                        load.failures.append(problem)
                    else:
                        load.latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.wall = time.perf_counter() - started
    return load


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print()


def print_targets(checks: list[tuple[str, str, str, bool]]) -> None:
    for name, value, target, ok in checks:
        print(f"{name}: {value} (target {target}) {'PASS' if ok else 'SHORT'}")


POSTGRES_ADMIN_URL = os.environ.get("ZAPP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of the benchmark's own (SQLAlchemy URL), dropped afterwards."""
    import psycopg

    name = f"zapp_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
