"""Every setting, read from the environment once and validated at start.

Production refuses to start on a missing or malformed secret, with one line
that names the variable; demo and test modes generate throwaway secrets and
say so. Nothing here has a hard-coded fallback secret.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

MODES = ("production", "demo", "test")
DEFAULT_SALES_API_URL = "https://sales.zenvia.com/api/v1"
DEFAULT_FRAME_ANCESTORS = ("https://*.zenvia.com",)
MAX_BODY_BYTES = 1024 * 1024
MIN_SECRET_LENGTH = 8
DEFAULT_EVENT_RETENTION_DAYS = 30
# Well under gunicorn's 30 s worker timeout: a page waiting on Sales answers before it is killed.
DEFAULT_SALES_REQUEST_BUDGET = 8.0
MAX_SALES_REQUEST_BUDGET = 25.0


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and what to do."""


@dataclass(frozen=True)
class Config:
    mode: str
    database_url: str
    app_id: str
    app_secrets: tuple[str, ...]
    signing_keys: tuple[str, ...]
    encryption_keys: tuple[str, ...]
    sales_api_url: str = DEFAULT_SALES_API_URL
    public_url: str = ""
    frame_ancestors: tuple[str, ...] = DEFAULT_FRAME_ANCESTORS
    redis_url: str | None = None
    jobs_path: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    event_retention_days: int = DEFAULT_EVENT_RETENTION_DAYS
    sales_request_budget: float = DEFAULT_SALES_REQUEST_BUDGET
    generated: tuple[str, ...] = field(default=(), compare=False)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, so the log redactor can mask them wherever they appear."""
        return (*self.app_secrets, *self.signing_keys, *self.encryption_keys)

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _split_list(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _days(name: str, env: Mapping[str, str], default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} is malformed: expected a whole number of days, at least 1, got {raw!r}")
    return int(raw)


def _seconds(name: str, env: Mapping[str, str], default: float, most: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.5 <= value <= most:
        raise ConfigError(f"{name} is malformed: expected seconds between 0.5 and {most:g}, got {raw!r}")
    return value


def _require_secrets(name: str, values: tuple[str, ...]) -> None:
    if not values:
        raise ConfigError(f"{name} is not set: give the value Sales issued for this App")
    for value in values:
        if len(value) < MIN_SECRET_LENGTH or any(ch.isspace() for ch in value):
            raise ConfigError(
                f"{name} is malformed: each comma-separated value needs at least "
                f"{MIN_SECRET_LENGTH} characters and no spaces"
            )


def _check_fernet_keys(values: tuple[str, ...]) -> None:
    name = "ZAPP_ENCRYPTION_KEYS"
    if not values:
        raise ConfigError(f"{name} is not set: generate a key with `zapp keys generate` and set it")
    for position, value in enumerate(values, start=1):
        try:
            raw = base64.urlsafe_b64decode(value.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                f"{name} is malformed: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; `zapp keys generate` makes one)"
            )


def _check_url(name: str, value: str, *, required: bool) -> None:
    if not value:
        if required:
            raise ConfigError(
                f"{name} is not set: give the app's public base URL, e.g. https://zapp.example.com"
            )
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{name} is malformed: expected an absolute http(s) URL without query, got {value!r}"
        )


def _default_database_url(instance_path: str) -> str:
    os.makedirs(instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "zapp.db")


def _throwaway(env: Mapping[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Secrets for demo and test runs: generated when absent, and named so we can say so."""
    made: dict[str, Any] = {}
    if not env.get("ZAPP_APP_ID"):
        made["app_id"] = "zapp-demo"
    if not _split_list(env.get("ZAPP_APP_SECRET")):
        made["app_secrets"] = (secrets.token_urlsafe(24),)
    if not _split_list(env.get("ZAPP_SIGNING_KEY")):
        made["signing_keys"] = (secrets.token_urlsafe(32),)
    if not _split_list(env.get("ZAPP_ENCRYPTION_KEYS")):
        made["encryption_keys"] = (Fernet.generate_key().decode(),)
    names = {
        "app_id": "ZAPP_APP_ID",
        "app_secrets": "ZAPP_APP_SECRET",
        "signing_keys": "ZAPP_SIGNING_KEY",
        "encryption_keys": "ZAPP_ENCRYPTION_KEYS",
    }
    return made, tuple(names[key] for key in made)


def load_config(env: Mapping[str, str] | None = None, *, instance_path: str) -> Config:
    """Read and validate the configuration; raise ``ConfigError`` naming the first bad variable."""
    env = os.environ if env is None else env
    mode = (env.get("ZAPP_MODE") or "production").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"ZAPP_MODE is malformed: expected one of {', '.join(MODES)}, got {mode!r}")

    generated: dict[str, Any] = {}
    generated_names: tuple[str, ...] = ()
    if mode != "production":
        generated, generated_names = _throwaway(env)

    config = Config(
        mode=mode,
        database_url=env.get("ZAPP_DATABASE_URL") or _default_database_url(instance_path),
        app_id=generated.get("app_id") or (env.get("ZAPP_APP_ID") or "").strip(),
        app_secrets=generated.get("app_secrets") or _split_list(env.get("ZAPP_APP_SECRET")),
        signing_keys=generated.get("signing_keys") or _split_list(env.get("ZAPP_SIGNING_KEY")),
        encryption_keys=generated.get("encryption_keys") or _split_list(env.get("ZAPP_ENCRYPTION_KEYS")),
        sales_api_url=(env.get("ZAPP_SALES_API_URL") or DEFAULT_SALES_API_URL).rstrip("/"),
        public_url=(env.get("ZAPP_PUBLIC_URL") or "").rstrip("/"),
        frame_ancestors=_split_list(env.get("ZAPP_FRAME_ANCESTORS")) or DEFAULT_FRAME_ANCESTORS,
        redis_url=env.get("ZAPP_REDIS_URL") or None,
        jobs_path=env.get("ZAPP_JOBS_PATH") or None,
        log_level=(env.get("ZAPP_LOG_LEVEL") or "INFO").upper(),
        log_format=(env.get("ZAPP_LOG_FORMAT") or "json").lower(),
        event_retention_days=_days("ZAPP_EVENT_RETENTION_DAYS", env, DEFAULT_EVENT_RETENTION_DAYS),
        sales_request_budget=_seconds(
            "ZAPP_SALES_REQUEST_BUDGET", env, DEFAULT_SALES_REQUEST_BUDGET, MAX_SALES_REQUEST_BUDGET
        ),
        generated=generated_names,
    )
    validate(config)
    return config


def validate(config: Config) -> None:
    if not config.app_id:
        raise ConfigError("ZAPP_APP_ID is not set: give the client id Sales issued for this App")
    _require_secrets("ZAPP_APP_SECRET", config.app_secrets)
    _require_secrets("ZAPP_SIGNING_KEY", config.signing_keys)
    _check_fernet_keys(config.encryption_keys)
    _check_url("ZAPP_SALES_API_URL", config.sales_api_url, required=True)
    _check_url("ZAPP_PUBLIC_URL", config.public_url, required=config.is_production)
    if config.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"ZAPP_LOG_LEVEL is malformed: {config.log_level!r}")
    if config.log_format not in ("json", "text"):
        raise ConfigError(f"ZAPP_LOG_FORMAT is malformed: expected json or text, got {config.log_format!r}")
