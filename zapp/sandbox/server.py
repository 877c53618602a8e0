"""Running the sandbox in a thread on a real port, for tests and benchmarks."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import Sandbox, SandboxOptions, create_sandbox_app
from .state import SandboxState

__all__ = ["RunningSandbox", "SandboxOptions", "start_sandbox"]


@dataclass
class RunningSandbox:
    base_url: str
    app: Any
    _server: Any
    _thread: threading.Thread

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v1"

    @property
    def sandbox(self) -> Sandbox:
        return self.app.extensions["sandbox_control"]

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    def create_account(self, act_as_user: bool = True, scopes: list[str] | None = None) -> dict[str, Any]:
        return self.sandbox.create_account(act_as_user=act_as_user, scopes=scopes)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self.sandbox.stop()


class QuietHandler(WSGIRequestHandler):
    """No request lines on stderr: they would carry API keys in their query strings."""

    def log_request(self, code="-", size="-") -> None:
        return None


def start_sandbox(
    options: SandboxOptions | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Serve a sandbox from a daemon thread (threaded werkzeug server); stop it with ``.stop()``."""
    app = create_sandbox_app(options or SandboxOptions())
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    # A short poll: stopping waits for the loop to notice, and tests start and stop hundreds of these.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="sandbox-http", daemon=True
    )
    thread.start()
    return RunningSandbox(f"http://{host}:{server.server_port}", app, server, thread)
