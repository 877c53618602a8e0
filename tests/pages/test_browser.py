"""A real browser: the sandbox's host UI frames the dialogs served by gunicorn.

It proves what only a browser can: Sales' frame is allowed and the URL it
signs verifies, the pages' scripts run under their own CSP, data arrives
after first paint, hostile contact data stays text, a double click sends
once, and another site can neither post to the app nor frame it.
Screenshots of each dialog, each report and the settings form, as the
sandbox's host UI shows them, land in ``docs/screenshots`` (the README's).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from sqlalchemy import select

from tests.conftest import ROOT, free_port, sent_to, wait_until
from tests.pages.conftest import HOSTILE_LAST, HOSTILE_NAME, with_interactions
from zapp import create_app
from zapp.models import Instance

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "docs" / "screenshots"
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
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.problems = []  # type: ignore[attr-defined]
            page.on("dialog", lambda dialog: (page.problems.append(dialog.message), dialog.dismiss()))
            page.on(
                "console",
                lambda line: page.problems.append(line.text) if "Content Security" in line.text else None,
            )
            yield page
        finally:
            browser.close()


@dataclass
class Host:
    """Sales (the sandbox) hosting the App (gunicorn), installed and provisioned."""

    sandbox: Any
    app_url: str
    integration: Any
    account: Any

    def contact_url(self, prospect: dict, button: str) -> str:
        contact = f"/host/{self.integration.integration_id}/contacts/{prospect['id']}"
        return f"{self.sandbox.base_url}{contact}?button={button}"


@pytest.fixture
def host(app_env, sandbox_factory, gunicorn_server) -> Host:
    port = free_port()
    sandbox = sandbox_factory(app_url=f"http://127.0.0.1:{port}")
    server = gunicorn_server(
        {"ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_FRAME_ANCESTORS": sandbox.base_url},
        port=port,
        workers=2,
    )
    installed = requests.post(f"{sandbox.base_url}/_sandbox/install", json={"actAsUser": True}, timeout=30)
    assert installed.status_code == 201 and installed.json()["appStatus"] == 201
    provision(app_env, sandbox, server.url)
    integration = next(i for i in sandbox.state.integrations.values() if i.key == installed.json()["apiKey"])
    return Host(sandbox, server.url, integration, sandbox.state.account_of(integration))


def provision(app_env, sandbox, server_url: str) -> None:
    """Run provisioning and the history import now, as the worker would: groups known, store filled."""
    application = create_app(
        {**app_env, "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": server_url}
    )
    try:
        zapp = application.extensions["zapp"]
        with zapp.database.transaction() as session:
            public_id = session.scalars(select(Instance.public_id)).one()
        assert zapp.provisioner.provision(public_id)
        assert zapp.history.run(public_id) > 0
    finally:
        application.extensions["zapp"].database.dispose()


def screenshot(page, name: str) -> None:
    """The host UI as a person sees it now, for the README (the viewport: small, and the same every time)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def other_site():
    """Serve pages from another site (``localhost`` is not ``127.0.0.1``), as an attacker's would be."""
    servers = []

    def _serve(pages: dict[str, str]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://localhost:{server.server_address[1]}"

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


def open_dialog(page, host: Host, prospect: dict, key: str):
    """Open a contact in the host UI with dialog ``key`` framed, and wait until its data is shown."""
    page.goto(host.contact_url(prospect, key))
    frame = page.frame_locator(f'iframe[data-dialog="{key}"]')
    frame.locator(f"#{key}-body").wait_for(state="visible", timeout=15_000)
    return frame


def quiet_prospect(account) -> dict:
    return next(p for p in account.prospects.values() if p["phones"] and not account.by_prospect.get(p["id"]))


def test_the_host_frames_the_timeline_and_hostile_data_stays_text(host, browser_page):
    account = host.account
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
    page.goto(host.contact_url(prospect, "timeline"))
    frame = page.frame_locator('iframe[data-dialog="timeline"]')
    frame.locator("#timeline li").first.wait_for(timeout=15_000)

    language = account.groups[host.integration.group_id]["language"]
    assert frame.locator("h1").inner_text() == TITLES.get(language, "Timeline")
    assert frame.locator("#contact-name").inner_text() == f"{HOSTILE_NAME} {HOSTILE_LAST}"
    assert frame.locator("#timeline li").count() == min(len(account.by_prospect[prospect["id"]]), 20)
    assert frame.locator("#leads li").count() == len(prospect["leads"])
    assert frame.get_by_text('<img src=x onerror="document.title=1">').count() == 1
    assert frame.locator("img").count() == 0 and frame.locator("main script").count() == 0
    assert frame.locator('a[href^="javascript"]').count() == 0
    if rest:
        assert frame.locator('a[href="https://files.example.com/q.pdf"]').count() == 1
    assert page.problems == []


def test_a_double_clicked_template_is_sent_once(host, browser_page):
    prospect = quiet_prospect(host.account)
    page = browser_page
    frame = open_dialog(page, host, prospect, "messages")
    frame.locator("#template").select_option("follow_up")
    parameter = frame.locator('input[data-parameter="prospect.firstName"]')
    assert parameter.input_value() == " ".join(prospect["firstName"].split())
    parameter.fill("Ana")
    assert frame.locator("#preview").inner_text() == "Oi Ana, ainda tem interesse? Posso ajudar."
    screenshot(page, "messages")

    posts = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/dialogs/messages/template") else None)
    frame.locator("#send-template").dblclick()  # both clicks happen before the first answer
    frame.locator("#template-form .status.ok").wait_for(timeout=15_000)
    assert len(posts) == 1  # the page sent once...
    sent = wait_until(lambda: sent_to(host.sandbox, prospect["id"]), message="the template in the sandbox")
    assert [m["body"] for m in sent] == ["Oi Ana, ainda tem interesse? Posso ajudar."]  # ...and Sales got one
    # Free text stays off while the contact's window is closed.
    assert frame.locator("#send-text").is_disabled()
    assert page.problems == []


def test_whatsapps_rule_is_shown_before_anything_is_sent(host, browser_page):
    prospect = quiet_prospect(host.account)
    page = browser_page
    frame = open_dialog(page, host, prospect, "messages")
    frame.locator("#template").select_option("follow_up")
    frame.locator('input[data-parameter="prospect.firstName"]').fill("Ana    Maria")
    frame.locator("#send-template").click()
    frame.locator("#template-form .status.error").wait_for(timeout=5_000)
    assert frame.locator('input[aria-invalid="true"]').count() == 1
    assert sent_to(host.sandbox, prospect["id"]) == []


def test_the_handoff_dialog_transfers_and_says_so(host, browser_page):
    prospect = quiet_prospect(host.account)
    page = browser_page
    frame = open_dialog(page, host, prospect, "handoff")
    agent_option = frame.locator("#target-agents option").first
    agent_id = agent_option.get_attribute("value").split(":", 1)[1]
    frame.locator("#target").select_option(f"agent:{agent_id}")
    frame.locator("#transfer-form button[type=submit]").click()
    frame.locator("#transfer-form .status.ok").wait_for(timeout=15_000)
    assert prospect["agent"]["id"] == agent_id
    frame.locator("#note").fill("Prefere WhatsApp")
    frame.locator("#note-form button[type=submit]").click()
    frame.locator("#note-form .status.ok").wait_for(timeout=15_000)
    assert page.problems == []


def test_another_site_can_neither_post_to_the_app_nor_frame_it(host, browser_page, other_site):
    prospect = quiet_prospect(host.account)
    page = browser_page
    # A signed dialog URL, as the host builds it, to try framing from elsewhere.
    page.goto(host.contact_url(prospect, "messages"))
    signed = page.locator('iframe[data-dialog="messages"]').get_attribute("src")
    target = f"{host.app_url}/dialogs/messages/template"
    body = f'{{"prospect": "{prospect["id"]}", "channel": "whatsapp", "key": "follow_up", "x": "'
    form_page = f"""<!doctype html><html><body>
      <form id="attack" method="post" action="{target}" enctype="text/plain">
        <input type="hidden" name='{body}' value='"}}'>
        <button id="go" type="submit">Win a prize</button>
      </form></body></html>"""
    frame_page = f'<!doctype html><html><body><iframe id="framed" src="{signed}"></iframe></body></html>'
    evil = other_site({"/form": form_page, "/frame": frame_page})
    # frame-ancestors lets only Sales' origin frame the page: Chromium shows its own error instead.
    # (Waited for as a Playwright event: a plain polling loop would not let Playwright see it.)
    refused = page.expect_event("framenavigated", lambda frame: frame.url.startswith("chrome-error://"))
    with refused:
        page.goto(f"{evil}/frame")
    assert page.frame_locator("#framed").get_by_text("Messages").count() == 0

    page.goto(f"{evil}/form")
    blocked = page.evaluate(
        """url => fetch(url, {method: "POST", body: "{}",
                              headers: {"X-Zapp-Context": "x", "Content-Type": "application/json"}})
                 .then(r => "answered " + r.status, () => "blocked")""",
        target,
    )
    assert blocked == "blocked"  # the preflight finds no CORS permission
    with page.expect_response(target) as answer:
        page.click("#go")
    assert answer.value.status == 403  # another site's Origin: refused before the token or the body is read
    assert answer.value.json()["error"]["code"] == "cross_site"
    assert sent_to(host.sandbox, prospect["id"]) == []


def test_a_report_reads_without_script_and_downloads_its_csv(host, browser_page):
    page = browser_page
    reports = f"{host.sandbox.base_url}/host/{host.integration.integration_id}/reports?report=lead-sources"
    scriptless = page.context.browser.new_page(java_script_enabled=False)
    try:
        scriptless.goto(reports)
        framed = scriptless.frame_locator('iframe[data-report="lead-sources"]')
        framed.locator("svg").first.wait_for(timeout=15_000)  # charts and tables need no script
        assert framed.locator("table").count() >= 1
    finally:
        scriptless.close()
    page.goto(reports)
    frame = page.frame_locator('iframe[data-report="lead-sources"]')
    frame.locator("svg").first.wait_for(timeout=15_000)
    with page.expect_download(timeout=15_000) as download:
        frame.locator("#download-csv").click()
    saved = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert saved[0].split(",")[0] == "Relatório"  # the heading, in the host's language (pt)
    assert len(saved) > 2
    assert page.problems == []


# -- what an agent reaches for next, and the README's pictures -----------------------------------------


def transfer_targets(host: Host) -> list[dict]:
    """The agents Sales offers the App as transfer targets (active, in the integration's groups)."""
    account, root = host.account, host.integration.group_id
    return [a for a in account.agents.values() if a["active"] and account.covers(a["groupId"], root)]


def frame_focus(frame, selector: str) -> bool:
    return frame.locator(f"{selector}:focus").count() == 1


def test_the_handoff_puts_online_agents_first_and_asks_before_an_offline_transfer(host, browser_page):
    prospect = quiet_prospect(host.account)
    away = transfer_targets(host)[0]
    away["online"] = False  # signed out of Sales: still a transfer target, no longer online
    page = browser_page
    posts = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/dialogs/handoff/transfer") else None)
    frame = open_dialog(page, host, prospect, "handoff")
    presence = frame.locator("#office-hours")
    assert presence.is_visible() and str(len(transfer_targets(host))) in presence.inner_text()
    values = frame.locator("#target-agents option").evaluate_all("options => options.map(o => o.value)")
    assert values[-1] == f"agent:{away['id']}"  # online agents first, the one away last

    # Keyboard only: choose, Tab to the button, Enter; the question takes the focus; Enter confirms.
    frame.locator("#target").select_option(f"agent:{away['id']}")
    frame.locator("#target").focus()
    page.keyboard.press("Tab")
    assert frame_focus(frame, "#transfer-form button[type=submit]")
    page.keyboard.press("Enter")
    frame.locator("#transfer-form .confirm").wait_for(state="visible", timeout=5_000)
    assert away["firstName"] in frame.locator(".confirm-question").inner_text()
    assert frame_focus(frame, ".confirm-yes") and posts == []  # nothing sent before the answer
    screenshot(page, "handoff")
    page.keyboard.press("Enter")
    frame.locator("#transfer-form .status.ok").wait_for(timeout=15_000)
    assert len(posts) == 1 and prospect["agent"]["id"] == away["id"]
    assert page.problems == []


def test_the_timeline_corrects_the_contact_by_keyboard_and_shows_it_at_once(host, browser_page):
    prospect = quiet_prospect(host.account)
    page = browser_page
    posts = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/dialogs/timeline/contact") else None)
    page.goto(host.contact_url(prospect, "timeline"))
    frame = page.frame_locator('iframe[data-dialog="timeline"]')
    frame.locator("#profile").wait_for(state="visible", timeout=15_000)

    frame.locator("#edit-contact").focus()
    page.keyboard.press("Enter")
    assert frame_focus(frame, "#first-name")
    page.keyboard.press("Control+A")
    page.keyboard.type("Ana Beatriz")
    frame.locator("#add-phone").fill("12 34")
    frame.locator("#add-phone").press("Enter")  # Enter in a field submits its form
    frame.locator("#contact-form .status.error").wait_for(timeout=5_000)
    assert frame.locator("#add-phone").get_attribute("aria-invalid") == "true" and posts == []

    frame.locator("#add-phone").fill("+55 11 91234-5678")
    frame.locator("#add-email").fill("ana.beatriz@example.com")
    frame.locator("#add-email").press("Enter")
    frame.locator("#contact-form .status.ok").wait_for(timeout=15_000)
    assert len(posts) == 1
    assert prospect["firstName"] == "Ana Beatriz" and "+55 11 91234-5678" in prospect["phones"]
    assert frame.locator("#contact-name").inner_text().startswith("Ana Beatriz")
    assert "+55 11 91234-5678" in frame.locator("#facts").inner_text()  # the change shows at once
    screenshot(page, "timeline-edit")
    assert page.problems == []


def test_the_timeline_lists_the_contacts_quotes(host, browser_page):
    prospect = with_interactions(host.account)
    made = []
    for status, items in (
        ("pending", [{"quantity": 1, "price": 152_900}]),
        ("accepted", [{"quantity": 2, "price": 1_250.5}]),
    ):
        answer = requests.post(
            f"{host.sandbox.api_url}/prospect/{prospect['id']}/quotes",
            params={"api-key": host.integration.key},
            json={"status": status, "items": items},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    page = browser_page
    page.goto(host.contact_url(prospect, "timeline"))
    frame = page.frame_locator('iframe[data-dialog="timeline"]')
    frame.locator("#quotes li").first.wait_for(timeout=15_000)
    shown = frame.locator("#quotes li").all_inner_texts()
    assert len(shown) == 2  # the host is in Portuguese: pt-BR numbers and statuses
    assert {text.split("\n")[:2][0] for text in shown} == {"152.900", "2.501"}
    assert {text.split("\n")[1] for text in shown} == {"Pendente", "Aceita"}
    frame.locator("#timeline li").first.wait_for(timeout=15_000)
    screenshot(page, "timeline")
    assert page.problems == []


def test_screenshots_of_each_report_and_the_settings_form(host, browser_page):
    page = browser_page
    base = f"{host.sandbox.base_url}/host/{host.integration.integration_id}"
    for key in ("speed-to-lead", "lead-sources", "agent-activity"):
        page.goto(f"{base}/reports?report={key}")
        frame = page.frame_locator(f'iframe[data-report="{key}"]')
        frame.locator("svg, .empty").first.wait_for(timeout=15_000)
        screenshot(page, f"report-{key}")
    page.goto(f"{base}/settings")
    page.locator("form.card fieldset").first.wait_for(timeout=15_000)
    screenshot(page, "settings")
    assert page.problems == []
