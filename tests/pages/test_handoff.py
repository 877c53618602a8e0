"""The Handoff dialog against a real Sales sandbox: transfer, archive, label, note, and act-as-user."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from tests.pages.conftest import install_account, object_id, open_dialog
from zapp.models import Instance
from zapp.pages.actions import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from zapp.pages.context import CONTEXT_HEADER
from zapp.sandbox.state import ALL_SCOPES


class Handoff:
    def __init__(self, client, installed, data) -> None:
        self.client = client
        self.data = data
        self.prospect = next(p for p in data.prospects.values() if p["status"] != "archived")
        self.page = open_dialog(client, "handoff", installed.group, self.prospect["id"])

    def load(self):
        return self.client.get(self.page["urls"]["data"], headers={CONTEXT_HEADER: self.page["context"]})

    def act(self, what: str, idempotency: str | None = None, **fields):
        headers = {CONTEXT_HEADER: self.page["context"], IDEMPOTENCY_HEADER: idempotency or uuid.uuid4().hex}
        return self.client.post(
            self.page["urls"][what], json={"prospect": self.prospect["id"], **fields}, headers=headers
        )

    def interactions(self, kind: str) -> list[dict]:
        """The contact's transfers (an output naming the target) or notes (no ``via``: the seed's
        ``via`` values name no note)."""
        items = [self.data.interactions[i] for i in self.data.by_prospect.get(self.prospect["id"], [])]
        if kind == "transfer":
            return [item for item in items if "transferedToGroupId" in (item.get("output") or {})]
        return [item for item in items if "via" not in item and "comment" in (item.get("output") or {})]


@pytest.fixture
def handoff(sandbox_app, sales_account):
    installed, data = sales_account
    return Handoff(sandbox_app.test_client(), installed, data)


@pytest.fixture
def handoff_without_user(sandbox, sandbox_app, make_instance):
    installed, data = install_account(sandbox, make_instance, act_as_user=False)
    return Handoff(sandbox_app.test_client(), installed, data)


def test_the_dialog_offers_sales_targets_reasons_and_labels(handoff):
    response = handoff.load()
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["actAsUser"] is True and body["actAsUserMessage"] is None
    active = {a["id"] for a in handoff.data.agents.values() if a["active"]}
    assert {agent["id"] for agent in body["agents"]} <= active and body["agents"]
    assert body["groups"] and body["reasons"] and body["labels"]
    assert all(set(reason) == {"value", "name"} for reason in body["reasons"])


def test_a_transfer_to_an_offered_agent_happens_once(handoff):
    agent = handoff.load().json["agents"][-1]
    same = uuid.uuid4().hex
    first = handoff.act("transfer", same, agent=agent["id"])
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json == {"done": True, "action": "transfer"}
    again = handoff.act("transfer", same, agent=agent["id"])
    assert again.status_code == 200 and again.headers[REPLAYED_HEADER] == "true"
    assert handoff.prospect["agent"]["id"] == agent["id"]
    assert len(handoff.interactions("transfer")) == 1


def test_a_transfer_to_a_group_moves_the_contact(handoff):
    group = handoff.load().json["groups"][0]
    response = handoff.act("transfer", group=group["id"])
    assert response.status_code == 200
    assert handoff.prospect["groupId"] == group["id"] and handoff.prospect.get("agent") is None
    assert handoff.prospect["group"] == group["name"]  # the group's name, never a stale one


@pytest.mark.parametrize("fields", [{"agent": "f" * 24}, {}, {"agent": "a" * 24, "group": "b" * 24}])
def test_a_transfer_target_sales_does_not_offer_is_refused_before_any_transfer(handoff, fields):
    before = dict(handoff.prospect)
    response = handoff.act("transfer", **fields)
    assert response.status_code == 422
    assert "target" in response.json["error"]["fields"]
    assert handoff.prospect["groupId"] == before["groupId"] and handoff.interactions("transfer") == []


def test_archiving_uses_one_of_sales_reasons_and_shows_sales_message_otherwise(handoff):
    refused = handoff.act("archive", reason="becauseISaidSo")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "sales_refused"
    assert "archivingReason must be one of" in refused.json["error"]["sales"]
    assert handoff.prospect["status"] != "archived"
    reason = handoff.load().json["reasons"][0]["value"]
    archived = handoff.act("archive", reason=reason)
    assert archived.status_code == 200
    assert (handoff.prospect["status"], handoff.prospect["archivingReason"]) == ("archived", reason)


def test_a_label_is_set(handoff):
    label = handoff.load().json["labels"][-1]["value"]
    assert handoff.act("label", label=label).status_code == 200
    assert handoff.prospect["label"] == label


def test_a_note_is_added_to_the_contacts_history(handoff):
    response = handoff.act("note", content="Cliente prefere contato à tarde </script>")
    assert response.status_code == 200
    [note] = handoff.interactions("note")
    assert note["output"]["comment"] == "Cliente prefere contato à tarde </script>"


@pytest.mark.parametrize(
    ("what", "fields"),
    [("note", {"content": ""}), ("note", {"content": "x" * 2001}), ("archive", {}), ("label", {"label": 5})],
)
def test_malformed_actions_name_the_field(handoff, what, fields):
    response = handoff.act(what, **fields)
    assert response.status_code == 422 and response.json["error"]["fields"]


def test_without_an_act_as_user_user_the_dialog_says_how_to_fix_it(handoff_without_user):
    handoff = handoff_without_user
    body = handoff.load().json
    assert body["actAsUser"] is False
    assert "act as user" in body["actAsUserMessage"] and body["agents"] == []
    response = handoff.act("archive", reason="noInterest")
    assert response.status_code == 409 and response.json["error"]["code"] == "act_as_user_missing"
    assert "An administrator can choose one" in response.json["error"]["message"]
    # Notes need no user to act as.
    assert handoff.act("note", content="Liguei, sem resposta").status_code == 200


def test_a_key_without_the_act_as_user_scope_still_gets_the_dialog_and_its_notes(
    sandbox, sandbox_app, make_instance
):
    scopes = [scope for scope in ALL_SCOPES if scope != "integration:act-as-user"]
    installed, data = install_account(sandbox, make_instance, act_as_user=True, scopes=scopes)
    handoff = Handoff(sandbox_app.test_client(), installed, data)
    response = handoff.load()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["actAsUser"] is False and "permission" in response.json["actAsUserMessage"]
    assert handoff.act("note", content="Liguei, sem resposta").status_code == 200


def test_the_dialogs_token_cannot_act_on_another_prospect(handoff):
    forged = handoff.client.post(
        handoff.page["urls"]["note"],
        json={"prospect": object_id(), "content": "x"},
        headers={CONTEXT_HEADER: handoff.page["context"], IDEMPOTENCY_HEADER: uuid.uuid4().hex},
    )
    assert forged.status_code == 403


# -- who is there: Sales' online agents and office hours --------------------------------------------


def transfers_to(handoff, agent_id: str) -> list[dict]:
    """The transfers to ``agent_id`` that Sales recorded in the contact's history."""
    history = (handoff.data.interactions[i] for i in handoff.data.by_prospect.get(handoff.prospect["id"], []))
    return [i for i in history if (i.get("output") or {}).get("transferedToAgentId") == agent_id]


def offline(handoff, agent_id: str) -> None:
    """Take an agent offline in the sandbox: still a transfer target, no longer among the online."""
    handoff.data.agents[agent_id]["online"] = False


def test_online_agents_come_first_and_office_hours_are_told(handoff):
    agents = handoff.load().json["agents"]
    offline(handoff, agents[0]["id"])
    body = handoff.load().json
    assert body["officeHours"] is True
    online = [agent["online"] for agent in body["agents"]]
    assert online == sorted(online, reverse=True) and online[-1] is False and online[0] is True
    assert body["agents"][-1]["id"] == agents[0]["id"]
    names = [agent["name"].casefold() for agent in body["agents"] if agent["online"]]
    assert names == sorted(names)  # within each part, still in name order


def test_a_transfer_to_an_offline_agent_needs_confirmation_then_happens_once(handoff):
    agent = handoff.load().json["agents"][0]
    offline(handoff, agent["id"])
    same = uuid.uuid4().hex
    refused = handoff.act("transfer", same, agent=agent["id"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "agent_offline"
    assert transfers_to(handoff, agent["id"]) == []
    # The refusal sent nothing, so the same intent, now confirmed, goes through once.
    confirmed = handoff.act("transfer", same, agent=agent["id"], confirmOffline=True)
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    again = handoff.act("transfer", same, agent=agent["id"], confirmOffline=True)
    assert again.headers[REPLAYED_HEADER] == "true"
    assert handoff.prospect["agent"]["id"] == agent["id"] and len(transfers_to(handoff, agent["id"])) == 1


def test_an_online_agent_needs_no_confirmation(handoff):
    agent = handoff.load().json["agents"][0]
    assert agent["online"] is True
    assert handoff.act("transfer", agent=agent["id"]).status_code == 200


def test_when_sales_cannot_tell_who_is_online_the_dialog_still_works_and_says_so(handoff, sandbox_app):
    zapp = sandbox_app.extensions["zapp"]
    with zapp.database.transaction() as session:  # a group Sales does not know: its online agents are a 404
        session.execute(update(Instance).values(sales_group_id=object_id()))
    body = handoff.load().json
    assert body["officeHours"] is None and {agent["online"] for agent in body["agents"]} == {None}
    assert handoff.act("transfer", agent=body["agents"][0]["id"]).status_code == 200  # nothing to confirm
