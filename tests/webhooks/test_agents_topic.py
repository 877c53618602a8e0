"""The agents topic and agents' names: one agent, one name in the store, the newest Sales gave."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.webhooks.conftest import envelope
from zapp.models import ReportRollup, StoredAgent, StoredInteraction, StoredProspect
from zapp.reports.agent_activity_query import read_agent_activity
from zapp.reports.ranges import ReportRange
from zapp.reports.scope import ReportScope
from zapp.sandbox.data import iso
from zapp.webhooks.processing import Outcome

AGENT = "7a0c1a2b3c4d5e6f7a8b9c02"


def hours(n: float) -> str:
    """A moment ``n`` hours from now: later than anything the sandbox stamped on its prospects."""
    return iso(time.time() + n * 3600)


def interaction_event(wired, prospect: dict, interaction_id: str, first: str, last: str, at: str) -> int:
    interaction = {"id": interaction_id, "prospectId": prospect["id"], "via": "whatsApp", "proactive": True,
                   "status": "done", "createdAt": at, "agentId": AGENT,
                   "agent": {"id": AGENT, "firstName": first, "lastName": last}}  # fmt: skip
    return wired.deliver(envelope(prospect, topic="interactions", interaction=interaction, updatedAt=at))


def agents_event(wired, prospect: dict, first: str, last: str, at: str) -> int:
    """The seed's agents envelope (L1266-1329): a prospect transferred to the acted-as agent."""
    summary = {key: prospect[key] for key in ("id", "groupId", "group", "created", "firstName")}
    summary["agent"] = [{"id": AGENT, "firstName": first, "lastName": last, "phone": "", "email": ""}]
    body = envelope(prospect, topic="agents", kind="updated", updatedAt=at)
    body["prospect"] = [summary]
    return wired.deliver(body)


def names(wired, model) -> set[str]:
    with wired.zapp.database.transaction() as session:
        rows = session.scalars(select(model.agent_name).where(model.agent_id == AGENT))
        return set(rows)


def test_an_agents_event_keeps_the_prospects_agent_and_renames_the_agents_rows(wired):
    first, second = wired.new_prospect(), wired.new_prospect()
    for prospect, interaction in ((first, "6b0c1a2b3c4d5e6f7a8b9c21"), (second, "6b0c1a2b3c4d5e6f7a8b9c22")):
        event = interaction_event(wired, prospect, interaction, "Ana", "Lima", hours(1))
        assert wired.zapp.events.process(event) == Outcome.PROCESSED
        wired.zapp.events.process(agents_event(wired, prospect, "Ana", "Lima", hours(1.1)))
    assert names(wired, StoredInteraction) == {"Ana Lima"}

    # Sales renames the agent; the next agents event (a transfer to her) says so.
    event = agents_event(wired, first, "Ana", "Lima Souza", hours(2))
    assert wired.zapp.events.process(event) == Outcome.PROCESSED
    assert wired.get(StoredProspect, first["id"]).agent_id == AGENT
    assert names(wired, StoredInteraction) == names(wired, StoredProspect) == {"Ana Lima Souza"}
    assert wired.get(StoredAgent, AGENT).name == "Ana Lima Souza"
    # The reports, which count from the rollups, name her the new way.
    today = datetime.now(UTC).date()
    scope = ReportScope(
        wired.instance_id, (first["groupId"],), ReportRange("custom", today, today + timedelta(days=1), "UTC")
    )
    with wired.zapp.database.transaction() as session:
        assert read_agent_activity(session, scope).agents[AGENT].name == "Ana Lima Souza"
        labels = session.scalars(select(ReportRollup.label).where(ReportRollup.key1 == AGENT))
        assert set(labels) == {"Ana Lima Souza"}


def test_an_older_event_does_not_bring_the_old_name_back(wired):
    prospect = wired.new_prospect()
    wired.zapp.events.process(agents_event(wired, prospect, "Ana", "Lima Souza", hours(2)))
    late = interaction_event(wired, prospect, "6b0c1a2b3c4d5e6f7a8b9c23", "Ana", "Lima", hours(1))
    assert wired.zapp.events.process(late) == Outcome.PROCESSED
    assert wired.get(StoredAgent, AGENT).name == "Ana Lima Souza"
    assert names(wired, StoredInteraction) == {"Ana Lima Souza"}  # the late row takes the newer name
    wired.zapp.events.process(agents_event(wired, prospect, "Ana", "L. Souza", hours(3)))
    assert names(wired, StoredInteraction) == names(wired, StoredProspect) == {"Ana L. Souza"}
