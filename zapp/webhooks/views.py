"""``POST /webhooks/<token>``: where Sales delivers notifications.

The acknowledgement means "stored durably", nothing more: no Sales call, no
processing and no second write (no job is queued here). The workers' feed
finds the new event (``feed.py``: a PostgreSQL notification or a short look)
and queues its processing; the periodic sweep catches anything it misses.
"""

from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import ApiError, error_body, error_response
from ..http import read_json_object
from ..installations.errors import InstallationNotFound
from ..openapi import documented
from .inbox import Receipt
from .schemas import AckSchema, EnvelopeSchema

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
RETRY_AFTER_SECONDS = 30
# Schemas are stateless once built, and building one costs more than a load: one per process.
_ENVELOPE = EnvelopeSchema()
# The two acknowledgements there are, shaped by their schema once: a tenth of an ack went to
# building the same few bytes again.
_ACKS = {
    duplicate: json.dumps(AckSchema().dump({"stored": True, "duplicate": duplicate}), separators=(",", ":"))
    for duplicate in (False, True)
}


class UnknownWebhook(ApiError):
    def __init__(self) -> None:
        super().__init__(
            404,
            "No installation listens at this address; it may have been deleted.",
            code="unknown_webhook",
        )


@bp.errorhandler(InstallationNotFound)
def _nobody_listens(_error: InstallationNotFound) -> Response:
    """The inbox found no live installation behind the token: Sales should stop delivering here."""
    unknown = UnknownWebhook()
    return error_response(unknown.status, unknown.message, unknown.code)


def _envelope() -> dict:
    """The body as a Sales envelope: 415, 413 and 400 (with the offending fields) otherwise."""
    body = read_json_object()
    try:
        _ENVELOPE.load(body)
    except ValidationError as error:
        names = ", ".join(sorted(error.messages)) if isinstance(error.messages, dict) else "body"
        raise ApiError(
            400,
            f"The body is not a Sales notification envelope; check: {names}.",
            code="not_an_envelope",
            fields=error.messages if isinstance(error.messages, dict) else None,
        ) from None
    return body


def _unavailable():
    response = jsonify(
        error_body(503, "Events cannot be stored right now; deliver this one again later.", "unavailable")
    )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<token>")
@documented(
    summary="Receive a Sales notification (stored before it is acknowledged)",
    tags=("webhooks",),
    body=EnvelopeSchema,
    responses={200: AckSchema, 202: AckSchema},
    errors=(400, 404, 413, 415, 503),
)
def receive(token: str):
    envelope = _envelope()
    if not TOKEN.fullmatch(token):
        raise UnknownWebhook()
    zapp = current_app.extensions["zapp"]
    try:
        receipt: Receipt = zapp.inbox.store(token, envelope)
    except (DBAPIError, PoolTimeout) as error:
        log.warning("could not store a webhook event (%s); answering 503", type(error).__name__)
        return _unavailable()
    return current_app.response_class(
        _ACKS[receipt.duplicate], status=200 if receipt.duplicate else 202, mimetype="application/json"
    )
