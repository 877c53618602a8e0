"""The pages blueprint fails closed, and follow-up calls are served to our own page only."""

from __future__ import annotations

import pytest
import requests

from tests.pages.conftest import object_id, page_data, sign
from zapp.pages.context import CONTEXT_HEADER
from zapp.pages.guards import FOLLOW_UP, PAGE, PUBLIC, guard_of, origin_allowed

PUBLIC_ENDPOINTS = {"pages.manifest"}  # nothing secret: the manifest Sales reads


def test_every_pages_endpoint_in_the_url_map_is_marked(app):
    seen = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("pages."):
            seen[rule.endpoint] = guard_of(app.view_functions[rule.endpoint])
    assert seen and all(guard in (PAGE, FOLLOW_UP, PUBLIC) for guard in seen.values()), seen
    assert {endpoint for endpoint, guard in seen.items() if guard == PUBLIC} == PUBLIC_ENDPOINTS
    assert {"pages.timeline", "pages.timeline_data"} <= set(seen)


def test_an_unmarked_pages_view_is_refused_not_served(app, client):
    app.add_url_rule("/dialogs/forgotten", endpoint="pages.forgotten", view_func=lambda: "the secret data")
    response = client.get("/dialogs/forgotten", headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.json["error"]["code"] == "unguarded_endpoint"
    assert b"the secret data" not in response.data


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://zapp.test", True),
        ("https://acme.zenvia.com", True),
        ("https://a.b.zenvia.com", True),
        ("https://zenvia.com", False),
        ("http://acme.zenvia.com", False),
        ("https://acme.zenvia.com:8443", False),
        ("https://zenvia.com.evil.example", False),
        ("https://evil.example", False),
        ("null", False),
        ("http://zapp.test:80", True),
        ("http://[bad", False),
    ],
)
def test_origins_are_our_own_or_a_frame_ancestor(origin, allowed):
    assert origin_allowed(origin, "http://zapp.test", ("https://*.zenvia.com", "'self'")) is allowed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about HTTP, not SQL
def test_cross_site_follow_up_calls_are_refused_under_gunicorn(gunicorn_server, make_instance):
    installed = make_instance()
    server = gunicorn_server({"ZAPP_FRAME_ANCESTORS": "https://*.zenvia.com"})
    target = f"/dialogs/timeline?prospect={object_id()}&user={object_id()}&group={installed.group}&lang=pt"
    page = requests.get(server.url + sign(target, base=server.url), timeout=10)
    assert page.status_code == 200
    token = page_data(page.text)["context"]
    other_prospect = f"{server.url}/dialogs/timeline/data?prospect={object_id()}"

    def call(**headers: str) -> tuple[int, str]:
        answer = requests.get(other_prospect, headers={CONTEXT_HEADER: token, **headers}, timeout=10)
        assert answer.headers["Content-Type"].startswith("application/json"), answer.text
        return answer.status_code, answer.json()["error"]["code"]

    refused = (403, "cross_site")
    assert call(Origin="https://evil.example", **{"Sec-Fetch-Site": "cross-site"}) == refused
    assert call(Origin="https://evil.example") == refused
    assert call(**{"Sec-Fetch-Site": "cross-site"}) == refused
    assert call(Origin="null") == refused
    # Past the origin check, the token's own checks answer (another prospect: 403 context_mismatch).
    passed = (403, "context_mismatch")
    assert call(Origin=server.url, **{"Sec-Fetch-Site": "same-origin"}) == passed
    assert call(Origin="https://acme.zenvia.com", **{"Sec-Fetch-Site": "cross-site"}) == passed
    assert call(**{"Sec-Fetch-Site": "same-origin"}) == passed
    assert call() == passed
