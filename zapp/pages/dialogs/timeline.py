"""The Timeline dialog: a contact's interactions, newest first, its quotes, and corrections to it.

The dialog paints at once from the signed URL alone; the contact's data
comes after first paint from ``/dialogs/timeline/data`` and its quotes from
``/dialogs/timeline/quotes``, follow-up calls guarded by the page's context
token. The agent corrects the contact's names, or adds a phone or an email,
through Sales' prospect update (``PATCH /prospect/{id}``, whose documented
body takes one phone and one email to add), as an idempotent page action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, jsonify, request
from marshmallow import ValidationError

from ...i18n import N_
from ...installations.lookup import ResolvedInstance, covers_group
from ...openapi import documented
from ...sales import SalesClient
from ...store.quotes import stored_quotes
from ...store.records import stored_prospect_group
from ...vocabulary import QUOTE_STATUS_LABELS, VIA_LABELS
from ..actions import page_action
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..refusals import BadParameters, ProspectNotFound
from ..rendering import page_url, render_page, script_strings
from ..sales_calls import checked_prospect, sales_client_for
from ..schemas import (
    ContactEditResultSchema,
    ContactEditSchema,
    ProspectQuerySchema,
    QuotesSchema,
    TimelineQuerySchema,
    TimelineSchema,
)
from .timeline_content import contact_summary, shape_quotes, shape_timeline

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
    "phones": N_("Phones"),
    "emails": N_("Emails"),
    "quotes": N_("Quotes"),
    "quotesFailed": N_("The quotes could not be loaded."),
    "quoteItems": N_("Items: %(count)s"),
    "noValue": N_("no value"),
    "sending": N_("Sending…"),
    "saved": N_("Contact updated."),
    "salesSaid": N_("Zenvia Sales said:"),
    "nothingToChange": N_("Change a name or add a phone or an email."),
    "badPhone": N_("Enter a phone number: 8 to 15 digits, optionally starting with +."),
    "badEmail": N_("Enter an email address such as name@example.com."),
    "blankName": N_("A name cannot be left blank."),
}


_strings = script_strings(messages=MESSAGES, via=VIA_LABELS, quoteStatus=QUOTE_STATUS_LABELS)


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
        "prospect": page.prospect,
        "urls": {
            "data": page_url("pages.timeline_data", prospect=page.prospect),
            "quotes": page_url("pages.timeline_quotes", prospect=page.prospect),
            "contact": page_url("pages.timeline_contact"),
        },
    }
    return render_page("pages/dialogs/timeline.html", language, page_data=page_data, strings=_strings)


PURPOSE = timeline.extension_point.purpose


@bp.get("/dialogs/timeline/data")
@documented(
    summary="The timeline's contact and interactions (needs the page's X-Zapp-Context token)",
    tags=("pages",),
    query=TimelineQuerySchema,
    responses={200: TimelineSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=PURPOSE, prospect_from="query:prospect")
def timeline_data(followup: FollowUp) -> Response:
    page = _query_page()
    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        prospect = checked_prospect(client, followup.instance, followup.prospect_id)
        interactions = client.list_prospect_interactions(followup.prospect_id)
    data = shape_timeline(prospect, interactions if isinstance(interactions, list) else [], page=page)
    return jsonify(TimelineSchema().dump(data))


def _query_page() -> int:
    try:
        return TimelineQuerySchema().load(request.args.to_dict(flat=True))["page"]
    except ValidationError as error:
        messages = error.messages
        problem = messages.get("page", messages) if isinstance(messages, dict) else messages
        raise BadParameters(f"page: {problem}") from None


@bp.get("/dialogs/timeline/quotes")
@documented(
    summary="The contact's quotes, newest first, from the store else Sales (needs X-Zapp-Context)",
    tags=("pages",),
    query=ProspectQuerySchema,
    responses={200: QuotesSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=PURPOSE, prospect_from="query:prospect")
def timeline_quotes(followup: FollowUp) -> Response:
    """The store's quotes when the ``quotes`` topic told it of any for the contact, else Sales'.

    The store holds only quotes delivered to this instance's subscription,
    so its answer needs no call to Sales once the stored contact's group is
    one the installation covers; a contact with none stored yet (quotes made
    before the subscription, or a key without the topic), or one stored in a
    group the installation no longer covers, is read from Sales, checked to be
    the instance's first.
    """
    prospect_id = followup.prospect_id
    data = _quotes_from_store(followup.instance, prospect_id)
    if data is None:
        with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
            checked_prospect(client, followup.instance, prospect_id)
            data = _quotes_from_sales(client, prospect_id)
    return jsonify(QuotesSchema().dump(data))


def _quotes_from_store(instance: ResolvedInstance, prospect_id: str) -> dict[str, Any] | None:
    """None unless the store has quotes of the contact and holds it in a group the installation
    still covers: a contact moved out since (or never stored) is checked with Sales instead."""
    database = current_app.extensions["zapp"].database
    with database.reading_session() as session:
        quotes = stored_quotes(session, instance.id, prospect_id)
        group_id = stored_prospect_group(session, instance.id, prospect_id) if quotes is not None else None
    if quotes is None or not covers_group(database, instance, group_id):
        return None
    return {"quotes": shape_quotes(quotes), "source": "store", "available": True}


def _quotes_from_sales(client: SalesClient, prospect_id: str) -> dict[str, Any]:
    quotes = client.prospect_quotes(prospect_id)
    return {
        "quotes": shape_quotes(quotes if isinstance(quotes, list) else []),
        "source": "sales",
        "available": True,
    }


@page_action(
    "/dialogs/timeline/contact",
    purpose=PURPOSE,
    schema=ContactEditSchema,
    result=ContactEditResultSchema,
    summary="Correct the contact's names or add a phone or email (Sales' prospect update), once per key",
    blueprint=bp,
)
def timeline_contact(_followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    changes = {name: fields[name] for name in ("firstName", "lastName", "phone", "email") if fields.get(name)}
    updated = client.update_prospect(fields["prospect"], changes)
    if not isinstance(updated, Mapping) or updated.get("id") != fields["prospect"]:
        updated = client.get_prospect(fields["prospect"])  # Sales answered without the prospect: read it
    return ContactEditResultSchema().dump(
        {"done": True, "action": "contact", "prospect": contact_summary(updated)}
    )
