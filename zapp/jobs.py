"""The job engine and the jobs.

huey runs the jobs: it needs no server by default (a SQLite queue file beside
the app's data) and uses Redis when ``ZAPP_REDIS_URL`` is set, which is what a
deployment with several machines needs. It was chosen over Celery and RQ for
that pair of storages in one small, well-kept library, with retries, backoff,
locks and periodic tasks built in.

Jobs carry instance and event ids only, never keys, tokens or payloads: the
queue is not a vault. Periodic jobs re-queue what a lost enqueue (Redis
restarting at the wrong moment) left behind: the reconcile finds instances
whose provisioning lags, the sweep finds webhook events left unprocessed for
more than a minute, and automatic replies that Sales surely did not send and
whose backoff has passed. So a lost enqueue delays work but never loses it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import redis
from huey import Huey, RedisHuey, crontab
from huey.storage import SqliteStorage

from .config import Config
from .db import is_sqlite
from .models import utcnow
from .store.history import ImportRefused

if TYPE_CHECKING:
    from .provisioning import Provisioner
    from .store.history import HistoryImporter
    from .webhooks.custom_field_writer import CustomFieldWriter
    from .webhooks.feed import EventFeed
    from .webhooks.processing import EventProcessor

log = logging.getLogger(__name__)

PROVISION_RETRIES = 12
PROVISION_RETRY_DELAY = 2  # seconds, doubled at every retry: about 2 h 16 min in all
EVENT_RETRIES = 8
EVENT_RETRY_DELAY = 2  # seconds, doubled: about 8.5 min, then the sweep takes over
IMPORT_RETRIES = 8
IMPORT_RETRY_DELAY = 10  # seconds, doubled: about 42 min; each retry resumes from the checkpoint
FIELDS_RETRIES = 8
FIELDS_RETRY_DELAY = 5  # seconds, doubled: about 21 min
SWEEP_AFTER = timedelta(minutes=1)
REDIS_CONNECT_TIMEOUT = 2  # seconds
REDIS_TIMEOUT = 5  # seconds


def queue_path(config: Config, instance_path: str) -> str:
    """The SQLite queue file: ``ZAPP_JOBS_PATH``, else beside a SQLite database, else in the instance
    folder. Every process of one deployment must share it, and only they."""
    if config.jobs_path:
        return config.jobs_path
    if is_sqlite(config.database_url):
        database = config.database_url.split("///", 1)[-1]
        if database and database != ":memory:":
            return os.path.splitext(database)[0] + "-jobs.db"
    os.makedirs(instance_path, exist_ok=True)
    return os.path.join(instance_path, "jobs.db")


def build_queue(config: Config, instance_path: str) -> Huey:
    if config.redis_url:
        # Bounded waits: a webhook's acknowledgement enqueues, and must not hang on an unreachable
        # Redis (the event is stored; the sweep queues it later). Above huey's 1 s blocking read.
        pool = redis.ConnectionPool.from_url(
            config.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
        return RedisHuey("zapp", connection_pool=pool, results=False)
    return Huey(
        "zapp",
        storage_class=QueueStorage,
        filename=queue_path(config, instance_path),
        results=False,
        timeout=30,
    )


class QueueStorage(SqliteStorage):
    """huey's SQLite storage, committing as the app's own SQLite database does (WAL, ``synchronous=NORMAL``).

    huey leaves SQLite's default (``FULL``): every enqueue, in every webhook
    acknowledgement, would wait for an fsync. With ``NORMAL`` a commit survives
    the process dying (a crash, a kill) and only a power loss can drop the last
    ones; a queued job lost that way is found again by the periodic sweep,
    since its event was stored (in the database) before it was queued.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


class Jobs:
    """The app's jobs, bound to one queue and to the services they need."""

    def __init__(
        self,
        queue: Huey,
        provisioner: Provisioner,
        events: EventProcessor,
        history: HistoryImporter,
        event_retention: timedelta,
        custom_fields: CustomFieldWriter,
    ) -> None:
        self.queue = queue
        self._event_retention = event_retention
        self._provisioner = provisioner
        self._events = events
        self._history = history
        self._custom_fields = custom_fields
        self.provision = queue.task(
            retries=PROVISION_RETRIES,
            retry_delay=PROVISION_RETRY_DELAY,
            retry_backoff=2,
            name="provision",
        )(self._provision)
        self.reconcile = queue.periodic_task(crontab(minute="*/5"), name="reconcile")(self._reconcile)
        self.process_event = queue.task(
            retries=EVENT_RETRIES, retry_delay=EVENT_RETRY_DELAY, retry_backoff=2, name="process_event"
        )(self._process_event)
        self.queue_backlog = queue.task(retries=3, retry_delay=5, name="queue_backlog")(self._queue_backlog)
        self.sweep_events = queue.periodic_task(crontab(minute="*"), name="sweep_events")(self._sweep_events)
        self.retry_reply = queue.task(name="retry_reply")(self._retry_reply)
        self.purge_events = queue.periodic_task(crontab(minute="17"), name="purge_events")(self._purge_events)
        self.import_history = queue.task(
            retries=IMPORT_RETRIES, retry_delay=IMPORT_RETRY_DELAY, retry_backoff=2, name="import_history"
        )(self._import_history)
        self.fill_custom_fields = queue.task(
            retries=FIELDS_RETRIES, retry_delay=FIELDS_RETRY_DELAY, retry_backoff=2, name="fill_custom_fields"
        )(self._fill_custom_fields)
        events.on_first_contact(lambda instance_id, prospect_id: self.enqueue_safely(
            self.fill_custom_fields, instance_id, prospect_id
        ))  # fmt: skip

    def _provision(self, public_id: str) -> None:
        """No huey lock (they never expire, so a worker killed mid-run would strand the instance):
        the provisioner takes an expiring lease on the instance row instead."""
        provisioned = self._provisioner.provision(public_id)
        if provisioned:  # the import needs the groups; it does nothing once finished
            self.enqueue_safely(self.import_history, public_id)

    def _reconcile(self) -> None:
        for public_id in self._provisioner.instances_behind():
            self.provision(public_id)
        for public_id in self._history.stalled(utcnow()):
            self.import_history(public_id)

    def _process_event(self, event_id: int) -> None:
        """Process one event. Its row lock and ``processed_at`` make it once, not a queue lock:
        huey's locks never expire, so a worker killed while holding one would strand the event."""
        try:
            outcome = self._events.process(event_id)
        except Exception as error:
            self._record_event_failure(event_id, error)
            raise  # huey retries with backoff
        log.info("event %s: %s", event_id, outcome)

    def _record_event_failure(self, event_id: int, error: Exception) -> None:
        try:
            self._events.record_failure(event_id, error)
        except Exception:  # the database being down is likely why we are here
            log.warning("could not record the failure of event %s", event_id, exc_info=True)

    def _queue_backlog(self, public_id: str) -> None:
        for event_id in self._events.pending_of(public_id):
            self.process_event(event_id)

    def _sweep_events(self) -> None:
        now = utcnow()
        for event_id in self._events.stale(now, SWEEP_AFTER):
            self.enqueue_safely(self.process_event, event_id)
        for instance_id, prospect_id in self._events.replies_due(now):
            self.enqueue_safely(self.retry_reply, instance_id, prospect_id)

    def _purge_events(self) -> None:
        before = utcnow() - self._event_retention
        deleted = self._events.purge(received_before=before)
        log.info("purged %d webhook events received before %s", deleted, before.isoformat())

    def _retry_reply(self, instance_id: int, prospect_id: str) -> None:
        """No huey retries: the reply's own backoff (``auto_replies.retry_at``) paces its attempts."""
        sent = self._events.retry_reply(instance_id, prospect_id)
        log.info("automatic reply to %s tried again: %s", prospect_id, "sent" if sent else "not sent")

    def _import_history(self, public_id: str) -> None:
        """Import or resume the history; concurrent runs are settled by the checkpoint, not a lock."""
        try:
            self._history.run(public_id)
        except ImportRefused as refusal:
            log.info("history import of %s not run: %s", public_id, refusal)

    def _fill_custom_fields(self, instance_id: int, prospect_id: str) -> None:
        """Write a contact's first-response fields in Sales; Sales errors make huey retry."""
        self._custom_fields.fill(instance_id, prospect_id)

    def on_lifecycle(self, event: str, public_id: str) -> None:
        """Listener for ``LifecycleService``: queue the work each committed transition calls for.

        Provisioning after install, enable and key refresh; on enable, also
        the events stored while the instance was disabled.
        """
        if event in ("installed", "enabled", "key_refreshed"):
            self.enqueue_safely(self.provision, public_id)
        if event == "enabled":
            self.enqueue_safely(self.queue_backlog, public_id)

    def enqueue_safely(self, task: Callable, *args) -> None:
        """Enqueue, and if the queue is down, say so: the periodic reconcile will catch up."""
        try:
            task(*args)
        except Exception:  # the queue's storage failing must not fail the lifecycle call
            log.exception(
                "could not enqueue %s; the reconcile job will retry it", getattr(task, "name", task)
            )


def run_worker(queue: Huey, workers: int, periodic: bool = True, feed: EventFeed | None = None) -> None:
    """Run jobs until stopped; with ``feed``, also queue the processing of newly stored events."""
    consumer = queue.create_consumer(workers=workers, worker_type="thread", periodic=periodic)
    stop = feed.start()[1] if feed is not None else None
    try:
        consumer.run()
    finally:
        if stop is not None:
            stop.set()
