"""Golden tests: the webhook envelopes the Sales reference prints, through the route and the job, into
the store and the report figures.

Each envelope is the seed's example as printed (``tests/seed_examples.json``: ``webhook_prospects``
L1066-L1120, ``webhook_interactions`` L1136-L1265, ``webhook_agents`` L1277-L1326); only values that
name things (ids, group, agent, times) are replaced by those of a prospect the sandbox holds. The
structure stays the seed's: ``prospect`` an array whose ``agent`` is an array, leads without
``utmMedium``/``utmCampaign``. The expected figures are worked out here from what was sent.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from tests.seed_examples import example
from zapp.models import StoredInteraction, StoredProspect
from zapp.reports.agent_activity_query import read_agent_activity
from zapp.reports.lead_sources_query import read_lead_sources
from zapp.reports.ranges import ReportRange
from zapp.reports.scope import ReportScope
from zapp.sales.models import load_envelope
from zapp.sandbox.data import iso
from zapp.store.records import epoch_ms
from zapp.webhooks.processing import Outcome


def _agent(wired, prospect) -> dict:
    state = wired.sandbox.state
    account = state.account_of(state.integrations[wired.api_key])
    return next(a for a in account.agents.values() if account.covers(a["groupId"], prospect["groupId"]))


def _seed_envelope(name: str, prospect: dict, *, agent: dict | None = None, at: float, **top) -> dict:
    """The seed's envelope ``name`` about ``prospect``: its names and times replaced, its shape kept."""
    body = example(name)
    summary = body["prospect"][0]
    summary.update(id=prospect["id"], created=prospect["created"], group=prospect["group"],
                   groupId=prospect["groupId"], initialGroup=prospect["initialGroup"],
                   initialGroupId=prospect["initialGroupId"], account=prospect["account"],
                   accountId=prospect["accountId"], firstName=prospect["firstName"],
                   lastName=prospect["lastName"], status="followUp")  # fmt: skip
    summary["leads"][0].update(created=prospect["created"], utmSource="google", source="Google Ads")
    if agent is not None:
        summary["agent"][0].update(id=agent["id"], firstName=agent["firstName"], lastName=agent["lastName"],
                                   phone=agent["phone"], email=agent["email"])  # fmt: skip
    summary["assigned"] = summary["firstContactedAt"] = iso(at - 60)
    body.update(subscriptionId=uuid.uuid4().hex[:24], updatedAt=iso(at), operationId=uuid.uuid4().hex,
                received=iso(at), sent=iso(at), **top)  # fmt: skip
    for due in ("whatsAppDueAt", "facebookDueAt"):
        if due in body:
            body[due] = iso(at + 3600)
    load_envelope(body)  # still the seed's shape
    return body


def _through_the_job(wired, body: dict) -> None:
    """Deliver as Sales does, then run the job a worker's feed would queue for the stored event."""
    assert wired.zapp.events.process(wired.deliver(body)) == Outcome.PROCESSED


def _scope(wired, prospect) -> ReportScope:
    today = datetime.now(UTC).date()
    window = ReportRange("custom", today - timedelta(days=1), today + timedelta(days=1), "UTC")
    return ReportScope(wired.instance_id, (prospect["groupId"],), window)


def test_the_seeds_prospect_envelopes_keep_what_a_summary_lacks(wired):
    prospect = wired.new_prospect(utmSource="google", utmMedium="cpc", utmCampaign="brand", firstName="Rui")
    agent, now = _agent(wired, prospect), time.time()
    created = _seed_envelope("webhook_prospects", prospect, agent=agent, at=now - 10, type="created")
    _through_the_job(wired, created)  # a created prospect is read whole from Sales
    assert wired.get(StoredProspect, prospect["id"]).utm_medium == "cpc"

    # Later than the whole read the creation made (the envelope's time decides which wins).
    updated = _seed_envelope("webhook_prospects", prospect, agent=agent, at=time.time() + 2)  # "updated"
    assert "utmMedium" not in updated["prospect"][0]["leads"][0]
    _through_the_job(wired, updated)

    stored = wired.get(StoredProspect, prospect["id"])
    assert [e.processed_at is not None for e in wired.events()] == [True, True]
    assert (stored.agent_id, stored.agent_name) == (agent["id"], f"{agent['firstName']} {agent['lastName']}")
    assert (stored.utm_source, stored.utm_medium, stored.utm_campaign) == ("google", "cpc", "brand")
    assert (stored.source, stored.status) == ("Google Ads", "followUp")
    assert stored.first_contact_ms == epoch_ms(updated["prospect"][0]["firstContactedAt"])
    assert stored.whatsapp_due_ms == epoch_ms(updated["whatsAppDueAt"])

    with wired.zapp.database.transaction() as session:
        figures = read_lead_sources(session, _scope(wired, prospect))
    # One prospect, created today, from google/cpc/brand, followed up and contacted.
    assert (figures.total, figures.contacted) == (1, 1)
    assert (dict(figures.sources), dict(figures.mediums)) == ({"google": 1}, {"cpc": 1})
    assert (dict(figures.campaigns), dict(figures.statuses)) == ({"brand": 1}, {"followUp": 1})


def test_an_empty_agent_array_means_nobody_is_assigned(wired):
    prospect = wired.new_prospect(utmMedium="cpc")
    agent, now = _agent(wired, prospect), time.time()
    _through_the_job(wired, _seed_envelope("webhook_prospects", prospect, agent=agent, at=now - 10))
    unassigned = _seed_envelope("webhook_prospects", prospect, at=now)
    unassigned["prospect"][0]["agent"] = []
    _through_the_job(wired, unassigned)
    stored = wired.get(StoredProspect, prospect["id"])
    assert (stored.agent_id, stored.agent_name) == (None, "")


def test_the_seeds_interaction_envelopes_feed_agent_activity(wired):
    prospect = wired.new_prospect()
    agent, now = _agent(wired, prospect), time.time()
    interaction_id = f"{int(now):08x}{uuid.uuid4().hex[:16]}"
    bodies = []
    for kind, status, at in (("created", "pending", now - 30), ("updated", "done", now)):
        body = _seed_envelope("webhook_interactions", prospect, agent=agent, at=at, type=kind)
        body["interaction"].update(id=interaction_id, prospectId=prospect["id"], agentId=agent["id"],
                                   createdAt=iso(now - 30), startedAt=iso(now - 30), finishedAt=iso(at),
                                   status=status)  # fmt: skip
        body["interaction"]["agent"].update(id=agent["id"], firstName=agent["firstName"],
                                            lastName=agent["lastName"])  # fmt: skip
        bodies.append(body)
        _through_the_job(wired, body)
    assert all(e.processed_at is not None for e in wired.events())

    stored = wired.get(StoredInteraction, interaction_id)
    assert (stored.group_id, stored.agent_id, stored.via) == (prospect["groupId"], agent["id"], "inboundCall")
    assert (stored.status, stored.proactive) == ("done", True)  # the update won, as the seed's proactive

    with wired.zapp.database.transaction() as session:
        activity = read_agent_activity(session, _scope(wired, prospect))
    # One interaction (created, then updated): one for the agent, by inbound call, started by the agent.
    assert (activity.total.total, activity.total.proactive) == (1, 1)
    assert activity.agents[agent["id"]].total == 1
    assert activity.agents[agent["id"]].name == f"{agent['firstName']} {agent['lastName']}"
    assert {via: a.total for via, a in activity.vias.items()} == {"inboundCall": 1}


def test_the_seeds_agents_envelope_and_a_quotes_envelope_update_the_summary(wired):
    prospect = wired.new_prospect(utmMedium="referral")
    agent, now = _agent(wired, prospect), time.time()
    agents = _seed_envelope("webhook_agents", prospect, agent=agent, at=now - 10)
    event = wired.events()  # nothing yet
    _through_the_job(wired, agents)
    stored = wired.get(StoredProspect, prospect["id"])
    # A summary alone: what it carries is stored; utmMedium, which it never carries, stays unknown.
    assert (stored.agent_id, stored.status, stored.utm_source) == (agent["id"], "followUp", "google")
    assert stored.utm_medium is None

    # quotes: the seed only names the topic; the envelope is the common fields plus ``quote`` (inferred).
    quotes = _seed_envelope("webhook_agents", prospect, agent=agent, at=now, topic="quotes", type="created")
    quotes["prospect"][0]["status"] = "new"
    quotes["quote"] = {"id": uuid.uuid4().hex[:24], "prospectId": prospect["id"], "status": "pending",
                       "createdAt": iso(now), "items": [{"quantity": 1, "price": 10}],
                       "total": 10}  # fmt: skip
    load_envelope(quotes)
    _through_the_job(wired, quotes)
    assert wired.get(StoredProspect, prospect["id"]).status == "new"
    assert event == [] and [e.processed_at is not None for e in wired.events()] == [True, True]


def test_the_seeds_envelopes_as_printed_are_stored_and_processed(wired):
    """Verbatim (ids ``"string"``): stored and processed; no store row, since nothing names a prospect."""
    for name in ("webhook_prospects", "webhook_interactions", "webhook_agents"):
        body = {**example(name), "operationId": uuid.uuid4().hex}
        _through_the_job(wired, body)
    events = wired.events()
    assert [e.topic for e in events] == ["prospects", "interactions", "agents"]
    outcomes = {wired.zapp.events.process(e.id) for e in events}
    assert outcomes <= {Outcome.PROCESSED, Outcome.ALREADY}
    assert wired.count(StoredProspect) == 0 and wired.count(StoredInteraction) == 0
