"""Stored events are deleted once past keeping, except those still needed."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from tests.webhooks.conftest import envelope
from zapp.models import utcnow
from zapp.reports.freshness import read_freshness

RETENTION = timedelta(days=30)  # the default of ZAPP_EVENT_RETENTION_DAYS


def _deliver(wired, *, process: bool = True) -> int:
    """A new prospect's event, processed unless asked not to."""
    event_id = wired.deliver(envelope(wired.new_prospect()), expect=(202,))  # a new event
    if process:
        wired.zapp.events.process(event_id)
    return event_id


def _purge_at(wired, moment) -> None:
    """Run the hourly job as its schedule would, at ``moment``."""
    with time_machine.travel(moment):
        wired.zapp.jobs.purge_events.call_local()


def test_events_past_keeping_are_deleted_and_recent_ones_kept(wired):
    start = utcnow()
    old_processed = [_deliver(wired), _deliver(wired)]
    given_up = _deliver(wired, process=False)  # the sweep stops trying after 3 days
    with time_machine.travel(start + timedelta(days=20)):
        recent = _deliver(wired)
        recent_unprocessed = _deliver(wired, process=False)

    _purge_at(wired, start + RETENTION - timedelta(hours=1))
    assert [event.id for event in wired.events()] == [*old_processed, given_up, recent, recent_unprocessed]

    _purge_at(wired, start + RETENTION + timedelta(hours=1))
    assert [event.id for event in wired.events()] == [recent, recent_unprocessed]


def test_an_instances_newest_event_is_kept_for_the_reports_freshness(wired):
    start = utcnow()
    _deliver(wired)
    with time_machine.travel(start + timedelta(minutes=5)):
        newest = _deliver(wired)
    _purge_at(wired, start + timedelta(days=365))
    [kept] = wired.events()
    assert kept.id == newest
    with wired.zapp.database.reading_session() as session:
        freshness = read_freshness(session, wired.instance_id)
    assert freshness.synced_at is not None
    assert abs(freshness.synced_at - (start + timedelta(minutes=5))) < timedelta(seconds=5)


def test_a_disabled_instance_keeps_the_events_it_has_not_processed(wired):
    start = utcnow()
    wired.zapp.lifecycle.set_enabled(wired.api_key, False)
    waiting = [_deliver(wired), _deliver(wired)]  # processing leaves them pending
    assert all(event.processed_at is None for event in wired.events())
    _purge_at(wired, start + timedelta(days=365))
    assert [event.id for event in wired.events()] == waiting


def test_a_deleted_instance_keeps_no_event_past_keeping(wired):
    start = utcnow()
    wired.zapp.lifecycle.set_enabled(wired.api_key, False)
    waiting = [_deliver(wired), _deliver(wired)]
    wired.zapp.lifecycle.delete(wired.api_key)  # nothing will ever process them now
    _purge_at(wired, start + timedelta(days=365))
    assert [event.id for event in wired.events()] == waiting[-1:]


def test_the_purge_works_in_batches_until_nothing_is_left(wired):
    start = utcnow()
    delivered = [_deliver(wired) for _ in range(7)]
    with time_machine.travel(start + timedelta(days=365)):
        assert wired.zapp.events.purge(received_before=utcnow() - RETENTION, batch=3) == 6
    assert [event.id for event in wired.events()] == delivered[-1:]
