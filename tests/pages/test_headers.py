"""Framing and the other security headers: Sales may frame our pages, nobody may frame anything else."""

from __future__ import annotations

import re

import pytest

from tests.conftest import APP_ID, APP_SECRET
from tests.pages.conftest import object_id, sign
from zapp import create_app
from zapp.models import InstanceState

_NONCE = re.compile(r"script-src 'nonce-([A-Za-z0-9_\-]+)'")


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.split("; ")}


def assert_common_headers(response) -> None:
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    policy = directives(response)
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["default-src"] == "'self'"


@pytest.mark.parametrize("dialog", ["timeline", "messages", "handoff"])
def test_a_framed_page_may_be_framed_by_sales_only_and_runs_only_its_nonced_scripts(
    client, installed, timeline_target, dialog
):
    response = client.get(sign(timeline_target(installed.group).replace("/timeline?", f"/{dialog}?")))
    assert response.status_code == 200
    assert_common_headers(response)
    policy = directives(response)
    assert policy["frame-ancestors"] == "https://*.zenvia.com"
    assert "X-Frame-Options" not in response.headers
    nonce = _NONCE.search(response.headers["Content-Security-Policy"]).group(1)
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_each_response_gets_a_new_nonce(client, installed, timeline_target):
    target = sign(timeline_target(installed.group))
    first, second = (_NONCE.search(client.get(target).headers["Content-Security-Policy"]) for _ in range(2))
    assert first.group(1) != second.group(1) and len(first.group(1)) >= 22


@pytest.mark.parametrize("dialog", ["timeline", "messages", "handoff"])
def test_a_framed_page_loads_nothing_from_elsewhere(client, installed, timeline_target, dialog):
    target = timeline_target(installed.group).replace("/timeline?", f"/{dialog}?")
    html = client.get(sign(target)).get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith("/static/"), url
    for asset in re.findall(r'(?:src|href)="(/static/[^"]*)"', html):
        assert client.get(asset).status_code == 200


def test_framing_comes_from_configuration(app_env, installed, timeline_target):
    custom = create_app({**app_env, "ZAPP_FRAME_ANCESTORS": "https://sales.example.com,https://*.zenvia.com"})
    try:
        response = custom.test_client().get(sign(timeline_target(installed.group)))
        assert directives(response)["frame-ancestors"] == "https://sales.example.com https://*.zenvia.com"
    finally:
        custom.extensions["zapp"].database.dispose()


@pytest.mark.parametrize("state", [None, InstanceState.DISABLED.value])
def test_refusal_pages_of_framed_routes_can_be_framed_too(client, make_instance, timeline_target, state):
    """Sales shows our 403 and "disabled" pages inside its frame; a browser error would say nothing."""
    group = make_instance(state=state).group if state else object_id()
    response = client.get(timeline_target(group) if state is None else sign(timeline_target(group)))
    assert response.status_code in (403, 404)
    assert directives(response)["frame-ancestors"] == "https://*.zenvia.com"
    assert_common_headers(response)


def _not_framed(response) -> None:
    assert_common_headers(response)
    policy = directives(response)
    assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_json_machine_and_error_routes_may_not_be_framed(client, installed, timeline_target):
    _not_framed(client.get("/manifest.json"))
    _not_framed(client.get("/healthz"))
    _not_framed(client.get("/openapi.json"))
    _not_framed(client.get("/lifecycle/settings", headers={"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}))
    _not_framed(client.post("/lifecycle/install", json={}))
    _not_framed(client.get("/no/such/page"))
    _not_framed(client.get("/dialogs/timeline/data"))  # a follow-up answers JSON, it is never framed


def test_the_timeline_data_answer_is_json_with_no_sniffing(client, installed, timeline_target):
    response = client.get("/dialogs/timeline/data?prospect=" + object_id())
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
