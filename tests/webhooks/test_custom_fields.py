"""The App's prospect custom fields, written into Sales' additional data when a first contact arrives."""

from __future__ import annotations

from sqlalchemy import update

from tests.webhooks.conftest import envelope
from zapp.custom_fields import (
    ANSWERED_ON_TIME,
    FIRST_RESPONDER,
    FIRST_RESPONSE_MINUTES,
    first_response_values,
)
from zapp.models import Instance, StoredProspect
from zapp.sandbox.data import iso
from zapp.store.records import epoch_ms

KEYS = {FIRST_RESPONSE_MINUTES.key, ANSWERED_ON_TIME.key, FIRST_RESPONDER.key}


def first_contact(wired, prospect: dict, after_seconds: int) -> dict:
    """Sales' update of a prospect an agent has just contacted, ``after_seconds`` after it was created."""
    created = epoch_ms(prospect["created"]) / 1000
    prospect["firstContactedAt"] = iso(created + after_seconds)
    prospect["updatedAt"] = iso(created + after_seconds + 1)
    summary = {
        key: prospect.get(key) for key in ("id", "groupId", "created", "updatedAt", "firstContactedAt")
    }
    body = envelope(prospect, kind="updated", updatedAt=prospect["updatedAt"])
    body["prospect"] = [summary]
    return body


def process(wired, body: dict) -> None:
    """Deliver as Sales does, then run the job a worker's feed would queue for the stored event."""
    wired.zapp.events.process(wired.deliver(body))


def ours(prospect: dict) -> dict:
    return {key: value for key, value in (prospect.get("additionalData") or {}).items() if key in KEYS}


def test_a_first_contact_fills_the_contacts_fields_in_sales(wired, immediate_jobs):
    wired.set_settings(speedToLeadTargetMinutes=5)
    prospect = wired.new_prospect(firstName="Rui")
    process(wired, envelope(prospect))  # created: no first contact yet, nothing to write
    assert ours(prospect) == {}
    process(wired, first_contact(wired, prospect, after_seconds=4 * 60 + 59))
    stored = wired.get(StoredProspect, prospect["id"])
    expected = {FIRST_RESPONSE_MINUTES.key: 4, ANSWERED_ON_TIME.key: True}
    if stored.agent_name:
        expected[FIRST_RESPONDER.key] = stored.agent_name
    assert ours(prospect) == expected


def test_a_late_first_contact_is_written_as_not_on_time(wired, immediate_jobs):
    wired.set_settings(speedToLeadTargetMinutes=15)
    prospect = wired.new_prospect()
    process(wired, first_contact(wired, prospect, after_seconds=16 * 60))
    assert ours(prospect)[FIRST_RESPONSE_MINUTES.key] == 16
    assert ours(prospect)[ANSWERED_ON_TIME.key] is False


def test_only_the_first_contact_writes_later_updates_leave_the_fields_alone(wired, immediate_jobs):
    prospect = wired.new_prospect()
    process(wired, first_contact(wired, prospect, after_seconds=60))
    assert ours(prospect)[FIRST_RESPONSE_MINUTES.key] == 1
    prospect["additionalData"] = {}  # so that a second write would show
    process(wired, first_contact(wired, prospect, after_seconds=60))  # Sales notifies again (another change)
    assert ours(prospect) == {}


def test_a_disabled_installation_writes_nothing_to_sales(wired, immediate_jobs):
    prospect = wired.new_prospect()
    process(wired, first_contact(wired, prospect, after_seconds=60))
    prospect["additionalData"] = {}
    with wired.zapp.database.transaction() as session:
        session.execute(update(Instance).values(state="disabled"))
    assert wired.zapp.custom_fields.fill(wired.instance_id, prospect["id"]) is False  # the job, run late
    assert ours(prospect) == {}


def test_values_count_whole_minutes_against_the_target_as_the_report_does():
    minute = 60_000
    assert first_response_values(0, 5 * minute, "Ana Lima", 5) == {
        FIRST_RESPONSE_MINUTES.key: 5,
        ANSWERED_ON_TIME.key: True,
        FIRST_RESPONDER.key: "Ana Lima",
    }
    assert first_response_values(0, 5 * minute + 1, "", 5) == {
        FIRST_RESPONSE_MINUTES.key: 5,
        ANSWERED_ON_TIME.key: False,
    }
    assert first_response_values(10 * minute, 0, "", 5)[FIRST_RESPONSE_MINUTES.key] == 0
