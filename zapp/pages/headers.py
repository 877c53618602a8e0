"""Security headers: framed pages may be framed by Sales only, everything else by no one.

Framed pages get a CSP whose ``frame-ancestors`` is ``ZAPP_FRAME_ANCESTORS``
and whose scripts run only with this response's nonce; every other answer of
the app (lifecycle, webhooks, JSON, error pages) gets ``frame-ancestors
'none'`` and no scripts at all, through an app-wide default that a response
can only tighten by setting its own policy first.
"""

from __future__ import annotations

import secrets

from flask import Response, current_app, g

_FRAMED_POLICY = (
    "default-src 'self'",
    "script-src 'nonce-{nonce}'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors {ancestors}",
)
_DEFAULT_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def csp_nonce() -> str:
    """This response's script nonce (made on first use); templates put it on every ``<script>``."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def framed_policy(nonce: str, ancestors: tuple[str, ...]) -> str:
    return "; ".join(_FRAMED_POLICY).format(nonce=nonce, ancestors=" ".join(ancestors))


def framed_page_headers(response: Response) -> Response:
    """After-request hook of the pages blueprint: HTML it answers is meant to be framed by Sales."""
    if response.mimetype != "text/html":
        return response
    ancestors = current_app.extensions["zapp"].config.frame_ancestors
    response.headers["Content-Security-Policy"] = framed_policy(csp_nonce(), ancestors)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.pop("X-Frame-Options", None)  # it cannot list origins; the CSP above does
    return response


_DEFAULT_HEADERS = (
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
)


def default_security_headers(response: Response) -> Response:
    """App-wide after-request hook: whatever did not set a policy may not be framed nor run scripts.

    The names present are read once (each lookup in werkzeug's headers is a scan): this runs on
    every answer, webhook acknowledgements included.
    """
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 - Headers iterates as pairs
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", _DEFAULT_POLICY)
        if "x-frame-options" not in present:
            headers.add("X-Frame-Options", "DENY")
    headers.extend([(name, value) for name, value in _DEFAULT_HEADERS if name.lower() not in present])
    return response
