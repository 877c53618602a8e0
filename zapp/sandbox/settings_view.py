"""The host's rendering of an App's settings form, as the seed describes it (L1371-1426).

Texts (``description``, ``hint``, ``warning``, ``error``) are CommonMark,
rendered without raw HTML; ``hidden``/``hiddenWhere`` leave a section or an
input out, ``disabled``/``disabledWhere`` show it read-only, and each
``validations`` rule whose ``where`` matches the values applies its
``changes`` to the named input. An ``error`` anywhere blocks saving.
The condition syntax of ``where`` is not stated: *(inferred)* every key
equals the value given (the App's own form uses exactly that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

TEXTS = ("description", "hint", "warning", "error")
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: Any) -> Markup | None:
    """CommonMark to HTML with raw HTML escaped (markdown-it's ``html: False``)."""
    if not isinstance(text, str) or not text:
        return None
    return Markup(_MARKDOWN.render(text))  # noqa: S704 - markdown-it escapes; raw HTML is off


def matches(where: Any, values: Mapping[str, Any]) -> bool:
    """Whether a ``where`` condition holds *(inferred: equality of every key)*."""
    return isinstance(where, Mapping) and bool(where) and all(values.get(k) == v for k, v in where.items())


def present_form(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The form as shown for ``values``: texts rendered, rules applied; ``blocked`` on an error."""
    changes = _validation_changes(form.get("validations"), values)
    sections: list[dict[str, Any]] = []
    for section in form.get("sections") or ():
        if not isinstance(section, Mapping) or _flag(section, "hidden", values):
            continue
        disabled = _flag(section, "disabled", values)
        inputs = [_present_input(item, values, changes, disabled) for item in section.get("inputs") or ()
                  if isinstance(item, Mapping) and not _flag(item, "hidden", values)]  # fmt: skip
        sections.append({**_texts(section), "name": section.get("name"), "title": section.get("title"),
                         "inputs": inputs})  # fmt: skip
    shown = {**_texts(form), "title": form.get("title"), "sections": sections}
    shown["blocked"] = bool(
        shown["error"]
        or any(s["error"] for s in sections)
        or any(i["error"] for s in sections for i in s["inputs"])
    )
    return shown


def _flag(item: Mapping[str, Any], name: str, values: Mapping[str, Any]) -> bool:
    return item.get(name) is True or matches(item.get(f"{name}Where"), values)


def _texts(item: Mapping[str, Any]) -> dict[str, Markup | None]:
    return {name: render_markdown(item.get(name)) for name in TEXTS}


def _validation_changes(rules: Any, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for rule in rules if isinstance(rules, list) else ():
        if not isinstance(rule, Mapping) or not matches(rule.get("where"), values):
            continue
        for change in rule.get("changes") or ():
            if isinstance(change, Mapping) and isinstance(change.get("name"), str):
                changes.setdefault(change["name"], {}).update(change)
    return changes


def _present_input(item: Mapping[str, Any], values, changes, section_disabled: bool) -> dict[str, Any]:
    merged = {**item, **changes.get(str(item.get("name")), {})}
    return {**merged, **_texts(merged), "disabled": section_disabled or _flag(item, "disabled", values)}
