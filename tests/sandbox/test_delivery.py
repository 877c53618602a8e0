"""Webhook delivery: Sales' envelope and retry policy."""

from __future__ import annotations

import requests

from tests.conftest import wait_until
from zapp.sales.models import ProspectsEnvelope


def _subscribe(api, receiver, topics=("prospects", "interactions")):
    response = api(
        "POST", "/notifications/subscriptions", json={"topics": list(topics), "callbackUrl": receiver.url}
    )
    assert response.status_code == 201
    return response.json()["id"]


def test_a_new_lead_is_delivered_with_the_seed_envelope(sandbox, account, api, receiver):
    subscription = _subscribe(api, receiver)
    lead = {"utmSource": "google", "firstName": "Bia", "phones": ["+5511911112222"]}
    requests.post(
        sandbox.base_url + "/_sandbox/leads", json={"apiKey": account["apiKey"], "lead": lead}, timeout=5
    )
    [event] = wait_until(lambda: receiver.received, message="a delivery")
    assert event["subscriptionId"] == subscription
    assert (event["topic"], event["type"], event["attempts"]) == ("prospects", "created", 0)
    assert {"received", "sent", "updatedAt", "operationId", "updates"} <= set(event)
    assert "whatsAppDueAt" not in event  # no conversation is open with a new lead
    [summary] = event["prospect"]
    assert summary["firstName"] == "Bia" and summary["agent"] == [] and isinstance(summary["group"], str)
    assert set(summary["leads"][0]) <= {"created", "createdBy", "source", "utmSource", "providerKey",
                                        "comments", "type"}  # fmt: skip
    ProspectsEnvelope.load(event)


def test_interactions_are_delivered_with_the_interaction(sandbox, account, api, receiver):
    _subscribe(api, receiver, ("interactions",))
    prospect = sandbox.state.accounts[account["accountId"]].prospect_ids[-1]
    api("POST", f"/prospect/{prospect}/interactions", json={"type": "note", "content": "called back"})
    [event] = wait_until(lambda: receiver.received, message="a delivery")
    assert event["topic"] == "interactions"
    assert event["interaction"]["output"]["comment"] == "called back"


def test_failures_are_retried_until_success(sandbox, account, api, receiver):
    _subscribe(api, receiver)
    receiver.status = 500
    requests.post(sandbox.base_url + "/_sandbox/leads", json={"apiKey": account["apiKey"],
                  "lead": {"utmSource": "x", "firstName": "C"}}, timeout=5)  # fmt: skip
    wait_until(lambda: len(receiver.received) >= 3, message="three failed attempts")
    receiver.status = 204
    wait_until(
        lambda: any(
            d["ok"] for d in requests.get(sandbox.base_url + "/_sandbox/deliveries", timeout=5).json()
        )
    )
    deliveries = requests.get(sandbox.base_url + "/_sandbox/deliveries", timeout=5).json()
    assert [d["attempt"] for d in deliveries] == list(range(1, len(deliveries) + 1))
    assert [d["ok"] for d in deliveries] == [False] * (len(deliveries) - 1) + [True]
    assert len({d["operationId"] for d in deliveries}) == 1


def test_a_failing_subscriber_gets_the_first_attempt_and_twenty_retries(sandbox_factory, receiver):
    sandbox = sandbox_factory(delivery_backoff=0.001, delivery_max_backoff=0.01)
    account = sandbox.create_account()
    params = {"api-key": account["apiKey"]}
    requests.post(sandbox.api_url + "/notifications/subscriptions", params=params,
                  json={"topics": ["prospects"], "callbackUrl": receiver.url}, timeout=5)  # fmt: skip
    receiver.status = 410
    requests.post(sandbox.base_url + "/_sandbox/leads", json={"apiKey": account["apiKey"],
                  "lead": {"utmSource": "x", "firstName": "D"}}, timeout=5)  # fmt: skip
    wait_until(lambda: len(receiver.received) >= 21 and sandbox.sandbox.delivery.pending() == 0)
    # The first attempt, then up to 20 retries (seed L1046); ``attempts`` counts the earlier ones.
    assert [event["attempts"] for event in receiver.received] == list(range(0, 21))
