"""What the pages take and answer, for ``/openapi.json`` and for shaping JSON answers."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

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
    confirmOffline = fields.Boolean(
        load_default=False,
        metadata={"description": "the person confirmed a transfer to an agent who is not online"},
    )

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


PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().\-]+$")
PHONE_DIGITS = (8, 15)  # E.164 allows at most 15 digits; fewer than 8 is no reachable number (inferred)
NAME_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]*$")


def phone_problem(value: str) -> str | None:
    """Why ``value`` cannot be a phone to add, or None; the page runs the same rule before sending."""
    digits = sum(character.isdigit() for character in value)
    if not PHONE_CHARACTERS.fullmatch(value) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        return N_("Enter a phone number: 8 to 15 digits, optionally starting with +.")
    return None


def _stripped(value: str) -> str:
    return " ".join(value.split())


class ContactEditSchema(ProspectActionSchema):
    """A correction of the contact as Sales' prospect update takes it: names, and a phone or email to add."""

    firstName = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(NAME_PATTERN)],
        metadata={"description": "replaces the first name"},
    )
    lastName = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(NAME_PATTERN)],
        metadata={"description": "replaces the last name"},
    )
    phone = fields.String(
        validate=validate.Length(max=40), metadata={"description": "a phone number to add to the contact"}
    )
    email = fields.Email(
        validate=validate.Length(max=254), metadata={"description": "an email address to add to the contact"}
    )

    @pre_load
    def _tidy(self, data: Any, **_kwargs) -> Any:
        """Spaces around and runs of spaces inside are not part of a name, a phone or an email."""
        if not isinstance(data, dict):
            return data
        tidy = dict(data)
        for name in ("firstName", "lastName", "phone", "email"):
            if isinstance(tidy.get(name), str):
                tidy[name] = _stripped(tidy[name])
                if not tidy[name] and name in ("phone", "email"):
                    del tidy[name]  # an empty "add" box adds nothing
        return tidy

    @validates("phone")
    def _phone(self, value: str, **_kwargs) -> None:
        problem = phone_problem(value)
        if problem:
            raise ValidationError(problem)

    @validates_schema
    def _something_to_change(self, data: dict, **_kwargs) -> None:
        if not any(data.get(name) for name in ("firstName", "lastName", "phone", "email")):
            raise ValidationError(N_("Change a name or add a phone or an email."), "contact")


class ActionResultSchema(Schema):
    done = fields.Boolean(required=True)
    action = fields.String(required=True)
    interactions = fields.Integer(metadata={"description": "interactions Sales recorded for a message"})


class ContactEditResultSchema(ActionResultSchema):
    prospect = fields.Nested(
        ContactSchema, required=True, metadata={"description": "the contact as Sales has it now"}
    )


class QuoteSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(allow_none=True, metadata={"description": "pending, accepted or rejected"})
    total = fields.Float(
        allow_none=True, metadata={"description": "the quote's total (else its items summed)"}
    )
    items = fields.Integer(required=True, metadata={"description": "how many items the quote has"})
    createdAt = fields.String(allow_none=True)
    decidedAt = fields.String(allow_none=True, metadata={"description": "when it was accepted or rejected"})


class QuotesSchema(Schema):
    quotes = fields.List(fields.Nested(QuoteSchema), required=True, metadata={"description": "newest first"})
    source = fields.String(required=True, metadata={"description": "store (from webhooks) or sales"})


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


class AgentTargetSchema(TargetSchema):
    online = fields.Boolean(
        allow_none=True, metadata={"description": "online now per Sales; null when Sales could not tell"}
    )


class ChoiceSchema(Schema):
    value = fields.String(required=True)
    name = fields.String(required=True)


class HandoffDataSchema(Schema):
    prospect = fields.Nested(ContactSchema, required=True)
    actAsUser = fields.Boolean(
        required=True, metadata={"description": "false when Sales has no user for the App to act as"}
    )
    actAsUserMessage = fields.String(allow_none=True)
    officeHours = fields.Boolean(
        allow_none=True,
        metadata={"description": "the installation's group within office hours; null when unknown"},
    )
    agents = fields.List(
        fields.Nested(AgentTargetSchema), required=True, metadata={"description": "online agents first"}
    )
    groups = fields.List(fields.Nested(TargetSchema), required=True)
    reasons = fields.List(fields.Nested(ChoiceSchema), required=True)
    labels = fields.List(fields.Nested(ChoiceSchema), required=True)
