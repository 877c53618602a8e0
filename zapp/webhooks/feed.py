"""How a worker finds newly stored webhook events: the acknowledgement writes the event and nothing else.

Queueing a job in the acknowledgement was a second durable write per event
(a SQLite queue file or Redis) on the path Sales waits on. Instead each
worker runs a feed: it looks for events stored since its last look that
nothing has queued yet, claims them (``EventProcessor.claim_new``) and queues
their processing itself. On PostgreSQL a trigger notifies the channel
``zapp_webhook_events`` on every stored event (migration 0008) and the feed
LISTENs, so processing starts at once; elsewhere it looks every
``POLL_SECONDS``. Whatever the feed misses (a notification lost with its
connection, an id committed out of order behind the cursor) the periodic
sweep still queues after a minute.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg
from sqlalchemy.engine import make_url

from ..db import Database
from ..models import utcnow
from .processing import EventProcessor

log = logging.getLogger(__name__)

CHANNEL = "zapp_webhook_events"
POLL_SECONDS = 0.5  # SQLite: no notifications, a short look (an indexed range read) instead
LISTEN_POLL_SECONDS = 5.0  # PostgreSQL: a look now and then even without a notification
ERROR_PAUSE_SECONDS = 2.0

Wait = Callable[[float], None]


class EventFeed:
    """Queues the processing of events as they are stored; one per worker process."""

    def __init__(self, events: EventProcessor, database: Database, enqueue: Callable[[int], None]) -> None:
        self._events = events
        self._database = database
        self._enqueue = enqueue
        self._cursor = 0
        self.looks = 0  # how many times it looked (what a test waits on before storing an event)

    def feed(self) -> int:
        """Claim and queue every event stored since the last look; how many were queued.

        When the queue refuses one (Redis down), the claims not queued are released and the error
        goes up: the next look, once the queue is back, takes them again (a claim left standing
        would hold them back from the feed, and from the sweep for minutes).
        """
        self.looks += 1
        queued = 0
        while True:
            now = utcnow()
            claimed, cursor = self._events.claim_new(self._cursor, now)
            for position, event_id in enumerate(claimed):
                try:
                    self._enqueue(event_id)
                except Exception:
                    self._events.release(claimed[position:], now)
                    raise  # the cursor stays: the next look reads these again (the queued ones are claimed)
            self._cursor = cursor
            queued += len(claimed)
            if not claimed:
                return queued

    def run(self, stop: threading.Event) -> None:
        """Feed until ``stop`` is set: after each notification (PostgreSQL) or short pause."""
        while not stop.is_set():
            try:
                with self._wakeups(stop) as wait:
                    while not stop.is_set():
                        self.feed()
                        wait(LISTEN_POLL_SECONDS)
            except Exception:  # the database restarting must not end the worker's feed
                log.warning("the event feed failed; trying again shortly", exc_info=True)
                stop.wait(ERROR_PAUSE_SECONDS)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="event-feed", daemon=True)
        thread.start()
        return thread, stop

    @contextlib.contextmanager
    def _wakeups(self, stop: threading.Event) -> Iterator[Wait]:
        url = self._database.engine.url
        if url.get_backend_name() != "postgresql":

            def poll(_timeout: float) -> None:
                stop.wait(POLL_SECONDS)

            yield poll
            return
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")

            def wait(timeout: float) -> None:
                # One notification is enough to look; the look takes everything stored meanwhile.
                for _ in connection.notifies(timeout=timeout, stop_after=1):
                    pass

            yield wait
