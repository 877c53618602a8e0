"""The lifecycle endpoints, as Sales calls them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from zapp.models import Instance, RetiredKey


def _instances(app) -> list[Instance]:
    with app.extensions["zapp"].database.transaction() as session:
        return list(session.scalars(select(Instance).order_by(Instance.id)))


def test_install_creates_then_reinstall_answers_200(client, creds, app):
    body = {"integration": {"apiKey": "key-abc", "enabled": True}}
    first = client.post("/lifecycle/install", json=body, headers=creds)
    again = client.post("/lifecycle/install", json=body, headers=creds)
    assert (first.status_code, first.json) == (201, {"success": True})
    assert (again.status_code, again.json) == (200, {"success": True})
    [instance] = _instances(app)
    assert instance.state == "enabled"


def test_install_accepts_credentials_in_body(client):
    from tests.conftest import APP_ID, APP_SECRET

    body = {"appId": APP_ID, "appSecret": APP_SECRET, "integration": {"apiKey": "k-body", "enabled": False}}
    response = client.post("/lifecycle/install", json=body)
    assert response.status_code == 201
    assert client.get("/lifecycle/settings?api-key=k-body").status_code == 401  # headers needed elsewhere


def test_install_refuses_body_credentials_that_contradict_headers(client, creds, app):
    body = {"appId": "someone-else", "appSecret": "nope-nope", "integration": {"apiKey": "k1"}}
    response = client.post("/lifecycle/install", json=body, headers=creds)
    assert response.status_code == 401
    assert _instances(app) == []


def test_install_without_enabled_is_installed_state(install, app):
    install(enabled=None)
    assert [i.state for i in _instances(app)] == ["installed"]


def test_reinstall_updates_enabled_flag(client, creds, app):
    client.post("/lifecycle/install", json={"integration": {"apiKey": "k2", "enabled": True}}, headers=creds)
    client.post("/lifecycle/install", json={"integration": {"apiKey": "k2", "enabled": False}}, headers=creds)
    assert [i.state for i in _instances(app)] == ["disabled"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "integration"),
        ({"integration": {}}, "integration"),
        ({"integration": {"apiKey": ""}}, "integration"),
        ({"integration": {"apiKey": 42}}, "integration"),
        ({"integration": {"apiKey": "has space"}}, "integration"),
        ({"integration": {"apiKey": "k", "enabled": "yes"}}, "integration"),
        ({"integration": "k"}, "integration"),
    ],
)
def test_install_with_invalid_fields_answers_422_naming_them(client, creds, app, body, field):
    response = client.post("/lifecycle/install", json=body, headers=creds)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert _instances(app) == []


def test_settings_form_is_localized(client, creds, install):
    key = install()
    forms = {
        lang: client.get(f"/lifecycle/settings-form?api-key={key}&lang={lang}", headers=creds).json
        for lang in ("en", "es", "pt", "pt-BR", "xx")
    }
    assert forms["en"]["title"] == "Lead speed toolkit"
    assert forms["pt"]["title"] == "Kit de velocidade de leads"
    assert forms["es"]["title"] == "Kit de velocidad de leads"
    assert forms["pt-BR"] == forms["pt"]
    assert forms["xx"] == forms["en"]
    names = [i["name"] for section in forms["en"]["sections"] for i in section["inputs"]]
    assert names == [
        "automaticReplyEnabled",
        "automaticReplyChannel",
        "automaticReplyTemplate",
        "speedToLeadTargetMinutes",
        "historyImportDays",
    ]


def test_settings_have_defaults_and_merge(client, creds, install):
    key = install()
    defaults = client.get(f"/lifecycle/settings?api-key={key}", headers=creds).json
    assert defaults == {
        "automaticReplyEnabled": False,
        "automaticReplyChannel": "whatsapp",
        "automaticReplyTemplate": "",
        "speedToLeadTargetMinutes": 5,
        "historyImportDays": 90,
    }
    merged = client.put(
        f"/lifecycle/settings?api-key={key}",
        json={"automaticReplyEnabled": True, "automaticReplyTemplate": "welcome_lead"},
        headers=creds,
    )
    assert merged.status_code == 200
    assert merged.json == {
        **defaults,
        "automaticReplyEnabled": True,
        "automaticReplyTemplate": "welcome_lead",
    }
    merged = client.put(f"/lifecycle/settings?api-key={key}", json={"historyImportDays": 30}, headers=creds)
    assert merged.json["automaticReplyTemplate"] == "welcome_lead" and merged.json["historyImportDays"] == 30
    assert client.get(f"/lifecycle/settings?api-key={key}", headers=creds).json == merged.json


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"automaticReplyEnabled": "true"}, "automaticReplyEnabled"),
        ({"speedToLeadTargetMinutes": 0}, "speedToLeadTargetMinutes"),
        ({"speedToLeadTargetMinutes": 5.5}, "speedToLeadTargetMinutes"),
        ({"speedToLeadTargetMinutes": True}, "speedToLeadTargetMinutes"),
        ({"historyImportDays": 366}, "historyImportDays"),
        ({"automaticReplyChannel": "telegram"}, "automaticReplyChannel"),
        ({"automaticReplyTemplate": "bad key!"}, "automaticReplyTemplate"),
        ({"unknownSetting": 1}, "unknownSetting"),
        ({"automaticReplyEnabled": True}, "automaticReplyTemplate"),  # the form's own rule
    ],
)
def test_a_refused_settings_put_changes_nothing(client, creds, install, changes, field):
    key = install()
    before = client.get(f"/lifecycle/settings?api-key={key}", headers=creds).json
    response = client.put(
        f"/lifecycle/settings?api-key={key}",
        json={"historyImportDays": 30, **changes},
        headers=creds,
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert client.get(f"/lifecycle/settings?api-key={key}", headers=creds).json == before


def test_enable_and_disable_are_idempotent(client, creds, install, app):
    key = install()
    for enabled, state in ((False, "disabled"), (False, "disabled"), (True, "enabled"), (True, "enabled")):
        response = client.put(f"/lifecycle/enabled?api-key={key}", json={"enabled": enabled}, headers=creds)
        assert response.status_code == 200
        assert [i.state for i in _instances(app)] == [state]


def test_old_key_is_dead_after_refresh(client, creds, install, app):
    old = install()
    response = client.put(f"/lifecycle/api-key?api-key={old}", json={"newApiKey": "fresh-key"}, headers=creds)
    assert response.status_code == 200
    for path in ("/lifecycle/settings", "/lifecycle/settings-form"):
        assert client.get(f"{path}?api-key={old}", headers=creds).status_code == 404
    assert (
        client.put(f"/lifecycle/enabled?api-key={old}", json={"enabled": False}, headers=creds).status_code
        == 404
    )
    assert client.get("/lifecycle/settings?api-key=fresh-key", headers=creds).status_code == 200
    [instance] = _instances(app)
    assert app.extensions["zapp"].vault.decrypt(instance.key_ciphertext) == "fresh-key"


def test_a_retried_refresh_succeeds_and_another_does_not(client, creds, install):
    old = install()
    body = {"newApiKey": "fresh-key"}
    assert client.put(f"/lifecycle/api-key?api-key={old}", json=body, headers=creds).status_code == 200
    assert client.put(f"/lifecycle/api-key?api-key={old}", json=body, headers=creds).status_code == 200
    other = {"newApiKey": "another-key"}
    assert client.put(f"/lifecycle/api-key?api-key={old}", json=other, headers=creds).status_code == 404


def test_delete_destroys_key_material_and_keeps_the_row(client, creds, install, app):
    key = install()
    response = client.delete(f"/lifecycle?api-key={key}", headers=creds)
    assert (response.status_code, response.json) == (200, {"success": True})
    [instance] = _instances(app)
    assert (instance.state, instance.key_ciphertext, instance.key_index) == ("deleted", None, None)
    assert instance.deleted_at is not None
    assert client.get(f"/lifecycle/settings?api-key={key}", headers=creds).status_code == 404
    assert client.delete(f"/lifecycle?api-key={key}", headers=creds).status_code == 200  # retried delete


def test_install_after_delete_starts_a_new_instance(client, creds, install, app):
    key = install()
    client.delete(f"/lifecycle?api-key={key}", headers=creds)
    response = client.post("/lifecycle/install", json={"integration": {"apiKey": key}}, headers=creds)
    assert response.status_code == 201
    assert [i.state for i in _instances(app)] == ["deleted", "installed"]
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalars(select(RetiredKey)).all() == []


def test_unknown_key_answers_404(client, creds):
    response = client.get("/lifecycle/settings?api-key=never-installed", headers=creds)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_instance"


@pytest.mark.parametrize(
    "query",
    ["", "?api-key=", "?api-key=a&api-key=b", "?api-key=" + "x" * 600, "?api-key=bad%20key"],
)
def test_missing_or_malformed_api_key_answers_400(client, creds, query):
    response = client.get("/lifecycle/settings" + query, headers=creds)
    assert response.status_code == 400
    assert response.json["error"]["message"]


def test_api_key_header_is_accepted(client, creds, install):
    key = install()
    assert client.get("/lifecycle/settings", headers={**creds, "X-Api-Key": key}).status_code == 200
    mismatch = client.get("/lifecycle/settings?api-key=other", headers={**creds, "X-Api-Key": key})
    assert mismatch.status_code == 400


def test_body_errors(client, creds, install):
    key = install()
    url = f"/lifecycle/settings?api-key={key}"
    assert (
        client.put(url, data="{not json", content_type="application/json", headers=creds).status_code == 400
    )
    assert client.put(url, data="[1, 2]", content_type="application/json", headers=creds).status_code == 400
    assert client.put(url, data="NaN", content_type="application/json", headers=creds).status_code == 400
    assert client.put(url, data="a=b", content_type="text/plain", headers=creds).status_code == 415
    big = json.dumps({"x": "y" * (1024 * 1024)})
    assert client.put(url, data=big, content_type="application/json", headers=creds).status_code == 413


def test_no_redirects_on_lifecycle_routes(client, creds, install):
    key = install()
    for path in ("/lifecycle/settings/", "//lifecycle/settings", "/lifecycle/"):
        response = client.get(f"{path}?api-key={key}", headers=creds)
        assert response.status_code in (401, 404, 405)
        assert "Location" not in response.headers


def test_errors_are_json_envelopes(client):
    response = client.get("/lifecycle/settings?api-key=x")
    assert response.status_code == 401
    assert set(response.json["error"]) >= {"code", "message"}
    assert response.headers["Content-Type"] == "application/json"


def test_wrong_method_is_405_json(client, creds):
    response = client.post("/lifecycle/settings?api-key=k", headers=creds)
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
