"""The job engine and the jobs.

huey runs the jobs: it needs no server by default (a SQLite queue file beside
the app's data) and uses Redis when ``ZAPP_REDIS_URL`` is set, which is what a
deployment with several machines needs. It was chosen over Celery and RQ for
that pair of storages in one small, well-kept library, with retries, backoff,
locks and periodic tasks built in.

Jobs carry instance ids only, never keys or tokens: the queue is not a vault.
A periodic reconcile re-queues any instance whose provisioning is behind, so
a lost enqueue (Redis restarting at the wrong moment) delays work but never
loses it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import TaskLockedException

from .config import Config
from .db import is_sqlite

if TYPE_CHECKING:
    from .provisioning import Provisioner

log = logging.getLogger(__name__)

PROVISION_RETRIES = 12
PROVISION_RETRY_DELAY = 2  # seconds, doubled at every retry: about 2 h 16 min in all


def queue_path(config: Config, instance_path: str) -> str:
    """The SQLite queue file: beside a SQLite database, else in the instance folder."""
    if is_sqlite(config.database_url):
        database = config.database_url.split("///", 1)[-1]
        if database and database != ":memory:":
            return os.path.splitext(database)[0] + "-jobs.db"
    os.makedirs(instance_path, exist_ok=True)
    return os.path.join(instance_path, "jobs.db")


def build_queue(config: Config, instance_path: str) -> Huey:
    if config.redis_url:
        return RedisHuey("zapp", url=config.redis_url, results=False)
    return SqliteHuey("zapp", filename=queue_path(config, instance_path), results=False, timeout=30)


class Jobs:
    """The app's jobs, bound to one queue and to the services they need."""

    def __init__(self, queue: Huey, provisioner: Provisioner) -> None:
        self.queue = queue
        self._provisioner = provisioner
        self.provision = queue.task(
            retries=PROVISION_RETRIES,
            retry_delay=PROVISION_RETRY_DELAY,
            retry_backoff=2,
            name="provision",
        )(self._provision)
        self.reconcile = queue.periodic_task(crontab(minute="*/5"), name="reconcile")(self._reconcile)

    def _provision(self, public_id: str) -> None:
        try:
            with self.queue.lock_task(f"provision-{public_id}"):
                self._provisioner.provision(public_id)
        except TaskLockedException:
            log.info("provisioning of %s already running; this run yields", public_id)

    def _reconcile(self) -> None:
        for public_id in self._provisioner.instances_behind():
            self.provision(public_id)

    def on_lifecycle(self, event: str, public_id: str) -> None:
        """Listener for ``LifecycleService``: queue provisioning after the transitions that need it."""
        if event in ("installed", "enabled", "key_refreshed"):
            self.enqueue_safely(self.provision, public_id)

    def enqueue_safely(self, task: Callable, *args) -> None:
        """Enqueue, and if the queue is down, say so: the periodic reconcile will catch up."""
        try:
            task(*args)
        except Exception:  # the queue's storage failing must not fail the lifecycle call
            log.exception(
                "could not enqueue %s; the reconcile job will retry it", getattr(task, "name", task)
            )


def run_worker(queue: Huey, workers: int, periodic: bool = True) -> None:
    consumer = queue.create_consumer(workers=workers, worker_type="thread", periodic=periodic)
    consumer.run()
