"""Reading requests strictly: JSON bodies, single-valued parameters, schema loads.

Every refusal says what was wrong, so a caller can fix its request without
reading our code; none of them is a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError

from .errors import ApiError

log = logging.getLogger(__name__)

# (inferred) Sales' envelopes and our bodies nest a handful of levels; anything deeper is not for us,
# and refusing it early keeps a "[[[[..." body from reaching a RecursionError anywhere.
MAX_JSON_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object: 415 if it is not JSON, 400 if malformed or nested deeper
    than ``MAX_JSON_DEPTH``, 413 if too big (announced, or streamed in chunks)."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    raw = read_body()
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}.", code="malformed_json") from None
    except RecursionError:
        body = None  # nested past what the parser can follow: refused below as too deep
    if body is None or (_could_nest_deeper(raw) and not _depth_within(body, MAX_JSON_DEPTH)):
        raise ApiError(400, f"The body nests deeper than {MAX_JSON_DEPTH} levels.", code="json_too_deep")
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", code="malformed_json")
    if log.isEnabledFor(logging.DEBUG):
        log.debug("request body with fields %s", sorted(body))
    return body


def read_body() -> bytes:
    """The whole body, or 413 past ``MAX_CONTENT_LENGTH``.

    Werkzeug refuses a too-large ``Content-Length`` itself, but a chunked body
    (no length announced) is only cut at the cap; one that fills it is refused
    here rather than parsed truncated *(inferred: a body of exactly the cap is
    taken as over it, since what follows cannot be read safely)*.
    """
    raw = request.get_data(cache=True)
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and cap is not None and len(raw) >= cap:
        raise ApiError(413, f"The body is larger than {cap // 1024} KiB.")
    return raw


def _could_nest_deeper(raw: bytes) -> bool:
    """Whether the body has enough brackets to nest past ``MAX_JSON_DEPTH`` (counted in C: most
    bodies have a handful, and need no walk)."""
    return raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH


def _depth_within(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (iteratively: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


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
