"""The app's long-lived services, built once per app and reachable as ``app.extensions["zapp"]``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from .config import Config
from .db import Database
from .installations.clients import SalesClients
from .jobs import Jobs, build_queue
from .lifecycle.service import LifecycleService
from .provisioning import Provisioner
from .sales import SalesClient
from .sales.budget import build_budget
from .store.history import HistoryImporter
from .vault import Vault
from .webhooks.auto_reply import AutoReplier
from .webhooks.custom_field_writer import CustomFieldWriter
from .webhooks.inbox import Inbox
from .webhooks.processing import EventProcessor


@dataclass
class Zapp:
    config: Config
    database: Database
    vault: Vault
    lifecycle: LifecycleService
    provisioner: Provisioner
    jobs: Jobs
    inbox: Inbox
    events: EventProcessor
    history: HistoryImporter
    custom_fields: CustomFieldWriter
    clients: SalesClients
    """``clients.client_for(installation)``: the installation's Sales client; its budget is shared by
    every process."""


def build_services(config: Config, instance_path: str) -> Zapp:
    database = Database(config.database_url)
    vault = Vault(config.encryption_keys, database)
    budget = build_budget(config.redis_url, database)

    clients = SalesClients(vault, lambda key, index: SalesClient(
        key, base_url=config.sales_api_url, budget=budget, budget_key=index
    ))  # fmt: skip

    lifecycle = LifecycleService(database, vault)
    provisioner = Provisioner(config, database, vault, clients)
    events = EventProcessor(database, clients, AutoReplier(database))
    history = HistoryImporter(database, clients)
    retention = timedelta(days=config.event_retention_days)
    custom_fields = CustomFieldWriter(database, clients)
    jobs = Jobs(build_queue(config, instance_path), provisioner, events, history, retention, custom_fields)
    lifecycle.subscribe(jobs.on_lifecycle)
    lifecycle.before_delete(provisioner.deactivate_subscriptions)
    return Zapp(
        config=config,
        database=database,
        vault=vault,
        lifecycle=lifecycle,
        provisioner=provisioner,
        jobs=jobs,
        inbox=Inbox(database, vault),
        events=events,
        history=history,
        custom_fields=custom_fields,
        clients=clients,
    )


def services(app: Flask) -> Zapp:
    return app.extensions["zapp"]
