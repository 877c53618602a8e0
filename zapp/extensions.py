"""The app's long-lived services, built once per app and reachable as ``app.extensions["zapp"]``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from .config import Config
from .db import Database
from .lifecycle.service import LifecycleService
from .vault import Vault


@dataclass
class Zapp:
    config: Config
    database: Database
    vault: Vault
    lifecycle: LifecycleService


def build_services(config: Config, instance_path: str) -> Zapp:
    database = Database(config.database_url)
    vault = Vault(config.encryption_keys, database)
    return Zapp(
        config=config,
        database=database,
        vault=vault,
        lifecycle=LifecycleService(database, vault),
    )


def services(app: Flask) -> Zapp:
    return app.extensions["zapp"]
