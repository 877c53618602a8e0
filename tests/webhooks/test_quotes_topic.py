"""The quotes topic: each quote in the store as the newest envelope about it told it."""

from __future__ import annotations

import time

from sqlalchemy import select

from tests.webhooks.conftest import envelope
from zapp.models import StoredProspect, StoredQuote
from zapp.sales import SalesClient
from zapp.sandbox.data import iso
from zapp.webhooks.processing import Outcome


def sales(wired) -> SalesClient:
    return SalesClient(wired.api_key, base_url=wired.sandbox.api_url)


def quotes_event(wired, prospect: dict, quote: dict, kind: str, at: float) -> int:
    """The sandbox's quotes envelope (the common fields plus ``quote``), through the webhook route."""
    return wired.deliver(envelope(prospect, topic="quotes", kind=kind, quote=quote, updatedAt=iso(at)))


def stored(wired, quote_id: str) -> StoredQuote | None:
    return wired.get(StoredQuote, quote_id)


def test_provisioning_subscribes_to_quotes(wired):
    [subscription] = [s for s in wired.sandbox.state.subscriptions.values() if s["active"]]
    assert "quotes" in subscription["topics"]


def test_a_created_then_accepted_quote_is_stored_with_its_newest_state(wired):
    prospect, now = wired.new_prospect(), time.time()
    client = sales(wired)
    created = client.create_quote(prospect["id"], [{"quantity": 2, "price": 10}])
    event = quotes_event(wired, prospect, created, "created", now)
    assert wired.zapp.events.process(event) == Outcome.PROCESSED
    row = stored(wired, created["id"])
    assert (row.prospect_id, row.quote["status"], row.quote["total"]) == (prospect["id"], "pending", 20)
    assert wired.get(StoredProspect, prospect["id"]) is not None  # the summary is applied as before

    accepted = client.update_quote(prospect["id"], created["id"], "accepted")
    assert (
        wired.zapp.events.process(quotes_event(wired, prospect, accepted, "updated", now))
        == Outcome.PROCESSED
    )
    row = stored(wired, created["id"])
    assert row.quote["status"] == "accepted" and row.quote["acceptedAt"] == accepted["acceptedAt"]


def test_a_late_older_envelope_does_not_bring_the_old_status_back(wired):
    prospect, now = wired.new_prospect(), time.time()
    client = sales(wired)
    created = client.create_quote(prospect["id"], [{"quantity": 1, "price": 5}])
    rejected = client.update_quote(prospect["id"], created["id"], "rejected")
    newer = quotes_event(wired, prospect, rejected, "updated", now + 60)
    older = quotes_event(wired, prospect, created, "created", now)
    assert wired.zapp.events.process(newer) == wired.zapp.events.process(older) == Outcome.PROCESSED
    assert stored(wired, created["id"]).quote["status"] == "rejected"


def test_an_envelope_without_a_usable_quote_stores_none(wired):
    prospect = wired.new_prospect()
    for quote in (None, {"status": "pending"}, {"id": "6b0c1a2b3c4d5e6f7a8b9c31"}):
        extra = {} if quote is None else {"quote": quote}
        event = wired.deliver(envelope(prospect, topic="quotes", kind="created", **extra))
        assert wired.zapp.events.process(event) == Outcome.PROCESSED
    with wired.zapp.database.transaction() as session:
        assert session.scalars(select(StoredQuote)).all() == []
