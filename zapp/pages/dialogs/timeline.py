"""The Timeline dialog: a contact's interactions, newest first.

The dialog paints at once from the signed URL alone; the contact's data
comes after first paint from ``/dialogs/timeline/data``, a follow-up call
guarded by the page's context token.
"""

from __future__ import annotations

import functools

from flask import Response, jsonify, request, url_for
from marshmallow import ValidationError

from ...i18n import N_, translate
from ...openapi import documented
from ...vocabulary import VIA_LABELS
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..refusals import BadParameters, ProspectNotFound
from ..rendering import render_page
from ..sales_calls import checked_prospect, sales_client_for
from ..schemas import TimelineQuerySchema, TimelineSchema
from .timeline_content import shape_timeline

# Strings the page's script shows, localized on the server like everything else.
MESSAGES = {
    "loading": N_("Loading the contact's history…"),
    "empty": N_("No interactions with this contact yet."),
    "failed": N_("The history could not be loaded. Close the dialog and try again."),
    "truncated": N_("Only the most recent interactions are shown."),
    "attachment": N_("Attachment"),
    "proactive": N_("Started by the agent"),
    "other": N_("Other"),
    "newer": N_("Newer"),
    "older": N_("Older"),
    "pageOf": N_("Page %(page)s of %(pages)s"),
    "leads": N_("Leads"),
    "source": N_("Source"),
    "campaign": N_("Campaign"),
    "product": N_("Product"),
    "status": N_("Status"),
    "agent": N_("Agent"),
    "label": N_("Label"),
}


@functools.lru_cache(maxsize=8)
def _page_strings(language: str) -> dict[str, dict[str, str]]:
    """The script's strings in ``language``: the same on every open, so translated once per process."""
    return {
        "messages": {key: translate(language, message) for key, message in MESSAGES.items()},
        "via": {key: translate(language, label) for key, label in VIA_LABELS.items()},
    }


@dialog(
    "timeline",
    name=N_("Timeline"),
    icon="timeline.png",
    summary="Timeline dialog: the contact's interactions (signed by Sales)",
)
def timeline(page: Page) -> Response:
    language = page.language
    page_data = {
        "context": page.context_token,
        "language": language,
        "urls": {"data": url_for("pages.timeline_data", prospect=page.prospect)},
        **_page_strings(language),
    }
    return render_page("pages/dialogs/timeline.html", language, page_data=page_data)


@bp.get("/dialogs/timeline/data")
@documented(
    summary="The timeline's contact and interactions (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=TimelineQuerySchema,
    responses={200: TimelineSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=timeline.extension_point.purpose, prospect_from="query:prospect")
def timeline_data(followup: FollowUp) -> Response:
    page = _query_page()
    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        prospect = checked_prospect(client, followup.instance, followup.context.prospect)
        interactions = client.list_prospect_interactions(followup.context.prospect)
    data = shape_timeline(prospect, interactions if isinstance(interactions, list) else [], page=page)
    return jsonify(TimelineSchema().dump(data))


def _query_page() -> int:
    try:
        return TimelineQuerySchema().load(request.args.to_dict(flat=True))["page"]
    except ValidationError as error:
        raise BadParameters(f"page: {error.messages.get('page', error.messages)}") from None
