"""marshmallow fields that take JSON types as they are.

marshmallow's own fields coerce (``"yes"`` becomes ``True``, ``True`` passes as
the integer 1); Sales sends JSON, so a value of the wrong JSON type is a
mistake to report, not to guess at.
"""

from __future__ import annotations

from marshmallow import fields


class StrictBoolean(fields.Boolean):
    default_error_messages = {"invalid": "Must be true or false."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    default_error_messages = {"invalid": "Must be a whole number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    default_error_messages = {"invalid": "Must be a string."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value
