"""The sandbox as host: it drives the real App's lifecycle and shows its pages."""

from __future__ import annotations

import requests
from sqlalchemy import select

from tests.conftest import free_port
from tests.seed_examples import example
from zapp.models import Instance
from zapp.sandbox.settings_view import present_form


def test_the_lifecycle_driven_against_the_real_app(app, sandbox_factory, gunicorn_server):
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}")
    gunicorn_server({"ZAPP_SALES_API_URL": sandbox.api_url}, port=port)
    control = sandbox.base_url + "/_sandbox"
    installed = requests.post(control + "/install", json={"actAsUser": True}, timeout=30)
    assert installed.status_code == 201 and installed.json()["appStatus"] == 201
    key = installed.json()["apiKey"]

    form = requests.get(f"{control}/installs/{key}/settings-form", params={"lang": "es"}, timeout=10).json()
    assert form["appBody"]["title"] == "Kit de velocidad de leads"
    saved = requests.put(
        f"{control}/installs/{key}/settings", json={"speedToLeadTargetMinutes": 12}, timeout=10
    ).json()
    assert saved["appBody"]["speedToLeadTargetMinutes"] == 12
    assert requests.put(f"{control}/installs/{key}/enabled", json={"enabled": False}, timeout=10).ok
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalars(select(Instance.state)).all() == ["disabled"]

    refreshed = requests.post(f"{control}/installs/{key}/refresh-key", timeout=10).json()
    new_key = refreshed["apiKey"]
    assert refreshed["ok"] and new_key != key
    assert (
        requests.get(sandbox.api_url + "/integration", params={"api-key": key}, timeout=5).status_code == 401
    )
    assert (
        requests.get(f"{control}/installs/{new_key}/settings", timeout=10).json()["appBody"][
            "speedToLeadTargetMinutes"
        ]
        == 12
    )

    assert requests.delete(f"{control}/installs/{new_key}", timeout=10).json()["ok"]
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalars(select(Instance.state)).all() == ["deleted"]


def test_host_pages_render_and_escape(sandbox, account):
    data = sandbox.state.accounts[account["accountId"]]
    prospect = data.prospects[data.prospect_ids[-1]]
    prospect["firstName"] = '"><img src=x onerror=alert(1)>'
    integration_id = next(iter(sandbox.state.integrations.values())).integration_id
    index = requests.get(sandbox.base_url + "/", timeout=10)
    assert index.ok and "Autonova" in index.text
    contacts = requests.get(f"{sandbox.base_url}/host/{integration_id}", timeout=10)
    assert contacts.ok and "<img src=x" not in contacts.text and "&lt;img" in contacts.text
    page = requests.get(f"{sandbox.base_url}/host/{integration_id}/contacts/{prospect['id']}", timeout=10)
    assert page.ok and "drives no App" in page.text
    assert requests.get(f"{sandbox.base_url}/host/{integration_id}/reports", timeout=10).ok


def test_the_settings_form_renders_markdown_and_applies_hidden_disabled_and_validations():
    form = {
        "title": "Reply",
        "description": "**Bold** <script>alert(1)</script>",
        "sections": [
            {"name": "a", "title": "A", "inputs": [
                {"name": "on", "type": "checkbox", "label": "On"},
                {"name": "template", "type": "text", "label": "Template", "hiddenWhere": {"on": False}},
                {"name": "delay", "type": "number", "label": "Delay", "disabledWhere": {"on": False}},
            ]},
            {"name": "b", "title": "B", "hidden": True, "inputs": [{"name": "x", "type": "text"}]},
        ],
        "validations": [{"where": {"on": True, "template": ""},
                         "changes": [{"name": "template", "error": "Choose a *template*"}]}],
    }  # fmt: skip
    off = present_form(form, {"on": False, "template": ""})
    assert "<strong>Bold</strong>" in off["description"] and "<script>" not in off["description"]
    assert [s["name"] for s in off["sections"]] == ["a"]  # hidden: True
    inputs = {i["name"]: i for i in off["sections"][0]["inputs"]}
    assert "template" not in inputs and inputs["delay"]["disabled"] and not off["blocked"]
    on = present_form(form, {"on": True, "template": ""})
    template = next(i for i in on["sections"][0]["inputs"] if i["name"] == "template")
    assert template["error"] == "<p>Choose a <em>template</em></p>\n" and on["blocked"]
    assert not present_form(form, {"on": True, "template": "welcome"})["blocked"]


def test_the_seeds_settings_form_example_renders():
    shown = present_form(example("settings_form"), {})
    assert shown["title"] == "string" and shown["blocked"]  # the example carries an error everywhere
