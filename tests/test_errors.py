"""The error envelope when the database is away: 503 with Retry-After, never a 500."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import free_port
from tests.pages.conftest import sign
from tests.webhooks.tcp_proxy import TcpProxy
from zapp import create_app


@pytest.fixture
def database_away(app_env, database_url, request):
    """An app whose PostgreSQL sits behind a proxy the test stops: the database server gone."""
    if database_url.startswith("sqlite"):
        pytest.skip("taking the database server away is a PostgreSQL scenario")
    parts = urlsplit(database_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432), free_port())
    proxy.start()
    request.addfinalizer(proxy.stop)
    proxied = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    app = create_app({**app_env, "ZAPP_DATABASE_URL": proxied})
    request.addfinalizer(app.extensions["zapp"].database.dispose)
    return app, proxy


def test_a_database_that_went_away_answers_503_with_retry_after(database_away, creds):
    app, proxy = database_away
    client = app.test_client()
    body = {"integration": {"apiKey": "key-abc", "enabled": True}}
    assert client.post("/lifecycle/install", json=body, headers=creds).status_code == 201
    proxy.stop()

    machine = client.post("/lifecycle/install", json=body, headers=creds)
    page = sign(f"/dialogs/timeline?prospect={'b' * 24}&user={'c' * 24}&group={'a' * 24}&lang=en")
    person = client.get(page, headers={"Accept": "text/html"})

    assert machine.status_code == 503 and machine.headers["Retry-After"] == "5"
    assert machine.json["error"]["code"] == "unavailable"
    assert person.status_code == 503 and person.headers["Retry-After"] == "5"
    assert person.mimetype == "text/html"
