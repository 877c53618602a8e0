"""The workers' feed: the acknowledgement writes the event only; the feed finds it and queues it once."""

from __future__ import annotations

import time

import pytest
import redis

from tests.conftest import wait_until
from tests.webhooks.conftest import envelope
from zapp.webhooks.feed import LISTEN_POLL_SECONDS, EventFeed


def _feed(wired, queued: list[int]) -> EventFeed:
    return EventFeed(wired.zapp.events, wired.zapp.database, queued.append)


def test_the_acknowledgement_queues_no_job(wired):
    queue = wired.zapp.jobs.queue
    before = queue.pending_count()
    wired.deliver(envelope(wired.new_prospect()))
    assert queue.pending_count() == before  # one durable write: the event, nothing in the job queue


def test_the_feed_queues_each_new_event_once_across_workers(wired):
    first = wired.deliver(envelope(wired.new_prospect()))
    second = wired.deliver(envelope(wired.new_prospect()))
    one, other = [], []
    assert _feed(wired, one).feed() == 2
    assert _feed(wired, other).feed() == 0  # another worker's feed: already claimed
    assert _feed(wired, one).feed() == 0
    assert one == [first, second] and other == []
    third = wired.deliver(envelope(wired.new_prospect()))
    feed = _feed(wired, other)
    assert feed.feed() == 1 and other == [third]


def test_the_feed_leaves_a_disabled_instances_events_to_its_backlog(wired):
    wired.zapp.lifecycle.set_enabled(wired.api_key, False)
    wired.deliver(envelope(wired.new_prospect()))
    queued: list[int] = []
    assert _feed(wired, queued).feed() == 0 and queued == []
    [event] = wired.events()
    assert event.retry_at is None  # not claimed: enabling the instance queues it


def test_a_running_feed_queues_a_new_event_promptly(wired):
    """On PostgreSQL the trigger's notification wakes the feed (well before its fallback look);
    on SQLite its short look finds the event."""
    queued: list[int] = []
    feed = _feed(wired, queued)
    thread, stop = feed.start()
    try:
        wait_until(lambda: feed.looks, interval=0.02, message="the feed's first look")  # listening by then
        started = time.monotonic()
        event_id = wired.deliver(envelope(wired.new_prospect()))
        wait_until(lambda: queued == [event_id], seconds=LISTEN_POLL_SECONDS - 1, interval=0.02,
                   message="the feed to queue the event")  # fmt: skip
        assert time.monotonic() - started < LISTEN_POLL_SECONDS - 1
    finally:
        stop.set()
        thread.join(timeout=LISTEN_POLL_SECONDS + 2)


def test_events_the_queue_refused_are_fed_again_once_it_is_back(wired):
    """Redis down while the feed queues: the claims are released, not left to stand for minutes."""
    first = wired.deliver(envelope(wired.new_prospect()))
    second = wired.deliver(envelope(wired.new_prospect()))
    queued: list[int] = []
    refusing = [True]

    def enqueue(event_id: int) -> None:
        if refusing[0]:
            raise redis.ConnectionError("Error 111 connecting to the queue")
        queued.append(event_id)

    feed = EventFeed(wired.zapp.events, wired.zapp.database, enqueue)
    with pytest.raises(redis.ConnectionError):
        feed.feed()
    assert [event.retry_at for event in wired.events()] == [None, None]  # nothing left claimed

    refusing[0] = False
    assert feed.feed() == 2 and queued == [first, second]
