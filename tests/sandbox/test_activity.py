"""The load-run controls: activity in every live account, and what it did read back in bulk."""

from __future__ import annotations

import requests

from tests.conftest import wait_until

ACTIVITY, REPLIES = "{}/_sandbox/activity", "{}/_sandbox/replies"


def _subscribe(sandbox, key: str, url: str) -> None:
    response = requests.post(
        sandbox.api_url + "/notifications/subscriptions", params={"api-key": key},
        json={"topics": ["prospects", "interactions"], "callbackUrl": url}, timeout=5,
    )  # fmt: skip
    assert response.status_code == 201


def test_activity_makes_new_leads_and_interactions_in_every_live_account(sandbox, receiver):
    live = [sandbox.create_account() for _ in range(2)]
    disabled = sandbox.create_account()
    for account in (*live, disabled):
        _subscribe(sandbox, account["apiKey"], receiver.url)
    sandbox.state.integrations[disabled["apiKey"]].enabled = False
    data = [sandbox.state.accounts[account["accountId"]] for account in live]
    before = [len(account.prospect_ids) for account in data]

    made = requests.post(ACTIVITY.format(sandbox.base_url), json={"leads": 3, "interactions": 2}, timeout=5)

    assert made.json() == {"accounts": 2, "created": 6, "updated": 0, "interactions": 4}
    assert [len(account.prospect_ids) for account in data] == [count + 3 for count in before]
    delivered = wait_until(lambda: len(receiver.received) >= 10 and receiver.received, message="deliveries")
    kinds = sorted((event["topic"], event["type"]) for event in delivered)
    assert kinds == [("interactions", "created")] * 4 + [("prospects", "created")] * 6
    pending = requests.get(sandbox.base_url + "/_sandbox/deliveries/pending", timeout=5)
    assert pending.json() == {"pending": 0}


def test_activity_refuses_counts_out_of_range(sandbox):
    for body in ({"leads": -1}, {"interactions": 1001}, {"leads": "3"}, {"leads": True}):
        response = requests.post(ACTIVITY.format(sandbox.base_url), json=body, timeout=5)
        assert response.status_code == 400, body


def test_replies_count_one_template_per_prospect(sandbox, account, api):
    prospect = sandbox.state.accounts[account["accountId"]].prospect_ids[-1]
    body = {"key": "welcome_lead", "parameters": {"prospect.firstName": "Ana"}}
    path = f"/prospect/{prospect}/messaging/whatsapp/notification"
    assert [api("POST", path, json=body).status_code for _ in range(2)] == [200, 200]

    replies = requests.get(REPLIES.format(sandbox.base_url), params={"template": "welcome_lead"}, timeout=5)

    assert replies.json() == {prospect: 2}
    other = requests.get(REPLIES.format(sandbox.base_url), params={"template": "follow_up"}, timeout=5)
    assert other.json() == {}


def test_inventory_lists_what_an_import_should_find(sandbox, account):
    data = sandbox.state.accounts[account["accountId"]]

    [listed] = requests.get(sandbox.base_url + "/_sandbox/inventory", timeout=5).json()

    assert listed["apiKey"] == account["apiKey"]
    assert listed["prospects"] == data.prospect_ids and listed["interactions"] == data.interaction_ids


def test_limits_tell_429s_over_the_limit_from_those_of_a_storm(sandbox, account, api):
    faults = sandbox.base_url + "/_sandbox/faults"
    requests.post(faults, json={"rateLimit": 2}, timeout=5)
    statuses = [api("GET", "/integration").status_code for _ in range(3)]
    requests.post(faults, json={"rateLimit": None, "stormSeconds": 30}, timeout=5)
    statuses.append(api("GET", "/integration").status_code)

    limits = requests.get(sandbox.base_url + "/_sandbox/limits", timeout=5).json()

    assert statuses == [200, 200, 429, 429]
    assert (limits["overLimit"], limits["overLimitKeys"], limits["stormRefused"]) == (1, 1, 1)
    assert limits["maxInWindow"] == 2
