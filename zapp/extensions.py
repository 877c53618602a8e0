"""The app's long-lived services, built once per app and reachable as ``app.extensions["zapp"]``."""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock

from flask import Flask

from .config import Config
from .db import Database
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
    sales_client: Callable[[str, str], SalesClient]
    """Build a Sales client for (API key, its blind index); its budget is shared by every process."""


class SalesClients:
    """One client (one HTTP session, its pooled connections) per instance key, for as long as it is used.

    Bounded, least recently used first out; a refreshed key gets a new client, the old one is closed.
    """

    def __init__(self, make: Callable[[str, str], SalesClient], size: int = 256) -> None:
        self._make = make
        self._size = size
        self._clients: OrderedDict[str, tuple[str, SalesClient]] = OrderedDict()
        self._lock = Lock()

    def get(self, api_key: str, key_index: str) -> SalesClient:
        with self._lock:
            cached = self._clients.pop(key_index, None)
            if cached is not None and hmac.compare_digest(cached[0], api_key):
                self._clients[key_index] = cached
                return cached[1]
            if cached is not None:
                cached[1].close()
            client = self._make(api_key, key_index)
            self._clients[key_index] = (api_key, client)
            while len(self._clients) > self._size:
                _index, (_key, oldest) = self._clients.popitem(last=False)
                oldest.close()
            return client


def build_services(config: Config, instance_path: str) -> Zapp:
    database = Database(config.database_url)
    vault = Vault(config.encryption_keys, database)
    budget = build_budget(config.redis_url, database)

    clients = SalesClients(lambda key, index: SalesClient(
        key, base_url=config.sales_api_url, budget=budget, budget_key=index
    ))  # fmt: skip
    sales_client = clients.get

    lifecycle = LifecycleService(database, vault)
    provisioner = Provisioner(config, database, vault, sales_client)
    events = EventProcessor(database, vault, sales_client, AutoReplier(database))
    history = HistoryImporter(database, vault, sales_client)
    retention = timedelta(days=config.event_retention_days)
    custom_fields = CustomFieldWriter(database, vault, sales_client)
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
        sales_client=sales_client,
    )


def services(app: Flask) -> Zapp:
    return app.extensions["zapp"]
