"""Rendering framed pages and their refusals, localized (en, es, pt).

Templates get ``_`` bound to the page's language, the CSP nonce, and
``page_data``: what the page's script needs (the context token, URLs,
localized strings), written with ``|tojson`` into a JSON data block. Jinja's
autoescaping is on for every ``.html`` template, and nothing from Sales is
ever marked safe.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

from flask import Response, current_app, g, jsonify, render_template, request, url_for
from jinja2.utils import htmlsafe_json_dumps

from ..errors import error_body
from ..i18n import negotiate_language, translate, translations_for
from .headers import csp_nonce
from .refusals import PageRefusal

log = logging.getLogger(__name__)


def page_url(endpoint: str, **query: str | None) -> str:
    """``url_for(endpoint, **query)`` for a route without path arguments (the dialogs' follow-ups).

    The path is built once per endpoint and mount point and the query appended, quoted as
    ``url_for`` quotes it: three ``url_for`` calls were a tenth of a dialog open.
    """
    paths: dict[tuple[str, str], str] = current_app.extensions.setdefault("zapp_page_paths", {})
    key = (endpoint, request.script_root)
    path = paths.get(key)
    if path is None:
        path = paths[key] = url_for(endpoint)
    given = {name: value for name, value in query.items() if value is not None}  # as url_for drops them
    return f"{path}?{urlencode(given, quote_via=quote_plus, safe=_QUERY_SAFE)}" if given else path


# What werkzeug leaves unquoted in a query value it builds.
_QUERY_SAFE = "!$'()*,/:;?@"


def script_strings(**groups: Mapping[str, str]) -> Callable[[str], dict[str, dict[str, str]]]:
    """The ``strings`` of ``render_page`` for groups of message ids (``messages=MESSAGES``...): each
    group translated into the language asked, once per language and process (shared: never changed
    after)."""

    @functools.cache
    def strings(language: str) -> dict[str, dict[str, str]]:
        return {
            name: {key: translate(language, message) for key, message in group.items()}
            for name, group in groups.items()
        }

    return strings


def language_from_url(fallback: str | None = None) -> str:
    """``lang`` from the URL (one of en/es/pt), else ``fallback`` (the installation's), else English.

    Read before the signature is checked too: it only chooses among our own
    catalogs, so it cannot carry anything into the page.
    """
    values = request.args.getlist("lang")
    return negotiate_language(values[0] if len(values) == 1 and values[0] else fallback)


def render_page(
    template: str,
    language: str,
    *,
    status: int = 200,
    strings: Callable[[str], Mapping[str, Any]] | None = None,
    **context: Any,
) -> Response:
    """A framed page in ``language``; the pages blueprint adds its framing and CSP headers.

    ``strings(language)`` is what the page's script shows in that language (the same on every
    open): written into its own data block, in the shell, so it is encoded once per language.
    """
    g.page_language = language
    if set(context) == {"page_data"} and not current_app.jinja_env.auto_reload:
        html = _from_shell(template, language, context["page_data"], strings)
    else:
        if strings is not None:
            context["page_strings"] = strings(language)
        html = _render(template, language, csp_nonce(), **context)
    return Response(html, status=status, mimetype="text/html")


def _render(template: str, language: str, nonce: str, **context: Any) -> str:
    return render_template(
        template,
        _=translations_for(language).gettext,  # language is negotiated already
        page_language=language,
        csp_nonce=nonce,
        **context,
    )


# A page whose only per-request values are its nonce and its page data (every dialog) is rendered
# once per template and language (with its strings) and markers in their place, then filled in:
# the render was a third of a dialog open's time. ``tests/pages/test_rendering.py`` holds both to
# the same output, and the templates rendered this way to using nothing else from the request.
_NONCE_MARK = secrets.token_hex(12)
_DATA_MARK = secrets.token_hex(12)


def _from_shell(
    template: str, language: str, page_data: Any, strings: Callable[[str], Mapping[str, Any]] | None = None
) -> str:
    shells: dict[tuple[str, str, Any], str] = current_app.extensions.setdefault("zapp_page_shells", {})
    shell = shells.get((template, language, strings))
    if shell is None:
        fixed = {} if strings is None else {"page_strings": strings(language)}
        shell = _render(template, language, _NONCE_MARK, page_data=_DATA_MARK, **fixed)
        shells[(template, language, strings)] = shell
    policies = current_app.jinja_env.policies  # what ``|tojson`` dumps with
    data = htmlsafe_json_dumps(
        page_data, dumps=policies["json.dumps_function"], **policies["json.dumps_kwargs"]
    )
    # The nonce first: the page data, put in last, is never searched for a marker.
    return shell.replace(_NONCE_MARK, csp_nonce()).replace(f'"{_DATA_MARK}"', data)


def render_refusal(refusal: PageRefusal) -> Response:
    """A refusal as JSON for follow-up calls (and clients asking for JSON), a short page for people."""
    language = g.get("page_language") or language_from_url()
    log.info("page refused: %s (%s)", refusal.code, refusal.detail or "-")
    message = translate(language, refusal.message)
    if refusal.retry_after is not None:
        message = message % {"seconds": refusal.retry_after}
    if g.get("zapp_json") or _prefers_json():
        fields = {name: translate(language, text) for name, text in (refusal.fields or {}).items()}
        body = error_body(refusal.status, message, refusal.code, fields)
        if refusal.sales_message:
            body["error"]["sales"] = refusal.sales_message
        response = jsonify(body)
        response.status_code = refusal.status
    else:
        response = render_page(refusal.template, language, status=refusal.status, message=message)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def _prefers_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
