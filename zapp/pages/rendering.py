"""Rendering framed pages and their refusals, localized (en, es, pt).

Templates get ``_`` bound to the page's language, the CSP nonce, and
``page_data``: what the page's script needs (the context token, URLs,
localized strings), written with ``|tojson`` into a JSON data block. Jinja's
autoescaping is on for every ``.html`` template, and nothing from Sales is
ever marked safe.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, g, jsonify, render_template, request

from ..errors import error_body
from ..i18n import negotiate_language, translate, translations_for
from .headers import csp_nonce
from .refusals import PageRefusal

log = logging.getLogger(__name__)


def language_from_url(fallback: str | None = None) -> str:
    """``lang`` from the URL (one of en/es/pt), else ``fallback`` (the installation's), else English.

    Read before the signature is checked too: it only chooses among our own
    catalogs, so it cannot carry anything into the page.
    """
    values = request.args.getlist("lang")
    return negotiate_language(values[0] if len(values) == 1 and values[0] else fallback)


def render_page(template: str, language: str, *, status: int = 200, **context: Any) -> Response:
    """A framed page in ``language``; the pages blueprint adds its framing and CSP headers."""
    g.page_language = language
    html = render_template(
        template,
        _=translations_for(language).gettext,  # language is negotiated already
        page_language=language,
        csp_nonce=csp_nonce(),
        **context,
    )
    return Response(html, status=status, mimetype="text/html")


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
