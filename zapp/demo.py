"""``zapp demo``: the whole product on one machine, with throwaway secrets.

It starts the Sales sandbox, the app (gunicorn) and a worker as child
processes sharing one fresh environment, installs the app into the sandbox as
Sales would, waits until provisioning has subscribed to the sandbox's events,
and prints where a person can look. Ctrl-C stops all three.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import click
import requests
from cryptography.fernet import Fernet

from .sandbox.command import require_sandbox_extra

DEMO_DB_NAME = "demo.db"
STARTUP_SECONDS = 120


def demo_environment(instance_path: str, app_port: int, sandbox_port: int) -> dict[str, str]:
    """A fresh environment: new secrets and a new SQLite file each run, so nothing leaks between runs."""
    os.makedirs(instance_path, exist_ok=True)
    database = os.path.join(instance_path, DEMO_DB_NAME)
    for name in (DEMO_DB_NAME, "demo-jobs.db"):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(instance_path, name + suffix))
    return {
        **os.environ,
        "ZAPP_MODE": "demo",
        "ZAPP_DATABASE_URL": f"sqlite:///{database}",
        "ZAPP_APP_ID": "zapp-demo",
        "ZAPP_APP_SECRET": secrets.token_urlsafe(24),
        "ZAPP_SIGNING_KEY": secrets.token_urlsafe(32),
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        "ZAPP_SALES_API_URL": f"http://127.0.0.1:{sandbox_port}/api/v1",
        "ZAPP_FRAME_ANCESTORS": f"http://127.0.0.1:{sandbox_port}",
        "ZAPP_LOG_FORMAT": os.environ.get("ZAPP_LOG_FORMAT", "text"),
        "ZAPP_LOG_LEVEL": os.environ.get("ZAPP_LOG_LEVEL", "WARNING"),
    }


def _instance_path() -> str:
    from flask import Flask

    return Flask("zapp", instance_relative_config=True).instance_path


class Processes:
    """Child processes started in order and stopped in reverse, whatever happens."""

    def __init__(self) -> None:
        self._children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", *args], env=env)
        self._children.append((name, process))
        return process

    def check(self) -> None:
        for name, process in self._children:
            if process.poll() is not None:
                raise click.ClickException(
                    f"the {name} exited (code {process.returncode}); see its log above"
                )

    def stop(self) -> None:
        for _name, process in reversed(self._children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in reversed(self._children):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(url: str, processes: Processes, what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        processes.check()
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).ok:
                return
        time.sleep(0.3)
    raise click.ClickException(f"{what} did not answer at {url} within {seconds:.0f} s")


def _wait_for_subscription(sandbox: str, processes: Processes, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        processes.check()
        with contextlib.suppress(requests.RequestException, ValueError):
            if requests.get(f"{sandbox}/_sandbox/subscriptions", timeout=2).json():
                return
        time.sleep(0.5)
    raise click.ClickException("the worker did not subscribe to the sandbox's events; see the worker's log")


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _running(processes: Processes) -> Iterator[Processes]:
    signal.signal(signal.SIGTERM, _interrupt)  # stop the children on SIGTERM too, not only on Ctrl-C
    try:
        yield processes
    except KeyboardInterrupt:
        click.echo("\nstopping…")
    finally:
        processes.stop()


@click.command("demo")
@click.option("--port", default=8000, show_default=True, help="Port of the app.")
@click.option("--sandbox-port", default=8001, show_default=True, help="Port of the Sales sandbox.")
@click.option("--prospects", default=3000, show_default=True, help="Contacts the sandbox makes up.")
@click.option("--seed", default=7, show_default=True, help="Seed of the sandbox's data.")
def demo_command(port: int, sandbox_port: int, prospects: int, seed: int) -> None:
    """Run the sandbox, the app and a worker together, install the app, and keep them up until Ctrl-C."""
    require_sandbox_extra()
    env = demo_environment(_instance_path(), port, sandbox_port)
    app_url, sandbox_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    click.echo("demo mode: generated throwaway ZAPP_APP_SECRET, ZAPP_SIGNING_KEY, ZAPP_ENCRYPTION_KEYS")
    subprocess.run([sys.executable, "-m", "zapp.cli", "db", "upgrade"], env=env, check=True)
    with _running(Processes()) as processes:
        processes.start(
            "sandbox",
            [
                "zapp.cli",
                "sandbox",
                "--port",
                str(sandbox_port),
                "--app-url",
                app_url,
                "--prospects",
                str(prospects),
                "--seed",
                str(seed),
            ],
            env,
        )
        processes.start(
            "app",
            [
                "gunicorn",
                "--config",
                "python:zapp.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "zapp:create_app()",
            ],
            env,
        )
        processes.start("worker", ["zapp.cli", "worker", "--threads", "2"], env)
        _wait_for(app_url + "/readyz", processes, "the app")
        _wait_for(sandbox_url + "/_sandbox/subscriptions", processes, "the sandbox")
        installed = requests.post(f"{sandbox_url}/_sandbox/install", json={"actAsUser": True}, timeout=60)
        if not installed.ok:
            raise click.ClickException(
                f"installing into the sandbox failed: {installed.status_code} {installed.text}"
            )
        _wait_for_subscription(sandbox_url, processes)
        click.echo(
            f"""
zapp demo is up (Ctrl-C stops everything)

  Sales (sandbox) host UI:  {sandbox_url}/
      open a contact to use the App's toolbar dialogs; open Reports for the App's reports
  the App:                  {app_url}   (API description: {app_url}/openapi.json)
"""
        )
        while True:
            processes.check()
            time.sleep(1)
