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


class ProspectSummarySchema(Schema):
    class Meta:
        unknown = INCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))


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
    prospect = fields.List(fields.Nested(ProspectSummarySchema))
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
