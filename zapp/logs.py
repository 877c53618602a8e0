"""Structured logs with a request id, and redaction of everything secret.

Redaction happens in the formatter, after the message, its arguments and any
traceback have been rendered, so no path (a logged URL, an exception that
quotes a query string, a debug line from urllib3) can slip a secret through.
The same redactor backs gunicorn's access log (see ``zapp/gunicorn_config.py``).

Its patterns match secret names however they are percent-encoded
(``api%2Dkey=``, ``%73ignature=``, ``x=signature%3D...``, twice encoded), and
a request is logged from its decoded form: ``loggable_target`` decodes every
query parameter before deciding whether its name is secret, and logs a route
that carries a secret in its path by its template (``/webhooks/<token>``).
The app's request line and gunicorn's access log both use it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

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
# Path segments of our routes that are secrets themselves.
SECRET_PATH_ARGUMENTS = frozenset({"token"})
ACCESS_TARGET_KEY = "zapp.log_target"  # where the app leaves the loggable target for gunicorn


def _encodable(text: str) -> str:
    """A pattern for ``text`` with any of its characters percent-encoded, once or more (``%2573``)."""
    return "".join(f"(?:{re.escape(ch)}|%(?:25)*{ord(ch):02x})" for ch in text)


_ENCODABLE_NAMES = "|".join(_encodable(name) for name in _SECRET_NAMES)
# The start of a parameter name: not inside a word, unless a percent-encoded character precedes it.
_NAME_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"
_PATTERNS = (
    # query strings and form bodies: name=value
    re.compile(rf"(?i)(\b(?:{_NAMES})=)([^&\s\"'<>]+)"),
    # JSON: "name": "value"
    re.compile(rf"(?i)(\"(?:{_NAMES})\"\s*:\s*)\"((?:[^\"\\]|\\.)*)\""),
    # headers and reprs: name: value / 'name': 'value'
    re.compile(rf"(?i)(\b(?:{_NAMES})'?\s*[:=]\s*'?)(?!\[redacted\])([^\s,&'\"}}]+)"),
    # webhook callback tokens live in the path
    re.compile(r"(/webhooks/)(?!<token>)([A-Za-z0-9_\-]{8,})"),
)
# Only for text with a "%" in it (the slower patterns are not paid for by every line).
_ENCODED_PATTERNS = (
    # name=value with the name or the "=" percent-encoded, at any depth
    re.compile(rf"(?i)({_NAME_START}(?:{_ENCODABLE_NAMES})(?:=|%(?:25)*3d))([^&\s\"'<>]+)"),
    re.compile(r"(?i)(/webhooks%(?:25)*2f)([A-Za-z0-9_\-%]{8,})"),
)
_SECRET_KEYS = frozenset(re.sub(r"[^a-z0-9]", "", name) for name in _SECRET_NAMES)


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
        if "%" in text:
            for pattern in _ENCODED_PATTERNS:
                text = pattern.sub(rf"\g<1>{REDACTED}", text)
        return text


redactor = Redactor()


def _decoded(text: str) -> str:
    """Percent-decoded until nothing changes (bounded): what any decoder along the way could see."""
    for _ in range(4):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def is_secret_name(name: str) -> bool:
    """Whether a parameter of this name carries a secret, whatever its case, encoding or punctuation."""
    return re.sub(r"[^a-z0-9]", "", _decoded(name).lower()) in _SECRET_KEYS


def redact_query(query: str) -> str:
    """A query string for a log: each pair decoded, the values of secret names masked."""
    pairs = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        pairs.append(f"{_decoded(name)}={REDACTED if is_secret_name(name) else _decoded(value)}")
    return redactor("&".join(pairs))


def loggable_target(path: str, query: str, rule: str | None = None, arguments: Iterable[str] = ()) -> str:
    """The request target as logs show it: a route with a secret in its path by its template, the
    query decoded and redacted."""
    shown = rule if rule and SECRET_PATH_ARGUMENTS.intersection(arguments) else redactor(_decoded(path))
    return f"{shown}?{redact_query(query)}" if query else shown


def redact_url(url: str) -> str:
    """A full URL (a Referer) for a log, its query decoded and redacted."""
    base, separator, query = url.partition("?")
    return redactor(_decoded(base)) + (separator + redact_query(query) if separator else "")


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
    """gunicorn's logger: the request target decided as the app logs it, then every line redacted."""

    def atoms(self, resp, req, environ, request_time):  # noqa: D401 - gunicorn's hook
        atoms = super().atoms(resp, req, environ, request_time)
        target = environ.get(ACCESS_TARGET_KEY)
        if target is None:  # the app never saw it: decide on the raw target the same way
            target = loggable_target(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        path, _, query = target.partition("?")
        atoms.update(r=f"{atoms.get('m', '-')} {target} {atoms.get('H', '-')}", U=path, q=query)
        for key in ("f", "{referer}i"):
            if isinstance(atoms.get(key), str) and atoms[key] != "-":
                atoms[key] = redact_url(atoms[key])
        # The line as a whole goes through ``redactor`` in ``_RedactingWrapper``: redacting each of
        # the dozens of atoms (every header) first, most of them unused by the format, doubled the
        # cost of an access line for nothing.
        return atoms

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
