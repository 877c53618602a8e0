"""What the pages take and answer, for ``/openapi.json`` and for shaping JSON answers."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from ..i18n import N_
from ..sales.ids import CHANNELS, OBJECT_ID
from .dialogs.messages_content import parameter_problem


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


class LeadSchema(Schema):
    source = fields.String(allow_none=True)
    campaign = fields.String(allow_none=True)
    medium = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    created = fields.String(allow_none=True)


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
    label = fields.String(allow_none=True)
    agent = fields.String(allow_none=True)
    created = fields.String(allow_none=True)
    leads = fields.List(fields.Nested(LeadSchema))


class TimelineQuerySchema(ProspectQuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))


class TimelineSchema(Schema):
    prospect = fields.Nested(ContactSchema, required=True)
    interactions = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True, metadata={"description": "pages of interactions in all"})
    total = fields.Integer(required=True)
    truncated = fields.Boolean(
        required=True, metadata={"description": "Sales had more interactions than the timeline keeps"}
    )


# -- actions: what the dialogs send -------------------------------------------------------

SALES_ID = validate.Regexp(OBJECT_ID, error=N_("Not a Sales id."))


class ProspectActionSchema(Schema):
    """Every action names the prospect its page was opened for (checked against the context token)."""

    prospect = fields.String(required=True, validate=SALES_ID)


class ChannelActionSchema(ProspectActionSchema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))


class TemplateSendSchema(ChannelActionSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    parameters = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(),
        load_default=dict,
        validate=validate.Length(max=30),
    )

    @validates("parameters")
    def _whatsapp_rule(self, parameters: dict[str, str], **_kwargs) -> None:
        problems = {
            name: problem for name, value in parameters.items() if (problem := parameter_problem(value))
        }
        if problems:
            raise ValidationError(problems)


class TextSendSchema(ChannelActionSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=4096))


class FileSendSchema(ChannelActionSchema):
    """The multipart form of a file send, for /openapi.json (the file itself is checked by its bytes)."""

    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG/PNG <= 5 MB, PDF/audio <= 10 MB, MP4 <= 16 MB",
        },
    )


class TransferSchema(ProspectActionSchema):
    agent = fields.String(validate=SALES_ID)
    group = fields.String(validate=SALES_ID)

    @validates_schema
    def _one_target(self, data: dict, **_kwargs) -> None:
        if bool(data.get("agent")) == bool(data.get("group")):
            raise ValidationError(N_("Choose an agent or a group."), "target")


MAX_CHOICE_VALUE = 80  # an archiving reason or a label, as Sales lists them


class ArchiveSchema(ProspectActionSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CHOICE_VALUE))


class LabelSchema(ProspectActionSchema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CHOICE_VALUE))


class NoteSchema(ProspectActionSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ActionResultSchema(Schema):
    done = fields.Boolean(required=True)
    action = fields.String(required=True)
    interactions = fields.Integer(metadata={"description": "interactions Sales recorded for a message"})


# -- the Messages and Handoff dialogs' data ----------------------------------------------


class TemplateParameterSchema(Schema):
    name = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "pre-filled from the prospect"})


class TemplateSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    body = fields.String(required=True)
    parameters = fields.List(fields.Nested(TemplateParameterSchema), required=True)


class ChannelSchema(Schema):
    channel = fields.String(required=True)
    windowOpenUntil = fields.String(
        allow_none=True, metadata={"description": "free text allowed until then; null when closed"}
    )
    templates = fields.List(fields.Nested(TemplateSchema), required=True)


class FileLimitSchema(Schema):
    type = fields.String(required=True)
    maxBytes = fields.Integer(required=True)
    extensions = fields.List(fields.String(), required=True)


class MessagesDataSchema(Schema):
    prospect = fields.Nested(ContactSchema, required=True)
    channels = fields.List(fields.Nested(ChannelSchema), required=True)
    files = fields.List(fields.Nested(FileLimitSchema), required=True)


class TargetSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class ChoiceSchema(Schema):
    value = fields.String(required=True)
    name = fields.String(required=True)


class HandoffDataSchema(Schema):
    prospect = fields.Nested(ContactSchema, required=True)
    actAsUser = fields.Boolean(
        required=True, metadata={"description": "false when Sales has no user for the App to act as"}
    )
    actAsUserMessage = fields.String(allow_none=True)
    agents = fields.List(fields.Nested(TargetSchema), required=True)
    groups = fields.List(fields.Nested(TargetSchema), required=True)
    reasons = fields.List(fields.Nested(ChoiceSchema), required=True)
    labels = fields.List(fields.Nested(ChoiceSchema), required=True)
