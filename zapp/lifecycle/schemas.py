"""What the lifecycle endpoints accept and answer, as marshmallow schemas.

The same schemas validate input, shape output and describe the endpoints in
``/openapi.json``.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .settings_form import settings_schema
from .strict_fields import StrictBoolean, StrictString

# Sales' key format is not documented; accept any printable token of sane length.
API_KEY_RULES = [
    validate.Length(min=1, max=512),
    validate.Regexp(r"^[\x21-\x7e]+$", error="Must be printable ASCII without spaces."),
]


class IntegrationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    apiKey = StrictString(required=True, validate=API_KEY_RULES)
    enabled = StrictBoolean(load_default=None)


class InstallSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    appId = StrictString(load_default=None)
    appSecret = StrictString(load_default=None, load_only=True)
    integration = fields.Nested(IntegrationSchema, required=True)


class EnabledSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    enabled = StrictBoolean(required=True)


class ApiKeyRefreshSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    newApiKey = StrictString(required=True, validate=API_KEY_RULES)


class SuccessSchema(Schema):
    success = fields.Boolean(required=True)


# Every setting with its current value; the same fields validate PUT /lifecycle/settings.
SettingsSchema = settings_schema()


class InputSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    label = fields.String(required=True)
    hint = fields.String()
    warning = fields.String()
    error = fields.String()
    hidden = fields.Boolean()
    hiddenWhere = fields.Dict()
    disabled = fields.Boolean()
    disabledWhere = fields.Dict()
    customProps = fields.Dict()


class SectionSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String()
    hint = fields.String()
    warning = fields.String()
    error = fields.String()
    hidden = fields.Boolean()
    hiddenWhere = fields.Dict()
    disabled = fields.Boolean()
    disabledWhere = fields.Dict()
    inputs = fields.List(fields.Nested(InputSchema), required=True)


class ChangeSchema(Schema):
    name = fields.String(required=True)
    hint = fields.String()
    warning = fields.String()
    error = fields.String()
    customProps = fields.Dict()


class ValidationRuleSchema(Schema):
    where = fields.Dict(required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class SettingsFormSchema(Schema):
    title = fields.String(required=True)
    description = fields.String()
    hint = fields.String()
    warning = fields.String()
    error = fields.String()
    sections = fields.List(fields.Nested(SectionSchema), required=True)
    validations = fields.List(fields.Nested(ValidationRuleSchema))


class LanguageQuerySchema(Schema):
    lang = fields.String(validate=validate.Length(max=35))
