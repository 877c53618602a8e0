"""The app's long-lived services, built once per app and reachable as ``app.extensions["zapp"]``."""

from __future__ import annotations

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
    budget: object

    def sales_client(self, api_key: str, key_index: str) -> SalesClient:
        """A Sales client for one instance's key; its rate-limit budget is shared by every process."""
        return SalesClient(
            api_key,
            base_url=self.config.sales_api_url,
            budget=self.budget,
            budget_key=key_index,
        )


def build_services(config: Config, instance_path: str) -> Zapp:
    database = Database(config.database_url)
    vault = Vault(config.encryption_keys, database)
    lifecycle = LifecycleService(database, vault)
    budget = build_budget(config.redis_url, database)
    services: Zapp
    provisioner = Provisioner(config, database, vault, lambda key, index: services.sales_client(key, index))
    jobs = Jobs(build_queue(config, instance_path), provisioner)
    lifecycle.subscribe(jobs.on_lifecycle)
    lifecycle.before_delete(provisioner.deactivate_subscriptions)
    services = Zapp(
        config=config,
        database=database,
        vault=vault,
        lifecycle=lifecycle,
        provisioner=provisioner,
        jobs=jobs,
        budget=budget,
    )
    return services


def services(app: Flask) -> Zapp:
    return app.extensions["zapp"]
