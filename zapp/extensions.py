"""The app's long-lived services, built once per app and reachable as ``app.extensions["zapp"]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from .config import Config
from .db import Database
from .jobs import Jobs, build_queue
from .lifecycle.service import LifecycleService
from .provisioning import Provisioner
from .sales import SalesClient
from .sales.budget import build_budget
from .vault import Vault


@dataclass
class Zapp:
    config: Config
    database: Database
    vault: Vault
    lifecycle: LifecycleService
    provisioner: Provisioner
    jobs: Jobs
    sales_client: Callable[[str, str], SalesClient]
    """Build a Sales client for (API key, its blind index); its budget is shared by every process."""


def build_services(config: Config, instance_path: str) -> Zapp:
    database = Database(config.database_url)
    vault = Vault(config.encryption_keys, database)
    budget = build_budget(config.redis_url, database)

    def sales_client(api_key: str, key_index: str) -> SalesClient:
        return SalesClient(api_key, base_url=config.sales_api_url, budget=budget, budget_key=key_index)

    lifecycle = LifecycleService(database, vault)
    provisioner = Provisioner(config, database, vault, sales_client)
    jobs = Jobs(build_queue(config, instance_path), provisioner)
    lifecycle.subscribe(jobs.on_lifecycle)
    lifecycle.before_delete(provisioner.deactivate_subscriptions)
    return Zapp(
        config=config,
        database=database,
        vault=vault,
        lifecycle=lifecycle,
        provisioner=provisioner,
        jobs=jobs,
        sales_client=sales_client,
    )


def services(app: Flask) -> Zapp:
    return app.extensions["zapp"]
