"""Client credentials guard every lifecycle route, before anything else is read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import APP_ID, APP_SECRET
from zapp.lifecycle.auth import credentials_match
from zapp.models import Instance

ROUTES = [
    ("POST", "/lifecycle/install", {"integration": {"apiKey": "new-key", "enabled": True}}),
    ("GET", "/lifecycle/settings-form", None),
    ("GET", "/lifecycle/settings", None),
    ("PUT", "/lifecycle/settings", {"speedToLeadTargetMinutes": 10}),
    ("PUT", "/lifecycle/enabled", {"enabled": False}),
    ("PUT", "/lifecycle/api-key", {"newApiKey": "stolen-key"}),
    ("DELETE", "/lifecycle", None),
]
BAD_CREDENTIALS = {
    "missing": {},
    "empty": {"X-App-Id": "", "X-App-Secret": ""},
    "empty secret": {"X-App-Id": APP_ID, "X-App-Secret": ""},
    "wrong secret": {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET + "x"},
    "wrong id": {"X-App-Id": "other-app", "X-App-Secret": APP_SECRET},
    "secret prefix": {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET[:-1]},
    "only id": {"X-App-Id": APP_ID},
}


def _snapshot(app) -> list[tuple]:
    with app.extensions["zapp"].database.transaction() as session:
        rows = session.scalars(select(Instance).order_by(Instance.id))
        return [(i.state, i.key_index, i.settings, i.version) for i in rows]


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_bad_credentials_answer_401_and_change_nothing(client, install, app, credentials, method, path, body):
    key = install()
    before = _snapshot(app)
    response = client.open(f"{path}?api-key={key}", method=method, json=body, headers=credentials)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "bad_credentials"
    assert _snapshot(app) == before


def test_credentials_are_checked_before_the_body_is_parsed(client, install):
    key = install()
    response = client.put(
        f"/lifecycle/settings?api-key={key}", data="{broken", content_type="application/json"
    )
    assert response.status_code == 401


def test_install_with_unreadable_body_and_no_headers_is_401(client, app):
    response = client.post("/lifecycle/install", data="{broken", content_type="application/json")
    assert response.status_code == 401
    with app.extensions["zapp"].database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_a_previous_secret_still_works_during_rotation():
    secrets = ("new-secret-0001", "old-secret-0001")
    assert credentials_match("app", "old-secret-0001", "app", secrets)
    assert credentials_match("app", "new-secret-0001", "app", secrets)
    assert not credentials_match("app", "old-secret-000", "app", secrets)
    assert not credentials_match("app", None, "app", secrets)
