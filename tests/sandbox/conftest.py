"""Fixtures for the sandbox's own tests: a local webhook receiver and request helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from zapp.sandbox.server import QuietHandler


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers with ``status``."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @Request.application
    def _app(self, request: Request) -> Response:
        self.received.append(json.loads(request.get_data() or b"null"))
        return Response("{}", status=self.status, mimetype="application/json")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def account(sandbox):
    return sandbox.create_account(act_as_user=True)


@pytest.fixture
def api(sandbox, account):
    """GET/POST against the sandbox API with the account's key."""

    def call(method: str, path: str, **kwargs) -> requests.Response:
        params = {"api-key": account["apiKey"], **kwargs.pop("params", {})}
        return requests.request(method, sandbox.api_url + path, params=params, timeout=15, **kwargs)

    return call
