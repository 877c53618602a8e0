"""A real browser: the sandbox's host UI frames the Timeline dialog served by gunicorn.

It proves what only a browser can: Sales' frame is allowed and the URL it
signs verifies, the page's scripts run under its own CSP, the data arrives
after first paint, and hostile contact data stays text.
"""

from __future__ import annotations

import shutil

import pytest
import requests
from sqlalchemy import select

from tests.conftest import free_port
from tests.pages.conftest import HOSTILE_LAST, HOSTILE_NAME, with_interactions
from zapp import create_app
from zapp.models import Instance

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TITLES = {"en": "Timeline", "es": "Cronología", "pt": "Linha do tempo"}
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
    # What is under test is the browser side; one database backend is enough.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


def provision(app_env, sandbox, server_url: str) -> None:
    """Run provisioning now, as the worker would, so the installation knows its groups."""
    application = create_app(
        {**app_env, "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": server_url}
    )
    try:
        zapp = application.extensions["zapp"]
        with zapp.database.transaction() as session:
            public_id = session.scalars(select(Instance.public_id)).one()
        assert zapp.provisioner.provision(public_id)
    finally:
        application.extensions["zapp"].database.dispose()


def test_the_host_frames_the_timeline_and_hostile_data_stays_text(
    app_env, sandbox_factory, gunicorn_server, browser_page
):
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}")
    server = gunicorn_server(
        {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_FRAME_ANCESTORS": sandbox.base_url},
        port=port,
        workers=1,
    )
    installed = requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    assert installed.status_code == 201 and installed.json()["appStatus"] == 201
    provision(app_env, sandbox, server.url)

    integration = next(i for i in sandbox.state.integrations.values() if i.key == installed.json()["apiKey"])
    account = sandbox.state.account_of(integration)
    prospect = with_interactions(account)
    prospect["firstName"], prospect["lastName"] = HOSTILE_NAME, HOSTILE_LAST
    first, *rest = account.by_prospect[prospect["id"]]
    account.interactions[first]["output"] = {
        "comment": '<img src=x onerror="document.title=1">',
        "message": {"attachment": {"type": "file", "url": "javascript:alert(3)"}},
    }
    if rest:
        attachment = {"url": "https://files.example.com/q.pdf"}
        account.interactions[rest[0]]["output"] = {"message": {"attachment": attachment}}

    page = browser_page
    dialogs, violations = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda line: violations.append(line.text) if "Content Security" in line.text else None)
    host = f"{sandbox.base_url}/host/{integration.integration_id}/contacts/{prospect['id']}?button=timeline"
    page.goto(host)
    frame = page.frame_locator('iframe[data-dialog="timeline"]')
    frame.locator("#timeline li").first.wait_for(timeout=15_000)

    language = account.groups[integration.group_id]["language"]
    assert frame.locator("h1").inner_text() == TITLES.get(language, "Timeline")
    assert frame.locator("#contact-name").inner_text() == f"{HOSTILE_NAME} {HOSTILE_LAST}"
    assert frame.locator("#timeline li").count() == len(account.by_prospect[prospect["id"]])
    assert frame.get_by_text('<img src=x onerror="document.title=1">').count() == 1
    assert frame.locator("img").count() == 0 and frame.locator("main script").count() == 0
    assert frame.locator('a[href^="javascript"]').count() == 0
    if rest:
        assert frame.locator('a[href="https://files.example.com/q.pdf"]').count() == 1
    assert dialogs == [] and violations == []
