"""Configuration: production refuses bad secrets with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ROOT
from zapp.config import ConfigError, load_config

GOOD = {
    "ZAPP_APP_ID": "app-id",
    "ZAPP_APP_SECRET": "app-secret-123",
    "ZAPP_SIGNING_KEY": "signing-key-123",
    "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ZAPP_PUBLIC_URL": "https://zapp.example.com",
}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ZAPP_APP_ID", ""),
        ("ZAPP_APP_SECRET", ""),
        ("ZAPP_APP_SECRET", "short"),
        ("ZAPP_APP_SECRET", "has a space"),
        ("ZAPP_SIGNING_KEY", ""),
        ("ZAPP_ENCRYPTION_KEYS", ""),
        ("ZAPP_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("ZAPP_ENCRYPTION_KEYS", GOOD["ZAPP_ENCRYPTION_KEYS"] + ",tooshort"),
        ("ZAPP_PUBLIC_URL", ""),
        ("ZAPP_PUBLIC_URL", "ftp://x"),
        ("ZAPP_PUBLIC_URL", "https://x/?q=1"),
        ("ZAPP_SALES_API_URL", "not a url"),
        ("ZAPP_MODE", "staging"),
        ("ZAPP_LOG_LEVEL", "LOUD"),
        ("ZAPP_EVENT_RETENTION_DAYS", "0"),
        ("ZAPP_EVENT_RETENTION_DAYS", "a month"),
        ("ZAPP_SALES_REQUEST_BUDGET", "0"),
        ("ZAPP_SALES_REQUEST_BUDGET", "30"),  # past gunicorn's worker timeout
        ("ZAPP_SALES_REQUEST_BUDGET", "soon"),
    ],
)
def test_production_refuses_missing_or_malformed_settings(tmp_path, variable, value):
    with pytest.raises(ConfigError) as error:
        load_config({**GOOD, variable: value}, instance_path=str(tmp_path))
    assert str(error.value).startswith(variable)


def test_production_accepts_rotating_lists(tmp_path):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = {
        **GOOD,
        "ZAPP_APP_SECRET": "new-secret-1, old-secret-1",
        "ZAPP_ENCRYPTION_KEYS": f"{new_key},{old_key}",
    }
    config = load_config(env, instance_path=str(tmp_path))
    assert config.app_secrets == ("new-secret-1", "old-secret-1")
    assert config.encryption_keys == (new_key, old_key)
    assert config.database_url == f"sqlite:///{tmp_path}/zapp.db"
    assert config.sales_api_url == "https://sales.zenvia.com/api/v1"
    assert config.frame_ancestors == ("https://*.zenvia.com",)
    assert config.redis_url is None
    assert config.event_retention_days == 30
    longer = load_config({**env, "ZAPP_EVENT_RETENTION_DAYS": "90"}, instance_path=str(tmp_path))
    assert longer.event_retention_days == 90
    assert config.sales_request_budget == 8.0
    shorter = load_config({**env, "ZAPP_SALES_REQUEST_BUDGET": "2.5"}, instance_path=str(tmp_path))
    assert shorter.sales_request_budget == 2.5


def test_demo_mode_generates_throwaway_secrets(tmp_path):
    config = load_config({"ZAPP_MODE": "demo"}, instance_path=str(tmp_path))
    assert set(config.generated) == {
        "ZAPP_APP_ID",
        "ZAPP_APP_SECRET",
        "ZAPP_SIGNING_KEY",
        "ZAPP_ENCRYPTION_KEYS",
    }
    again = load_config({"ZAPP_MODE": "demo"}, instance_path=str(tmp_path))
    assert config.app_secrets != again.app_secrets


def test_the_process_stops_with_one_line_naming_the_variable(tmp_path):
    env = {k: v for k, v in GOOD.items() if k != "ZAPP_SIGNING_KEY"}
    env["ZAPP_DATABASE_URL"] = f"sqlite:///{tmp_path}/x.db"
    result = subprocess.run(
        [sys.executable, "-m", "zapp.cli", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "zapp: configuration error: ZAPP_SIGNING_KEY is not set: give the value Sales issued for this App"
    ]


def test_flask_cli_reaches_the_same_commands(tmp_path):
    env = {**GOOD, "ZAPP_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "zapp", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "database is at head" in result.stdout
