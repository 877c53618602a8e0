"""The Timeline's contact corrections (Sales' prospect update) and quotes, against a real Sales sandbox."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.pages.conftest import install_account, object_id, open_dialog
from zapp.models import WebhookEvent
from zapp.pages.actions import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from zapp.pages.context import CONTEXT_HEADER
from zapp.pages.dialogs.timeline_content import shape_quotes
from zapp.sales import SalesClient
from zapp.sandbox.delivery import Deliverer
from zapp.sandbox.state import ALL_SCOPES
from zapp.store.records import stored_prospect_group
from zapp.webhooks.processing import Outcome


class Timeline:
    def __init__(self, client, installed, data) -> None:
        self.client = client
        self.installed = installed
        self.data = data
        self.prospect = next(p for p in reversed(list(data.prospects.values())) if p["status"] != "archived")
        self.page = open_dialog(client, "timeline", installed.group, self.prospect["id"])

    def get(self, what: str):
        return self.client.get(self.page["urls"][what], headers={CONTEXT_HEADER: self.page["context"]})

    def edit(self, idempotency: str | None = None, **fields):
        headers = {CONTEXT_HEADER: self.page["context"], IDEMPOTENCY_HEADER: idempotency or uuid.uuid4().hex}
        body = {"prospect": self.prospect["id"], **fields}
        return self.client.post(self.page["urls"]["contact"], json=body, headers=headers)


@pytest.fixture
def timeline(sandbox_app, sales_account):
    installed, data = sales_account
    return Timeline(sandbox_app.test_client(), installed, data)


def test_names_are_corrected_in_sales_and_the_answer_shows_the_contact_as_sales_has_it(timeline):
    response = timeline.edit(firstName="  Ana   Maria ", lastName="Souza")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (timeline.prospect["firstName"], timeline.prospect["lastName"]) == ("Ana Maria", "Souza")
    shown = response.json["prospect"]
    assert shown["name"] == "Ana Maria Souza" and shown["id"] == timeline.prospect["id"]
    assert timeline.get("data").json["prospect"]["name"] == "Ana Maria Souza"


def test_a_phone_and_an_email_are_added_to_the_contacts(timeline):
    before = list(timeline.prospect["phones"])
    response = timeline.edit(phone="+55 11 91234-5678", email="ana@example.com")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert timeline.prospect["phones"] == [*before, "+55 11 91234-5678"]
    assert "ana@example.com" in timeline.prospect["emails"]
    assert "+55 11 91234-5678" in response.json["prospect"]["phones"]


def test_a_correction_is_made_once_per_intent(timeline):
    same = uuid.uuid4().hex
    first = timeline.edit(same, phone="+55 11 90000-0001")
    again = timeline.edit(same, phone="+55 11 90000-0001")
    assert first.status_code == again.status_code == 200
    assert again.headers[REPLAYED_HEADER] == "true" and again.json == first.json
    assert timeline.prospect["phones"].count("+55 11 90000-0001") == 1
    other = timeline.edit(same, phone="+55 11 90000-0002")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, "contact"),
        ({"phone": "   ", "email": ""}, "contact"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "+55 11 9abc-5678"}, "phone"),
        ({"phone": "1" * 16}, "phone"),
        ({"email": "ana@"}, "email"),
        ({"firstName": ""}, "firstName"),
        ({"firstName": "A" * 101}, "firstName"),
        ({"lastName": "Souza\u0000"}, "lastName"),
        ({"firstName": 5}, "firstName"),
    ],
)
def test_invalid_corrections_are_refused_before_sales_is_called(sandbox, timeline, fields, named):
    before = dict(timeline.prospect)
    calls = sandbox.state.stats.requests[timeline.installed.api_key]
    response = timeline.edit(**fields)
    assert response.status_code == 422 and named in response.json["error"]["fields"]
    assert timeline.prospect == before
    assert sandbox.state.stats.requests[timeline.installed.api_key] == calls


def test_sales_refusal_comes_back_with_sales_own_words_and_frees_the_intent(
    sandbox, sandbox_app, make_instance
):
    scopes = [scope for scope in ALL_SCOPES if scope != "prospects:write"]
    installed, data = install_account(sandbox, make_instance, act_as_user=True, scopes=scopes)
    timeline = Timeline(sandbox_app.test_client(), installed, data)
    same = uuid.uuid4().hex
    response = timeline.edit(same, phone="+55 11 91234-5678")
    assert response.status_code == 422 and response.json["error"]["code"] == "sales_refused"
    assert "prospects:write" in response.json["error"]["sales"]  # Sales' own words, for the agent to read
    assert "+55 11 91234-5678" not in timeline.prospect["phones"]
    integration = sandbox.state.integrations[installed.api_key]
    integration.scopes = integration.scopes | {"prospects:write"}  # an administrator grants the scope
    assert timeline.edit(same, phone="+55 11 91234-5678").status_code == 200  # nothing was sent: key freed
    assert "+55 11 91234-5678" in timeline.prospect["phones"]


# -- quotes ---------------------------------------------------------------------------------------------


def make_quote(sandbox_app, installed, prospect_id: str, status: str, items: list[dict]) -> dict:
    """A quote made in Sales through its API, as a CRM user's action would."""
    client = SalesClient(installed.api_key, base_url=sandbox_app.extensions["zapp"].config.sales_api_url)
    return client.request("POST", f"/prospect/{prospect_id}/quotes", json={"status": status, "items": items})


def test_quotes_come_from_sales_when_the_store_has_none(timeline, sandbox_app, sales_account):
    installed, _ = sales_account
    older = make_quote(
        sandbox_app, installed, timeline.prospect["id"], "pending", [{"quantity": 2, "price": 100}]
    )
    newer = make_quote(
        sandbox_app, installed, timeline.prospect["id"], "accepted", [{"quantity": 1, "price": 55.5}]
    )
    body = timeline.get("quotes").json
    assert body["source"] == "sales"
    assert [q["id"] for q in body["quotes"]] == [newer["id"], older["id"]]
    assert [(q["status"], q["total"], q["items"]) for q in body["quotes"]] == [
        ("accepted", 55.5, 1),
        ("pending", 200, 1),
    ]
    assert body["quotes"][0]["decidedAt"] == newer["acceptedAt"]


def deliver(sandbox, sandbox_app, sales_account, topic: str, kind: str, prospect: dict, **extra) -> None:
    """The sandbox's envelope of ``topic`` through the instance's webhook route, then its job."""
    installed, account = sales_account
    zapp = sandbox_app.extensions["zapp"]
    [subscription] = [s for s in sandbox.state.subscriptions.values()
                      if s["active"] and s["groupId"] == installed.group]  # fmt: skip
    assert topic in subscription["topics"]
    body = Deliverer.envelope(account, subscription["id"], topic, kind, prospect, time.time(), **extra)
    response = sandbox_app.test_client().post(urlsplit(subscription["callbackUrl"]).path, json=body)
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    with zapp.database.transaction() as session:
        event_id = session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id.desc())).first()
    assert zapp.events.process(event_id) == Outcome.PROCESSED


def deliver_quote(sandbox, sandbox_app, sales_account, prospect: dict, quote: dict, kind: str) -> None:
    """A ``quotes`` envelope, once provisioning has subscribed the topic."""
    installed, _account = sales_account
    assert sandbox_app.extensions["zapp"].provisioner.provision(installed.public_id)
    deliver(sandbox, sandbox_app, sales_account, "quotes", kind, prospect, quote=quote)


def test_quotes_come_from_the_store_once_the_quotes_topic_told_of_any(
    timeline, sandbox, sandbox_app, sales_account
):
    installed, _ = sales_account
    prospect = timeline.prospect
    told = make_quote(sandbox_app, installed, prospect["id"], "pending", [{"quantity": 3, "price": 7}])
    deliver_quote(sandbox, sandbox_app, sales_account, prospect, told, "created")
    body = timeline.get("quotes").json
    assert body == {"source": "store", "quotes": [
        {"id": told["id"], "status": "pending", "total": 21, "items": 1, "createdAt": told["createdAt"],
         "decidedAt": None},
    ]}  # fmt: skip

    # Accepted in Sales, and told: the store has the new status.
    accepted = SalesClient(installed.api_key, base_url=sandbox_app.extensions["zapp"].config.sales_api_url)
    accepted = accepted.update_quote(prospect["id"], told["id"], "accepted")
    deliver_quote(sandbox, sandbox_app, sales_account, prospect, accepted, "updated")
    [shown] = timeline.get("quotes").json["quotes"]
    assert (shown["status"], shown["decidedAt"]) == ("accepted", accepted["acceptedAt"])

    # A quote Sales has but no envelope told of yet is not listed: the store answers for the contact.
    make_quote(sandbox_app, installed, prospect["id"], "pending", [{"quantity": 1, "price": 1}])
    assert [q["id"] for q in timeline.get("quotes").json["quotes"]] == [told["id"]]


def test_stored_quotes_of_a_contact_moved_out_of_the_installations_groups_are_refused(
    timeline, sandbox, sandbox_app, sales_account
):
    installed, account = sales_account
    prospect = timeline.prospect
    told = make_quote(sandbox_app, installed, prospect["id"], "pending", [{"quantity": 1, "price": 9}])
    deliver_quote(sandbox, sandbox_app, sales_account, prospect, told, "created")
    assert timeline.get("quotes").json["source"] == "store"

    outside = object_id()
    prospect["groupId"] = outside  # Sales moved it somewhere the installation does not cover
    account.groups[outside] = {"id": outside, "ancestors": [installed.group]}  # yet the key still sees it
    deliver(sandbox, sandbox_app, sales_account, "prospects", "updated", prospect)
    with sandbox_app.extensions["zapp"].database.transaction() as session:
        assert stored_prospect_group(session, installed.id, prospect["id"]) == outside
    response = timeline.get("quotes")
    assert response.status_code == 403 and response.json["error"]["code"] == "foreign_prospect"


def test_a_contact_without_quotes_lists_none(timeline):
    assert timeline.get("quotes").json == {"quotes": [], "source": "sales"}


def test_quote_shaping_falls_back_to_the_items_and_never_guesses():
    quotes = [
        {
            "id": "b" * 24,
            "status": "rejected",
            "items": [{"quantity": 3, "price": 10}],
            "createdAt": "2026-02-01T00:00:00Z",
            "rejectedAt": "2026-02-02T00:00:00Z",
        },
        {
            "id": "a" * 24,
            "status": "pending",
            "total": 99.9,
            "items": [],
            "createdAt": "2026-01-01T00:00:00Z",
        },
        {
            "id": "c" * 24,
            "status": "pending",
            "items": [{"quantity": 1}],
            "createdAt": "2026-03-01T00:00:00Z",
        },
        {"id": "d" * 24, "status": "pending", "total": float("inf"), "createdAt": "2026-03-02T00:00:00Z"},
        {"status": "pending"},
        "not a quote",
    ]
    shaped = shape_quotes(quotes)
    assert [(q["id"][0], q["total"], q["decidedAt"]) for q in shaped] == [
        ("d", None, None),
        ("c", None, None),
        ("b", 30.0, "2026-02-02T00:00:00Z"),
        ("a", 99.9, None),
    ]
