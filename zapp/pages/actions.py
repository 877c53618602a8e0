"""Page actions that change something in Sales (send, transfer, archive...), each done at most once.

A dialog sends every action with an ``Idempotency-Key`` header, one key per
intent: a double click, a network retry or a reload that replays the call
carries the same key. The first request claims the key by inserting an
``ActionRecord`` (the primary key decides, never a lookup first), acts, and
stores its answer; any later request with that key gets the stored answer
back (``Idempotent-Replayed: true``) without calling Sales again.

Only outcomes that are known are final. Sales refusing (nothing happened),
failing on a read before the change, or never receiving the change (no
connection, 429, 503) frees the key, so the person can fix and retry. A
timeout, a reset or another 5xx on the change itself leaves the outcome
unknown: the key stays taken and the answer says to check the Timeline,
since sending twice is worse than asking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..http import read_json_object
from ..models import ActionRecord, utcnow
from ..openapi import documented
from ..sales import SalesClient
from ..sales.errors import Conflict, InvalidId, NotFound, RateLimited, SalesError, Unavailable
from .context import FollowUp, require_context
from .refusals import (
    ActAsUserMissing,
    ActionInProgress,
    ActionOutcomeUnknown,
    ActionRefusedBySales,
    BadParameters,
    IdempotencyKeyMisuse,
    InvalidInput,
    ProspectNotFound,
)
from .sales_calls import checked_prospect, sales_client_for

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
RECORD_LIFETIME = timedelta(hours=24)
RUNNING, DONE, UNKNOWN = "running", "done", "unknown"
# What an action endpoint may answer besides 200, for /openapi.json.
ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 502, 503)


@dataclass(frozen=True)
class Action:
    """One action as the dialog asked for it: its name and the fields that define "the same action"."""

    name: str
    fields: Mapping[str, Any]

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps([self.name, self.fields], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


Act = Callable[[FollowUp, dict[str, Any], SalesClient], dict[str, Any]]


def page_action(
    rule: str,
    *,
    purpose: str,
    schema: type[Schema],
    summary: str,
    result: type[Schema],
    blueprint: Blueprint,
) -> Callable[[Act], Callable]:
    """Define a JSON action at ``rule``: token checked, fields loaded, prospect checked, done once.

    The decorated function gets the follow-up, the loaded fields and the
    installation's Sales client, and answers the result; everything around it
    (``X-Zapp-Context``, ``Idempotency-Key``, the prospect's group, Sales'
    errors, /openapi.json) is done here, the same way for every action.
    """

    def decorate(act: Act) -> Callable:
        name = act.__name__

        def view(followup: FollowUp) -> Response:
            fields = load_action(schema())

            def perform(client: SalesClient) -> dict[str, Any]:
                checked_prospect(client, followup.instance, fields["prospect"])
                return act(followup, fields, client)

            return perform_once(followup, Action(name, fields), perform)

        view.__name__ = view.__qualname__ = name
        view.__doc__ = act.__doc__
        guarded = require_context(purpose=purpose, prospect_from="json:prospect")(view)
        documented(
            summary=summary, tags=("pages",), body=schema, responses={200: result}, errors=ACTION_ERRORS
        )(guarded)
        blueprint.add_url_rule(rule, endpoint=name, view_func=guarded, methods=["POST"])
        return guarded

    return decorate


def load_action(schema: Schema, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An action's fields (the JSON body unless ``data`` is given); 422 naming each field to fix."""
    try:
        return schema.load(read_json_object() if data is None else data)
    except ValidationError as error:
        raise InvalidInput("invalid fields", fields=_flat(error.messages)) from None


def _flat(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"parameters.name": "first message"}``."""
    if isinstance(messages, list):
        first = messages[0] if messages else ""
        return {prefix or "_schema": first if isinstance(first, str) else str(first)}
    flat: dict[str, str] = {}
    for name, value in messages.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict) and set(value) == {"value"}:
            value = value["value"]  # a Dict field reports value errors under "value"
        flat.update(_flat(value, key) if isinstance(value, dict | list) else {key: str(value)})
    return flat


def idempotency_key() -> str:
    """The request's ``Idempotency-Key``: required on every action, 16-64 URL-safe characters."""
    values = request.headers.getlist(IDEMPOTENCY_HEADER)
    if len(values) != 1 or not KEY_PATTERN.fullmatch(values[0]):
        raise BadParameters(f"{IDEMPOTENCY_HEADER} must be given once, 16 to 64 URL-safe characters")
    return values[0]


def perform_once(
    followup: FollowUp, action: Action, perform: Callable[[SalesClient], dict[str, Any]]
) -> Response:
    """Run ``perform`` with the installation's Sales client unless this key already ran; answer JSON."""
    database: Database = current_app.extensions["zapp"].database
    key = idempotency_key()
    existing = _claim(database, followup.instance.id, key, action)
    if existing is not None:
        return _replay(existing, action)
    try:
        with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
            result = _call_sales(client, perform)
    except ActionOutcomeUnknown:
        _finish(database, followup.instance.id, key, UNKNOWN, None)
        raise
    except BaseException:
        _release(database, followup.instance.id, key)
        raise
    _finish(database, followup.instance.id, key, DONE, result)
    log.info("page action %s done", action.name)
    return jsonify(result)


def _call_sales(client: SalesClient, perform: Callable[[SalesClient], dict[str, Any]]) -> dict[str, Any]:
    """``perform``, with the Sales errors only an action has turned into what the person can act on.

    The rest (a prospect read that finds nothing, a bad id, Sales down) go on
    to ``sales_client_for``, which answers them as on every page call.
    """
    try:
        return perform(client)
    except SalesError as error:
        if error.may_have_changed_something:
            status = error.status or type(error).__name__
            raise ActionOutcomeUnknown(f"Sales answered {status} to a change") from None
        if isinstance(error, Conflict) and "/as-user/" in (error.path or ""):
            raise ActAsUserMissing("Sales answered 409", sales_message=error.sales_message) from None
        if isinstance(error, InvalidId | Unavailable | RateLimited) or (
            isinstance(error, NotFound) and error.method == "GET"
        ):
            raise
        refused = f"Sales answered {error.status}"
        raise ActionRefusedBySales(refused, sales_message=error.sales_message) from None


def _claim(database: Database, instance_id: int, key: str, action: Action) -> ActionRecord | None:
    """Insert the record; None if this request owns the key, else the record that already holds it."""
    try:
        with database.transaction() as session:
            session.execute(
                delete(ActionRecord).where(
                    ActionRecord.instance_id == instance_id,
                    ActionRecord.created_at < utcnow() - RECORD_LIFETIME,
                )
            )
            session.add(
                ActionRecord(
                    instance_id=instance_id, key=key, action=action.name, fingerprint=action.fingerprint
                )
            )
        return None
    except IntegrityError:
        pass
    with database.reading_session() as session:
        record = session.scalar(
            select(ActionRecord).where(ActionRecord.instance_id == instance_id, ActionRecord.key == key)
        )
    if record is None:  # released between our insert and this read: the caller may simply retry
        raise ActionInProgress("key released meanwhile")
    return record


def _replay(record: ActionRecord, action: Action) -> Response:
    if record.action != action.name or record.fingerprint != action.fingerprint:
        raise IdempotencyKeyMisuse("key reused for another action")
    if record.state == RUNNING:
        raise ActionInProgress("same key still running")
    if record.state == UNKNOWN:
        raise ActionOutcomeUnknown("this key's earlier outcome is unknown")
    response = jsonify(record.response or {})
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _finish(database: Database, instance_id: int, key: str, state: str, result: dict | None) -> None:
    with database.transaction() as session:
        record = session.get(ActionRecord, (instance_id, key))
        if record is not None:
            record.state, record.status, record.response = state, 200 if result is not None else None, result


def _release(database: Database, instance_id: int, key: str) -> None:
    """Free the key after an outcome that sent nothing, so a corrected retry can act."""
    try:
        with database.transaction() as session:
            session.execute(
                delete(ActionRecord).where(ActionRecord.instance_id == instance_id, ActionRecord.key == key)
            )
    except Exception:  # the database failing here must not hide the refusal being raised
        log.exception("could not release an idempotency key")


__all__ = ["Action", "idempotency_key", "load_action", "page_action", "perform_once"]
