"""Processing stored events: store upserts, out-of-order safety, automatic reply, disabled instances."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine
from sqlalchemy import delete, select

from tests.conftest import sent_to
from tests.webhooks.conftest import REPLY_ON, envelope
from zapp.models import AutoReply, InstanceGroup, StoredInteraction, StoredProspect, WebhookEvent, utcnow
from zapp.sales.errors import Unavailable
from zapp.store.records import epoch_ms
from zapp.webhooks.auto_reply import REPLY_ATTEMPTS, template_parameters, whatsapp_safe
from zapp.webhooks.processing import Outcome, sweep_backoff


def test_created_prospect_is_reread_from_sales_and_stored_whole(wired):
    prospect = wired.new_prospect(utmSource="instagram", utmCampaign="spring", firstName="Bia")
    body = envelope(prospect)
    body["prospect"][0] = {key: prospect[key] for key in ("id", "groupId", "created")}
    event_id = wired.deliver(body)
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    stored = wired.get(StoredProspect, prospect["id"])
    assert (stored.first_name, stored.utm_source, stored.utm_campaign) == ("Bia", "instagram", "spring")
    assert stored.whatsapp_due_ms == epoch_ms(body["whatsAppDueAt"])
    assert stored.facebook_due_ms == epoch_ms(body["facebookDueAt"])
    assert wired.events()[0].processed_at is not None
    assert wired.zapp.events.process(event_id) == Outcome.ALREADY


def test_an_update_applies_the_summary_without_wiping_what_it_does_not_carry(wired):
    prospect = wired.new_prospect(utmSource="instagram", firstName="Bia")
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    update = envelope(prospect, kind="updated", updatedAt="2099-01-01T00:00:00.000Z",
                      updates=[{"field": "status", "value": "followUp"}])  # fmt: skip
    update["prospect"][0] = {"id": prospect["id"], "groupId": prospect["groupId"],
                             "created": prospect["created"], "status": "new"}  # fmt: skip
    del update["facebookDueAt"]
    before = wired.get(StoredProspect, prospect["id"])
    assert wired.zapp.events.process(wired.deliver(update)) == Outcome.PROCESSED
    after = wired.get(StoredProspect, prospect["id"])
    assert after.status == "followUp"  # updates[] applied over the summary
    assert (after.first_name, after.utm_source) == ("Bia", "instagram")  # not in the summary: kept
    assert after.facebook_due_ms == before.facebook_due_ms  # not in the envelope: kept
    assert after.updated_ms == epoch_ms("2099-01-01T00:00:00.000Z")


def test_events_processed_out_of_order_keep_the_newest(wired):
    prospect = wired.new_prospect()
    base = {"id": prospect["id"], "groupId": prospect["groupId"], "created": prospect["created"]}
    older = envelope(prospect, kind="updated", updatedAt="2098-01-01T00:00:00.000Z")
    older["prospect"][0] = {**base, "status": "new", "updatedAt": "2098-01-01T00:00:00.000Z"}
    newer = envelope(prospect, kind="updated", updatedAt="2098-01-02T00:00:00.000Z")
    newer["prospect"][0] = {**base, "status": "archived", "updatedAt": "2098-01-02T00:00:00.000Z"}
    first, second = wired.deliver(older), wired.deliver(newer)
    wired.zapp.events.process(second)
    wired.zapp.events.process(first)
    assert wired.get(StoredProspect, prospect["id"]).status == "archived"


def test_an_interaction_event_stores_the_interaction_with_the_prospects_group(wired):
    prospect = wired.new_prospect()
    interaction = {"id": "6b0c1a2b3c4d5e6f7a8b9c0e", "prospectId": prospect["id"], "via": "whatsApp",
                   "proactive": True, "status": "done", "createdAt": "2026-03-01T10:00:00.000Z",
                   "agent": {"id": "7a0c1a2b3c4d5e6f7a8b9c02", "firstName": "Bea",
                             "lastName": "Luz"}}  # fmt: skip
    event_id = wired.deliver(envelope(prospect, topic="interactions", interaction=interaction))
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    stored = wired.get(StoredInteraction, interaction["id"])
    assert (stored.group_id, stored.via, stored.agent_name) == (prospect["groupId"], "whatsApp", "Bea Luz")


def _bare_interaction_event(wired, prospect_id: str, interaction_id: str) -> int:
    """An interaction event whose envelope carries no summary of the prospect."""
    interaction = {"id": interaction_id, "prospectId": prospect_id, "via": "email", "proactive": False,
                   "status": "done", "createdAt": "2026-03-02T10:00:00.000Z"}  # fmt: skip
    body = envelope({"id": prospect_id}, topic="interactions", interaction=interaction)
    body["prospect"] = []
    return wired.deliver(body)


def test_an_interaction_without_a_summary_takes_the_group_the_store_knows(wired):
    prospect = wired.new_prospect()
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    state = wired.sandbox.state
    state.account_of(state.integrations[wired.api_key]).remove_prospect(prospect["id"])  # Sales can't tell
    event_id = _bare_interaction_event(wired, prospect["id"], "6b0c1a2b3c4d5e6f7a8b9c10")
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    assert wired.get(StoredInteraction, "6b0c1a2b3c4d5e6f7a8b9c10").group_id == prospect["groupId"]


def test_an_interaction_of_a_prospect_the_store_lacks_reads_the_prospect_from_sales(wired):
    prospect = wired.new_prospect(utmSource="instagram")
    event_id = _bare_interaction_event(wired, prospect["id"], "6b0c1a2b3c4d5e6f7a8b9c11")
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    assert wired.get(StoredInteraction, "6b0c1a2b3c4d5e6f7a8b9c11").group_id == prospect["groupId"]
    assert wired.get(StoredProspect, prospect["id"]).utm_source == "instagram"  # stored whole on the way


def test_an_interaction_of_a_prospect_sales_does_not_know_is_left_out(wired):
    event_id = _bare_interaction_event(wired, "5f0c1a2b3c4d5e6f7a8b9c99", "6b0c1a2b3c4d5e6f7a8b9c12")
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    assert wired.get(StoredInteraction, "6b0c1a2b3c4d5e6f7a8b9c12") is None


def test_an_update_processed_before_the_creation_does_not_keep_the_reread_prospect_out(wired):
    prospect = wired.new_prospect(utmSource="instagram", utmCampaign="spring")
    created = envelope(prospect)
    update = envelope(prospect, kind="updated", updatedAt=utcnow().isoformat(), operationId="an-update")
    update["prospect"][0] = {key: prospect[key] for key in ("id", "groupId", "created")} | {"status": "new"}
    created_id, update_id = wired.deliver(created), wired.deliver(update)
    assert wired.zapp.events.process(update_id) == Outcome.PROCESSED  # a partial row, stamped "now"
    assert wired.zapp.events.process(created_id) == Outcome.PROCESSED  # Sales' prospects have no updatedAt
    stored = wired.get(StoredProspect, prospect["id"])
    assert (stored.utm_source, stored.utm_campaign) == ("instagram", "spring")


def test_interaction_updates_processed_out_of_order_keep_the_newest(wired):
    prospect = wired.new_prospect()
    interaction = {"id": "6b0c1a2b3c4d5e6f7a8b9c0f", "prospectId": prospect["id"], "via": "whatsApp",
                   "proactive": True, "createdAt": "2026-03-01T10:00:00.000Z"}  # fmt: skip
    sent = envelope(
        prospect,
        topic="interactions",
        kind="updated",
        operationId="sent",
        updatedAt="2026-03-01T10:00:05.000Z",
        interaction={**interaction, "status": "sent"},
    )
    read = envelope(
        prospect,
        topic="interactions",
        kind="updated",
        operationId="read",
        updatedAt="2026-03-01T10:01:00.000Z",
        interaction={**interaction, "status": "read"},
    )
    first, second = wired.deliver(sent), wired.deliver(read)  # fmt: skip
    wired.zapp.events.process(second)
    wired.zapp.events.process(first)
    assert wired.get(StoredInteraction, interaction["id"]).status == "read"


def test_a_new_prospect_gets_the_configured_template_once(wired):
    wired.set_settings(**REPLY_ON)
    prospect = wired.new_prospect(firstName="Ana\tMaria    \r\nSouza")
    event_id = wired.deliver(envelope(prospect))
    assert wired.zapp.events.process(event_id) == Outcome.PROCESSED
    [message] = sent_to(wired.sandbox, prospect["id"])
    assert (message["channel"], message["template"]) == ("whatsapp", "welcome_lead")
    assert message["parameters"]["prospect.firstName"] == "Ana Maria Souza"
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.detail) == ("sent", None) and reply.sent_at is not None

    again = envelope(prospect, operationId="another-operation")  # a second "created" for the same prospect
    assert wired.zapp.events.process(wired.deliver(again)) == Outcome.PROCESSED
    assert len(sent_to(wired.sandbox, prospect["id"])) == 1


def test_no_reply_when_automatic_reply_is_off(wired):
    prospect = wired.new_prospect()
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    assert sent_to(wired.sandbox, prospect["id"]) == [] and wired.get(AutoReply, prospect["id"]) is None


def test_a_forged_prospect_gets_no_reply_and_no_row(wired):
    """The envelope is a hint: a prospect Sales does not show this key is neither stored nor answered."""
    wired.set_settings(**REPLY_ON)
    foreign = wired.sandbox.create_account()  # another account of the same sandbox
    other = wired.sandbox.state.accounts[foreign["accountId"]]
    victim = other.prospects[other.prospect_ids[-1]]
    assert wired.zapp.events.process(wired.deliver(envelope(victim))) == Outcome.PROCESSED
    assert wired.get(StoredProspect, victim["id"]) is None
    assert sent_to(wired.sandbox, victim["id"]) == []


def test_a_refused_template_is_recorded_as_failed_with_the_reason(wired):
    wired.set_settings(automaticReplyEnabled=True, automaticReplyTemplate="no_such_template")
    prospect = wired.new_prospect()
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    reply = wired.get(AutoReply, prospect["id"])
    assert reply.state == "failed" and reply.sent_at is None
    assert "404" in reply.detail and "Unknown template key" in reply.detail


def _faults(wired, **knobs) -> None:
    assert requests.post(f"{wired.sandbox.base_url}/_sandbox/faults", json=knobs, timeout=10).ok


def test_a_reply_sales_surely_did_not_send_is_sent_by_the_sweep_after_its_backoff(wired, immediate_jobs):
    wired.set_settings(**REPLY_ON)
    prospect = wired.new_prospect(firstName="Lia")
    _faults(wired, writesUnavailable=True)  # 503 before anything is made
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.attempts) == ("retry", 1) and "503" in reply.detail
    assert sent_to(wired.sandbox, prospect["id"]) == []
    _faults(wired, writesUnavailable=False)
    wired.zapp.jobs.sweep_events.call_local()
    assert wired.get(AutoReply, prospect["id"]).state == "retry"  # its minute has not passed
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        wired.zapp.jobs.sweep_events.call_local()
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.attempts, reply.retry_at) == ("sent", 2, None)
    [message] = sent_to(wired.sandbox, prospect["id"])
    assert message["parameters"]["prospect.firstName"] == "Lia"
    assert wired.zapp.events.retry_reply(wired.instance_id, prospect["id"]) is False  # sent: not taken again
    assert len(sent_to(wired.sandbox, prospect["id"])) == 1


def test_a_reply_that_keeps_failing_gives_up_after_its_attempts(wired):
    wired.set_settings(**REPLY_ON)
    prospect = wired.new_prospect()
    _faults(wired, writesUnavailable=True)
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    delays = [wired.get(AutoReply, prospect["id"]).retry_at]
    for _ in range(REPLY_ATTEMPTS - 1):
        assert wired.zapp.events.retry_reply(wired.instance_id, prospect["id"]) is False
        delays.append(wired.get(AutoReply, prospect["id"]).retry_at)
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.attempts, reply.retry_at) == ("failed", REPLY_ATTEMPTS, None)
    waits = [later - earlier for earlier, later in zip(delays, delays[1:-1], strict=False)]
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))  # backing off
    assert wired.zapp.events.replies_due(utcnow() + timedelta(days=1)) == []


def test_a_reply_sales_may_have_sent_is_never_tried_again(wired):
    wired.set_settings(**REPLY_ON)
    prospect = wired.new_prospect()
    _faults(wired, writeAnswerStatus=502)  # made, its answer lost
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    assert wired.get(AutoReply, prospect["id"]).state == "unknown"
    assert wired.zapp.events.replies_due(utcnow() + timedelta(days=1)) == []
    assert len(sent_to(wired.sandbox, prospect["id"])) == 1


def _reply_waiting_for_retry(wired) -> dict:
    """A new contact whose automatic reply Sales surely did not send (503): it waits for a retry."""
    wired.set_settings(**REPLY_ON)
    prospect = wired.new_prospect()
    _faults(wired, writesUnavailable=True)
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    _faults(wired, writesUnavailable=False)
    return prospect


def test_a_reply_waiting_for_another_attempt_is_dropped_when_automatic_reply_is_turned_off(wired):
    prospect = _reply_waiting_for_retry(wired)
    wired.set_settings(automaticReplyEnabled=False)
    assert wired.zapp.events.retry_reply(wired.instance_id, prospect["id"]) is False
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.detail) == ("failed", "automatic reply was turned off")
    assert wired.zapp.events.replies_due(utcnow() + timedelta(days=1)) == []
    assert sent_to(wired.sandbox, prospect["id"]) == []


def test_replies_of_a_disabled_instance_wait_for_it(wired):
    prospect = _reply_waiting_for_retry(wired)
    later = utcnow() + timedelta(minutes=2)
    wired.zapp.lifecycle.set_enabled(wired.api_key, False)
    assert wired.zapp.events.replies_due(later) == []
    assert wired.zapp.events.retry_reply(wired.instance_id, prospect["id"]) is False
    wired.zapp.lifecycle.set_enabled(wired.api_key, True)
    assert wired.zapp.events.replies_due(later) == [(wired.instance_id, prospect["id"])]


def test_replies_waiting_for_a_deleted_installation_are_given_up(wired):
    prospect = _reply_waiting_for_retry(wired)
    assert wired.get(AutoReply, prospect["id"]).state == "retry"
    wired.zapp.lifecycle.delete(wired.api_key)
    reply = wired.get(AutoReply, prospect["id"])
    assert (reply.state, reply.retry_at, reply.detail) == ("failed", None, "the installation was deleted")
    assert wired.zapp.events.retry_reply(wired.instance_id, prospect["id"]) is False
    assert sent_to(wired.sandbox, prospect["id"]) == []


def test_a_disabled_instance_keeps_its_events_until_enabled(wired, immediate_jobs):
    wired.set_settings(**REPLY_ON)
    wired.zapp.lifecycle.set_enabled(wired.api_key, False)
    prospect = wired.new_prospect()
    assert wired.zapp.events.process(wired.deliver(envelope(prospect))) == Outcome.PENDING
    [event] = wired.events()
    assert event.processed_at is None and event.attempts == 0
    assert wired.get(StoredProspect, prospect["id"]) is None and sent_to(wired.sandbox, prospect["id"]) == []

    wired.zapp.lifecycle.set_enabled(wired.api_key, True)  # the "enabled" transition queues the backlog
    [event] = wired.events()
    assert event.processed_at is not None
    assert wired.get(StoredProspect, prospect["id"]) is not None
    assert len(sent_to(wired.sandbox, prospect["id"])) == 1


def test_the_sweep_requeues_events_left_unprocessed_for_a_minute(wired, immediate_jobs):
    immediate_jobs.immediate = False  # store only: as if the enqueue after the commit had been lost
    prospect = wired.new_prospect()
    wired.deliver(envelope(prospect))
    immediate_jobs.immediate = True
    wired.zapp.jobs.sweep_events.call_local()
    assert wired.events()[0].processed_at is None  # less than a minute old: the job may still come
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        wired.zapp.jobs.sweep_events.call_local()
    assert wired.events()[0].processed_at is not None


def test_the_sweep_does_not_queue_an_event_again_while_its_job_may_still_come(wired):
    event_id = wired.deliver(envelope(wired.new_prospect()))  # no worker runs here: it stays queued
    later = utcnow() + timedelta(seconds=61)
    assert wired.zapp.events.stale(later, timedelta(minutes=1)) == [event_id]
    assert wired.zapp.events.stale(later + timedelta(minutes=1), timedelta(minutes=1)) == []
    assert wired.zapp.events.stale(later + timedelta(minutes=6), timedelta(minutes=1)) == [event_id]


def test_a_failed_attempt_is_counted_with_its_reason(wired):
    prospect = wired.new_prospect()
    event_id = wired.deliver(envelope(prospect))
    _faults(wired, errorRate=1.0)
    try:
        with pytest.raises(Unavailable):  # the job raises so that huey retries it
            wired.zapp.jobs.process_event.call_local(event_id)
    finally:
        _faults(wired, errorRate=0.0)
    [event] = wired.events()
    assert event.processed_at is None and event.attempts == 1 and "Unavailable" in event.last_error
    assert "api-key" not in event.last_error
    wired.zapp.jobs.process_event.call_local(event_id)
    assert wired.events()[0].processed_at is not None


def test_the_sweep_backs_off_after_failures_and_never_retires_an_event_for_its_attempts(wired):
    prospect = wired.new_prospect()
    event_id = wired.deliver(envelope(prospect))
    failure = RuntimeError("Sales unavailable")
    for _ in range(25):  # huey's retries and the sweep's, during a long outage
        wired.zapp.events.record_failure(event_id, failure)
    [event] = wired.events()
    assert event.attempts == 25 and event.retry_at is not None
    now = utcnow()
    assert wired.zapp.events.stale(now + timedelta(minutes=2), timedelta(minutes=1)) == []  # backing off
    assert wired.zapp.events.stale(now + timedelta(minutes=61), timedelta(minutes=1)) == [event_id]
    assert wired.zapp.events.stale(now + timedelta(days=4), timedelta(minutes=1)) == []  # given up


def test_the_sweeps_backoff_doubles_up_to_an_hour():
    assert [sweep_backoff(n).total_seconds() / 60 for n in (1, 2, 3, 7, 8, 30)] == [1, 2, 4, 60, 60, 60]


def test_a_prospect_in_a_group_created_after_provisioning_gets_its_reply_and_a_refresh(wired):
    wired.set_settings(**REPLY_ON)
    wired.zapp.provisioner.provision(wired.public_id)  # caught up with the settings change
    prospect = wired.new_prospect()
    with wired.zapp.database.transaction() as session:  # as if Sales made the group after provisioning
        session.execute(delete(InstanceGroup).where(InstanceGroup.group_id == prospect["groupId"]))
    assert wired.zapp.provisioner.instances_behind() == []
    assert wired.zapp.events.process(wired.deliver(envelope(prospect))) == Outcome.PROCESSED
    assert len(sent_to(wired.sandbox, prospect["id"])) == 1
    assert wired.zapp.provisioner.instances_behind() == [wired.public_id]
    assert wired.zapp.provisioner.provision(wired.public_id)
    with wired.zapp.database.transaction() as session:
        groups = set(session.scalars(select(InstanceGroup.group_id)))
    assert prospect["groupId"] in groups


def test_template_parameters_follow_the_whatsapp_rule():
    assert whatsapp_safe("a    b\tc\r\nd  e") == "a b c d e"
    assert whatsapp_safe(None) == ""
    parameters = template_parameters({"firstName": "Ana", "agent": [{"firstName": "Bea\n"}],
                                      "leads": [{"product": {"model": "Onix   LT"}}]})  # fmt: skip
    assert parameters["prospect.firstName"] == "Ana" and parameters["agent.firstName"] == "Bea"
    assert parameters["product.model"] == "Onix LT"
    assert all("    " not in v and not set("\r\n\t") & set(v) for v in parameters.values())


def test_processing_counts_match_the_stored_events(wired):
    prospect = wired.new_prospect()
    wired.zapp.events.process(wired.deliver(envelope(prospect)))
    assert wired.count(WebhookEvent) == 1 == wired.count(StoredProspect)
