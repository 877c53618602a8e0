"""``@dialog`` and ``@report``: how a page Sales frames is defined, checked and declared.

One decorator does all of it, so no page can skip a check or stay out of the
manifest::

    @dialog("timeline", name=N_("Timeline"), icon="timeline.png", summary="...")
    def timeline(page: Page) -> Response:
        return render_page("pages/dialogs/timeline.html", page.language, page_data=...)

Before the view runs: the signature is verified (403), the parameters the
page reads are single and well formed (400), the installation is found from
``group`` (404, or the "disabled" page), and a context token is minted for
the page's follow-up calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flask import Blueprint, current_app, request

from ..openapi import documented
from .blueprint import bp
from .context import PageContext, context_tokens
from .guards import PAGE, mark
from .instances import GroupRef, ResolvedInstance, require_object_id, resolve_instance
from .refusals import BadParameters, BadSignature
from .registry import BUTTON, REPORT, ExtensionPoint, ExtensionRegistry, extension_points
from .rendering import language_from_url
from .schemas import DialogQuerySchema, ReportQuerySchema
from .signed_urls import SignatureRejected, verify_environ

DIALOG_QUERY = "prospect=${prospect._id}&user=${user._id}&group=${group._id}&lang=${group.language}"
REPORT_QUERY = "lang=${group.language}&user=${user._id}"
# Sales appends these to every report URL (seed: "Sales will add the following query parameters").
REPORT_PARAMETERS = ("range", "start", "end", "parentGroup")
# Read by every page: a second value could only come from a placeholder that smuggled one in.
PAGE_PARAMETERS = ("group", "user", "prospect", "lang")
PAGE_ERRORS = {400: None, 403: None, 404: None}


@dataclass(frozen=True)
class Page:
    """A signed page load that passed every check, as its view gets it."""

    point: ExtensionPoint
    instance: ResolvedInstance
    user: str | None
    prospect: str | None
    language: str
    context_token: str = field(repr=False)
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def group(self) -> GroupRef:
        return self.instance.group


@dataclass(frozen=True)
class _Where:
    """Where a page is defined: the app's pages blueprint and registry, unless a test brings its own."""

    blueprint: Blueprint
    registry: ExtensionRegistry


def dialog(
    key: str,
    *,
    name: str,
    summary: str,
    icon: str,
    query: str = DIALOG_QUERY,
    reads: Sequence[str] = (),
    blueprint: Blueprint = bp,
    registry: ExtensionRegistry = extension_points,
) -> Callable:
    """Define a toolbar dialog at ``/dialogs/<key>``, opened for one prospect."""
    if "group=${group._id}" not in query or "prospect=${prospect._id}" not in query:
        raise ValueError("a dialog's URL must carry group=${group._id} and prospect=${prospect._id}")
    point = ExtensionPoint(BUTTON, key, name, f"/dialogs/{key}", query, icon)
    where = _Where(blueprint, registry)
    return _extension_point(point, summary, DialogQuerySchema, reads, where, needs_prospect=True)


def report(
    key: str,
    *,
    name: str,
    summary: str,
    query: str = REPORT_QUERY,
    reads: Sequence[str] = (),
    blueprint: Blueprint = bp,
    registry: ExtensionRegistry = extension_points,
) -> Callable:
    """Define a manager report at ``/reports/<key>``; Sales appends range, dates and groups."""
    point = ExtensionPoint(REPORT, key, name, f"/reports/{key}", query)
    where = _Where(blueprint, registry)
    reads = (*REPORT_PARAMETERS, *reads)
    return _extension_point(point, summary, ReportQuerySchema, reads, where, needs_prospect=False)


def _extension_point(
    point: ExtensionPoint,
    summary: str,
    query_schema: type,
    reads: Sequence[str],
    where: _Where,
    *,
    needs_prospect: bool,
) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def page_view():
            return view(open_page(point, reads, needs_prospect=needs_prospect))

        documented(
            summary=summary,
            tags=("pages",),
            query=query_schema,
            responses={200: None, **PAGE_ERRORS},
        )(page_view)
        page_view.extension_point = point  # type: ignore[attr-defined]
        mark(page_view, PAGE)
        where.blueprint.add_url_rule(point.path, endpoint=view.__name__, view_func=page_view, methods=["GET"])
        where.registry.register(point)
        return page_view

    return decorate


def open_page(point: ExtensionPoint, reads: Sequence[str] = (), *, needs_prospect: bool) -> Page:
    """Every check a signed page load goes through, in order; raises a ``PageRefusal``."""
    verify_request_signature()
    values = single_parameters((*PAGE_PARAMETERS, *reads))
    group = require_object_id(values.get("group"), "group")
    user = _optional_id(values.get("user"), "user")
    prospect = require_object_id(values.get("prospect"), "prospect") if needs_prospect else None
    if "parentGroup" in values:
        _optional_id(values["parentGroup"], "parentGroup")
    instance = resolve_instance(current_app.extensions["zapp"].database, group)
    language = language_from_url(instance.language)
    context = PageContext(instance.public_id, group, point.purpose, user, prospect, language)
    return Page(
        point=point,
        instance=instance,
        user=user,
        prospect=prospect,
        language=language,
        context_token=context_tokens().mint(context),
        params={name: values[name] for name in reads if name in values},
    )


def verify_request_signature() -> None:
    """403 unless the request is a URL Sales signed with one of our signing keys."""
    config = current_app.extensions["zapp"].config
    try:
        verify_environ(request.environ, config.public_url, config.signing_keys)
    except SignatureRejected as error:
        raise BadSignature(error.reason) from None


def single_parameters(names: Sequence[str]) -> dict[str, str]:
    """The given parameters that are present, each exactly once (400 on a repeated one)."""
    values: dict[str, str] = {}
    for name in names:
        found = request.args.getlist(name)
        if len(found) > 1:
            raise BadParameters(f"{name} is given more than once")
        if found:
            values[name] = found[0]
    return values


def _optional_id(value: str | None, what: str) -> str | None:
    return require_object_id(value, what) if value else None
