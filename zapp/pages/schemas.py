"""What the pages take and answer, for ``/openapi.json`` and for shaping JSON answers."""

from __future__ import annotations

from marshmallow import Schema, fields


class DialogQuerySchema(Schema):
    """A toolbar dialog's URL: the manifest's placeholders, filled and signed by Sales."""

    prospect = fields.String(required=True, metadata={"description": "${prospect._id}"})
    user = fields.String(metadata={"description": "${user._id}"})
    group = fields.String(required=True, metadata={"description": "${group._id}: finds the installation"})
    lang = fields.String(metadata={"description": "${group.language}: en, es or pt"})
    signature = fields.String(required=True, metadata={"description": "hex HMAC-SHA256 of the URL"})


class ReportQuerySchema(Schema):
    """A report's URL: the manifest's placeholders plus what Sales appends, signed."""

    group = fields.String(
        required=True, metadata={"description": "the selected group: finds the installation"}
    )
    parentGroup = fields.String(metadata={"description": "the viewing user's group"})
    range = fields.String(
        metadata={"description": "last-month, this-month, yesterday, today, last30, last7, custom"}
    )
    start = fields.String(metadata={"description": "YYYY-MM-DD, for range=custom"})
    end = fields.String(metadata={"description": "YYYY-MM-DD, for range=custom"})
    user = fields.String(metadata={"description": "${user._id}"})
    lang = fields.String(metadata={"description": "${group.language}: en, es or pt"})
    signature = fields.String(required=True, metadata={"description": "hex HMAC-SHA256 of the URL"})


class ProspectQuerySchema(Schema):
    prospect = fields.String(required=True, metadata={"description": "the prospect the page was opened for"})


class LocalizedField(fields.Dict):
    """A Sales localizable string: ``{"en": ..., "es": ..., "pt": ...}``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(keys=fields.String(), values=fields.String(), **kwargs)


class ManifestReportSchema(Schema):
    key = fields.String(required=True)
    name = LocalizedField(required=True)
    url = fields.String(required=True)


class ManifestButtonSchema(ManifestReportSchema):
    icon = fields.String(required=True, metadata={"description": "data:image/png;base64,... (64x64)"})


class ManifestFieldSchema(Schema):
    key = fields.String(required=True)
    name = LocalizedField(required=True)
    type = fields.String(required=True)


class ManifestFieldsSchema(Schema):
    prospect = fields.List(fields.Nested(ManifestFieldSchema), required=True)
    user = fields.List(fields.Nested(ManifestFieldSchema), required=True)


class ManifestSchema(Schema):
    reports = fields.List(fields.Nested(ManifestReportSchema), required=True)
    buttons = fields.List(fields.Nested(ManifestButtonSchema), required=True)
    # "fields" would shadow Schema.fields, so the attribute has another name.
    custom_fields = fields.Nested(ManifestFieldsSchema, required=True, data_key="fields")


class AttachmentSchema(Schema):
    type = fields.String(allow_none=True)
    url = fields.String(required=True, metadata={"description": "http(s) only; anything else is dropped"})


class TimelineEntrySchema(Schema):
    id = fields.String(allow_none=True)
    createdAt = fields.String(allow_none=True)
    via = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    proactive = fields.Boolean()
    text = fields.String()
    agent = fields.String()
    attachment = fields.Nested(AttachmentSchema, allow_none=True)


class ContactSchema(Schema):
    id = fields.String(allow_none=True)
    name = fields.String()
    firstName = fields.String()
    lastName = fields.String()
    phones = fields.List(fields.String())
    emails = fields.List(fields.String())
    status = fields.String(allow_none=True)
    source = fields.String(allow_none=True)


class TimelineSchema(Schema):
    prospect = fields.Nested(ContactSchema, required=True)
    interactions = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    truncated = fields.Boolean(required=True, metadata={"description": "more interactions than shown"})
