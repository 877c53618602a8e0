"""Reading requests strictly: JSON bodies, single-valued parameters, schema loads.

Every refusal says what was wrong, so a caller can fix its request without
reading our code; none of them is a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from .errors import ApiError

log = logging.getLogger(__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 if it is not JSON, 400 if malformed, 413 if too big."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}.", code="malformed_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", code="malformed_json")
    log.debug("request body with fields %s", sorted(body))
    return body


def load(schema: Schema, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Validate ``data``; 422 naming each offending field."""
    try:
        return schema.load(data, **kwargs)
    except ValidationError as error:
        raise invalid_fields(error) from None


def invalid_fields(error: ValidationError) -> ApiError:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    names = ", ".join(sorted(messages))
    return ApiError(422, f"Some fields are invalid: {names}.", fields=messages)


def single_arg(name: str) -> str | None:
    """A query parameter that must appear at most once."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiError(400, f"Give the {name!r} parameter once.", code="duplicate_parameter")
    return values[0] if values else None
