"""Every endpoint of sales-models.md §3, called on the sandbox and read with the shared Sales models.

The client (``zapp.sales.SalesClient``) validates each answer against the
models; calls it has no method for are checked here with the same models.
The table ``ENDPOINTS`` is §3 line by line: a test fails when an endpoint of
the reference has no check.
"""

from __future__ import annotations

import requests

from tests.conftest import contact_writes
from tests.seed_examples import example
from zapp.sales import MemoryBudget, SalesClient
from zapp.sales import models as m

ENDPOINTS = {
    # 3.1 leads
    "POST /lead/retail", "POST /lead/vehicle", "POST /lead/insurance", "POST /lead/real-estate",
    "POST /lead/saving-plan", "GET /leads/categories", "GET /leads/defaults",
    # 3.2 prospects
    "GET /prospects", "GET search", "GET /prospect/{id}", "PATCH /prospect/{id}", "DELETE /prospect/{id}",
    "PATCH /prospect/{id}/additionalData", "GET /prospect/{id}/prospectAdditionalFields",
    "POST /prospect/{id}/transfer", "POST /prospect/{id}/csat", "GET /contacts/selection/{id}",
    "GET /archiving-reasons",
    # 3.3 interactions
    "GET /prospects/interactions", "GET /prospect/{id}/interactions", "POST /prospect/{id}/interactions",
    "GET /prospect/{id}/interaction/{iid}", "PUT /prospect/{id}/interaction/{iid}",
    # 3.4 quotes
    "GET /prospects/quotes", "GET /prospect/{id}/quotes", "POST /prospect/{id}/quotes",
    "GET /prospect/{id}/quote/{qid}", "PUT /prospect/{id}/quote/{qid}",
    # 3.5 messaging
    "GET /messaging/channels", "GET /prospect/{id}/messaging/channels",
    "POST /prospect/{id}/messaging/{channel}/notification",
    "GET /prospect/{id}/messaging/{channel}/send-file",
    "POST /prospect/{id}/messaging/{channel}/send-file", "POST /prospect/{id}/messaging/{channel}",
    "GET /prospect/{id}/orders",
    # 3.6 act as user
    "GET /as-user/transfer", "POST /prospect/{id}/as-user/transfer", "POST /prospect/{id}/as-user/archive",
    "GET /as-user/archiving-reasons", "GET /as-user/labels", "POST /prospect/{id}/as-user/label",
    # 3.7 integration, agents, groups, notifications, custom apps
    "GET /integration", "GET /integrations", "GET /checkCredentials", "GET /agents",
    "GET /agents/{id}/is-working", "POST /agents/{id}/response-time", "GET /groups", "GET children",
    "GET /group/{id}", "GET /group/{id}/agents/online", "GET /groups/{id}/is-working",
    "POST /groups/{id}/response-time", "GET /industries", "GET /notifications/topics",
    "GET /notifications/subscriptions", "POST /notifications/subscriptions",
    "DELETE /notifications/subscriptions", "GET /notifications/subscription/{id}",
    "DELETE /notifications/subscription/{id}", "POST /apps/event", "POST /apps/notifications",
}  # fmt: skip


class Walk:
    """Calls on the sandbox, remembering which §3 endpoints were checked."""

    def __init__(self, sandbox, key: str) -> None:
        self.sandbox, self.key, self.done = sandbox, key, set()
        self.client = SalesClient(key, base_url=sandbox.api_url, budget=MemoryBudget(), timeout=(2, 10))

    def raw(self, endpoint: str, method: str, path: str, status: int = 200, **kwargs) -> requests.Response:
        params = {"api-key": self.key, **kwargs.pop("params", {})}
        response = requests.request(method, self.sandbox.api_url + path, params=params, timeout=10, **kwargs)
        assert response.status_code == status, (endpoint, response.status_code, response.text)
        self.done.add(endpoint)
        return response

    def typed(self, endpoint: str, call, *args, **kwargs):
        answer = call(*args, **kwargs)
        self.done.add(endpoint)
        return answer


LEAD = {"utmSource": "google", "firstName": "Conformance", "phones": ["+5511900001111"],
        "nin": [{"type": "CPF", "number": "12345678900"}],
        "product": {"make": "Honda", "sku": 6443034}}  # fmt: skip


def test_every_documented_endpoint_answers_in_the_documented_shape(sandbox):
    account = sandbox.create_account(act_as_user=True)
    walk = Walk(sandbox, account["apiKey"])
    client = walk.client
    group = account["groupId"]

    created = walk.typed("POST /lead/retail", client.process_lead, LEAD)
    prospect = created.id
    assert isinstance(created, m.ProspectCreated) and created.nin[0].number == "12345678900"
    for kind in ("vehicle", "insurance", "real-estate", "saving-plan"):
        walk.typed(f"POST /lead/{kind}", client.process_lead,
                   {"utmSource": "x", "emails": [f"{kind}@conformance.test"]}, kind)  # fmt: skip
    walk.typed("GET /leads/categories", client.lead_categories)
    walk.typed("GET /leads/defaults", client.lead_defaults)

    walk.typed("GET /prospects", client.list_prospects, limit=5)
    found = walk.typed("GET search", client.search_prospect, phone_number="+5511900001111")
    assert isinstance(found, m.ProspectSearchResult) and set(found) <= set(m.ProspectSearchResult.FIELDS)
    walk.typed("GET /prospect/{id}", client.get_prospect, prospect)
    walk.typed("PATCH /prospect/{id}", client.update_prospect, prospect, {"lastName": "Tested"})
    walk.typed("PATCH /prospect/{id}/additionalData", client.update_additional_data, prospect, {"finance": 1})
    walk.typed("GET /prospect/{id}/prospectAdditionalFields", client.prospect_additional_fields, prospect)
    walk.typed("POST /prospect/{id}/csat", client.send_csat, prospect, 5, "great")
    walk.typed("GET /contacts/selection/{id}", client.contact_selection, "a" * 24, limit=2)
    reasons = walk.raw("GET /archiving-reasons", "GET", "/archiving-reasons", params={"agent": "b" * 24})
    m.load_list(m.ArchivingReason, reasons.json())

    listed = walk.raw("GET /prospects/interactions", "GET", "/prospects/interactions", params={"limit": 5})
    m.load_list(m.Interaction, listed.json())
    [note] = walk.typed("POST /prospect/{id}/interactions", client.add_note, prospect, "conformance")
    walk.typed("GET /prospect/{id}/interactions", client.list_prospect_interactions, prospect)
    walk.typed("GET /prospect/{id}/interaction/{iid}", client.get_interaction, prospect, note.id)
    contact_writes(sandbox, account["apiKey"], prospect)
    inbound = client.list_prospect_interactions(prospect, via="whatsApp")[-1]
    walk.typed("PUT /prospect/{id}/interaction/{iid}", client.update_interaction, prospect, inbound.id,
               {"type": "message", "status": "read"})  # fmt: skip

    quote = walk.typed("POST /prospect/{id}/quotes", client.create_quote, prospect,
                       [{"quantity": 2, "price": 10.5, "concept": "Mats"}])  # fmt: skip
    assert quote.total == 21
    walk.typed("GET /prospects/quotes", client.list_quotes, status="pending")
    walk.typed("GET /prospect/{id}/quotes", client.prospect_quotes, prospect)
    walk.typed("GET /prospect/{id}/quote/{qid}", client.get_quote, prospect, quote.id)
    assert walk.typed("PUT /prospect/{id}/quote/{qid}", client.update_quote, prospect, quote.id,
                      "accepted").acceptedAt  # fmt: skip

    walk.typed("GET /messaging/channels", client.list_channels)
    walk.typed("GET /prospect/{id}/messaging/channels", client.list_prospect_channels, prospect)
    walk.typed("POST /prospect/{id}/messaging/{channel}/notification", client.send_template, prospect,
               "whatsapp", "welcome_lead")  # fmt: skip
    walk.typed("POST /prospect/{id}/messaging/{channel}", client.send_message, prospect, "whatsapp", "Oi")
    walk.typed("POST /prospect/{id}/messaging/{channel}/send-file", client.send_file, prospect, "whatsapp",
               "a.pdf", b"%PDF-1.4", "application/pdf")  # fmt: skip
    sent = walk.raw("GET /prospect/{id}/messaging/{channel}/send-file", "GET",
                    f"/prospect/{prospect}/messaging/whatsapp/send-file",
                    files={"file": ("b.pdf", b"%PDF-1.4", "application/pdf")})  # fmt: skip
    m.load_list(m.Interaction, sent.json())
    walk.typed("GET /prospect/{id}/orders", client.prospect_orders, prospect, 10)

    targets = walk.typed("GET /as-user/transfer", client.transfer_targets)
    walk.typed("GET /as-user/archiving-reasons", client.archiving_reasons)
    labels = walk.typed("GET /as-user/labels", client.labels)
    walk.typed("POST /prospect/{id}/as-user/label", client.set_label, prospect, labels[0].key)
    agent = targets.agents[0]
    walk.typed("POST /prospect/{id}/transfer", client.transfer, prospect, group=targets.groups[-1].id)
    walk.typed("POST /prospect/{id}/as-user/transfer", client.transfer_as_user, prospect, user=agent.id)
    archived = walk.typed("POST /prospect/{id}/as-user/archive", client.archive, prospect,
                          client.archiving_reasons()[0].reason, email="kept@conformance.test")  # fmt: skip
    assert archived.status == "archived" and "kept@conformance.test" in archived.emails

    integration = walk.typed("GET /integration", client.get_integration)
    assert isinstance(integration.user, str) and isinstance(integration.group, str)
    walk.typed("GET /integrations", client.list_integrations)
    assert walk.typed("GET /checkCredentials", client.check_credentials)
    walk.typed("GET /agents", client.list_agents, group)
    walk.typed("GET /agents/{id}/is-working", client.agent_is_working, agent.id)
    walk.raw("POST /agents/{id}/response-time", "POST", f"/agents/{agent.id}/response-time")
    walk.typed("GET /groups", client.list_groups)
    walk.typed("GET children", client.group_children)
    walk.typed("GET /group/{id}", client.get_group, group)
    online = walk.typed("GET /group/{id}/agents/online", client.online_agents, group, available=True)
    assert isinstance(online.officeHours, bool)
    walk.typed("GET /groups/{id}/is-working", client.group_is_working, group)
    walk.raw("POST /groups/{id}/response-time", "POST", f"/groups/{group}/response-time")
    walk.typed("GET /industries", client.list_industries)

    walk.typed("GET /notifications/topics", client.notification_topics)
    subscription = walk.typed("POST /notifications/subscriptions", client.create_subscription,
                              ["prospects", "quotes", "agents"], "http://127.0.0.1:9/hook")  # fmt: skip
    walk.typed("GET /notifications/subscriptions", client.list_subscriptions)
    walk.typed("GET /notifications/subscription/{id}", client.get_subscription, subscription.id)
    walk.typed("DELETE /notifications/subscription/{id}", client.delete_subscription, subscription.id)
    client.create_subscription(["prospects"], "http://127.0.0.1:9/hook")
    modified = walk.typed("DELETE /notifications/subscriptions", client.delete_subscriptions)
    assert modified.modified == 1

    event = {"event": "viewed", "type": "prospect", "prospectId": prospect,
             "data": {"apiKey": account["apiKey"], "details": {}}}  # fmt: skip
    walk.raw("POST /apps/event", "POST", "/apps/event", json=event)
    notification = {"type": "info", "target": {"user": [agent.id], "role": []}, "platforms": {"desktop": {}}}
    walk.raw("POST /apps/notifications", "POST", "/apps/notifications", json=notification)
    walk.typed("DELETE /prospect/{id}", client.delete_prospect, prospect)

    assert ENDPOINTS - walk.done == set()
    assert sandbox.state.violations == []


def test_additional_data_needs_its_scope(sandbox):
    narrow = sandbox.create_account(scopes=["prospects:read", "leads:write"])
    client = SalesClient(narrow["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    prospect = client.process_lead(LEAD)
    assert "additionalData" not in client.get_prospect(prospect.id)


def test_the_seeds_request_examples_are_accepted_verbatim(sandbox):
    """The lead (L67-L129, with ``nin`` objects and ``source``), template (L657-L661), transfer with both
    ``group`` and ``user`` (L622-L624), and archive (L894-L899) examples."""
    account = sandbox.create_account(act_as_user=True)
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    created = client.process_lead(example("lead_request"))
    assert created.nin == [{"type": "DNI", "number": "23345223"}] and created.leads[0].priority == 0
    state = sandbox.state.accounts[account["accountId"]]
    agent = next(a for a in state.agents.values() if a["active"])
    transfer = {**example("transfer_request"), "group": agent["groupId"], "user": agent["id"]}
    assert client.transfer_as_user(created.id, **transfer) == {"success": True}
    moved = client.get_prospect(created.id)
    assert (moved.agent.id, moved.groupId, moved.group) == (
        agent["id"], agent["groupId"], state.groups[agent["groupId"]]["displayName"])  # fmt: skip
    template = example("template_message_request")
    template["key"] = "welcome_lead"
    client.send_template(created.id, "whatsapp", template["key"], template["parameters"])
    archive = example("archive_request")
    archive["archivingReason"] = client.archiving_reasons()[0].reason
    archived = client.archive(created.id, archive.pop("archivingReason"), **archive)
    assert archived.status == "archived" and archive["phone"] in archived.phones  # the phone is kept
