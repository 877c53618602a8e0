"""The error envelope: JSON for machines, a short page for people.

Every refusal the app makes is an ``ApiError`` or a werkzeug ``HTTPException``
and leaves here as ``{"error": {"code", "message"[, "fields"]}}``. Machine
routes (lifecycle, webhooks, the API description, health) always answer JSON;
other routes answer JSON when the client prefers it and a short page otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5

MACHINE_PREFIXES = ("/lifecycle", "/webhooks", "/openapi.json", "/healthz", "/readyz", "/api/")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_fields",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """A refusal with a status, a stable code and a message that says what to do next."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.fields = fields


def error_body(status: int, message: str, code: str | None = None, fields: Any = None) -> dict:
    error: dict[str, Any] = {"code": code or _CODES.get(status, "error"), "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _wants_json() -> bool:
    if request.path.startswith(MACHINE_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, message: str, code: str | None = None, fields: Any = None) -> Response:
    if _wants_json():
        response = jsonify(error_body(status, message, code, fields))
    else:
        response = Response(
            render_template("error.html", status=status, message=message), mimetype="text/html"
        )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, error.code, error.fields)


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    message = error.description or error.name
    response = error_response(status, message)
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(500, "Something went wrong on our side; it has been logged. Try again.")


def _handle_database_unavailable(error: Exception) -> Response:
    """The database unreachable (restarting, failing over) or its pool exhausted: a 503 with
    ``Retry-After``, which a balancer or a person may retry, rather than a 500 that reads as a bug."""
    log.warning("database unavailable (%s); answering 503", type(error).__name__)
    response = error_response(503, "The service is briefly unavailable; try again in a few seconds.")
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
    app.register_error_handler(PoolTimeout, _handle_database_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)
