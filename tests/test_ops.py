"""Liveness, readiness, request ids."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import POSTGRES_ADMIN_URL
from zapp import create_app


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_unreachable(app_env):
    app = create_app({**app_env, "ZAPP_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/healthz", headers={"X-Request-Id": "abc12345-req"}).headers["X-Request-Id"]
        == "abc12345-req"
    )
    made = client.get("/healthz", headers={"X-Request-Id": "bad id <script>"}).headers["X-Request-Id"]
    assert len(made) == 32 and made.isalnum()


def test_unknown_page_for_a_person_is_a_short_html_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"<h1>404</h1>" in response.data


def test_a_database_restart_costs_no_failed_request(app, client, creds, install):
    """Connections killed under the pool (as a restart does) are replaced by pre-ping, not surfaced."""
    database = app.extensions["zapp"].database
    if database.engine.dialect.name != "postgresql":
        pytest.skip("connection termination is a PostgreSQL server feature")
    key = install()
    assert client.get(f"/lifecycle/settings?api-key={key}", headers=creds).status_code == 200
    name = database.engine.url.database
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()[0]
    assert killed >= 1
    for _ in range(3):
        assert client.get(f"/lifecycle/settings?api-key={key}", headers=creds).status_code == 200
