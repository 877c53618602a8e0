"""Request plumbing every surface shares: request ids, access lines, body draining."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from flask.sessions import SessionInterface
from werkzeug.wsgi import ClosingIterator, LimitedStream

from .logs import ACCESS_TARGET_KEY, loggable_target, request_id_var

log = logging.getLogger("zapp.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
DRAIN_LIMIT = 16 * 1024 * 1024


def _start_request() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()
    request_id_var.set(g.request_id)


def _finish_request(response):
    response.headers["X-Request-Id"] = g.get("request_id", "-")
    if not log.isEnabledFor(logging.INFO):
        return response  # building the line (the full path, the timing) costs more than its check
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    target = _loggable_target()
    request.environ[ACCESS_TARGET_KEY] = target  # gunicorn's access line shows the same
    log.info(
        "%s %s %s",
        request.method,
        target,
        response.status_code,
        extra={"status": response.status_code, "duration_ms": round(elapsed, 2)},
    )
    return response


def _loggable_target() -> str:
    """Decided on the decoded request: its route's template when its path carries a secret."""
    rule = request.url_rule
    query = request.query_string.decode("latin-1")
    if rule is None:
        return loggable_target(request.path, query)
    return loggable_target(request.path, query, rule.rule, rule.arguments)


class DrainUnreadBody:
    """Read what the app left of a request body before the connection closes.

    A server that answers early (401 before reading, 413 on a 3 MiB upload) and
    closes with unread bytes makes the kernel send RST, and the client sees a
    reset instead of our answer. Draining (bounded) lets the answer arrive.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        stream = _counted_input(environ)
        result = self.app(environ, start_response)
        if stream is None:
            return result
        return ClosingIterator(result, [lambda: _drain(stream)])


def _drain(stream: LimitedStream) -> None:
    stream.exhaust()


def _counted_input(environ) -> LimitedStream | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or length > DRAIN_LIMIT or environ.get("wsgi.input_terminated"):
        return None
    stream = LimitedStream(environ["wsgi.input"], length)
    environ["wsgi.input"] = stream
    return stream


class NoCookieSession(SessionInterface):
    """zapp keeps no cookie session: its pages live in Sales' iframe, where third-party cookies are
    not to be relied on, so state travels in signed URLs and context tokens instead. Flask's default
    would still build a signing serializer on every request to find no cookie; writing to this
    session raises, so nobody starts relying on one by accident."""

    def open_session(self, app, request):
        return None  # Flask then uses the null session

    def save_session(self, app, session, response) -> None:
        return None


def register_request_hooks(app: Flask) -> None:
    app.session_interface = NoCookieSession()
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.wsgi_app = DrainUnreadBody(app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented way
