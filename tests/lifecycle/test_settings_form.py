"""The settings form: one definition behind the form, the defaults and the validation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from markdown_it import MarkdownIt

from tests.conftest import ROOT
from zapp.i18n import SUPPORTED_LANGUAGES, TRANSLATIONS_DIR
from zapp.lifecycle import settings_form


def test_every_input_of_the_form_is_validated_on_put():
    form = settings_form.render_form("en")
    names = {i["name"] for section in form["sections"] for i in section["inputs"]}
    assert names == set(settings_form.settings_schema()().fields) == set(settings_form.defaults())


def test_template_inputs_hide_while_automatic_reply_is_off():
    inputs = {i["name"]: i for s in settings_form.render_form("en")["sections"] for i in s["inputs"]}
    for name in ("automaticReplyChannel", "automaticReplyTemplate"):
        assert inputs[name]["hiddenWhere"] == {"automaticReplyEnabled": False}
    assert inputs["speedToLeadTargetMinutes"]["customProps"] == {"min": 1, "max": 1440}


def test_the_form_rule_is_the_put_rule():
    form = settings_form.render_form("en")
    [rule] = form["validations"]
    assert settings_form.check_rules({**settings_form.defaults(), **rule["where"]}) == {
        "automaticReplyTemplate": [settings_form.FORM.rules[0].error]
    }


def test_a_retired_input_sales_still_holds_is_accepted_and_dropped():
    """``reportCurrency`` changed nothing and was removed; Sales may still send the value it saved."""
    assert "reportCurrency" not in {item.name for item in settings_form.FORM.inputs}
    merged = settings_form.apply_changes(
        {"reportCurrency": "USD"}, {"reportCurrency": "EUR", "historyImportDays": 30}
    )
    assert "reportCurrency" not in merged and merged["historyImportDays"] == 30


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_descriptions_are_commonmark_without_raw_html(language):
    form = settings_form.render_form(language)
    texts = [form["description"], form["hint"], *(s["description"] for s in form["sections"])]
    renderer = MarkdownIt("commonmark", {"html": False})
    for text in texts:
        assert "<" not in text
        assert renderer.render(text).startswith("<p>")
    assert "<strong>" in renderer.render(form["sections"][0]["description"])


def test_catalogs_translate_every_message_and_are_compiled(tmp_path):
    """Extract from the source now; every message must be translated in es and pt, and the .mo current."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    assert len(wanted) > 100, "the extraction found the messages of the code and the templates"
    for language in ("es", "pt"):
        folder = os.path.join(TRANSLATIONS_DIR, language, "LC_MESSAGES")
        with open(os.path.join(folder, "messages.po"), "rb") as fh:
            po = {m.id: m.string for m in read_po(fh) if m.id}
        with open(os.path.join(folder, "messages.mo"), "rb") as fh:
            mo = {m.id: m.string for m in read_mo(fh) if m.id}
        missing = sorted(message for message in wanted if not po.get(message))
        assert missing == [], f"{language}: untranslated messages"
        assert {k: v for k, v in po.items() if k in wanted} == {k: v for k, v in mo.items() if k in wanted}
