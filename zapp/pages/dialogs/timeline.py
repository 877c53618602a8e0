"""The Timeline dialog: a contact's interactions, newest first.

The dialog paints at once from the signed URL alone; the contact's data
comes after first paint from ``/dialogs/timeline/data``, a follow-up call
guarded by the page's context token.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, url_for

from ...i18n import N_, translate
from ...openapi import documented
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..instances import require_prospect_in_instance
from ..refusals import ProspectNotFound
from ..rendering import render_page
from ..sales_calls import sales_client_for
from ..schemas import ProspectQuerySchema, TimelineSchema
from .timeline_data import VIA_LABELS, fetch_timeline

# Strings the page's script shows, localized on the server like everything else.
MESSAGES = {
    "loading": N_("Loading the contact's history…"),
    "empty": N_("No interactions with this contact yet."),
    "failed": N_("The history could not be loaded. Close the dialog and try again."),
    "truncated": N_("Only the most recent interactions are shown."),
    "attachment": N_("Attachment"),
    "proactive": N_("Started by the agent"),
    "other": N_("Other"),
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
        "messages": {key: translate(language, message) for key, message in MESSAGES.items()},
        "via": {key: translate(language, label) for key, label in VIA_LABELS.items()},
    }
    return render_page("pages/dialogs/timeline.html", language, page_data=page_data)


@bp.get("/dialogs/timeline/data")
@documented(
    summary="The timeline's contact and interactions (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=ProspectQuerySchema,
    responses={200: TimelineSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=timeline.extension_point.purpose, prospect_from="query:prospect")
def timeline_data(followup: FollowUp) -> Response:
    database = current_app.extensions["zapp"].database

    def check_prospect(prospect) -> None:
        require_prospect_in_instance(database, followup.instance, prospect)

    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        data = fetch_timeline(client, followup.context.prospect, check_prospect=check_prospect)
    return jsonify(TimelineSchema().dump(data))
