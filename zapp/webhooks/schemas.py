"""What a Sales notification looks like, and what we answer.

The envelope is validated for the fields we rely on; anything else Sales
sends is kept as delivered (``INCLUDE``), since the raw event is what we store.
A topic or type we do not know yet (Sales adds them) is stored too and
acknowledged, so Sales does not retry it; processing then marks it ignored.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

TOPICS = ("prospects", "interactions", "quotes", "agents")
KINDS = ("created", "updated")
MAX_OPERATION_ID = 200
MAX_NAME = 32  # the stored topic and type columns


def is_known(topic: Any, kind: Any) -> bool:
    """Whether we know what to do with events of this topic and type."""
    return topic in TOPICS and kind in KINDS


MAX_PROSPECT_ID = 64


class ProspectSummaries(fields.List):
    """The ``prospect`` list: objects that each carry a string ``id`` (1-64 characters).

    Only the id is checked here, the rest is kept as delivered; a nested schema per prospect
    copied every field it does not know, a third of the envelope's validation for nothing.
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "not_list": "Not a valid list.",
        "not_object": "Not a valid object.",
        "bad_id": f"Give each prospect a string id of 1 to {MAX_PROSPECT_ID} characters.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Dict(), **kwargs)  # documented as a list of objects

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("not_list")
        problems: dict[int, Any] = {}
        for position, prospect in enumerate(value):
            if not isinstance(prospect, dict):
                problems[position] = [self.error_messages["not_object"]]
                continue
            prospect_id = prospect.get("id")
            if not isinstance(prospect_id, str) or not 1 <= len(prospect_id) <= MAX_PROSPECT_ID:
                problems[position] = {"id": [self.error_messages["bad_id"]]}
        if problems:
            raise ValidationError(problems)
        return value


class EnvelopeSchema(Schema):
    """A notification as Sales sends it (``sales-api.md``, "Webhook notifications")."""

    class Meta:
        unknown = INCLUDE

    subscriptionId = fields.String(validate=validate.Length(max=64))
    topic = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    type = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME))
    received = fields.String(allow_none=True, validate=validate.Length(max=64))
    sent = fields.String(allow_none=True, validate=validate.Length(max=64))
    attempts = fields.Integer(allow_none=True, strict=True)
    prospect = ProspectSummaries(metadata={"description": "the prospects the event is about"})
    updatedAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    operationId = fields.String(allow_none=True, validate=validate.Length(max=MAX_OPERATION_ID))
    whatsAppDueAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    facebookDueAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    updates = fields.List(fields.Dict(), allow_none=True)
    interaction = fields.Dict(allow_none=True)

    @validates_schema
    def _known_topics_name_their_prospects(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("topic") in TOPICS and "prospect" not in data:
            raise ValidationError("Missing data for required field.", "prospect")


class AckSchema(Schema):
    stored = fields.Boolean(required=True, metadata={"description": "the event is stored durably"})
    duplicate = fields.Boolean(
        required=True, metadata={"description": "an earlier delivery of this event was stored already"}
    )
