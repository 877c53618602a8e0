"""The Timeline dialog end to end: a signed page, then its data from a real Sales sandbox."""

from __future__ import annotations

import pytest

from tests.pages.conftest import HOSTILE_LAST, HOSTILE_NAME, object_id, page_data, sign, with_interactions
from zapp.pages.context import CONTEXT_HEADER
from zapp.pages.dialogs.timeline_content import MAX_ENTRIES, PAGE_SIZE, safe_link, shape_timeline
from zapp.sales.errors import Forbidden, RateLimited, Unauthorized, Unavailable


def open_timeline(client, group: str, prospect: str, lang: str = "en"):
    response = client.get(
        sign(f"/dialogs/timeline?prospect={prospect}&user={object_id()}&group={group}&lang={lang}")
    )
    assert response.status_code == 200
    data = page_data(response)
    return data["urls"]["data"], data["context"]


def test_the_dialog_loads_the_contact_and_its_interactions_newest_first(sandbox_app, sales_account):
    installed, data = sales_account
    prospect = with_interactions(data)
    client = sandbox_app.test_client()
    url, token = open_timeline(client, installed.group, prospect["id"])
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["prospect"]["id"] == prospect["id"]
    assert body["prospect"]["name"] == f"{prospect['firstName']} {prospect['lastName']}".strip()
    created = [entry["createdAt"] for entry in body["interactions"]]
    assert len(created) == len(data.by_prospect[prospect["id"]]) and created == sorted(created, reverse=True)
    assert body["truncated"] is False


def test_hostile_names_and_links_come_back_as_inert_data(sandbox_app, sales_account):
    installed, data = sales_account
    prospect = with_interactions(data)
    prospect["firstName"], prospect["lastName"] = HOSTILE_NAME, HOSTILE_LAST
    interaction = data.interactions[data.by_prospect[prospect["id"]][0]]
    interaction["output"] = {
        "comment": HOSTILE_LAST,
        "message": {"attachment": {"type": "file", "url": "javascript:alert(3)"}},
    }
    client = sandbox_app.test_client()
    url, token = open_timeline(client, installed.group, prospect["id"])
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.mimetype == "application/json"
    assert response.json["prospect"]["name"] == f"{HOSTILE_NAME} {HOSTILE_LAST}"
    entry = next(e for e in response.json["interactions"] if e["id"] == interaction["id"])
    assert entry["text"] == HOSTILE_LAST and entry["attachment"] is None
    # Served as JSON that may not be sniffed into HTML; the page only ever puts it into text nodes.
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_contact_outside_the_installations_groups_gets_403(sandbox_app, sales_account):
    installed, data = sales_account
    prospect = with_interactions(data)
    outside = object_id()
    prospect["groupId"] = outside  # Sales moved it somewhere the installation does not cover
    data.groups[outside] = {"id": outside, "ancestors": [installed.group]}  # yet the key still sees it
    client = sandbox_app.test_client()
    url, token = open_timeline(client, installed.group, prospect["id"])
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == 403 and response.json["error"]["code"] == "foreign_prospect"


def test_a_contact_unknown_to_sales_gets_404(sandbox_app, sales_account):
    installed, _ = sales_account
    client = sandbox_app.test_client()
    url, token = open_timeline(client, installed.group, object_id(), lang="es")
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == 404
    assert response.json["error"]["message"] == "Este contacto ya no existe en Zenvia Sales."


class FailingSales:
    """Stands in for ``SalesClient``: fails every call."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_prospect(self, prospect_id: str):
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Unavailable("GET /prospect/x: could not reach Sales (ConnectionError)"), 503, "sales_unavailable"),
        (RateLimited("GET /prospect/x: still rate limited", status=429), 503, "sales_unavailable"),
        (Unauthorized("GET /prospect/x: key refused", status=401), 502, "sales_refused"),
        (Forbidden("GET /prospect/x: scope missing", status=403), 502, "sales_refused"),
    ],
)
def test_sales_failures_become_503_or_502_never_500(app, client, installed, monkeypatch, error, status, code):
    seen: list = []

    def build(api_key: str, key_index: str) -> FailingSales:
        seen.append(api_key)
        return FailingSales(error)

    monkeypatch.setattr(app.extensions["zapp"], "sales_client", build)
    url, token = open_timeline(client, installed.group, object_id())
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == status and response.json["error"]["code"] == code
    assert seen == [installed.api_key]  # the installation's own key, decrypted for the call


# -- shaping, without Sales ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example/x",
        "/relative",
        "https:///no-host",
        None,
        42,
    ],
)
def test_only_absolute_http_links_survive(url):
    assert safe_link(url) is None


@pytest.mark.parametrize("url", ["https://files.example.com/a.pdf", "http://x.example/p?q=1"])
def test_http_links_are_kept(url):
    assert safe_link(url) == url


def test_shaping_keeps_only_whitelisted_text_and_caps_the_list():
    prospect = {"id": "a" * 24, "firstName": "Ana", "lastName": None, "phones": ["+1", 5], "secret": "x"}
    interactions = [
        {"id": f"{n:024d}", "createdAt": f"2026-01-01T00:00:{n % 60:02d}Z"} for n in range(MAX_ENTRIES + 5)
    ]
    shaped = shape_timeline(prospect, [*interactions, "not an interaction"])
    assert shaped["prospect"]["name"] == "Ana" and shaped["prospect"]["phones"] == ["+1"]
    assert "secret" not in shaped["prospect"]
    assert len(shaped["interactions"]) == PAGE_SIZE and shaped["truncated"] is True
    assert (shaped["page"], shaped["pages"], shaped["total"]) == (1, MAX_ENTRIES // PAGE_SIZE, MAX_ENTRIES)
    last = shape_timeline(prospect, interactions, page=10_000)
    assert last["page"] == last["pages"] and last["interactions"][-1]["createdAt"] == "2026-01-01T00:00:00Z"


def test_pages_walk_the_interactions_newest_first_without_gaps_or_repeats():
    interactions = [
        {"id": f"{n:024x}", "createdAt": f"2026-01-01T{n // 60:02d}:{n % 60:02d}:00Z"} for n in range(45)
    ]
    pages = [shape_timeline({}, interactions, page=number) for number in (1, 2, 3)]
    seen = [entry["id"] for shaped in pages for entry in shaped["interactions"]]
    assert seen == [f"{n:024x}" for n in reversed(range(45))]
    assert [shaped["pages"] for shaped in pages] == [3, 3, 3]
