"""The settings this App needs, defined once.

The form Sales renders (``GET /lifecycle/settings-form``), the defaults
(``GET /lifecycle/settings``) and the validation of ``PUT /lifecycle/settings``
are all derived from ``FORM`` below, so the form and the validation can never
disagree. Texts are message ids, translated per request through Babel; the
descriptions use CommonMark, which Sales renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as ma_fields

from ..i18n import N_, negotiate_language, translate
from ..vocabulary import CHANNEL_LABELS
from .strict_fields import StrictBoolean, StrictInteger, StrictString

# How each kind of input is named in Sales' form schema. The seed shows only
# "text"; the others are inferred and kept here so they can be corrected at once.
SALES_INPUT_TYPES = {"boolean": "checkbox", "integer": "number", "choice": "select", "text": "text"}

# Inputs the form once offered: a value Sales still holds for one is accepted and dropped *(inferred)*.
# ``reportCurrency`` was removed: no report has an amount to show in it.
RETIRED_INPUTS = frozenset({"reportCurrency"})
CHANNELS = tuple(CHANNEL_LABELS.items())
TEMPLATE_KEY_PATTERN = r"^[A-Za-z0-9_.\-]{0,100}$"


@dataclass(frozen=True)
class Input:
    name: str
    kind: str
    label: str
    default: Any
    hint: str | None = None
    hidden_where: Mapping[str, Any] | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    options: Callable[[str], list[tuple[str, str]]] | None = None

    def field(self) -> ma_fields.Field:
        """The marshmallow field that validates this input on PUT."""
        if self.kind == "boolean":
            return StrictBoolean()
        if self.kind == "integer":
            return StrictInteger(validate=validate.Range(min=self.minimum, max=self.maximum))
        validators: list[Any] = []
        if self.kind == "choice":
            validators.append(validate.OneOf([value for value, _ in self.options("en")]))
        if self.max_length is not None:
            validators.append(validate.Length(max=self.max_length))
        if self.pattern is not None:
            validators.append(validate.Regexp(self.pattern, error="Use letters, digits, '.', '_' or '-'."))
        return StrictString(validate=validators)

    def custom_props(self, language: str) -> dict[str, Any]:
        props: dict[str, Any] = {}
        if self.minimum is not None:
            props["min"] = self.minimum
        if self.maximum is not None:
            props["max"] = self.maximum
        if self.max_length is not None:
            props["maxLength"] = self.max_length
        if self.options is not None:
            props["options"] = [{"value": v, "label": label} for v, label in self.options(language)]
        return props


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    description: str
    inputs: tuple[Input, ...]
    hint: str | None = None


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: when ``where`` matches the settings, ``input`` is in error.

    Sent to Sales as a form validation and enforced by us on PUT, from this
    one definition.
    """

    where: Mapping[str, Any]
    input: str
    error: str


@dataclass(frozen=True)
class Form:
    title: str
    description: str
    sections: tuple[Section, ...]
    rules: tuple[Rule, ...] = field(default=())
    hint: str | None = None

    @property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(item for section in self.sections for item in section.inputs)


def _channel_options(language: str) -> list[tuple[str, str]]:
    return [(value, translate(language, label)) for value, label in CHANNELS]


_REPLY_OFF = {"automaticReplyEnabled": False}

FORM = Form(
    title=N_("Lead speed toolkit"),
    description=N_(
        "Answer every new contact at once, hand conversations over in one click and see "
        "how fast your team reaches its leads. Changes apply to this account only."
    ),
    hint=N_("Need help? Read the **zapp** guide for managers and administrators."),
    sections=(
        Section(
            name="automaticReply",
            title=N_("Automatic reply"),
            description=N_(
                "Send a WhatsApp template to every **new contact** the moment it arrives, so no "
                "lead waits for a first answer. Templates are approved in *Channels* in Sales."
            ),
            inputs=(
                Input(
                    "automaticReplyEnabled",
                    "boolean",
                    N_("Reply automatically to new contacts"),
                    False,
                ),
                Input(
                    "automaticReplyChannel",
                    "choice",
                    N_("Channel"),
                    "whatsapp",
                    hidden_where=_REPLY_OFF,
                    options=_channel_options,
                ),
                Input(
                    "automaticReplyTemplate",
                    "text",
                    N_("Template key"),
                    "",
                    hint=N_("The `key` of an approved template, for example `welcome_lead`."),
                    hidden_where=_REPLY_OFF,
                    max_length=100,
                    pattern=TEMPLATE_KEY_PATTERN,
                ),
            ),
        ),
        Section(
            name="reports",
            title=N_("Reports"),
            description=N_("How the **Speed to lead** report judges your team."),
            inputs=(
                Input(
                    "speedToLeadTargetMinutes",
                    "integer",
                    N_("Speed-to-lead target (minutes)"),
                    5,
                    hint=N_("A lead first contacted within this many minutes counts as on time."),
                    minimum=1,
                    maximum=1440,
                ),
            ),
        ),
        Section(
            name="history",
            title=N_("History"),
            description=N_(
                "At install the App imports recent contacts and interactions so reports start "
                "full. Use *0* to start empty."
            ),
            inputs=(
                Input(
                    "historyImportDays",
                    "integer",
                    N_("Days of history to import"),
                    90,
                    minimum=0,
                    maximum=365,
                ),
            ),
        ),
    ),
    rules=(
        Rule(
            where={"automaticReplyEnabled": True, "automaticReplyTemplate": ""},
            input="automaticReplyTemplate",
            error=N_("Enter the key of the template to send, or turn automatic reply off."),
        ),
    ),
)


def defaults(form: Form = FORM) -> dict[str, Any]:
    return {item.name: item.default for item in form.inputs}


def settings_schema(form: Form = FORM) -> type[Schema]:
    """A marshmallow schema for a partial update: only known inputs, each of its own type."""
    return Schema.from_dict({item.name: item.field() for item in form.inputs}, name="Settings")


def merged_settings(stored: Mapping[str, Any], form: Form = FORM) -> dict[str, Any]:
    """Stored values over defaults, limited to the inputs the form has now."""
    values = defaults(form)
    values.update({key: value for key, value in stored.items() if key in values})
    return values


def _matches(where: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    return all(values.get(key) == expected for key, expected in where.items())


def check_rules(values: Mapping[str, Any], form: Form = FORM) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for rule in form.rules:
        if _matches(rule.where, values):
            errors.setdefault(rule.input, []).append(rule.error)
    return errors


def apply_changes(stored: Mapping[str, Any], changes: Mapping[str, Any], form: Form = FORM) -> dict[str, Any]:
    """Validate ``changes`` and merge them; raise ``ValidationError`` and change nothing if any is wrong."""
    current = {key: value for key, value in changes.items() if key not in RETIRED_INPUTS}
    cleaned = settings_schema(form)().load(current, partial=True)
    merged = {**merged_settings(stored, form), **cleaned}
    errors = check_rules(merged, form)
    if errors:
        raise ValidationError(errors)
    return merged


def render_form(language: str | None, form: Form = FORM) -> dict[str, Any]:
    """The form as Sales expects it (seed schema), in ``language``."""
    lang = negotiate_language(language)

    def t(message: str | None) -> str | None:
        return translate(lang, message) if message else None

    def render_input(item: Input) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "name": item.name,
            "type": SALES_INPUT_TYPES[item.kind],
            "label": t(item.label),
            "hidden": False,
            "disabled": False,
            "customProps": item.custom_props(lang),
        }
        if item.hint:
            rendered["hint"] = t(item.hint)
        if item.hidden_where:
            rendered["hiddenWhere"] = dict(item.hidden_where)
        return rendered

    def render_section(section: Section) -> dict[str, Any]:
        rendered = {
            "name": section.name,
            "title": t(section.title),
            "description": t(section.description),
            "hidden": False,
            "disabled": False,
            "inputs": [render_input(item) for item in section.inputs],
        }
        if section.hint:
            rendered["hint"] = t(section.hint)
        return rendered

    body: dict[str, Any] = {
        "title": t(form.title),
        "description": t(form.description),
        "sections": [render_section(section) for section in form.sections],
        "validations": [
            {"where": dict(rule.where), "changes": [{"name": rule.input, "error": t(rule.error)}]}
            for rule in form.rules
        ],
    }
    if form.hint:
        body["hint"] = t(form.hint)
    return body
