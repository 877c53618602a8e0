"""Dialog pages rendered once per template and language, then filled in with the request's values."""

from __future__ import annotations

import pytest
from flask import g, url_for
from jinja2 import meta, nodes

from zapp.i18n import SUPPORTED_LANGUAGES
from zapp.pages.rendering import _from_shell, _render, page_url, script_strings

DIALOGS = ("pages/dialogs/timeline.html", "pages/dialogs/messages.html", "pages/dialogs/handoff.html")
# What the shell may depend on: fixed per template and language, or put in per request (nonce, data).
ALLOWED = {"_", "page_language", "csp_nonce", "page_data", "page_strings", "static_url"}
HOSTILE = {
    "context": "tok.en-value_1",
    "prospect": "64b7f0e9a1b2c3d4e5f60718",
    "name": "</script><script>alert(1)</script> & \"quotes\" \u2028 'single'",
    "nested": {"list": [1, 2.5, None, True], "empty": {}},
}


def _strings(language: str) -> dict[str, dict[str, str]]:
    return {"messages": {"hello": f"<b>hi</b> & '{language}' </script>"}}


@pytest.mark.parametrize("template", DIALOGS)
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_shell_filled_in_is_the_page_a_full_render_makes(app, template, language):
    with app.test_request_context("/dialogs/x?lang=" + language):
        g.csp_nonce = "fixed-nonce-for-both"
        full = _render(template, language, "fixed-nonce-for-both", page_data=HOSTILE,
                       page_strings=_strings(language))  # fmt: skip
        first = _from_shell(template, language, HOSTILE, _strings)
        again = _from_shell(template, language, {**HOSTILE, "context": "another"}, _strings)
    assert first == full
    assert "</script><script>" not in first and "\\u003c/script\\u003e" in first
    assert f"'{language}'" not in first and "\\u003cb\\u003ehi" in first  # the strings are escaped too
    assert again != first and again.replace('"another"', '"tok.en-value_1"') == first


def test_each_request_gets_its_own_nonce_in_every_place(app):
    template = DIALOGS[0]
    pages = []
    for nonce in ("nonce-one", "nonce-two"):
        with app.test_request_context("/dialogs/x"):
            g.csp_nonce = nonce
            pages.append(_from_shell(template, "en", HOSTILE))
    first, second = pages
    assert first.count('nonce="nonce-one"') == first.count("nonce=") >= 2
    assert second.count('nonce="nonce-two"') == second.count("nonce=") >= 2


@pytest.mark.parametrize("template", DIALOGS)
def test_shelled_templates_use_nothing_else_from_the_request(app, template):
    """A dialog template (with what it extends and imports) naming anything more would be frozen
    into the shell with the first request's value: add it to the page data instead."""
    env = app.jinja_env
    names: set[str] = set()
    seen: set[str] = set()
    pending = [template]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        parsed = env.parse(source)
        imported = {
            item if isinstance(item, str) else item[1]
            for node in parsed.find_all(nodes.FromImport)
            for item in node.names
        }
        names |= meta.find_undeclared_variables(parsed) - imported
        pending.extend(ref for ref in meta.find_referenced_templates(parsed) if isinstance(ref, str))
    assert names <= ALLOWED, names - ALLOWED
    assert {"pages/base.html", "pages/macros.html"} <= seen


FOLLOW_UPS = (
    "pages.timeline_data", "pages.timeline_quotes", "pages.timeline_contact", "pages.messages_data",
    "pages.messages_send_template", "pages.handoff_data", "pages.handoff_transfer",
)  # fmt: skip


@pytest.mark.parametrize("script_root", ["", "/mounted/zapp"])
@pytest.mark.parametrize("endpoint", FOLLOW_UPS)
def test_a_follow_up_url_is_the_one_url_for_builds(app, endpoint, script_root):
    queries = (
        {}, {"prospect": None}, {"prospect": "64b7f0e9a1b2c3d4e5f60718"},
        {"prospect": "a b&c=d/é?#%+!$'()*,:;@"},
    )  # fmt: skip
    for query in queries:
        with app.test_request_context("/dialogs/x", environ_overrides={"SCRIPT_NAME": script_root}):
            expected = url_for(endpoint, **query)
            assert page_url(endpoint, **query) == expected  # built, then from the cache
            assert page_url(endpoint, **query) == expected
            assert expected.startswith(f"{script_root}/")


def test_script_strings_are_translated_per_language_once_and_shared():
    blank = "A name cannot be left blank."
    strings = script_strings(messages={"blankName": blank}, empty={})
    portuguese = strings("pt")
    assert portuguese == {"messages": {"blankName": "Um nome não pode ficar em branco."}, "empty": {}}
    assert strings("pt") is portuguese  # once per language
    assert strings("en") == {"messages": {"blankName": blank}, "empty": {}}
