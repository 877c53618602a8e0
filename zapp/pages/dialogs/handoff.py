"""The Handoff dialog: transfer the contact to an agent or a group, archive it, label it, add a note.

Transfers, archiving and labels act as the integration's user (Sales'
``as-user`` calls). When the integration has no such user, Sales answers 409
and the dialog says how an administrator fixes it; notes still work.

Who can take the contact now comes from Sales' online agents of the
installation's group (``GET /group/{id}/agents/online``): agents online are
listed first, the group's ``officeHours`` is shown, and a transfer to an agent
who is not online needs the person's confirmation, checked again on the
server at the moment of the transfer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, jsonify

from ...i18n import N_, translate
from ...installations.lookup import ResolvedInstance, integration_group
from ...openapi import documented
from ...sales import SalesClient
from ...sales.errors import Conflict, Forbidden, SalesError
from ..actions import page_action
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..refusals import ActAsUserMissing, ActionRefusedBySales, OfflineAgentNotConfirmed, ProspectNotFound
from ..rendering import page_url, render_page, script_strings
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

log = logging.getLogger(__name__)

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
    "online": N_("online"),
    "offline": N_("offline"),
    "officeHours": N_("Your group is within office hours."),
    "outsideOfficeHours": N_("Your group is outside office hours: agents may not answer until it opens."),
    "onlineCount": N_("%(online)s of %(agents)s agents are online now."),
    "presenceUnknown": N_("Zenvia Sales could not tell who is online right now."),
    "confirmOffline": N_("%(name)s is not online now. Transfer anyway?"),
    "transferAnyway": N_("Transfer anyway"),
    "cancel": N_("Cancel"),
}


_strings = script_strings(messages=MESSAGES)


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
            "data": page_url("pages.handoff_data", prospect=page.prospect),
            "transfer": page_url("pages.handoff_transfer"),
            "archive": page_url("pages.handoff_archive"),
            "label": page_url("pages.handoff_label"),
            "note": page_url("pages.handoff_note"),
        },
    }
    return render_page("pages/dialogs/handoff.html", language, page_data=page_data, strings=_strings)


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
    presence = Presence(online=None, office_hours=None)
    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        prospect = checked_prospect(client, followup.instance, followup.prospect_id)
        try:
            options, unavailable = _as_user_options(client), None
        except Conflict:
            options, unavailable = None, ActAsUserMissing.message
        except Forbidden:  # the key lacks the act-as-user scope: notes still work
            options, unavailable = None, AS_USER_NOT_ALLOWED
        if options is not None:
            presence = presence_in(client, followup.instance)
            options["agents"] = presence.mark(options["agents"])
    data: dict[str, Any] = {
        "prospect": contact_summary(prospect),
        "actAsUser": options is not None,
        "actAsUserMessage": translate(followup.context.language, unavailable) if unavailable else None,
        "officeHours": presence.office_hours,
        **(options or {"agents": [], "groups": [], "reasons": [], "labels": []}),
    }
    return jsonify(HandoffDataSchema().dump(data))


@dataclass(frozen=True)
class Presence:
    """Who is online in the installation's group, and whether it is within office hours.

    ``None`` for either means Sales could not tell (the call failed or the
    answer lacked it): the dialog then says so and asks no confirmation.
    """

    online: frozenset[str] | None
    office_hours: bool | None

    def is_offline(self, agent_id: str) -> bool:
        return self.online is not None and agent_id not in self.online

    def mark(self, agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The agents with ``online`` set, those online first, each part in name order as before."""
        marked = [
            {**agent, "online": None if self.online is None else agent["id"] in self.online}
            for agent in agents
        ]
        return sorted(marked, key=lambda agent: agent["online"] is not True)  # stable: names stay sorted


def presence_in(client: SalesClient, instance: ResolvedInstance) -> Presence:
    """Sales' online agents of the installation's group; unknown (never an error) when Sales cannot say.

    The installation's own group is asked, since transfer targets span it and
    every group below it *(inferred: that a group's online agents include
    those of the groups below it is not stated by Sales)*.
    """
    group = integration_group(current_app.extensions["zapp"].database, instance)
    if group is None:
        return Presence(online=None, office_hours=None)
    try:
        answer = client.online_agents(group)
    except SalesError as error:  # presence helps; its absence must not cost the agent the dialog
        log.info("online agents of the installation's group unavailable: %s", error)
        return Presence(online=None, office_hours=None)
    answer = answer if isinstance(answer, Mapping) else {}
    agents = answer.get("agents")
    online = (
        frozenset(a["id"] for a in agents if isinstance(a, Mapping) and isinstance(a.get("id"), str))
        if isinstance(agents, list)
        else None
    )
    office_hours = answer.get("officeHours")
    return Presence(online=online, office_hours=office_hours if isinstance(office_hours, bool) else None)


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
def handoff_transfer(followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    _require_allowed_target(client, agent=fields.get("agent"), group=fields.get("group"))
    agent = fields.get("agent")
    if (
        agent
        and not fields.get("confirmOffline")
        and presence_in(client, followup.instance).is_offline(agent)
    ):
        raise OfflineAgentNotConfirmed("transfer target is offline")  # nothing sent: the key is freed
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
