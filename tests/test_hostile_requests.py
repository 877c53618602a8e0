"""Hostile requests against gunicorn (the Procfile's settings): each gets a 4xx in our envelope, and
no secret reaches the app's log or gunicorn's access log, however the request encodes it."""

from __future__ import annotations

import secrets
import socket
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.conftest import APP_ID, APP_SECRET
from zapp.models import Instance, WebhookEvent
from zapp.webhooks import tokens

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about HTTP, not SQL


def _install(url: str, creds: dict[str, str]) -> str:
    key = "key-" + secrets.token_hex(16)
    body = {"integration": {"apiKey": key, "enabled": True}}
    assert requests.post(f"{url}/lifecycle/install", json=body, headers=creds, timeout=10).status_code == 201
    return key


def _envelope_error(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    return response.json()["error"]["code"]


def _chunked_post(url: str, path: str, size: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``size`` bytes with Transfer-Encoding: chunked (no length announced); status and body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        connection.sendall((head + "Connection: close\r\n\r\n").encode())
        chunk = b"[" * 65536
        try:
            for _ in range(size // len(chunk)):
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer came early; read it
        answer = b""
        while data := connection.recv(65536):
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def test_every_hostile_input_is_a_4xx_in_our_envelope(gunicorn_server):
    server = gunicorn_server()
    url = server.url
    deep = b"[" * 5000 + b"]" * 5000
    json_type = {"Content-Type": "application/json"}
    creds = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}
    token = "t" * 43
    deep_object = b'{"a":' * 900 + b"1" + b"}" * 900

    def post(path: str, data: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(url + path, data=data, headers=headers, timeout=30)

    answers = {
        "deep install, no credentials": post("/lifecycle/install", deep, json_type),
        "deep install": post("/lifecycle/install", deep, {**json_type, **creds}),
        "deep webhook": post(f"/webhooks/{token}", deep, json_type),
        "deep object": post(f"/webhooks/{token}", deep_object, json_type),
    }
    expected = {
        "deep install, no credentials": (401, "bad_credentials"),
        "deep install": (400, "json_too_deep"),
        "deep webhook": (400, "json_too_deep"),
        "deep object": (400, "json_too_deep"),
    }
    for name, answer in answers.items():
        assert (answer.status_code, _envelope_error(answer)) == expected[name], name
    for path, headers in ((f"/webhooks/{token}", json_type), ("/lifecycle/install", {**json_type, **creds})):
        status, body = _chunked_post(url, path, 3 * 1024 * 1024, headers)
        assert status == 413 and b"body_too_large" in body, (path, body[:200])
    assert "Traceback" not in server.log() and '" 500 ' not in server.log()


@pytest.mark.parametrize("level", ["DEBUG", "WARNING"])  # with and without the app's request lines
def test_no_encoding_of_a_secret_reaches_either_log(gunicorn_server, level):
    server = gunicorn_server({"ZAPP_LOG_LEVEL": level})
    url = server.url
    creds = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}
    key = _install(url, creds)
    signature = secrets.token_hex(32)
    token = secrets.token_urlsafe(32)
    variants = [
        f"api-key={key}",
        f"api%2Dkey={key}",
        f"api%2dkey={key}",
        f"%61pi-key={key}",
        f"api%252Dkey={key}",  # twice encoded: not our parameter, still not logged
        f"API-KEY={key}",
        f"api_key={key}",
        f"x=api-key%3D{key}",
        f"x=1&api-key={key}&y=2",
        f"%73ignature={signature}",
        f"x=signature%3D{signature}",
        f"sig%6Eature%3D{signature}",
        f"SIGNATURE={signature}",
    ]
    for query in variants:
        answer = requests.get(f"{url}/lifecycle/settings?{query}", headers=creds, timeout=10)
        assert answer.status_code < 500 and answer.headers["Content-Type"].startswith("application/json")
    accepted = requests.get(f"{url}/lifecycle/settings?api%2Dkey={key}", headers=creds, timeout=10)
    assert accepted.status_code == 200  # decoded as Sales' client would: the same parameter
    for path in (
        f"/webhooks/{token}",
        f"/webhooks%2F{token}",
        f"/webhooks/{token}/",
        f"/webhooks/{token}?x=1",
    ):
        answer = requests.post(url + path, json={"topic": "prospects"}, timeout=10)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    log = server.log()
    assert "/lifecycle/settings" in log
    assert "/webhooks/<token>" in log if level == "DEBUG" else "/webhooks/[redacted]" in log
    assert '"GET /lifecycle/settings?api-key=[redacted]' in log  # the access line, decoded and masked
    for secret in (key, signature, token):
        assert secret not in log


def test_an_unknown_topic_or_type_is_acknowledged_and_stored_under_gunicorn(gunicorn_server, app, install):
    install()
    zapp = app.extensions["zapp"]
    material = tokens.new_token(zapp.vault)
    with zapp.database.transaction() as session:
        tokens.install_token(session.scalars(select(Instance)).one(), material)
    server = gunicorn_server()
    future = [
        {"topic": "deals", "type": "created", "deal": {"id": "d1"}},
        {"topic": "prospects", "type": "merged", "prospect": [{"id": "a" * 24}], "operationId": "op-1"},
    ]
    for body in future:
        answer = requests.post(f"{server.url}/webhooks/{material.token}", json=body, timeout=10)
        assert answer.status_code == 202, answer.text  # so Sales does not retry it 20 times
    with zapp.database.transaction() as session:
        stored = sorted((event.topic, event.kind) for event in session.scalars(select(WebhookEvent)))
    assert stored == [("deals", "created"), ("prospects", "merged")]
    assert material.token not in server.log()
