"""No signature and no context token reaches a log line: the app's own log, and gunicorn's."""

from __future__ import annotations

import io
import logging

import pytest
import requests

from tests.pages.conftest import object_id, page_data, sign
from zapp.logs import REDACTED, JsonFormatter, RedactingFormatter, Redactor, RequestIdFilter
from zapp.pages.context import CONTEXT_HEADER


def test_the_redactor_masks_signatures_and_context_tokens_wherever_they_appear():
    redact = Redactor()
    signature, token = "ab" * 32, "eyJpIjoiYWJjIn0.Z3x9Qw.abc-def_ghi"
    lines = [
        f"GET /dialogs/timeline?group=g&signature={signature} 403",
        f"GET /dialogs/timeline?signature={signature}&group=g 200",
        f"headers: {{'X-Zapp-Context': '{token}'}}",
        f"X-Zapp-Context: {token}",
        f'{{"x-zapp-context": "{token}"}}',
    ]
    for line in lines:
        masked = redact(line)
        assert signature not in masked and token not in masked and REDACTED in masked, line


def _capture() -> tuple[io.StringIO, list[logging.Handler]]:
    """The app's real formatters (JSON and text) writing into a buffer."""
    buffer = io.StringIO()
    handlers = []
    for formatter in (JsonFormatter(), RedactingFormatter("%(levelname)s %(name)s %(message)s")):
        handler = logging.StreamHandler(buffer)
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
        logging.getLogger().addHandler(handler)
        handlers.append(handler)
    return buffer, handlers


def test_no_signature_or_token_in_the_apps_log_lines(client, installed, timeline_target):
    buffer, handlers = _capture()
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        signed = sign(timeline_target(installed.group))
        data = page_data(client.get(signed))
        client.get(signed + "x")  # refused: the reason is logged, the signature is not
        client.get(data["urls"]["data"], headers={CONTEXT_HEADER: data["context"][:-1]})
        client.get(data["urls"]["data"] + "0", headers={CONTEXT_HEADER: data["context"]})
    finally:
        logging.getLogger().setLevel(level)
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
    text = buffer.getvalue()
    assert "GET /dialogs/timeline" in text and "page refused" in text
    assert signed.rpartition("=")[2] not in text
    assert data["context"] not in text and data["context"][:-1] not in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # logging does not depend on it
def test_no_signature_or_token_in_gunicorns_logs(gunicorn_server, make_instance):
    installed = make_instance()
    server = gunicorn_server({"ZAPP_LOG_LEVEL": "DEBUG"})
    target = f"/dialogs/timeline?prospect={object_id()}&user={object_id()}&group={installed.group}&lang=es"
    signed = sign(target, base=server.url)
    page = requests.get(server.url + signed, timeout=30)
    assert page.status_code == 200
    token = page_data(_Page(page.text))["context"]
    last = signed[-1]
    refused = requests.get(server.url + signed[:-1] + ("1" if last == "0" else "0"), timeout=30)
    assert refused.status_code == 403
    follow_up = requests.get(
        f"{server.url}/dialogs/timeline/data?prospect={object_id()}",
        headers={CONTEXT_HEADER: token},
        timeout=30,
    )
    assert follow_up.status_code == 403  # a token for another prospect: refused before any Sales call
    log = server.log()
    assert "/dialogs/timeline" in log
    assert signed.rpartition("=")[2] not in log and token not in log


class _Page:
    """Just enough of a test-client response for ``page_data``."""

    def __init__(self, text: str) -> None:
        self._text = text

    def get_data(self, as_text: bool = False) -> str:
        return self._text
