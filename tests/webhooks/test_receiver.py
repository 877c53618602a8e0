"""``POST /webhooks/<token>``: every refusal, stored before acknowledged, duplicates once."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from tests.conftest import free_port
from tests.webhooks.conftest import envelope
from zapp import create_app
from zapp.jobs import REDIS_CONNECT_TIMEOUT, REDIS_TIMEOUT
from zapp.webhooks.inbox import dedupe_key


@pytest.fixture
def prospect(wired):
    return wired.new_prospect()


def _error_code(response) -> str:
    assert response.is_json, response.get_data(as_text=True)
    return response.json["error"]["code"]


def test_an_event_is_stored_before_the_acknowledgement(wired, prospect):
    body = envelope(prospect)
    response = wired.app.test_client().post(wired.path, json=body)
    assert response.status_code == 202
    assert response.json == {"stored": True, "duplicate": False}
    [event] = wired.events()
    assert (event.topic, event.kind, event.payload) == ("prospects", "created", body)
    assert event.processed_at is None  # the ack only stores: processing is a job


def test_retries_of_an_event_are_acknowledged_and_stored_once(wired, prospect):
    client = wired.app.test_client()
    first = envelope(prospect)
    assert client.post(wired.path, json=first).status_code == 202
    for attempt in range(2, 6):
        retry = {**first, "attempts": attempt, "sent": f"2026-01-01T00:00:0{attempt}.000Z"}
        response = client.post(wired.path, json=retry)
        assert (response.status_code, response.json["duplicate"]) == (200, True)
    assert len(wired.events()) == 1


def test_without_an_operation_id_the_envelope_minus_delivery_fields_identifies_the_event(wired, prospect):
    client = wired.app.test_client()
    body = envelope(prospect, operationId=None)
    del body["operationId"]
    retry = {**body, "attempts": 7, "sent": "2030-01-01T00:00:00.000Z", "received": "2030-01-01T00:00:00Z"}
    other = {**body, "updatedAt": "2030-01-01T00:00:00.000Z"}
    assert dedupe_key(body) == dedupe_key(retry) != dedupe_key(other)
    assert [client.post(wired.path, json=b).status_code for b in (body, retry, other)] == [202, 200, 202]
    assert len(wired.events()) == 2


def test_one_operation_on_two_topics_is_two_events(wired, prospect):
    operation = "op-shared-1"
    created = envelope(prospect, operationId=operation)
    interaction = envelope(prospect, topic="interactions", operationId=operation)
    assert dedupe_key(created) != dedupe_key(interaction)
    client = wired.app.test_client()
    assert [client.post(wired.path, json=body).status_code for body in (created, interaction)] == [202, 202]
    assert sorted(event.topic for event in wired.events()) == ["interactions", "prospects"]


@pytest.mark.parametrize(
    "token", ["x" * 43, "short", "has.dots.in.it-not-a-token-but-long-enough", "%2e%2e" + "a" * 30]
)
def test_unknown_token_is_404(wired, prospect, token):
    response = wired.app.test_client().post(f"/webhooks/{token}", json=envelope(prospect))
    assert response.status_code == 404 and _error_code(response) in ("unknown_webhook", "not_found")
    assert wired.events() == []


def test_deleted_instance_is_404(wired, prospect):
    wired.zapp.lifecycle.delete(wired.api_key)
    response = wired.app.test_client().post(wired.path, json=envelope(prospect))
    assert response.status_code == 404 and _error_code(response) == "unknown_webhook"


def test_not_json_is_415(wired, prospect):
    response = wired.app.test_client().post(
        wired.path, data=json.dumps(envelope(prospect)), content_type="text/plain"
    )
    assert response.status_code == 415 and _error_code(response) == "unsupported_media_type"


def test_body_over_one_mebibyte_is_413(wired, prospect):
    body = envelope(prospect, padding="x" * (1024 * 1024))
    response = wired.app.test_client().post(wired.path, json=body)
    assert response.status_code == 413 and _error_code(response) == "body_too_large"
    assert wired.events() == []


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b'{"topic": NaN}', "malformed_json"),
        (b'{"hello": "world"}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created"}', "not_an_envelope"),
        (b'{"topic": "", "type": "created", "prospect": []}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created", "prospect": "abc"}', "not_an_envelope"),
        (b"[" * 5000 + b"]" * 5000, "json_too_deep"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "json_too_deep"),
        (b'{"topic": "prospects", "type": "created", "prospect": [], "attempts": "1"}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created", "prospect": [{"name": "no id"}]}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created", "prospect": [{"id": ""}]}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created", "prospect": [{"id": 7}]}', "not_an_envelope"),
        (b'{"topic": "prospects", "type": "created", "prospect": ["p1"]}', "not_an_envelope"),
    ],
)
def test_malformed_or_not_an_envelope_is_400_with_a_reason(wired, data, code):
    response = wired.app.test_client().post(wired.path, data=data, content_type="application/json")
    assert response.status_code == 400 and _error_code(response) == code
    assert response.json["error"]["message"]
    assert wired.events() == []


def test_a_bad_prospect_is_named_by_its_place_in_the_list(wired):
    body = {"topic": "prospects", "type": "updated", "prospect": [{"id": "p1"}, {"id": "x" * 65}, 3]}
    response = wired.app.test_client().post(wired.path, json=body)
    assert response.status_code == 400
    fields = response.json["error"]["fields"]["prospect"]
    assert set(fields) == {"1", "2"}  # the first is fine
    assert "id" in fields["1"] and fields["2"] == ["Not a valid object."]


@pytest.mark.parametrize(("topic", "kind"), [("deals", "created"), ("prospects", "merged"), ("quotes", "x")])
def test_an_unknown_topic_or_type_is_stored_acknowledged_then_ignored(wired, prospect, topic, kind, caplog):
    body = envelope(prospect, topic=topic, kind=kind)
    if topic == "deals":
        del body["prospect"]
        body["deal"] = {"id": "d1", "stage": "won"}
    response = wired.app.test_client().post(wired.path, json=body)
    assert response.status_code == 202, response.get_data(as_text=True)  # so Sales does not retry it
    [event] = wired.events()
    assert (event.topic, event.kind, event.payload) == (topic, kind, body)
    with caplog.at_level(logging.WARNING):
        assert wired.zapp.events.process(event.id).value == "ignored"
    [event] = wired.events()
    assert event.processed_at is not None and event.last_error.startswith("ignored: unknown topic")
    assert any("ignored: unknown topic" in record.getMessage() for record in caplog.records)
    assert wired.zapp.events.process(event.id).value == "already"


@pytest.mark.parametrize("suffix", ["/", "//", "/extra"])
def test_no_redirect_for_a_trailing_slash(wired, prospect, suffix):
    response = wired.app.test_client().post(wired.path + suffix, json=envelope(prospect))
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_not_a_redirect(wired, method):
    response = wired.app.test_client().open(wired.path, method=method)
    assert response.status_code == 405 and response.is_json


@pytest.mark.parametrize("path", ["/webhooks", "/webhooks/"])
def test_no_token_is_404(wired, path):
    response = wired.app.test_client().post(path, json={})
    assert response.status_code == 404 and response.is_json


def test_database_unreachable_is_503_with_retry_after(app_env, prospect, wired):
    """A real refused connection: the app's database URL points at a port nothing listens on."""
    port = free_port()
    down = create_app({**app_env, "ZAPP_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/x"})
    response = down.test_client().post(wired.path, json=envelope(prospect))
    assert response.status_code == 503 and _error_code(response) == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_the_token_never_reaches_the_log(wired, prospect, caplog):
    with caplog.at_level(logging.INFO):
        wired.app.test_client().post(wired.path, json=envelope(prospect))
        wired.app.test_client().post(wired.path + "/", json=envelope(prospect))
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_zapp", False)]
    lines = [handler.format(record) for record in caplog.records if handler.filter(record)]
    assert sum("/webhooks/" in line for line in lines) >= 2  # both requests were logged...
    assert all(wired.token not in line for line in lines)  # ...as the app's log handler writes them


def test_an_unresponsive_job_queue_does_not_hold_the_acknowledgement(app_env, prospect, wired):
    """Redis that accepts connections and never answers: the event is stored, the sweep queues it."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        redis_url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        hung = create_app(
            {**app_env, "ZAPP_REDIS_URL": redis_url, "ZAPP_SALES_API_URL": wired.sandbox.api_url}
        )
        started = time.monotonic()
        response = hung.test_client().post(wired.path, json=envelope(prospect))
        assert response.status_code == 202, response.get_data(as_text=True)
        assert time.monotonic() - started < REDIS_CONNECT_TIMEOUT + REDIS_TIMEOUT + 5
        assert len(wired.events()) == 1
    finally:
        silent.close()


def test_the_webhook_is_documented(wired):
    spec = wired.app.test_client().get("/openapi.json").json
    operation = spec["paths"]["/webhooks/{token}"]["post"]
    assert {"200", "202", "400", "404", "413", "415", "503"} <= set(operation["responses"])
