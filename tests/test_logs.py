"""No secret reaches a log line: application log, gunicorn's access and error logs."""

from __future__ import annotations

import logging
import secrets

import requests

from tests.conftest import APP_ID
from zapp.logs import REDACTED, Redactor


def test_a_full_lifecycle_at_debug_leaves_no_canary_in_any_log(gunicorn_server, encryption_keys):
    app_secret = "canary-app-secret-" + secrets.token_hex(8)
    signing_key = "canary-signing-key-" + secrets.token_hex(8)
    key = "canary-api-key-" + secrets.token_hex(8)
    new_key = "canary-new-key-" + secrets.token_hex(8)
    server = gunicorn_server(
        {
            "ZAPP_LOG_LEVEL": "DEBUG",
            "ZAPP_APP_SECRET": app_secret,
            "ZAPP_SIGNING_KEY": signing_key,
        }
    )
    creds = {"X-App-Id": APP_ID, "X-App-Secret": app_secret}
    url = server.url
    calls = [
        requests.post(
            f"{url}/lifecycle/install",
            json={"appId": APP_ID, "appSecret": app_secret, "integration": {"apiKey": key, "enabled": True}},
            timeout=30,
        ),
        requests.get(f"{url}/lifecycle/settings-form?api-key={key}&lang=es", headers=creds, timeout=30),
        requests.put(
            f"{url}/lifecycle/settings?api-key={key}",
            json={"speedToLeadTargetMinutes": 10},
            headers=creds,
            timeout=30,
        ),
        requests.put(
            f"{url}/lifecycle/settings?api-key={key}",
            data="{oops",
            headers={**creds, "Content-Type": "application/json"},
            timeout=30,
        ),
        requests.put(
            f"{url}/lifecycle/enabled",
            json={"enabled": False},
            headers={**creds, "X-Api-Key": key},
            timeout=30,
        ),
        requests.get(
            f"{url}/lifecycle/settings?api-key={key}",
            headers={**creds, "X-App-Secret": app_secret + "x"},
            timeout=30,
        ),
        requests.put(
            f"{url}/lifecycle/api-key?api-key={key}", json={"newApiKey": new_key}, headers=creds, timeout=30
        ),
        requests.get(f"{url}/lifecycle/settings?api-key={key}", headers=creds, timeout=30),
        requests.delete(f"{url}/lifecycle?api-key={new_key}", headers=creds, timeout=30),
    ]
    assert [c.status_code for c in calls] == [201, 200, 200, 400, 200, 401, 200, 404, 200]
    server.process.terminate()
    server.process.wait(timeout=20)
    log = server.log()
    assert "/lifecycle/settings-form?api-key=[redacted]&lang=es" in log  # the access log is there
    assert '"level": "DEBUG"' in log  # and debug lines were written
    for canary in (app_secret, signing_key, key, new_key, *encryption_keys):
        assert canary not in log


def test_redactor_masks_names_and_known_values():
    redact = Redactor(["s3cr3t-value"])
    cases = {
        "GET /x?api-key=abc123&lang=pt": f"GET /x?api-key={REDACTED}&lang=pt",
        '{"newApiKey": "k-1", "other": 1}': f'{{"newApiKey": {REDACTED}, "other": 1}}',
        "X-App-Secret: hunter2": f"X-App-Secret: {REDACTED}",
        "POST /webhooks/AbCdEf0123456789": f"POST /webhooks/{REDACTED}",
        "/dialogs/messages?group=1&signature=deadbeef": f"/dialogs/messages?group=1&signature={REDACTED}",
        "value s3cr3t-value inline": f"value {REDACTED} inline",
    }
    for raw, expected in cases.items():
        assert redact(raw) == expected


def test_exception_text_is_redacted_too(caplog, app):
    logger = logging.getLogger("zapp.test")
    from zapp.logs import JsonFormatter

    try:
        raise ValueError("failed calling https://sales/api?api-key=leaky-key")
    except ValueError:
        record = logger.makeRecord(
            "zapp.test", logging.ERROR, __file__, 1, "boom", (), __import__("sys").exc_info()
        )
    text = JsonFormatter().format(record)
    assert "leaky-key" not in text
    assert REDACTED in text
