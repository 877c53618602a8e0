"""The client against the sandbox over real HTTP: errors, retries, redirects, ids, timeouts."""

from __future__ import annotations

import logging
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import contact_writes
from tests.sales.conftest import stats
from zapp.logs import JsonFormatter
from zapp.sales import (
    Conflict,
    Forbidden,
    InvalidId,
    InvalidInput,
    MemoryBudget,
    NotFound,
    RedirectRefused,
    SalesClient,
    Timeout,
    Unauthorized,
    Unavailable,
)
from zapp.sandbox.server import QuietHandler


def _faults(sandbox, **knobs):
    import requests

    assert requests.post(sandbox.base_url + "/_sandbox/faults", json=knobs, timeout=5).ok


def test_typed_errors_keep_sales_message(sandbox, client, account):
    with pytest.raises(NotFound) as missing:
        client.get_prospect("a" * 24)
    assert "Prospect not found" in str(missing.value) and missing.value.status == 404
    with pytest.raises(InvalidInput) as invalid:
        client.process_lead({"firstName": "no source"})
    assert "utmSource" in invalid.value.message
    stranger = SalesClient("wrong-key", base_url=sandbox.api_url)
    with pytest.raises(Unauthorized):
        stranger.get_integration()
    narrow = sandbox.create_account(scopes=["prospects:read"])
    with pytest.raises(Forbidden):
        SalesClient(narrow["apiKey"], base_url=sandbox.api_url).list_channels()
    no_user = sandbox.create_account(act_as_user=False)
    with pytest.raises(Conflict):
        SalesClient(no_user["apiKey"], base_url=sandbox.api_url).transfer_targets()


def test_a_bad_id_is_refused_before_any_request(sandbox, client):
    before = stats(sandbox)["totalRequests"]
    for bad in ("../integration", "a" * 23, "A" * 24, "a" * 24 + "?x=1", None):
        with pytest.raises(InvalidId):
            client.get_prospect(bad)
    with pytest.raises(InvalidId):
        client.send_message("a" * 24, "telegram", "hi")
    assert stats(sandbox)["totalRequests"] == before


def test_get_is_retried_on_5xx_and_post_is_not(sandbox, client):
    prospect = client.list_prospects(limit=1)[0]["id"]
    _faults(sandbox, errorRate=1.0)
    with pytest.raises(Unavailable):
        client.get_integration()
    assert stats(sandbox)["errorsInjected"] == 4  # the call and three retries
    with pytest.raises(Unavailable):
        client.add_note(prospect, "once")
    assert stats(sandbox)["errorsInjected"] == 5  # a POST is sent once


def test_timeouts_surface_as_typed_errors_without_the_key(sandbox, account):
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, timeout=(1, 0.3), retries=0)
    _faults(sandbox, latencyMs=1000)
    with pytest.raises(Timeout) as timed_out:
        client.get_integration()
    assert account["apiKey"] not in str(timed_out.value)
    assert timed_out.value.__cause__ is None and timed_out.value.__suppress_context__


class _Redirector:
    """Answers every request with a redirect to ``target``; a second server records what reaches it."""

    def __init__(self, target: str | None = None) -> None:
        self.hits: list[str] = []
        self.target = target
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        self.hits.append(request.full_path)
        if self.target:
            return Response("", status=302, headers={"Location": self.target + request.full_path})
        return Response("{}", mimetype="application/json")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_redirect_to_another_host_is_refused_without_sending_the_key():
    elsewhere = _Redirector()
    redirector = _Redirector(target=elsewhere.url)
    try:
        client = SalesClient("secret-key-123", base_url=redirector.url + "/api/v1")
        with pytest.raises(RedirectRefused) as refused:
            client.get_integration()
        assert "secret-key-123" not in str(refused.value)
        assert len(redirector.hits) == 1
        assert elsewhere.hits == []
    finally:
        elsewhere.stop()
        redirector.stop()


def test_no_api_key_in_any_formatted_log_record(sandbox, account, caplog):
    client = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget())
    with caplog.at_level(logging.DEBUG):
        client.get_integration()
        with pytest.raises(NotFound):
            client.get_prospect("b" * 24)
    assert any("api-key" in record.getMessage() for record in caplog.records)  # urllib3 logged the URL
    formatter = JsonFormatter()
    assert all(account["apiKey"] not in formatter.format(record) for record in caplog.records)


def test_messaging_calls_reach_the_sandbox(sandbox, client, account):
    import requests

    prospect = client.list_prospects(limit=1)[0]["id"]
    [interaction] = client.send_template(prospect, "whatsapp", "welcome_lead", {"prospect.firstName": "Ana"})
    assert interaction["prospectId"] == prospect
    with pytest.raises(InvalidInput):  # free text only inside an open conversation
        client.send_message(prospect, "whatsapp", "Oi!")
    contact_writes(sandbox, account["apiKey"], prospect)
    client.send_message(prospect, "whatsapp", "Oi!")
    client.send_file(prospect, "whatsapp", "quote.pdf", b"%PDF-1.4 test", "application/pdf")
    sent = requests.get(sandbox.base_url + "/_sandbox/messages", params={"prospect": prospect}, timeout=5)
    kinds = [m["kind"] for m in sent.json()]
    assert kinds == ["template", "text", "file"]
    groups = client.transfer_targets()["groups"]
    assert client.transfer_as_user(prospect, group=groups[-1]["id"]) == {"success": True}
    reason = client.archiving_reasons()[0]["reason"]
    assert client.archive(prospect, reason)["status"] == "archived"
