"""The Messages dialog against a real Sales sandbox: what it offers, what it sends, and what it refuses."""

from __future__ import annotations

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import sent_to
from tests.pages.conftest import HOSTILE_NAME, install_account, object_id, open_dialog, page_data, sign
from zapp.pages.actions import IDEMPOTENCY_HEADER, REPLAYED_HEADER
from zapp.pages.context import CONTEXT_HEADER
from zapp.pages.dialogs.messages_content import (
    conversation_windows,
    parameter_defaults,
    parameter_problem,
    shape_channels,
    sniff_file,
    template_parameters,
)
from zapp.sandbox.data import iso

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def quiet_prospect(data) -> dict:
    """A prospect with a phone and no interactions: its WhatsApp window is closed."""
    return next(p for p in data.prospects.values() if p["phones"] and not data.by_prospect.get(p["id"]))


def inbound_message(data, prospect: dict, hours_ago: float = 1.0) -> None:
    """The contact writes on WhatsApp ``hours_ago`` hours ago (an interaction the agent did not start)."""
    data.add_interaction(
        {
            "id": object_id(),
            "prospectId": prospect["id"],
            "groupId": prospect["groupId"],
            "createdAt": iso(time.time() - hours_ago * 3600),
            "proactive": False,
            "via": "whatsApp",
            "output": {"message": {"body": "Oi!", "via": "whatsApp"}},
        }
    )


def key() -> str:
    return uuid.uuid4().hex


class Dialog:
    """The Messages dialog opened for one prospect, as its script talks to the app."""

    def __init__(self, client, installed, prospect: dict) -> None:
        self.client = client
        self.prospect = prospect
        self.data = open_dialog(client, "messages", installed.group, prospect["id"])
        self.token = self.data["context"]

    def load(self):
        return self.client.get(self.data["urls"]["data"], headers={CONTEXT_HEADER: self.token})

    def send(self, what: str, body: dict | None = None, idempotency: str | None = None, **kwargs):
        headers = {CONTEXT_HEADER: self.token, IDEMPOTENCY_HEADER: idempotency or key()}
        if body is not None:
            kwargs["json"] = {"prospect": self.prospect["id"], "channel": "whatsapp", **body}
        return self.client.post(self.data["urls"][what], headers=headers, **kwargs)


@pytest.fixture
def dialog(sandbox_app, sales_account):
    installed, data = sales_account
    return Dialog(sandbox_app.test_client(), installed, quiet_prospect(data)), data


# -- what the dialog offers ---------------------------------------------------------------


def test_channels_come_with_their_templates_and_parameters_filled_from_the_prospect(dialog):
    opened, data = dialog
    opened.prospect["firstName"] = "  Ana \n Maria  "
    response = opened.load()
    assert response.status_code == 200, response.get_data(as_text=True)
    channels = {channel["channel"]: channel for channel in response.json["channels"]}
    assert set(channels) == {"whatsapp", "facebook"}
    welcome = next(t for t in channels["whatsapp"]["templates"] if t["key"] == "welcome_lead")
    values = {p["name"]: p["value"] for p in welcome["parameters"]}
    # Filled, and made fit for WhatsApp's rule: one line, single spaces.
    assert values["prospect.firstName"] == "Ana Maria"
    assert set(values) == {"prospect.firstName", "agent.firstName"}
    assert channels["whatsapp"]["windowOpenUntil"] is None
    assert {kind["type"] for kind in response.json["files"]} >= {"image/png", "application/pdf"}


def test_a_recent_message_from_the_contact_opens_the_window(dialog):
    opened, data = dialog
    inbound_message(data, opened.prospect, hours_ago=2)
    channels = {c["channel"]: c for c in opened.load().json["channels"]}
    assert channels["whatsapp"]["windowOpenUntil"] is not None
    assert channels["facebook"]["windowOpenUntil"] is None


def test_the_window_rule_itself():
    now = 1_000_000.0
    inbound = {"proactive": False, "via": "whatsApp", "createdAt": "1970-01-12T11:00:00Z"}  # 990,000 s
    assert conversation_windows([inbound], {}, now=now)["whatsapp"] == 990_000 + 24 * 3600
    assert conversation_windows([{**inbound, "proactive": True}], {}, now=now)["whatsapp"] is None
    assert conversation_windows([inbound], {}, now=now + 24 * 3600)["whatsapp"] is None
    # Sales' own due time, kept by the store from its notifications, counts too.
    assert conversation_windows([], {"facebook": int((now + 60) * 1000)}, now=now)["facebook"] == now + 60


@pytest.mark.parametrize(
    ("value", "fine"),
    [("Ana", True), ("a   b", True), ("a    b", False), ("a\nb", False), ("a\rb", False), ("a\tb", False),
     ("", False), ("   ", False), ("x" * 1000, True), ("x" * 1001, False)],
)  # fmt: skip
def test_whatsapps_parameter_rule(value, fine):
    assert (parameter_problem(value) is None) is fine


def test_placeholders_and_defaults():
    assert template_parameters("{{a.b}} and {{ c }} and {{a.b}}") == ["a.b", "c"]
    defaults = parameter_defaults({"firstName": HOSTILE_NAME, "leads": [{"product": {"model": "Onix"}}]})
    assert defaults["prospect.firstName"] == HOSTILE_NAME and defaults["product.model"] == "Onix"


@pytest.mark.parametrize(
    ("head", "kind"),
    [(PNG, "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"%PDF-1.7", "application/pdf"),
     (b"OggS\x00", "audio/ogg"), (b"ID3\x04", "audio/mpeg"), (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
     (b"<svg onload=alert(1)>", None), (b"MZ\x90\x00", None), (b"", None),
     (b"\xff\xfb\x90\x00", "audio/mpeg"),  # an MP3 frame without a tag
     (b"\xff\xf1\x50\x80", None),  # AAC in ADTS: not what WhatsApp takes as audio/mpeg
     (b"\x00\x00\x00\x18ftypheic", None), (b"\x00\x00\x00\x14ftypqt  ", None)],  # HEIC, QuickTime
)  # fmt: skip
def test_files_are_known_by_their_first_bytes(head, kind):
    assert sniff_file(head) == kind


def test_channels_of_an_odd_shape_from_sales_are_offered_without_templates():
    odd = [{"channel": "whatsapp", "templates": {"key": "welcome"}}, {"channel": "fax"}, "whatsapp"]
    assert shape_channels(odd, {}, {}) == [{"channel": "whatsapp", "windowOpenUntil": None, "templates": []}]


# -- sending --------------------------------------------------------------------------------


def test_a_template_is_sent_once_however_often_the_request_is_repeated(dialog, sandbox):
    opened, _data = dialog
    body = {"key": "follow_up", "parameters": {"prospect.firstName": "Ana"}}
    same = key()
    first = opened.send("template", body, same)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json == {"done": True, "action": "template", "interactions": 1}
    again = opened.send("template", body, same)
    assert again.status_code == 200 and again.json == first.json
    assert again.headers[REPLAYED_HEADER] == "true"
    messages = sent_to(sandbox, opened.prospect["id"])
    assert [m["body"] for m in messages] == ["Oi Ana, ainda tem interesse? Posso ajudar."]
    # A new intent (a new key) is a new message.
    assert opened.send("template", body).status_code == 200
    assert len(sent_to(sandbox, opened.prospect["id"])) == 2


def test_the_same_key_with_other_content_is_refused(dialog, sandbox):
    opened, _data = dialog
    same = key()
    assert (
        opened.send(
            "template", {"key": "follow_up", "parameters": {"prospect.firstName": "A"}}, same
        ).status_code
        == 200
    )
    other = opened.send("template", {"key": "follow_up", "parameters": {"prospect.firstName": "B"}}, same)
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    assert len(sent_to(sandbox, opened.prospect["id"])) == 1


@pytest.mark.parametrize("bad", [None, "short", "x" * 65, "has spaces in it!!"])
def test_every_action_needs_one_well_formed_idempotency_key(dialog, sandbox, bad):
    opened, _data = dialog
    headers = {CONTEXT_HEADER: opened.token}
    if bad is not None:
        headers[IDEMPOTENCY_HEADER] = bad
    body = {"prospect": opened.prospect["id"], "channel": "whatsapp", "key": "follow_up", "parameters": {}}
    response = opened.client.post(opened.data["urls"]["template"], headers=headers, json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_parameters"
    assert sent_to(sandbox, opened.prospect["id"]) == []


def test_whatsapps_rule_is_enforced_before_anything_is_sent(dialog, sandbox):
    opened, _data = dialog
    response = opened.send(
        "template", {"key": "follow_up", "parameters": {"prospect.firstName": "Ana\nMaria"}}
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "parameters.prospect.firstName": "Remove the line break: WhatsApp refuses it in a parameter."
    }
    assert sent_to(sandbox, opened.prospect["id"]) == []


def test_field_errors_are_localized(sales_account, sandbox_app, sandbox):
    installed, data = sales_account
    prospect = quiet_prospect(data)
    client = sandbox_app.test_client()
    page = open_dialog(client, "messages", installed.group, prospect["id"], lang="pt")
    response = client.post(
        page["urls"]["template"],
        headers={CONTEXT_HEADER: page["context"], IDEMPOTENCY_HEADER: key()},
        json={"prospect": prospect["id"], "channel": "whatsapp", "key": "k", "parameters": {"x": "a\tb"}},
    )
    assert response.status_code == 422
    assert (
        response.json["error"]["fields"]["parameters.x"]
        == "Remova a tabulação: o WhatsApp a recusa em um parâmetro."
    )


def test_sales_own_message_comes_back_when_it_refuses(dialog, sandbox):
    opened, _data = dialog
    response = opened.send("template", {"key": "no_such_template"})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "sales_refused" and "no_such_template" in error["sales"]
    assert sent_to(sandbox, opened.prospect["id"]) == []


def test_a_send_to_a_contact_sales_no_longer_has_says_so(dialog, sandbox):
    opened, _data = dialog
    prospect_id = opened.prospect["id"]
    account = next(a for a in sandbox.state.accounts.values() if prospect_id in a.prospects)
    account.remove_prospect(prospect_id)
    response = opened.send("template", {"key": "welcome_lead", "parameters": {"prospect.firstName": "Ana"}})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "prospect_not_found"


def test_a_refused_or_failed_send_frees_its_key_for_the_retry(dialog, sandbox):
    opened, _data = dialog
    same = key()
    body = {"key": "follow_up", "parameters": {"prospect.firstName": "Ana"}}
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"errorRate": 1.0}, timeout=5)
    try:
        down = opened.send("template", body, same)
    finally:
        requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"errorRate": 0}, timeout=5)
    assert down.status_code == 503 and down.json["error"]["code"] == "sales_unavailable"
    retried = opened.send("template", body, same)
    assert retried.status_code == 200 and REPLAYED_HEADER not in retried.headers
    assert len(sent_to(sandbox, opened.prospect["id"])) == 1


def test_a_send_whose_answer_is_lost_is_never_sent_again(dialog, sandbox):
    opened, _data = dialog
    same = key()
    body = {"key": "follow_up", "parameters": {"prospect.firstName": "Ana"}}
    requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"writeAnswerStatus": 504}, timeout=5)
    try:
        lost = opened.send("template", body, same)
        retried = opened.send("template", body, same)
        another_key = opened.send("template", body)  # the person chose to send again: a new intent
    finally:
        requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"writeAnswerStatus": 0}, timeout=5)
    assert lost.status_code == 409 and lost.json["error"]["code"] == "action_outcome_unknown"
    assert "Timeline" in lost.json["error"]["message"]
    assert retried.status_code == 409 and retried.json["error"]["code"] == "action_outcome_unknown"
    assert another_key.status_code == 409
    assert len(sent_to(sandbox, opened.prospect["id"])) == 2  # once per intent, never once per request


def test_free_text_needs_the_contacts_window_open(dialog, sandbox):
    opened, data = dialog
    closed = opened.send("text", {"content": "Tudo bem?"})
    assert closed.status_code == 409 and closed.json["error"]["code"] == "window_closed"
    assert "Send a template" in closed.json["error"]["message"]
    assert sent_to(sandbox, opened.prospect["id"]) == []
    inbound_message(data, opened.prospect, hours_ago=23)
    sent = opened.send("text", {"content": "Tudo bem?"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert [m["content"] for m in sent_to(sandbox, opened.prospect["id"])] == ["Tudo bem?"]


def test_a_file_is_sent_by_what_it_is_not_what_it_claims(dialog, sandbox):
    opened, data = dialog
    form = {"prospect": opened.prospect["id"], "channel": "whatsapp", "file": (_stream(PNG), "../photo.exe")}
    early = dict(form, file=(_stream(PNG), "a.png"))
    closed = opened.send("file", data=early, content_type="multipart/form-data")
    assert closed.status_code == 409 and closed.json["error"]["code"] == "window_closed"  # as free text is
    inbound_message(data, opened.prospect)
    response = opened.send("file", data=form, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    [message] = sent_to(sandbox, opened.prospect["id"])
    assert message["filename"] == "photo.png" and message["attachment"]["type"] == "image/png"


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"<html><script>alert(1)</script>", 422), (PNG + b"\x00" * (5 * 1024 * 1024), 422)],
)
def test_files_of_other_types_or_too_large_are_refused(dialog, sandbox, content, status):
    opened, _data = dialog
    form = {"prospect": opened.prospect["id"], "channel": "whatsapp", "file": (_stream(content), "a.png")}
    response = opened.send("file", data=form, content_type="multipart/form-data")
    assert response.status_code == status and response.json["error"]["code"] == "file_refused"
    assert "file" in response.json["error"]["fields"]
    assert sent_to(sandbox, opened.prospect["id"]) == []


def test_an_upload_past_every_limit_is_cut_off_with_413(dialog, sandbox):
    opened, _data = dialog
    big = PNG + b"\x00" * (17 * 1024 * 1024)
    form = {"prospect": opened.prospect["id"], "channel": "whatsapp", "file": (_stream(big), "a.png")}
    response = opened.send("file", data=form, content_type="multipart/form-data")
    assert response.status_code == 413
    assert sent_to(sandbox, opened.prospect["id"]) == []


def test_other_endpoints_keep_the_one_mebibyte_cap(dialog):
    opened, _data = dialog
    response = opened.send("text", {"content": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


# -- refusals ---------------------------------------------------------------------------------


def test_sends_without_a_token_or_with_another_pages_token_are_refused(dialog, sales_account, sandbox):
    opened, data = dialog
    installed, _ = sales_account
    body = {"prospect": opened.prospect["id"], "channel": "whatsapp", "key": "follow_up", "parameters": {}}
    url = opened.data["urls"]["template"]
    missing = opened.client.post(url, json=body, headers={IDEMPOTENCY_HEADER: key()})
    assert missing.status_code == 401
    timeline = open_dialog(opened.client, "timeline", installed.group, opened.prospect["id"])
    foreign = opened.client.post(
        url, json=body, headers={CONTEXT_HEADER: timeline["context"], IDEMPOTENCY_HEADER: key()}
    )
    assert foreign.status_code == 403 and foreign.json["error"]["code"] == "context_mismatch"
    other = next(p for p in data.prospects.values() if p["id"] != opened.prospect["id"])
    elsewhere = opened.client.post(
        url,
        json={**body, "prospect": other["id"]},
        headers={CONTEXT_HEADER: opened.token, IDEMPOTENCY_HEADER: key()},
    )
    assert elsewhere.status_code == 403
    assert sent_to(sandbox, opened.prospect["id"]) == [] and sent_to(sandbox, other["id"]) == []


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_a_cross_site_form_post_is_refused(dialog, sandbox, content_type):
    """What an HTML form on another site can send: no custom header, and only these body types."""
    opened, _data = dialog
    body = f"prospect={opened.prospect['id']}&channel=whatsapp&key=follow_up"
    response = opened.client.post(opened.data["urls"]["template"], data=body, content_type=content_type)
    assert response.status_code == 401
    with_token = opened.client.post(
        opened.data["urls"]["template"],
        data=body,
        content_type=content_type,
        headers={CONTEXT_HEADER: opened.token, IDEMPOTENCY_HEADER: key()},
    )
    assert with_token.status_code == 415
    assert sent_to(sandbox, opened.prospect["id"]) == []


def _stream(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)


def test_concurrent_requests_with_one_key_send_once_under_gunicorn(sandbox, make_instance, gunicorn_server):
    """Ten simultaneous sends with one key, across worker processes: one message, the rest told so."""
    installed, data = install_account(sandbox, make_instance, act_as_user=True)
    server = gunicorn_server({"ZAPP_SALES_API_URL": sandbox.api_url}, workers=3)
    prospect = quiet_prospect(data)
    target = f"/dialogs/messages?prospect={prospect['id']}&user={object_id()}&group={installed.group}&lang=en"
    opened = requests.get(server.url + sign(target, base=server.url), timeout=10)
    assert opened.status_code == 200, opened.text
    token = page_data(opened.text)["context"]
    same = key()
    body = {
        "prospect": prospect["id"],
        "channel": "whatsapp",
        "key": "follow_up",
        "parameters": {"prospect.firstName": "Ana"},
    }

    def send(_):
        headers = {CONTEXT_HEADER: token, IDEMPOTENCY_HEADER: same}
        return requests.post(
            f"{server.url}/dialogs/messages/template", json=body, headers=headers, timeout=30
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(10)))
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 409} and 200 in statuses, [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "action_in_progress" for a in answers if a.status_code == 409)
    assert len(sent_to(sandbox, prospect["id"])) == 1
    # Once the first is done, the same key answers with its outcome, still without sending.
    assert send(0).status_code == 200 and send(0).headers[REPLAYED_HEADER] == "true"
    assert len(sent_to(sandbox, prospect["id"])) == 1
