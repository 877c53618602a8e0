"""Structured logs with a request id, and redaction of everything secret.

Redaction happens in the formatter, after the message, its arguments and any
traceback have been rendered, so no path (a logged URL, an exception that
quotes a query string, a debug line from urllib3) can slip a secret through.
The same redactor backs gunicorn's access log (see ``zapp/gunicorn_config.py``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterable

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[redacted]"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Names whose values are secret wherever they appear: query strings, JSON bodies, headers.
_SECRET_NAMES = (
    "api-key",
    "api_key",
    "apikey",
    "newapikey",
    "appsecret",
    "x-app-secret",
    "x-api-key",
    "x-api-token",
    "x-zapp-context",
    "signature",
    "token",
    "context",
    "authorization",
    "password",
)
_NAMES = "|".join(re.escape(name) for name in _SECRET_NAMES)
_PATTERNS = (
    # query strings and form bodies: name=value
    re.compile(rf"(?i)(\b(?:{_NAMES})=)([^&\s\"'<>]+)"),
    # JSON: "name": "value"
    re.compile(rf"(?i)(\"(?:{_NAMES})\"\s*:\s*)\"((?:[^\"\\]|\\.)*)\""),
    # headers and reprs: name: value / 'name': 'value'
    re.compile(rf"(?i)(\b(?:{_NAMES})'?\s*[:=]\s*'?)(?!\[redacted\])([^\s,&'\"}}]+)"),
    # webhook callback tokens live in the path
    re.compile(r"(/webhooks/)([A-Za-z0-9_\-]{8,})"),
)


class Redactor:
    """Masks known secret values and secret-looking name/value pairs."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted({*self._secrets, *(s for s in secrets if s)}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{REDACTED}", text)
        return text


redactor = Redactor()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redactor(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, extras."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redactor(json.dumps(payload, default=str))


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Install one redacting handler on the root logger (idempotent across app instances)."""
    redactor.add(*secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_zapp", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._zapp = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger, with the request line and headers redacted before the access log."""

    def atoms(self, resp, req, environ, request_time):  # noqa: D401 - gunicorn's hook
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redactor(value) if isinstance(value, str) else value for key, value in atoms.items()}

    def setup(self, cfg):
        super().setup(cfg)
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(_RedactingWrapper(handler.formatter))


class _RedactingWrapper(logging.Formatter):
    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redactor(self._inner.format(record))
