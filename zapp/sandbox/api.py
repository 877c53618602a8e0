"""The Sales REST API, as the sandbox serves it under ``/api/v1``.

Every request goes through ``_gate``: faults (latency, errors, 429 storms),
the API key, the rate limit (with its three headers) and the scope the route
needs, in that order, as a real gateway would. Every answer is then built
from, and checked against, the shared Sales models (``zapp.sales.models``):
an answer that does not match the reference is a sandbox bug, recorded in
``state.violations`` and answered 500, so no test can pass on a drifted shape.
What no source states comes from ``inferred``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from ..sales import inferred
from ..sales import models as m
from . import rules
from .conversations import CHANNEL_VIA, conversation_due, conversation_windows
from .data import ARCHIVING_REASONS, VIAS, agent_summary, iso, make_interaction, public_interaction
from .leads import lead_answer
from .state import Account, Integration, SandboxState

bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v1")
TOPICS = [
    {"name": "prospects", "description": "Prospects created or updated"},
    {"name": "interactions", "description": "Interactions created or updated"},
    {"name": "quotes", "description": "Quotes created or updated"},
    {"name": "agents", "description": "Prospects created by or transferred to the acted-as user"},
]
LEAD_TYPES = ("retail", "vehicle", "insurance", "real-estate", "saving-plan")
MAX_FILE_BYTES = 16 * 1024 * 1024
CATEGORIES = ["new", "used"]
DEFAULTS = {"currency": "brl", "distance": "km"}
INDUSTRIES = [{"name": "Automotive"}, {"name": "Retail"}]
ADDITIONAL_FIELDS = [{"key": "finance", "name": "Financing"}, {"key": "tradeIn", "name": "Trade-in"}]
UPDATE_EVENT_STATUSES = ("pending", "sent", "received", "read", "failed", "deleted")


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]


def _error(status: int, message: str, code: str) -> Response:
    response = jsonify({"message": message, "code": code})
    response.status_code = status
    return response


def _key() -> str | None:
    return request.args.get("api-key")


def _gate(scope: str | None) -> Response | None:
    state = _state()
    faults = state.faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    key = _key()
    integration = state.integrations.get(key or "")
    if integration is None or integration.deleted:
        return _error(401, "Missing or invalid api-key", "unauthorized")
    allowed, headers = state.count_request(integration.key, time.time())
    g.rate_headers = headers
    if not allowed:
        return _error(429, "Too many requests; wait for X-RateLimit-Reset", "rate_limited")
    if faults.error_rate and random.random() < faults.error_rate:  # noqa: S311 - fault injection
        state.stats.errors_injected += 1
        return _error(503, "Service temporarily unavailable", "unavailable")
    if not integration.enabled:
        return _error(inferred.DISABLED_STATUS, "The integration is disabled", "integration_disabled")
    if scope and scope not in integration.scopes:
        return _error(403, f"This API key lacks the scope {scope}", "missing_scope")
    g.integration = integration
    g.account = state.account_of(integration)
    return None


@bp.after_request
def _rate_headers(response: Response) -> Response:
    for name, value in g.get("rate_headers", {}).items():
        response.headers[name] = value
    return response


Answer = type[m.SalesObject] | list[type[m.SalesObject]] | None


def api(rule: str, scope: str | None, methods=("GET",), answers: Answer = None, keyed: bool = True):
    """Register a view; ``answers`` is the model (or ``[model]``) its 2xx body must match."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(**kwargs):
            if keyed:
                refused = _gate(scope)
                if refused is not None:
                    return refused
            if _state().faults.writes_unavailable and request.method != "GET":
                return _error(503, "Service temporarily unavailable", "unavailable")  # nothing is made
            for name, value in kwargs.items():
                if name.endswith("_id") and not rules.OBJECT_ID.fullmatch(value):
                    return _error(400, f"{name} must match ^[a-z0-9]{{24}}$", "invalid_id")
            try:
                with _state().lock:
                    result = view(**kwargs)
            except rules.RuleError as error:
                return _error(error.status, error.message, error.code)
            lost = _state().faults.write_answer_status
            if lost and request.method != "GET":
                # A gateway between us and the app gave up: the change is made, its answer lost.
                return _error(lost, "Gateway timeout", "gateway_timeout")
            return _answer(result, answers, f"{request.method} {rule}")

        bp.add_url_rule(rule, view.__name__, guarded, methods=list(methods))
        return guarded

    return decorate


def _answer(result: Any, answers: Answer, where: str) -> Response:
    if isinstance(result, Response):
        return result
    body, status = result if isinstance(result, tuple) else (result, 200)
    if answers is None:
        return _json(body, status)
    if isinstance(answers, list):
        model = answers[0]
        body = [model.shape(item) for item in body]
        problem = next(filter(None, (model.check(item, f"[{i}]") for i, item in enumerate(body))), None)
    else:
        model = answers
        body = model.shape(body)
        problem = model.check(body)
    if problem:
        return drift(f"{where}: {model.__name__}: {problem}")
    if isinstance(body, list) and rules.wants_csv(request.args, request.headers.get("Accept", "")):
        return Response(rules.to_csv(body), status=status, mimetype="text/csv")
    return _json(body, status)


def _json(body: Any, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def drift(problem: str) -> Response:
    """An answer the reference does not allow: a sandbox bug, kept for the tests to fail on."""
    with _state().lock:
        _state().violations.append(problem)
    return _error(500, f"sandbox answer does not match the reference: {problem}", "sandbox_drift")


def _integration() -> Integration:
    return g.integration


def _account() -> Account:
    return g.account


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise rules.RuleError("The body must be a JSON object")
    return body


def _visible_prospect(prospect_id: str) -> dict[str, Any]:
    prospect = _account().prospects.get(prospect_id)
    if prospect is None or not _account().covers(prospect["groupId"], _integration().group_id):
        raise rules.RuleError("Prospect not found", 404, "not_found")
    return prospect


def _public_prospect(prospect: dict[str, Any]) -> dict[str, Any]:
    """A prospect as this key may see it: open windows added, additional data only with its scope."""
    shown = {**prospect, **conversation_windows(_account(), prospect["id"], time.time())}
    if "prospects:readAdditionalData" not in _integration().scopes:
        shown.pop("additionalData", None)
    return shown


def _notify(topic: str, kind: str, prospect: dict, **extra: Any) -> None:
    current_app.extensions["sandbox_delivery"].notify(_account(), topic, kind, prospect, **extra)


def _require_user() -> dict[str, Any]:
    user = _integration().user
    if user is None:
        raise rules.RuleError(
            "The integration has no user configured to act as", inferred.NO_USER_STATUS, "no_integration_user"
        )
    return user


def _updates(**changes: Any) -> list[dict[str, Any]]:
    field, value = inferred.UPDATE_ITEM_KEYS
    return [{field: name, value: change} for name, change in changes.items()]


# -- leads -------------------------------------------------------------------------------


@api("/lead/<kind>", "leads:write", methods=("POST",), answers=m.ProspectCreated)
def process_lead(kind: str):
    if kind not in LEAD_TYPES:
        raise rules.RuleError("Unknown lead type", 404, "not_found")
    body = request.get_json(silent=True)
    prospect, created = current_app.extensions["sandbox_leads"](_account(), _integration(), body, kind)
    _notify("prospects", "created" if created else "updated", prospect)
    user = _integration().user
    if created and user and (prospect.get("agent") or {}).get("id") == user["id"]:
        _notify("agents", "created", prospect)
    return _public_prospect(lead_answer(prospect, created)), inferred.LEAD_STATUS


@api("/leads/categories", inferred.ANY_SCOPE)
def lead_categories():
    """Categories: an array whose item shape is *(not stated)*; the sandbox sends the names."""
    return CATEGORIES


@api("/leads/defaults", inferred.ANY_SCOPE, answers=m.Defaults)
def lead_defaults():
    return DEFAULTS


# -- prospects ---------------------------------------------------------------------------


def _prospect_matches(args) -> Callable[[str], bool]:
    account, scope = _account(), _integration().group_id
    group = rules.check_id(args.get("group"), "group")
    agent = rules.check_id(args.get("agent"), "agent")
    search = (args.get("search") or "").lower()
    claimed = rules.instant_filter(args, ("claimedAfter", "claimStart"), ("claimedBefore", "claimEnd"))
    transferred = rules.instant_filter(
        args, ("transferredAfter", "transferStart"), ("transferredBefore", "transferEnd")
    )
    extra = rules.additional_data_filters(args.getlist("additionalData[]") + args.getlist("additionalData"))

    def matches(prospect_id: str) -> bool:
        p = account.prospects[prospect_id]
        if not account.covers(p["groupId"], group or scope) or not account.covers(p["groupId"], scope):
            return False
        if args.get("status") and p["status"] != args["status"]:
            return False
        if args.get("category") and p.get("category") != args["category"]:
            return False
        if agent and (p.get("agent") or {}).get("id") != agent:
            return False
        if args.get("withAgent") in ("true", "false") and (p.get("agent") is not None) != (
            args["withAgent"] == "true"
        ):
            return False
        if args.get("phoneNumber") and args["phoneNumber"] not in p["phones"]:
            return False
        if claimed and not claimed(rules.epoch_of(p.get("assigned"))):
            return False
        if transferred and not transferred(rules.epoch_of(p.get("transferredAt"))):
            return False
        if extra and not all(test(p.get("additionalData") or {}) for test in extra):
            return False
        if search:
            haystack = " ".join([p["firstName"], p["lastName"], *p["phones"], *p["emails"]]).lower()
            return search in haystack
        return True

    return matches


@api("/prospects", "prospects:read", answers=[m.Prospect])
def list_prospects():
    account = _account()
    ids = rules.page(account.prospect_ids, request.args, time.time(), _prospect_matches(request.args))
    return [_public_prospect(account.prospects[i]) for i in ids]


@api(inferred.SEARCH_PATH, "prospects:read", answers=m.ProspectSearchResult)
def search_prospect():
    email, phone = request.args.get("email"), request.args.get("phoneNumber")
    if not email and not phone:
        raise rules.RuleError("Give email and/or phoneNumber")
    account = _account()
    for prospect_id in reversed(account.prospect_ids):
        p = account.prospects[prospect_id]
        if not account.covers(p["groupId"], _integration().group_id):
            continue
        if (email and email.lower() in (e.lower() for e in p["emails"])) or (phone and phone in p["phones"]):
            return {"id": p["id"], "firstName": p["firstName"], "phones": p["phones"],
                    "account": p["accountId"], "claimedBy": (p.get("agent") or {}).get("id")}  # fmt: skip
    raise rules.RuleError("Prospect not found", 404, "not_found")


@api("/prospect/<prospect_id>", "prospects:read", answers=m.Prospect)
def get_prospect(prospect_id: str):
    return _public_prospect(_visible_prospect(prospect_id))


PATCHABLE = {"archivingReason", "firstName", "lastName", "phone", "email", "label"}  # UpdateProspect


def _apply_update(prospect: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """UpdateProspect (L888-898): names and label replace, ``phone``/``email`` are added."""
    unknown = sorted(set(changes) - PATCHABLE)
    if unknown:
        raise rules.RuleError(f"Fields that cannot be changed: {', '.join(unknown)}")
    for name, value in changes.items():
        if value is not None and not isinstance(value, str):
            raise rules.RuleError(f"{name} must be a string")
    applied = {k: v for k, v in changes.items() if k in ("firstName", "lastName", "label", "archivingReason")}
    prospect.update(applied)
    if changes.get("phone") and changes["phone"] not in prospect["phones"]:
        prospect["phones"] = [*prospect["phones"], changes["phone"]]
    if changes.get("email") and changes["email"] not in prospect["emails"]:
        prospect["emails"] = [*prospect["emails"], changes["email"]]
    prospect["updatedAt"] = iso(time.time())
    return applied


@api("/prospect/<prospect_id>", "prospects:write", methods=("PATCH",), answers=m.Prospect)
def update_prospect(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    changes = _body()
    _apply_update(prospect, changes)
    _notify("prospects", "updated", prospect, updates=_updates(**changes))
    return _public_prospect(prospect)


@api("/prospect/<prospect_id>", "prospects:write", methods=("DELETE",), answers=m.Prospect)
def delete_prospect(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    _account().remove_prospect(prospect_id)
    return _public_prospect(prospect)


@api("/prospect/<prospect_id>/additionalData", "prospects:write", methods=("PATCH",), answers=m.Prospect)
def update_additional_data(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    changes = _body()
    prospect["additionalData"] = {**(prospect.get("additionalData") or {}), **changes}
    prospect["updatedAt"] = iso(time.time())
    _notify("prospects", "updated", prospect, updates=_updates(additionalData=changes))
    return _public_prospect(prospect)


@api(
    "/prospect/<prospect_id>/prospectAdditionalFields", "prospects:read", answers=[m.ProspectAdditionalField]
)
def prospect_additional_fields(prospect_id: str):
    _visible_prospect(prospect_id)
    return ADDITIONAL_FIELDS


@api("/prospect/<prospect_id>/csat", "prospects:write", methods=("POST",), answers=m.CsatAnswer)
def csat(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    result = body.get("result")
    if isinstance(result, bool) or not isinstance(result, int) or not 1 <= result <= 5:
        raise rules.RuleError("result must be a whole number from 1 to 5")
    if "comment" in body and not isinstance(body["comment"], str):
        raise rules.RuleError("comment must be a string")
    prospect["csat"] = {"result": result, "comment": body.get("comment")}
    return {"success": True}


@api("/contacts/selection/<selection_id>", "prospects:read", answers=m.ProspectsPaginated)
def contact_selection(selection_id: str):
    """A selection is the sandbox's whole visible account *(inferred: selections are made in Sales' UI)*."""
    account, args = _account(), request.args
    offset, limit = args.get("offset", "0"), args.get("limit", "100")
    if not offset.isdigit() or not limit.isdigit():
        raise rules.RuleError("offset and limit must be whole numbers")
    scope = _integration().group_id
    prospects = (account.prospects[i] for i in account.prospect_ids)
    visible = [p for p in prospects if account.covers(p["groupId"], scope)]
    wanted = set(args.getlist("fields")) | {"id", "status", "leads", "accountId", "account", "group",
                                            "groupId", "created"}  # fmt: skip
    page = visible[int(offset) : int(offset) + int(limit)]
    contacts = [{k: v for k, v in _public_prospect(p).items() if not args.getlist("fields") or k in wanted}
                for p in page]  # fmt: skip
    return {"contacts": contacts, "total": len(visible)}


@api("/archiving-reasons", "prospects:read", answers=[m.ArchivingReason])
def archiving_reasons_deprecated():
    rules.check_id(request.args.get("agent"), "agent")
    if not request.args.get("agent"):
        raise rules.RuleError("agent is required")
    return [{"reason": reason, "name": name} for reason, name in ARCHIVING_REASONS]


# -- interactions ------------------------------------------------------------------------


def _vias(args) -> set[str]:
    vias = set(args.getlist("via[]") or args.getlist("via"))
    unknown = sorted(vias - set(VIAS))
    if unknown:
        raise rules.RuleError(f"via must be among {', '.join(VIAS)}; got {', '.join(unknown)}")
    return vias


@api("/prospects/interactions", "prospects:read", answers=[m.Interaction])
def list_interactions():
    account, scope = _account(), _integration().group_id
    args = request.args
    agent = args.get("agent")
    vias = _vias(args)

    def matches(interaction_id: str) -> bool:
        item = account.interactions[interaction_id]
        if not account.covers(item["groupId"], scope):
            return False
        if agent and item.get("agentId") != agent:
            return False
        if args.get("status") and item["status"] != args["status"]:
            return False
        return not vias or item.get("via") in vias

    ids = rules.page(account.interaction_ids, args, time.time(), matches)
    return [public_interaction(account.interactions[i]) for i in ids]


@api("/prospect/<prospect_id>/interactions", "prospects:read", answers=[m.Interaction])
def prospect_interactions(prospect_id: str):
    _visible_prospect(prospect_id)
    args = request.args
    vias = _vias(args)
    created = rules.instant_filter(args, ("createdAfter", "start"), ("createdBefore", "end"))
    found = []
    for interaction_id in sorted(_account().by_prospect.get(prospect_id, [])):
        item = _account().interactions[interaction_id]
        if args.get("status") and item["status"] != args["status"]:
            continue
        if vias and item.get("via") not in vias:
            continue
        if created and not created(rules.epoch_of(item["createdAt"])):
            continue
        found.append(public_interaction(item))
    return found


def record_interaction(
    prospect: dict, via: str | None, output: dict, proactive: bool = True
) -> dict[str, Any]:
    state, account = _state(), _account()
    now = time.time()
    user = _integration().user
    interaction = make_interaction(state.rng, prospect, user, now, proactive=proactive, via=via or "note")
    if via is None:
        interaction.pop("via")
    interaction["output"] = output
    account.add_interaction(interaction)
    prospect["updatedAt"] = iso(now)
    _notify("interactions", "created", prospect, interaction=public_interaction(interaction))
    return public_interaction(interaction)


@api("/prospect/<prospect_id>/interactions", "prospects:write", methods=("POST",), answers=[m.Interaction])
def create_interaction(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    if body.get("type") != "note" or not isinstance(body.get("content"), str) or not body["content"].strip():
        raise rules.RuleError('Send {"type": "note", "content": "..."}')
    interaction = record_interaction(
        prospect, inferred.NOTE_VIA, {"comment": body["content"]}, proactive=False
    )
    return [interaction]


def _own_interaction(prospect_id: str, interaction_id: str) -> dict[str, Any]:
    _visible_prospect(prospect_id)
    item = _account().interactions.get(interaction_id)
    if item is None or item["prospectId"] != prospect_id:
        raise rules.RuleError("Interaction not found", 404, "not_found")
    return item


@api("/prospect/<prospect_id>/interaction/<interaction_id>", "prospects:read", answers=m.Interaction)
def get_interaction(prospect_id: str, interaction_id: str):
    return public_interaction(_own_interaction(prospect_id, interaction_id))


@api("/prospect/<prospect_id>/interaction/<interaction_id>", "prospects:write", methods=("PUT",),
     answers=m.Interaction)  # fmt: skip
def update_interaction(prospect_id: str, interaction_id: str):
    """UpdateEvent: a message's delivery status or a question's answer; notified as ``updated``."""
    item = _own_interaction(prospect_id, interaction_id)
    body = _body()
    if body.get("type") not in ("message", "question"):
        raise rules.RuleError("type must be message or question")
    if "status" in body and body["status"] not in UPDATE_EVENT_STATUSES:
        raise rules.RuleError(f"status must be one of {', '.join(UPDATE_EVENT_STATUSES)}")
    output = item.setdefault("output", {})
    part = output.setdefault(body["type"], {})
    for name in ("delivered", "answer", "cancelReason"):
        if name in body:
            part[name] = body[name]
    if "status" in body:
        item["status"] = body["status"]
    prospect = _account().prospects[prospect_id]
    prospect["updatedAt"] = iso(time.time())
    _notify("interactions", "updated", prospect, interaction=public_interaction(item))
    return public_interaction(item)


# -- quotes ------------------------------------------------------------------------------


def _quote_items(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise rules.RuleError("items must be a non-empty list")
    for item in items:
        problem = m.QuoteItem.check(item)
        if problem:
            raise rules.RuleError(f"items: {problem}")
    return [m.QuoteItem.shape(item) for item in items]


def _public_quote(quote: dict[str, Any]) -> dict[str, Any]:
    if "prospects:readAdditionalData" not in _integration().scopes:
        return {k: v for k, v in quote.items() if k != "additionalData"}
    return quote


def _quotes_of(prospect_ids: list[str]) -> list[dict[str, Any]]:
    quotes = _state().quotes
    return sorted((q for q in quotes.values() if q["prospectId"] in prospect_ids), key=lambda q: q["id"])


def _quote_filter(args) -> Callable[[dict[str, Any]], bool]:
    tests = [
        (name, rules.instant_filter(args, (f"{name}After",), (f"{name}Before",)))
        for name in ("created", "accepted", "rejected")
    ]

    def matches(quote: dict[str, Any]) -> bool:
        if args.get("status") and quote["status"] != args["status"]:
            return False
        return all(test(rules.epoch_of(quote.get(f"{name}At"))) for name, test in tests if test)

    return matches


@api("/prospects/quotes", "prospects:read", answers=[m.Quote])
def list_quotes():
    account, args = _account(), request.args
    visible = [i for i in account.prospect_ids
               if account.covers(account.prospects[i]["groupId"], _integration().group_id)]  # fmt: skip
    matches = _quote_filter(args)
    quotes = [q for q in _quotes_of(visible) if matches(q)]
    after, before = rules.check_id(args.get("after"), "after"), rules.check_id(args.get("before"), "before")
    quotes = [q for q in quotes if (not after or q["id"] > after) and (not before or q["id"] < before)]
    limit = rules.parse_limit(args)
    return [_public_quote(q) for q in (quotes[:limit] if limit else quotes)]


@api("/prospect/<prospect_id>/quotes", "prospects:read", answers=[m.Quote])
def prospect_quotes(prospect_id: str):
    _visible_prospect(prospect_id)
    matches = _quote_filter(request.args)
    return [_public_quote(q) for q in _quotes_of([prospect_id]) if matches(q)]


@api("/prospect/<prospect_id>/quotes", "prospects:write", methods=("POST",), answers=m.Quote)
def create_quote(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    status = body.get("status", "pending")
    if status not in m.QUOTE_STATUSES:
        raise rules.RuleError(f"status must be one of {', '.join(m.QUOTE_STATUSES)}")
    items = _quote_items(body.get("items"))
    now = time.time()
    quote = {
        "id": _state().new_id(now), "prospectId": prospect_id, "status": status, "items": items,
        "total": sum(item.get("price", 0) * item["quantity"] for item in items), "createdAt": iso(now),
    }  # fmt: skip
    if status != "pending":
        quote[f"{status}At"] = quote["finishedAt"] = iso(now)
    _state().quotes[quote["id"]] = quote
    _notify("quotes", "created", prospect, quote=quote)
    return _public_quote(quote), 201


def _own_quote(prospect_id: str, quote_id: str) -> dict[str, Any]:
    _visible_prospect(prospect_id)
    quote = _state().quotes.get(quote_id)
    if quote is None or quote["prospectId"] != prospect_id:
        raise rules.RuleError("Quote not found", 404, "not_found")
    return quote


@api("/prospect/<prospect_id>/quote/<quote_id>", "prospects:read", answers=m.Quote)
def get_quote(prospect_id: str, quote_id: str):
    return _public_quote(_own_quote(prospect_id, quote_id))


@api("/prospect/<prospect_id>/quote/<quote_id>", "prospects:write", methods=("PUT",), answers=m.Quote)
def update_quote(prospect_id: str, quote_id: str):
    quote = _own_quote(prospect_id, quote_id)
    status = _body().get("status")
    if status not in ("accepted", "rejected"):
        raise rules.RuleError("status must be accepted or rejected")
    now = iso(time.time())
    quote.update({"status": status, f"{status}At": now, "finishedAt": now})
    _notify("quotes", "updated", _account().prospects[prospect_id], quote=quote)
    return _public_quote(quote)


# -- messaging ---------------------------------------------------------------------------


def _channel(name: str) -> dict[str, Any]:
    for channel in _account().channels:
        if channel["channel"] == name:
            return channel
    raise rules.RuleError(f"Unknown channel {name!r}", 404, "not_found")


def _record_message(prospect: dict, channel: str, kind: str, **fields: Any) -> list[dict]:
    message = {"channel": channel, "kind": kind, "at": iso(time.time()), **fields}
    _state().messages[prospect["id"]].append(message)
    output = {"message": {"template": fields.get("template"), "body": fields.get("body"),
                          "content": fields.get("content"), "delivered": True, "via": CHANNEL_VIA[channel],
                          "attachment": fields.get("attachment")}}  # fmt: skip
    return [record_interaction(prospect, CHANNEL_VIA[channel], output)]


def _require_open_window(prospect: dict[str, Any], channel: str) -> None:
    if conversation_due(_account(), prospect["id"], channel, time.time()) is None:
        raise rules.RuleError(
            "No open conversation with this contact on this channel: send a template message",
            inferred.WINDOW_CLOSED_STATUS,
            "conversation_closed",
        )


@api("/messaging/channels", "messages:channels", answers=[m.Channel])
def channels():
    return _account().channels


@api("/prospect/<prospect_id>/messaging/channels", "messages:channels", answers=[m.Channel])
def prospect_channels(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    return [c for c in _account().channels if c["channel"] != "whatsapp" or prospect["phones"]]


def filled_by_sales(prospect: dict[str, Any], user: dict[str, Any] | None) -> dict[str, str]:
    """The template values Sales fills itself (``inferred.FILLED_BY_SALES``)."""
    agent = prospect.get("agent") or user or {}
    product = ((prospect.get("leads") or [{}])[-1]).get("product") or {}
    values = {
        "prospect.firstName": prospect.get("firstName"), "prospect.lastName": prospect.get("lastName"),
        "agent.firstName": agent.get("firstName"), "agent.lastName": agent.get("lastName"),
        "product.model": product.get("model"), "product.make": product.get("make"),
    }  # fmt: skip
    return {name: str(values[name] or "") for name in inferred.FILLED_BY_SALES}


@api("/prospect/<prospect_id>/messaging/<channel>/notification", "messages:transactional", methods=("POST",),
     answers=[m.Interaction])  # fmt: skip
def send_template(prospect_id: str, channel: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    templates = {t["key"]: t for t in _channel(channel)["templates"]}
    template = templates.get(body.get("key"))
    if template is None:
        raise rules.RuleError(f"Unknown template key {body.get('key')!r}", 404, "template_not_found")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise rules.RuleError("parameters must be an object of strings")
    problem = rules.template_parameters_ok(parameters)
    if problem:
        raise rules.RuleError(problem, 400, "invalid_template_parameters")
    values = {**filled_by_sales(prospect, _integration().user), **parameters}
    text = template["body"]
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return _record_message(prospect, channel, "template", template=template["key"], body=text,
                           parameters=parameters)  # fmt: skip


@api("/prospect/<prospect_id>/messaging/<channel>", "messages:conversational", methods=("POST",),
     answers=[m.Interaction])  # fmt: skip
def send_text(prospect_id: str, channel: str):
    prospect = _visible_prospect(prospect_id)
    _channel(channel)
    content = _body().get("content")
    if not isinstance(content, str) or not content.strip():
        raise rules.RuleError("content is required")
    _require_open_window(prospect, channel)
    return _record_message(prospect, channel, "text", content=content)


@api("/prospect/<prospect_id>/messaging/<channel>/send-file", "messages:conversational",
     methods=("GET", "POST"), answers=[m.Interaction])  # fmt: skip
def send_file(prospect_id: str, channel: str):
    """The seed's sample sends with GET (L771), the client with POST: both are served."""
    prospect = _visible_prospect(prospect_id)
    _channel(channel)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise rules.RuleError("Send the file as multipart form field 'file'")
    size = len(upload.read())
    if size == 0 or size > MAX_FILE_BYTES:
        raise rules.RuleError("The file is empty or larger than 16 MiB")
    _require_open_window(prospect, channel)
    attachment = {"type": upload.mimetype, "url": f"https://files.sandbox.invalid/{upload.filename}"}
    return _record_message(prospect, channel, "file", attachment=attachment, filename=upload.filename,
                           size=size)  # fmt: skip


@api("/prospect/<prospect_id>/orders", "prospects:read", answers=[m.OrderByProspect])
def orders(prospect_id: str):
    _visible_prospect(prospect_id)
    rules.parse_limit(request.args)
    return []  # the sandbox's contacts order nothing through WhatsApp catalogues


# -- handoff -----------------------------------------------------------------------------


def _transfer(prospect_id: str) -> dict[str, Any]:
    prospect = _visible_prospect(prospect_id)
    body = _body()
    account = _account()
    group, user = body.get("group"), body.get("user")
    if not group and not user:
        raise rules.RuleError("Give a group, a user or both")
    rules.check_id(group, "group")
    rules.check_id(user, "user")
    if group and (group not in account.groups or not account.covers(group, _integration().group_id)):
        raise rules.RuleError("Group not found", 404, "not_found")
    agent = account.agents.get(user) if user else None
    if user and agent is None:
        raise rules.RuleError("User not found", 404, "not_found")
    now = time.time()
    target_group = group or (agent["groupId"] if agent else None)
    prospect["groupId"], prospect["group"] = target_group, account.groups[target_group]["displayName"]
    if agent is not None:
        prospect["agent"], prospect["assigned"] = agent_summary(agent), iso(now)
    else:
        prospect.pop("agent", None)
        prospect.pop("assigned", None)
    prospect["transferredAt"] = prospect["updatedAt"] = iso(now)
    output: dict[str, Any] = {"transferedToGroupId": target_group}
    if agent is not None:
        output.update(transferedTo=agent_summary(agent), transferedToAgentId=agent["id"])
    record_interaction(prospect, None, output)
    _notify("prospects", "updated", prospect, updates=_updates(groupId=target_group, agent=user))
    integration_user = _integration().user
    if agent is not None and integration_user and agent["id"] == integration_user["id"]:
        _notify("agents", "updated", prospect, updates=_updates(agent=user))
    return {"success": True}


@api("/prospect/<prospect_id>/transfer", inferred.TRANSFER_SCOPE, methods=("POST",), answers=m.TransferResult)
def transfer(prospect_id: str):
    return _transfer(prospect_id)


@api("/prospect/<prospect_id>/as-user/transfer", "integration:act-as-user", methods=("POST",),
     answers=m.TransferResult)  # fmt: skip
def transfer_as_user(prospect_id: str):
    _require_user()
    return _transfer(prospect_id)


@api("/as-user/transfer", "integration:act-as-user", answers=m.GroupUserTransferable)
def transfer_targets():
    _require_user()
    account, scope = _account(), _integration().group_id
    groups = [
        {"id": g["id"], "name": g["displayName"]}
        for g in account.groups.values()
        if account.covers(g["id"], scope)
    ]
    agents = [
        agent_summary(a)
        for a in account.agents.values()
        if a["active"] and account.covers(a["groupId"], scope)
    ]
    return {"agents": agents, "groups": groups}


@api("/as-user/archiving-reasons", "integration:act-as-user", answers=[m.ArchivingReason])
def archiving_reasons():
    _require_user()
    return [{"reason": reason, "name": name} for reason, name in ARCHIVING_REASONS]


@api("/prospect/<prospect_id>/as-user/archive", "integration:act-as-user", methods=("POST",),
     answers=m.Prospect)  # fmt: skip
def archive(prospect_id: str):
    _require_user()
    prospect = _visible_prospect(prospect_id)
    body = _body()
    if body.get("archivingReason") not in {reason for reason, _ in ARCHIVING_REASONS}:
        raise rules.RuleError("archivingReason must be one of GET /as-user/archiving-reasons")
    _apply_update(prospect, body)
    prospect["status"] = "archived"
    _notify("prospects", "updated", prospect, updates=_updates(status="archived"))
    return _public_prospect(prospect)


@api("/as-user/labels", "integration:act-as-user", answers=[m.ProspectLabel])
def labels():
    _require_user()
    return [{"key": key, "name": key.capitalize()} for key in _account().labels]


@api("/prospect/<prospect_id>/as-user/label", "integration:act-as-user", methods=("POST",),
     answers=m.Prospect)  # fmt: skip
def set_label(prospect_id: str):
    _require_user()
    prospect = _visible_prospect(prospect_id)
    label = _body().get("label")
    if label not in _account().labels:
        raise rules.RuleError("label must be one of GET /as-user/labels")
    prospect["label"], prospect["updatedAt"] = label, iso(time.time())
    _notify("prospects", "updated", prospect, updates=_updates(label=label))
    return _public_prospect(prospect)


# -- account structure -------------------------------------------------------------------


def _integration_view(integration: Integration, account: Account) -> dict[str, Any]:
    group = account.groups[integration.group_id]
    return {
        "id": integration.integration_id,
        "name": "zapp",
        "providerKey": "zapp",
        "groupId": group["id"],
        "group": group["displayName"],
        "user": (integration.user or {}).get("id"),
        "language": group["language"],
        "account": account.info["name"],
        "accountId": account.info["id"],
    }


@api("/integration", inferred.ANY_SCOPE, answers=m.Integration)
def integration():
    return _integration_view(_integration(), _account())


@api("/integrations", inferred.ANY_SCOPE, answers=[m.Integration])
def integrations():
    state, account = _state(), _account()
    mine = [
        i
        for i in state.integrations.values()
        if i.account_id == account.info["id"] and i.enabled and not i.deleted
    ]
    return [_integration_view(i, account) for i in mine]


@api("/checkCredentials", None, keyed=False)
def check_credentials():
    """No scope: the key itself is what is checked; an empty 200, or 401."""
    integration = _state().integrations.get(_key() or "")
    if integration is None or integration.deleted:
        return _error(401, "Missing or invalid api-key", "unauthorized")
    return Response(status=200)


@api("/agents", inferred.ACCOUNT_READ_SCOPE, answers=[m.Agent])
def agents():
    group = request.args.get("group")
    if not group:
        raise rules.RuleError("group is required")  # seed L973
    rules.check_id(group, "group")
    active = request.args.get("active")
    account = _account()
    return [
        agent_summary(a) for a in account.agents.values()
        if account.covers(a["groupId"], group) and account.covers(a["groupId"], _integration().group_id)
        and (active is None or a["active"] == (active == "true"))
    ]  # fmt: skip


def _scoped_agent(agent_id: str) -> dict[str, Any]:
    agent = _account().agents.get(agent_id)
    if agent is None or not _account().covers(agent["groupId"], _integration().group_id):
        raise rules.RuleError("Agent not found", 404, "not_found")
    return agent


@api("/agents/<agent_id>/is-working", inferred.ACCOUNT_READ_SCOPE, answers=m.Flag)
def agent_is_working(agent_id: str):
    return {"isWorking": _scoped_agent(agent_id)["active"]}


@api("/agents/<agent_id>/response-time", inferred.ACCOUNT_READ_SCOPE, methods=("POST",), answers=m.Flag)
def agent_response_time(agent_id: str):
    _scoped_agent(agent_id)
    return {"responseTime": 0}


def _scoped_group(group_id: str) -> dict[str, Any]:
    account = _account()
    if group_id not in account.groups or not account.covers(group_id, _integration().group_id):
        raise rules.RuleError("Group not found", 404, "not_found")
    return account.groups[group_id]


@api("/groups", inferred.ACCOUNT_READ_SCOPE, answers=[m.GroupNode])
def groups():
    parent = _scoped_group(rules.check_id(request.args.get("parent"), "parent") or _integration().group_id)
    return [_account().groups[g] for g in parent["descendants"]]


@api(inferred.CHILDREN_PATH, inferred.ACCOUNT_READ_SCOPE, answers=[m.GroupNode])
def group_children():
    parent = _scoped_group(rules.check_id(request.args.get("parent"), "parent") or _integration().group_id)
    return [g for g in _account().groups.values() if g["parent"] == parent["id"]]


@api("/group/<group_id>", inferred.ACCOUNT_READ_SCOPE, answers=m.GroupNode)
def group(group_id: str):
    return _scoped_group(group_id)


@api("/group/<group_id>/agents/online", inferred.ACCOUNT_READ_SCOPE, answers=m.OnlineAgents)
def online_agents(group_id: str):
    """Active agents who are signed in: an agent's ``online`` (default true) says so *(inferred: what
    "online" means in Sales is not stated; a test or the demo signs an agent out by setting it false)*."""
    _scoped_group(group_id)
    account = _account()
    members = [a for a in account.agents.values() if account.covers(a["groupId"], group_id)]
    members = [a for a in members if a["active"] and a.get("online", True)]
    if request.args.get("availableAgents") == "true":
        members = members[: max(1, len(members) // 2)]
    return {"officeHours": bool(members), "agents": [agent_summary(a) for a in members]}


@api("/groups/<group_id>/is-working", inferred.ACCOUNT_READ_SCOPE, answers=m.Flag)
def group_is_working(group_id: str):
    _scoped_group(group_id)
    members = [a for a in _account().agents.values() if _account().covers(a["groupId"], group_id)]
    return {"isWorking": any(a["active"] for a in members)}


@api("/groups/<group_id>/response-time", inferred.ACCOUNT_READ_SCOPE, methods=("POST",), answers=m.Flag)
def group_response_time(group_id: str):
    _scoped_group(group_id)
    return {"responseTime": 0}


@api("/industries", inferred.ANY_SCOPE, answers=[m.Industry])
def industries():
    return INDUSTRIES


# -- notifications -----------------------------------------------------------------------


@api("/notifications/topics", "notifications", answers=[m.Topic])
def topics():
    return TOPICS


def _active_subscriptions() -> list[dict[str, Any]]:
    group = _integration().group_id
    return [s for s in _state().subscriptions.values() if s["active"] and s["groupId"] == group]


@api("/notifications/subscriptions", "notifications", answers=[m.Subscription])
def list_subscriptions():
    return _active_subscriptions()


@api("/notifications/subscriptions", "notifications", methods=("POST",), answers=m.Subscription)
def create_subscription():
    body = _body()
    topics_wanted, callback = body.get("topics"), body.get("callbackUrl")
    names = {t["name"] for t in TOPICS}
    if not isinstance(topics_wanted, list) or not topics_wanted or not set(topics_wanted) <= names:
        raise rules.RuleError(f"topics must be a non-empty list of {', '.join(sorted(names))}")
    if "agents" in topics_wanted and "integration:act-as-user" not in _integration().scopes:
        raise rules.RuleError("The agents topic needs integration:act-as-user", 403, "missing_scope")
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        raise rules.RuleError("callbackUrl must be an http(s) URL")
    state, group = _state(), _integration().group_id
    for existing in _active_subscriptions():
        existing["active"] = False  # one subscription per group
    subscription = {"id": state.new_id(), "topics": topics_wanted, "callbackUrl": callback, "groupId": group,
                    "accountId": _account().info["id"], "active": True,
                    "integrationKey": _integration().key}  # fmt: skip
    state.subscriptions[subscription["id"]] = subscription
    return subscription, 201


@api("/notifications/subscriptions", "notifications", methods=("DELETE",), answers=m.SubscriptionsModified)
def delete_subscriptions():
    found = _active_subscriptions()
    for subscription in found:
        subscription["active"] = False
    return {"modified": len(found)}


def _own_subscription(subscription_id: str) -> dict[str, Any]:
    subscription = _state().subscriptions.get(subscription_id)
    if (
        subscription is None
        or not subscription["active"]
        or subscription["groupId"] != _integration().group_id
    ):
        raise rules.RuleError("Subscription not found", 404, "not_found")
    return subscription


@api("/notifications/subscription/<subscription_id>", "notifications", answers=m.Subscription)
def get_subscription(subscription_id: str):
    return _own_subscription(subscription_id)


@api("/notifications/subscription/<subscription_id>", "notifications", methods=("DELETE",),
     answers=m.Subscription)  # fmt: skip
def delete_subscription(subscription_id: str):
    subscription = _own_subscription(subscription_id)
    subscription["active"] = False
    return subscription


# -- custom apps -------------------------------------------------------------------------


@api("/apps/event", None, methods=("POST",), keyed=False)
def app_event():
    """CustomEvent: the key travels in ``data.apiKey``, not in the query (client)."""
    body = _body()
    data = body.get("data")
    key = data.get("apiKey") if isinstance(data, dict) else None
    integration = _state().integrations.get(key if isinstance(key, str) else "")
    if integration is None or integration.deleted:
        return _error(401, "Missing or invalid data.apiKey", "unauthorized")
    if not isinstance(body.get("event"), str) or body.get("type") not in ("prospect", "user", "quote"):
        raise rules.RuleError("event (string) and type (prospect, user or quote) are required")
    _state().app_events.append({k: v for k, v in body.items() if k != "data"})
    return Response(status=200)


@api("/apps/notifications", None, methods=("POST",))
def app_notification():
    body = _body()
    for name in ("type", "target", "platforms"):
        if name not in body:
            raise rules.RuleError(f"{name} is required")
    _state().app_events.append({"notification": body.get("type")})
    return Response(status=200)


@bp.app_errorhandler(404)
def _not_found(_exception):
    if request.path.startswith("/api/"):
        return _error(404, "No such endpoint", "not_found")
    return _error(404, "Not found", "not_found")


@bp.app_errorhandler(405)
def _method_not_allowed(_exception):
    return _error(405, "Method not allowed", "method_not_allowed")
