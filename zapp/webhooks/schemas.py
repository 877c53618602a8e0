"""What a Sales notification looks like, and what we answer.

The envelope is validated for the fields we rely on; anything else Sales
sends is kept as delivered (``INCLUDE``), since the raw event is what we store.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

TOPICS = ("prospects", "interactions", "quotes", "agents")
KINDS = ("created", "updated")
MAX_OPERATION_ID = 200


class ProspectSummarySchema(Schema):
    class Meta:
        unknown = INCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class EnvelopeSchema(Schema):
    """A notification as Sales sends it (``sales-api.md``, "Webhook notifications")."""

    class Meta:
        unknown = INCLUDE

    subscriptionId = fields.String(validate=validate.Length(max=64))
    topic = fields.String(required=True, validate=validate.OneOf(TOPICS))
    type = fields.String(required=True, validate=validate.OneOf(KINDS))
    received = fields.String(allow_none=True, validate=validate.Length(max=64))
    sent = fields.String(allow_none=True, validate=validate.Length(max=64))
    attempts = fields.Integer(allow_none=True, strict=True)
    prospect = fields.List(fields.Nested(ProspectSummarySchema), required=True)
    updatedAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    operationId = fields.String(allow_none=True, validate=validate.Length(max=MAX_OPERATION_ID))
    whatsAppDueAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    facebookDueAt = fields.String(allow_none=True, validate=validate.Length(max=64))
    updates = fields.List(fields.Dict(), allow_none=True)
    interaction = fields.Dict(allow_none=True)


class AckSchema(Schema):
    stored = fields.Boolean(required=True, metadata={"description": "the event is stored durably"})
    duplicate = fields.Boolean(
        required=True, metadata={"description": "an earlier delivery of this event was stored already"}
    )
