"""Who may reach the pages blueprint: it fails closed, and follow-up calls come from our page only.

Every endpoint of the blueprint must be marked by what guards it: ``page``
(``@dialog``/``@report``: Sales' signature), ``follow-up``
(``@require_context``: the page's context token) or ``public`` (``@public``:
nothing to guard, e.g. the manifest). A ``before_request`` refuses anything
else, so a view added without its decorator is refused, not served.

Follow-up calls are made by our page's script, so a browser sends them as
same-origin. One that says it comes from another site (``Origin``, or
``Sec-Fetch-Site: cross-site`` without an allowed ``Origin``) is refused:
only our own origin (``ZAPP_PUBLIC_URL``) and the configured frame ancestors
(``ZAPP_FRAME_ANCESTORS``, where Sales hosts the page) may call. A client
that sends neither header (not a browser) is left to the context token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import current_app, request

from .refusals import ContextMismatch, PageRefusal

log = logging.getLogger(__name__)

PAGE, FOLLOW_UP, PUBLIC = "page", "follow-up", "public"
_GUARDS = frozenset({PAGE, FOLLOW_UP, PUBLIC})
_ATTRIBUTE = "zapp_guard"
_SAME_SITE = frozenset({"same-origin", "same-site", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

View = TypeVar("View", bound=Callable)


class Unguarded(PageRefusal):
    """A pages endpoint nobody marked: a programming error, refused rather than served."""

    status, code = 403, "unguarded_endpoint"


class CrossSite(PageRefusal):
    status, code = 403, "cross_site"
    message = ContextMismatch.message


def mark(view: View, guard: str) -> View:
    if guard not in _GUARDS:
        raise ValueError(f"unknown guard {guard!r}")
    setattr(view, _ATTRIBUTE, guard)
    return view


def public(view: View) -> View:
    """Mark a pages endpoint that needs no check (it serves nothing secret)."""
    return mark(view, PUBLIC)


def guard_of(view: Callable | None) -> str | None:
    return getattr(view, _ATTRIBUTE, None)


def refuse_unguarded() -> None:
    """``before_request`` of the pages blueprint: only marked endpoints are served."""
    view = current_app.view_functions.get(request.endpoint or "")
    if guard_of(view) not in _GUARDS:
        log.error("pages endpoint %s is not marked as a page, follow-up or public; refused", request.endpoint)
        raise Unguarded(f"endpoint {request.endpoint} unmarked")


def require_same_site() -> None:
    """403 for a follow-up call a browser says comes from another site."""
    config = current_app.extensions["zapp"].config
    origin = request.headers.get("Origin")
    if origin is not None:
        if not origin_allowed(origin, config.public_url, config.frame_ancestors):
            raise CrossSite("Origin not allowed")
        return
    if request.headers.get("Sec-Fetch-Site", "none").strip().lower() not in _SAME_SITE:
        raise CrossSite("Sec-Fetch-Site: cross-site")


def origin_allowed(origin: str, public_url: str, ancestors: Iterable[str]) -> bool:
    """Whether ``origin`` is our own or matches a frame-ancestors source (``https://*.zenvia.com``)."""
    own = _parts(public_url)
    given = _parts(origin)
    if given is None:
        return False
    if given == own:
        return True
    return any(_matches(given, source, own) for source in ancestors)


def _parts(url: str) -> tuple[str, str, int] | None:
    try:
        split = urlsplit(url.strip())
        port = split.port
    except ValueError:
        return None
    scheme, host = split.scheme.lower(), (split.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def _matches(given: tuple[str, str, int], source: str, own: tuple[str, str, int] | None) -> bool:
    if source == "'self'":
        return given == own
    wildcard = "://*." in source
    pattern = _parts(source.replace("://*.", "://", 1))
    if pattern is None or pattern[0] != given[0] or pattern[2] != given[2]:
        return False
    if wildcard:
        return given[1].endswith("." + pattern[1])
    return given[1] == pattern[1]
