"""Liveness, readiness, request ids."""

from __future__ import annotations

import psycopg
from cryptography.fernet import Fernet

from tests import conftest
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


def test_a_database_restart_costs_no_failed_request(postgres_database, postgres_reset):
    """Connections killed under the pool (as a restart does) are replaced at checkout, not surfaced."""
    postgres_reset()
    env = {
        "ZAPP_MODE": "test",
        "ZAPP_DATABASE_URL": postgres_database,
        "ZAPP_APP_ID": conftest.APP_ID,
        "ZAPP_APP_SECRET": conftest.APP_SECRET,
        "ZAPP_SIGNING_KEY": conftest.SIGNING_KEY,
        "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    app = create_app(env)
    client = app.test_client()
    creds = {"X-App-Id": conftest.APP_ID, "X-App-Secret": conftest.APP_SECRET}
    client.post("/lifecycle/install", json={"integration": {"apiKey": "restart-key"}}, headers=creds)
    assert client.get("/lifecycle/settings?api-key=restart-key", headers=creds).status_code == 200
    with psycopg.connect(conftest.POSTGRES_ADMIN_URL, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (app.extensions["zapp"].database.engine.url.database,),
        ).fetchone()[0]
    assert killed >= 1
    for _ in range(3):
        assert client.get("/lifecycle/settings?api-key=restart-key", headers=creds).status_code == 200
    app.extensions["zapp"].database.dispose()
