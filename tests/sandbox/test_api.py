"""The sandbox enforces Sales' rules, one test per rule."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import SIGNING_KEY


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


NOW = datetime.now(UTC)


def test_missing_or_unknown_key_is_401(sandbox):
    assert requests.get(sandbox.api_url + "/integration", timeout=5).status_code == 401
    response = requests.get(sandbox.api_url + "/integration", params={"api-key": "nope"}, timeout=5)
    assert response.status_code == 401
    assert set(response.json()) == {"message", "code"}


def test_the_key_travels_only_as_the_api_key_parameter(sandbox, account):
    headers = {"X-API-Token": account["apiKey"]}  # no source names a header: it is not a key
    assert requests.get(sandbox.api_url + "/integration", headers=headers, timeout=5).status_code == 401


def test_a_call_outside_the_key_scopes_is_403(sandbox):
    limited = sandbox.create_account(act_as_user=True, scopes=["prospects:read"])
    params = {"api-key": limited["apiKey"]}
    assert (
        requests.get(sandbox.api_url + "/prospects", params={**params, "limit": 1}, timeout=5).status_code
        == 200
    )
    refused = requests.get(sandbox.api_url + "/messaging/channels", params=params, timeout=5)
    assert refused.status_code == 403
    assert "messages:channels" in refused.json()["message"]


@pytest.mark.parametrize("style", ["epoch", "delta"])
def test_rate_limit_headers_and_429(sandbox_factory, style):
    sandbox = sandbox_factory(rate_limit=3, reset_style=style, window_seconds=30)
    key = sandbox.create_account()["apiKey"]
    answers = [
        requests.get(sandbox.api_url + "/integration", params={"api-key": key}, timeout=5) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    reset = int(answers[0].headers["X-RateLimit-Reset"])
    if style == "epoch":
        assert time.time() < reset <= time.time() + 31
    else:
        assert 0 < reset <= 30
    stats = requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5).json()
    assert (stats["rateLimited"], stats["maxInWindow"][key]) == (1, 3)


@pytest.mark.parametrize(
    "params",
    [
        {"createdAfter": _iso(NOW - timedelta(days=40)), "createdBefore": _iso(NOW)},
        {"createdAfter": _iso(NOW), "createdBefore": _iso(NOW - timedelta(days=1))},
        {"createdAfter": _iso(NOW - timedelta(days=32))},
        {"start": _iso(NOW - timedelta(days=60)), "end": _iso(NOW - timedelta(days=10))},
        {"createdAfter": "yesterday"},
    ],
)
def test_the_31_day_rule(api, params):
    for path in ("/prospects", "/prospects/interactions"):
        response = api("GET", path, params=params)
        assert response.status_code == 400
        assert response.json()["message"]


def test_no_limit_and_no_dates_means_the_last_31_days(api, sandbox, account):
    items = api("GET", "/prospects").json()
    cutoff = _iso(NOW - timedelta(days=31, minutes=1))
    assert items and all(item["created"] >= cutoff for item in items)
    account_data = sandbox.state.accounts[account["accountId"]]
    expected = [
        i
        for i in account_data.prospect_ids
        if account_data.prospects[i]["created"] >= _iso(NOW - timedelta(days=31))
    ]
    assert len(items) >= len(expected) - 2  # the edge second may move while the test runs


def test_after_before_and_limit(api, sandbox, account):
    ids = sandbox.state.accounts[account["accountId"]].prospect_ids
    window = {
        "createdAfter": _iso(NOW - timedelta(days=30)),
        "createdBefore": _iso(NOW + timedelta(minutes=1)),
    }
    in_window = [i for i in ids if i >= f"{int((NOW - timedelta(days=30)).timestamp()):08x}"]
    first = api("GET", "/prospects", params={**window, "limit": 5}).json()
    assert [p["id"] for p in first] == in_window[:5]
    after = api("GET", "/prospects", params={**window, "limit": 5, "after": first[-1]["id"]}).json()
    assert [p["id"] for p in after] == in_window[5:10]
    before = api("GET", "/prospects", params={**window, "limit": 3, "before": in_window[10]}).json()
    assert [p["id"] for p in before] == in_window[7:10]
    assert api("GET", "/prospects", params={"limit": 1001}).status_code == 200  # 1000 is a recommendation
    assert api("GET", "/prospects", params={"limit": "ten"}).status_code == 400


def test_csv_by_format_and_by_accept(api):
    by_format = api("GET", "/prospects", params={"limit": 3, "format": "csv"})
    by_accept = api("GET", "/prospects", params={"limit": 3}, headers={"Accept": "text/csv"})
    for response in (by_format, by_accept):
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 3 and {"id", "group", "groupId"} <= set(rows[0])
    assert by_format.text == by_accept.text


def test_malformed_ids_are_400_and_unknown_404(api):
    assert api("GET", "/prospect/not-an-id").status_code == 400
    assert api("GET", "/prospect/" + "a" * 23 + "Z").status_code == 400
    unknown = api("GET", "/prospect/" + "a" * 24)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert api("GET", "/prospects", params={"after": "x"}).status_code == 400


def test_as_user_calls_need_a_configured_user(sandbox):
    key = sandbox.create_account(act_as_user=False)["apiKey"]
    for path in ("/as-user/transfer", "/as-user/labels", "/as-user/archiving-reasons"):
        response = requests.get(sandbox.api_url + path, params={"api-key": key}, timeout=5)
        assert response.status_code == 409


def test_one_subscription_per_group(api):
    first = api(
        "POST",
        "/notifications/subscriptions",
        json={"topics": ["prospects"], "callbackUrl": "http://a.test/1"},
    )
    second = api(
        "POST",
        "/notifications/subscriptions",
        json={"topics": ["interactions"], "callbackUrl": "http://a.test/2"},
    )
    assert first.status_code == second.status_code == 201
    active = api("GET", "/notifications/subscriptions").json()
    assert [s["id"] for s in active] == [second.json()["id"]]
    assert api("GET", f"/notifications/subscription/{first.json()['id']}").status_code == 404
    bad = api(
        "POST", "/notifications/subscriptions", json={"topics": ["gossip"], "callbackUrl": "http://a.test"}
    )
    assert bad.status_code == 400


def test_leads_are_deduplicated_by_phone_or_email(api):
    lead = {"utmSource": "google", "firstName": "Ana", "phones": ["+5511988887777"], "emails": ["ana@x.test"]}
    created = api("POST", "/lead/retail", json=lead)
    again = api("POST", "/lead/vehicle", json={"utmSource": "facebook", "emails": ["ANA@x.test"]})
    assert (created.status_code, again.status_code) == (200, 200)
    assert again.json()["id"] == created.json()["id"]
    # An existing prospect comes back without its earlier leads (seed L37); Sales keeps them all.
    assert [lead["utmSource"] for lead in again.json()["leads"]] == ["facebook"]
    assert again.json()["merged"] is True
    stored = api("GET", f"/prospect/{created.json()['id']}").json()
    assert [lead["utmSource"] for lead in stored["leads"]] == ["google", "facebook"]
    assert api("POST", "/lead/retail", json={"firstName": "No source"}).status_code == 400


@pytest.mark.parametrize("value", ["a    b", "line\nbreak", "tab\there", "cr\rhere"])
def test_whatsapp_template_parameter_rule(api, sandbox, account, value):
    prospect = sandbox.state.accounts[account["accountId"]].prospect_ids[-1]
    path = f"/prospect/{prospect}/messaging/whatsapp/notification"
    refused = api("POST", path, json={"key": "welcome_lead", "parameters": {"prospect.firstName": value}})
    assert refused.status_code == 400
    sent = api("POST", path, json={"key": "welcome_lead", "parameters": {"prospect.firstName": "Ana  Maria"}})
    assert sent.status_code == 200
    messages = requests.get(
        sandbox.base_url + "/_sandbox/messages", params={"prospect": prospect}, timeout=5
    ).json()
    assert [m["template"] for m in messages] == ["welcome_lead"]


def test_signing_matches_the_seed(sandbox):
    url = "https://zapp.test/dialogs/messages?prospect=507f191e810c19729de860ea&lang=pt"
    signed = requests.post(sandbox.base_url + "/_sandbox/sign", json={"url": url}, timeout=5).json()["url"]
    expected = hmac.new(SIGNING_KEY.encode(), url.encode(), hashlib.sha256).hexdigest()
    assert signed == f"{url}&signature={expected}"


def test_faults_latency_errors_and_storms(sandbox, api):
    faults = sandbox.base_url + "/_sandbox/faults"
    requests.post(faults, json={"latencyMs": 300}, timeout=5)
    started = time.monotonic()
    assert api("GET", "/integration").status_code == 200
    assert time.monotonic() - started >= 0.3
    requests.post(faults, json={"latencyMs": 0, "errorRate": 1.0}, timeout=5)
    assert api("GET", "/integration").status_code == 503
    requests.post(faults, json={"errorRate": 0, "stormSeconds": 30}, timeout=5)
    assert api("GET", "/integration").status_code == 429
    requests.post(faults, json={"stormSeconds": 0, "rateLimit": 2}, timeout=5)
    assert requests.post(faults, json={"errorRate": 2}, timeout=5).status_code == 400


def test_write_faults_refuse_before_or_lose_the_answer_after_the_write(sandbox, api):
    faults = sandbox.base_url + "/_sandbox/faults"
    lead = {"utmSource": "google", "firstName": "Ana", "phones": ["+5511988887777"]}

    def prospects() -> int:
        return sum(len(account.prospects) for account in sandbox.state.accounts.values())

    before = prospects()
    requests.post(faults, json={"writesUnavailable": True}, timeout=5)
    assert api("POST", "/lead/retail", json=lead).status_code == 503
    assert api("GET", "/integration").status_code == 200  # reads still answer
    assert prospects() == before  # nothing made
    requests.post(faults, json={"writesUnavailable": False, "writeAnswerStatus": 504}, timeout=5)
    assert api("POST", "/lead/retail", json=lead).status_code == 504
    assert prospects() == before + 1  # made anyway
    assert requests.post(faults, json={"writesUnavailable": "yes"}, timeout=5).status_code == 400


def test_data_is_deterministic_and_scales(sandbox_factory):
    one, two = sandbox_factory(prospects=150, seed=9), sandbox_factory(prospects=150, seed=9)
    a, b = one.create_account(), two.create_account()
    first = one.state.accounts[a["accountId"]]
    second = two.state.accounts[b["accountId"]]
    assert len(first.prospect_ids) == 150
    names = [(p["firstName"], p["lastName"], p["leads"][0]["utmSource"]) for p in first.prospects.values()]
    assert names == [
        (p["firstName"], p["lastName"], p["leads"][0]["utmSource"]) for p in second.prospects.values()
    ]
    vias = {i["via"] for i in first.interactions.values()}
    assert len(vias) >= 6
    timezones = {g["timezone"] for g in first.groups.values()}
    assert len(timezones) >= 3
    bigger = sandbox_factory(prospects=2000, seed=9)
    assert len(bigger.state.accounts[bigger.create_account()["accountId"]].prospect_ids) == 2000


def test_ids_encode_their_creation_second(sandbox, account):
    data = sandbox.state.accounts[account["accountId"]]
    for prospect in list(data.prospects.values())[:50]:
        created = datetime.fromisoformat(prospect["created"].replace("Z", "+00:00"))
        assert int(prospect["id"][:8], 16) == int(created.timestamp())


def test_unknown_paths_are_json_404_and_wrong_methods_405(sandbox):
    for path in ("/favicon.ico", "/api/v1/nothing-here"):
        response = requests.get(sandbox.base_url + path, timeout=5)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert requests.delete(sandbox.api_url + "/integration", timeout=5).status_code == 405
