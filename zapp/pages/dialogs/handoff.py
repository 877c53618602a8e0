"""The Handoff dialog: transfer the contact to an agent or a group, archive it, label it, add a note.

Transfers, archiving and labels act as the integration's user (Sales'
``as-user`` calls). When the integration has no such user, Sales answers 409
and the dialog says how an administrator fixes it; notes still work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, jsonify, url_for

from ...i18n import N_, translate
from ...openapi import documented
from ...sales import SalesClient
from ...sales.errors import Conflict, Forbidden
from ..actions import page_action
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..refusals import ActAsUserMissing, ActionRefusedBySales, ProspectNotFound
from ..rendering import render_page
from ..sales_calls import checked_prospect, sales_client_for
from ..schemas import (
    MAX_CHOICE_VALUE,
    ActionResultSchema,
    ArchiveSchema,
    HandoffDataSchema,
    LabelSchema,
    NoteSchema,
    ProspectQuerySchema,
    TransferSchema,
)
from .timeline_content import agent_name, contact_summary

MAX_CHOICES = 500
AS_USER_NOT_ALLOWED = N_(
    "This App's key may not act as a user in Zenvia Sales, so transfers, archiving and labels are "
    "unavailable here; notes still work. An administrator can grant the App that permission."
)

MESSAGES = {
    "loading": N_("Loading what this contact can be handed to…"),
    "failed": N_("The handoff options could not be loaded. Close the dialog and try again."),
    "sending": N_("Sending…"),
    "transferred": N_("Transferred."),
    "archived": N_("Archived."),
    "labelled": N_("Label set."),
    "noted": N_("Note added."),
    "salesSaid": N_("Zenvia Sales said:"),
    "chooseTarget": N_("Choose an agent or a group."),
}


@dialog(
    "handoff",
    name=N_("Handoff"),
    icon="handoff.png",
    summary="Handoff dialog: transfer, archive, label or annotate the contact (signed by Sales)",
)
def handoff(page: Page) -> Response:
    language = page.language
    page_data = {
        "context": page.context_token,
        "language": language,
        "prospect": page.prospect,
        "urls": {
            "data": url_for("pages.handoff_data", prospect=page.prospect),
            "transfer": url_for("pages.handoff_transfer"),
            "archive": url_for("pages.handoff_archive"),
            "label": url_for("pages.handoff_label"),
            "note": url_for("pages.handoff_note"),
        },
        "messages": {key: translate(language, message) for key, message in MESSAGES.items()},
    }
    return render_page("pages/dialogs/handoff.html", language, page_data=page_data)


PURPOSE = handoff.extension_point.purpose


@bp.get("/dialogs/handoff/data")
@documented(
    summary="The Handoff dialog's targets, archiving reasons and labels (needs X-Zapp-Context)",
    tags=("pages",),
    query=ProspectQuerySchema,
    responses={200: HandoffDataSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=PURPOSE, prospect_from="query:prospect")
def handoff_data(followup: FollowUp) -> Response:
    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        prospect = checked_prospect(client, followup.instance, followup.context.prospect)
        try:
            options, unavailable = _as_user_options(client), None
        except Conflict:
            options, unavailable = None, ActAsUserMissing.message
        except Forbidden:  # the key lacks the act-as-user scope: notes still work
            options, unavailable = None, AS_USER_NOT_ALLOWED
    data: dict[str, Any] = {
        "prospect": contact_summary(prospect),
        "actAsUser": options is not None,
        "actAsUserMessage": translate(followup.context.language, unavailable) if unavailable else None,
        **(options or {"agents": [], "groups": [], "reasons": [], "labels": []}),
    }
    return jsonify(HandoffDataSchema().dump(data))


def _as_user_options(client: SalesClient) -> dict[str, list[dict[str, str]]]:
    targets = client.transfer_targets()
    targets = targets if isinstance(targets, Mapping) else {}
    return {
        "agents": _targets(targets.get("agents"), person=True),
        "groups": _targets(targets.get("groups"), person=False),
        "reasons": _choices(client.archiving_reasons(), value="reason"),
        "labels": _choices(client.labels()),
    }


def _targets(items: Any, *, person: bool) -> list[dict[str, str]]:
    shaped = []
    for item in (items if isinstance(items, list) else [])[:MAX_CHOICES]:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        name = agent_name(item) if person else item.get("name") or item.get("displayName")
        shaped.append({"id": item["id"], "name": str(name or item["id"])[:200]})
    return sorted(shaped, key=lambda target: target["name"].casefold())


def _choices(items: Any, value: str = "value") -> list[dict[str, str]]:
    """Sales' lists as ``{value, name}``: objects (``{"reason", "name"}``) or bare strings (labels).

    A value longer than an action accepts is left out, never cut: sent back cut, Sales would refuse it.
    """
    shaped = []
    for item in (items if isinstance(items, list) else [])[:MAX_CHOICES]:
        key = item if isinstance(item, str) else None
        if isinstance(item, Mapping) and isinstance(item.get(value) or item.get("key"), str):
            key = item.get(value) or item.get("key")
        if key and len(key) <= MAX_CHOICE_VALUE:
            name = item.get("name") if isinstance(item, Mapping) else None
            shaped.append({"value": key, "name": str(name or key)[:200]})
    return shaped


def _handoff_action(rule: str, schema: type, summary: str) -> Callable:
    return page_action(
        rule, purpose=PURPOSE, schema=schema, result=ActionResultSchema, summary=summary, blueprint=bp
    )


@_handoff_action(
    "/dialogs/handoff/transfer",
    TransferSchema,
    "Transfer the contact to an agent or a group it may go to, once per Idempotency-Key",
)
def handoff_transfer(_followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    _require_allowed_target(client, agent=fields.get("agent"), group=fields.get("group"))
    client.transfer_as_user(fields["prospect"], user=fields.get("agent"), group=fields.get("group"))
    return _done("transfer")


def _require_allowed_target(client: SalesClient, *, agent: str | None, group: str | None) -> None:
    """Only a target Sales lists for this integration; anything else never reaches the transfer call."""
    targets = client.transfer_targets()
    targets = targets if isinstance(targets, Mapping) else {}
    kind, wanted = ("agents", agent) if agent else ("groups", group)
    offered = {target["id"] for target in _targets(targets.get(kind), person=bool(agent))}  # as the dialog
    if wanted not in offered:
        raise ActionRefusedBySales(
            "target not offered by Sales", fields={"target": N_("Choose an agent or a group from the list.")}
        )


@_handoff_action(
    "/dialogs/handoff/archive",
    ArchiveSchema,
    "Archive the contact with one of Sales' archiving reasons, once per Idempotency-Key",
)
def handoff_archive(_followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    client.archive(fields["prospect"], fields["reason"])
    return _done("archive")


@_handoff_action(
    "/dialogs/handoff/label", LabelSchema, "Set one of Sales' labels on the contact, once per Idempotency-Key"
)
def handoff_label(_followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    client.set_label(fields["prospect"], fields["label"])
    return _done("label")


@_handoff_action(
    "/dialogs/handoff/note", NoteSchema, "Add a note to the contact's history, once per Idempotency-Key"
)
def handoff_note(_followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    client.add_note(fields["prospect"], fields["content"])
    return _done("note")


def _done(action: str) -> dict[str, Any]:
    return ActionResultSchema().dump({"done": True, "action": action})
