"""``zapp demo``: the whole product on one machine, with throwaway secrets."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import click
from cryptography.fernet import Fernet

DEMO_DB_NAME = "demo.db"


def demo_environment(instance_path: str, port: int) -> dict[str, str]:
    """A fresh environment: new secrets and a new SQLite file each run, so nothing leaks between runs."""
    os.makedirs(instance_path, exist_ok=True)
    database = os.path.join(instance_path, DEMO_DB_NAME)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    return {
        **os.environ,
        "ZAPP_MODE": "demo",
        "ZAPP_DATABASE_URL": f"sqlite:///{database}",
        "ZAPP_APP_ID": "zapp-demo",
        "ZAPP_APP_SECRET": secrets.token_urlsafe(24),
        "ZAPP_SIGNING_KEY": secrets.token_urlsafe(32),
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ZAPP_LOG_FORMAT": os.environ.get("ZAPP_LOG_FORMAT", "text"),
    }


def _instance_path() -> str:
    from flask import Flask

    return Flask("zapp", instance_relative_config=True).instance_path


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the app exited early (code {process.returncode}); see its log above")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"the app did not answer at {url} within {seconds:.0f} s")


@click.command("demo")
@click.option("--port", default=8000, show_default=True, help="Port of the app.")
def demo_command(port: int) -> None:
    """Run the app in demo mode on SQLite, with throwaway secrets, until Ctrl-C."""
    env = demo_environment(_instance_path(), port)
    click.echo("demo mode: generated throwaway ZAPP_APP_SECRET, ZAPP_SIGNING_KEY, ZAPP_ENCRYPTION_KEYS")
    subprocess.run([sys.executable, "-m", "zapp.cli", "db", "upgrade"], env=env, check=True)
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:zapp.gunicorn_config",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "zapp:create_app()",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/healthz", app)
        _print_instructions(base, env)
        app.wait()
    except KeyboardInterrupt:
        click.echo("\nstopping…")
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=30)


def _print_instructions(base: str, env: dict[str, str]) -> None:
    creds = f"-H 'X-App-Id: {env['ZAPP_APP_ID']}' -H 'X-App-Secret: {env['ZAPP_APP_SECRET']}'"
    click.echo(
        f"""
zapp is running at {base}  (Ctrl-C stops it)

  install:   curl -s {creds} -H 'Content-Type: application/json' \\
               -d '{{"integration": {{"apiKey": "demo-key-1", "enabled": true}}}}' {base}/lifecycle/install
  form:      curl -s {creds} '{base}/lifecycle/settings-form?api-key=demo-key-1&lang=pt'
  settings:  curl -s {creds} '{base}/lifecycle/settings?api-key=demo-key-1'
  API:       {base}/openapi.json
"""
    )
