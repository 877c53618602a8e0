"""The Sales REST API, as the sandbox serves it under ``/api/v1``.

Every request goes through ``_gate``: faults (latency, errors, 429 storms),
the API key, the rate limit (with its three headers) and the scope the route
needs, in that order, as a real gateway would.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from . import rules
from .data import ARCHIVING_REASONS, agent_summary, iso, make_interaction, public_interaction
from .state import Account, Integration, SandboxState

bp = Blueprint("sandbox_api", __name__, url_prefix="/api/v1")
TOPICS = [
    {"name": "prospects", "description": "Prospects created or updated"},
    {"name": "interactions", "description": "Interactions created or updated"},
    {"name": "quotes", "description": "Quotes created or updated"},
    {"name": "agents", "description": "Agents status changes (needs integration:act-as-user)"},
]
LEAD_TYPES = ("retail", "vehicle", "insurance", "real-estate", "saving-plan")
MAX_FILE_BYTES = 16 * 1024 * 1024


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]


def _error(status: int, message: str, code: str) -> Response:
    response = jsonify({"message": message, "code": code})
    response.status_code = status
    return response


def _key() -> str | None:
    return request.args.get("api-key") or request.headers.get("X-API-Token")


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
        return _error(403, "The integration is disabled", "integration_disabled")
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


def api(rule: str, scope: str | None, methods=("GET",)) -> Callable:
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(**kwargs):
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
                    answer = view(**kwargs)
            except rules.RuleError as error:
                return _error(error.status, error.message, error.code)
            lost = _state().faults.write_answer_status
            if lost and request.method != "GET":
                # A gateway between us and the app gave up: the change is made, its answer lost.
                return _error(lost, "Gateway timeout", "gateway_timeout")
            return answer

        bp.add_url_rule(rule, view.__name__, guarded, methods=list(methods))
        return guarded

    return decorate


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


def _listing(items: list[dict[str, Any]]) -> Response:
    if rules.wants_csv(request.args, request.headers.get("Accept", "")):
        return Response(rules.to_csv(items), mimetype="text/csv")
    return jsonify(items)


def _notify(topic: str, kind: str, prospect: dict, **extra: Any) -> None:
    current_app.extensions["sandbox_delivery"].notify(_account(), topic, kind, prospect, **extra)


def _require_user() -> dict[str, Any]:
    user = _integration().user
    if user is None:
        raise rules.RuleError("The integration has no user configured to act as", 409, "no_integration_user")
    return user


# -- leads and prospects -----------------------------------------------------------------


@api("/lead/<kind>", "leads:write", methods=("POST",))
def process_lead(kind: str):
    if kind not in LEAD_TYPES:
        raise rules.RuleError("Unknown lead type", 404, "not_found")
    prospect, created = current_app.extensions["sandbox_leads"](_account(), _integration(), _body(), kind)
    _notify("prospects", "created" if created else "updated", prospect)
    return jsonify(prospect), 201 if created else 200


@api("/prospects", "prospects:read")
def list_prospects():
    account, scope = _account(), _integration().group_id
    args = request.args
    group = rules.check_id(args.get("group"), "group")
    agent = rules.check_id(args.get("agent"), "agent")
    search = (args.get("search") or "").lower()

    def matches(prospect_id: str) -> bool:
        p = account.prospects[prospect_id]
        if not account.covers(p["groupId"], group or scope) or not account.covers(p["groupId"], scope):
            return False
        if args.get("status") and p["status"] != args["status"]:
            return False
        if args.get("category") and p["category"] != args["category"]:
            return False
        if agent and (p["agent"] or {}).get("id") != agent:
            return False
        if args.get("withAgent") in ("true", "false") and (p["agent"] is not None) != (
            args["withAgent"] == "true"
        ):
            return False
        if args.get("phoneNumber") and args["phoneNumber"] not in p["phones"]:
            return False
        if search:
            haystack = " ".join([p["firstName"], p["lastName"], *p["phones"], *p["emails"]]).lower()
            return search in haystack
        return True

    ids = rules.page(account.prospect_ids, args, time.time(), matches)
    return _listing([account.prospects[i] for i in ids])


@api("/prospects/search", "prospects:read")
def search_prospect():
    email, phone = request.args.get("email"), request.args.get("phoneNumber")
    if not email and not phone:
        raise rules.RuleError("Give email and/or phoneNumber")
    for prospect_id in reversed(_account().prospect_ids):
        p = _account().prospects[prospect_id]
        if not _account().covers(p["groupId"], _integration().group_id):
            continue
        if (email and email.lower() in (e.lower() for e in p["emails"])) or (phone and phone in p["phones"]):
            return jsonify(p)
    raise rules.RuleError("Prospect not found", 404, "not_found")


@api("/prospect/<prospect_id>", "prospects:read")
def get_prospect(prospect_id: str):
    return jsonify(_visible_prospect(prospect_id))


PATCHABLE = {
    "firstName",
    "lastName",
    "label",
    "category",
    "status",
    "additionalData",
    "nin",
    "phones",
    "emails",
}


@api("/prospect/<prospect_id>", "prospects:write", methods=("PATCH",))
def update_prospect(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    changes = _body()
    unknown = sorted(set(changes) - PATCHABLE)
    if unknown:
        raise rules.RuleError(f"Fields that cannot be changed: {', '.join(unknown)}")
    prospect.update(changes)
    prospect["updatedAt"] = iso(time.time())
    _notify("prospects", "updated", prospect, updates=[{"field": k, "value": v} for k, v in changes.items()])
    return jsonify(prospect)


@api("/prospect/<prospect_id>", "prospects:write", methods=("DELETE",))
def delete_prospect(prospect_id: str):
    _visible_prospect(prospect_id)
    _account().remove_prospect(prospect_id)
    return jsonify({"success": True})


# -- interactions ------------------------------------------------------------------------


@api("/prospects/interactions", "prospects:read")
def list_interactions():
    account, scope = _account(), _integration().group_id
    args = request.args
    agent = rules.check_id(args.get("agent"), "agent")
    vias = set(args.getlist("via[]") or args.getlist("via"))

    def matches(interaction_id: str) -> bool:
        item = account.interactions[interaction_id]
        if not account.covers(item["groupId"], scope):
            return False
        if agent and item["agentId"] != agent:
            return False
        if args.get("status") and item["status"] != args["status"]:
            return False
        return not vias or item["via"] in vias

    ids = rules.page(account.interaction_ids, args, time.time(), matches)
    return _listing([public_interaction(account.interactions[i]) for i in ids])


@api("/prospect/<prospect_id>/interactions", "prospects:read")
def prospect_interactions(prospect_id: str):
    _visible_prospect(prospect_id)
    ids = sorted(_account().by_prospect.get(prospect_id, []))
    return _listing([public_interaction(_account().interactions[i]) for i in ids])


def record_interaction(prospect: dict, via: str, output: dict, proactive: bool = True) -> dict[str, Any]:
    state, account = _state(), _account()
    now = time.time()
    user = _integration().user
    interaction = make_interaction(state.rng, prospect, user, now, proactive=proactive, via=via)
    interaction["output"] = output
    account.add_interaction(interaction)
    prospect["updatedAt"] = iso(now)
    _notify("interactions", "created", prospect, interaction=public_interaction(interaction))
    return public_interaction(interaction)


@api("/prospect/<prospect_id>/interactions", "prospects:write", methods=("POST",))
def create_interaction(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    if body.get("type") != "note" or not isinstance(body.get("content"), str) or not body["content"].strip():
        raise rules.RuleError('Send {"type": "note", "content": "..."}')
    interaction = record_interaction(prospect, "note", {"comment": body["content"]}, proactive=False)
    return jsonify(interaction), 201


# -- messaging ---------------------------------------------------------------------------


def _channel(name: str) -> dict[str, Any]:
    for channel in _account().channels:
        if channel["channel"] == name:
            return channel
    raise rules.RuleError(f"Unknown channel {name!r}", 404, "not_found")


def _record_message(prospect: dict, channel: str, kind: str, **fields: Any) -> list[dict]:
    message = {"channel": channel, "kind": kind, "at": iso(time.time()), **fields}
    _state().messages[prospect["id"]].append(message)
    via = "whatsApp" if channel == "whatsapp" else "facebook"
    output = {"message": {"template": fields.get("template"), "body": fields.get("body"),
                          "content": fields.get("content"), "delivered": True, "via": via,
                          "attachment": fields.get("attachment")}}  # fmt: skip
    return [record_interaction(prospect, via, output)]


@api("/messaging/channels", "messages:channels")
def channels():
    return jsonify(_account().channels)


@api("/prospect/<prospect_id>/messaging/channels", "messages:channels")
def prospect_channels(prospect_id: str):
    prospect = _visible_prospect(prospect_id)
    return jsonify([c for c in _account().channels if c["channel"] != "whatsapp" or prospect["phones"]])


@api("/prospect/<prospect_id>/messaging/<channel>/notification", "messages:transactional", methods=("POST",))
def send_template(prospect_id: str, channel: str):
    prospect = _visible_prospect(prospect_id)
    body = _body()
    templates = {t["key"]: t for t in _channel(channel)["templates"]}
    template = templates.get(body.get("key"))
    if template is None:
        raise rules.RuleError(f"Unknown template key {body.get('key')!r}", 404, "template_not_found")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise rules.RuleError("parameters must be an object")
    problem = rules.template_parameters_ok(parameters)
    if problem:
        raise rules.RuleError(problem, 400, "invalid_template_parameters")
    text = template["body"]
    for name, value in parameters.items():
        text = text.replace("{{" + name + "}}", str(value))
    return jsonify(_record_message(prospect, channel, "template", template=template["key"], body=text,
                                   parameters=parameters))  # fmt: skip


@api("/prospect/<prospect_id>/messaging/<channel>", "messages:conversational", methods=("POST",))
def send_text(prospect_id: str, channel: str):
    prospect = _visible_prospect(prospect_id)
    _channel(channel)
    content = _body().get("content")
    if not isinstance(content, str) or not content.strip():
        raise rules.RuleError("content is required")
    return jsonify(_record_message(prospect, channel, "text", content=content))


@api("/prospect/<prospect_id>/messaging/<channel>/send-file", "messages:conversational", methods=("POST",))
def send_file(prospect_id: str, channel: str):
    prospect = _visible_prospect(prospect_id)
    _channel(channel)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise rules.RuleError("Send the file as multipart form field 'file'")
    size = len(upload.read())
    if size == 0 or size > MAX_FILE_BYTES:
        raise rules.RuleError("The file is empty or larger than 16 MiB")
    attachment = {
        "type": upload.mimetype,
        "url": f"https://files.sandbox.invalid/{upload.filename}",
        "size": size,
    }
    return jsonify(
        _record_message(prospect, channel, "file", attachment=attachment, filename=upload.filename)
    )


# -- handoff -----------------------------------------------------------------------------


def _transfer(prospect_id: str) -> Response:
    prospect = _visible_prospect(prospect_id)
    body = _body()
    account = _account()
    group, user = body.get("group"), body.get("user")
    if bool(group) == bool(user):
        raise rules.RuleError("Give exactly one of group or user")
    if group:
        rules.check_id(group, "group")
        if group not in account.groups or not account.covers(group, _integration().group_id):
            raise rules.RuleError("Group not found", 404, "not_found")
        prospect["groupId"] = group
        prospect["group"] = {"id": group, "name": account.groups[group]["displayName"]}
        prospect["agent"], prospect["assigned"] = None, False
    else:
        rules.check_id(user, "user")
        agent = account.agents.get(user)
        if agent is None:
            raise rules.RuleError("User not found", 404, "not_found")
        prospect["agent"], prospect["assigned"] = agent_summary(agent), True
        prospect["groupId"] = agent["groupId"]
    prospect["updatedAt"] = iso(time.time())
    record_interaction(prospect, "transfer", {"transferedToGroupId": group, "transferedToAgentId": user})
    _notify("prospects", "updated", prospect, updates=[{"field": "transfer", "value": group or user}])
    return jsonify({"success": True})


@api("/prospect/<prospect_id>/transfer", "prospects:read", methods=("POST",))
def transfer(prospect_id: str):
    return _transfer(prospect_id)


@api("/prospect/<prospect_id>/as-user/transfer", "integration:act-as-user", methods=("POST",))
def transfer_as_user(prospect_id: str):
    _require_user()
    return _transfer(prospect_id)


@api("/as-user/transfer", "integration:act-as-user")
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
    return jsonify({"agents": agents, "groups": groups})


@api("/as-user/archiving-reasons", "integration:act-as-user")
def archiving_reasons():
    _require_user()
    return jsonify([{"reason": reason, "name": name} for reason, name in ARCHIVING_REASONS])


@api("/prospect/<prospect_id>/as-user/archive", "integration:act-as-user", methods=("POST",))
def archive(prospect_id: str):
    _require_user()
    prospect = _visible_prospect(prospect_id)
    body = _body()
    if body.get("archivingReason") not in {reason for reason, _ in ARCHIVING_REASONS}:
        raise rules.RuleError("archivingReason must be one of GET /as-user/archiving-reasons")
    prospect.update({k: v for k, v in body.items() if k in ("firstName", "lastName", "label")})
    prospect["status"], prospect["archivingReason"] = "archived", body["archivingReason"]
    prospect["updatedAt"] = iso(time.time())
    _notify("prospects", "updated", prospect, updates=[{"field": "status", "value": "archived"}])
    return jsonify(prospect)


@api("/as-user/labels", "integration:act-as-user")
def labels():
    _require_user()
    return jsonify(_account().labels)


@api("/prospect/<prospect_id>/as-user/label", "integration:act-as-user", methods=("POST",))
def set_label(prospect_id: str):
    _require_user()
    prospect = _visible_prospect(prospect_id)
    label = _body().get("label")
    if label not in _account().labels:
        raise rules.RuleError("label must be one of GET /as-user/labels")
    prospect["label"], prospect["updatedAt"] = label, iso(time.time())
    _notify("prospects", "updated", prospect, updates=[{"field": "label", "value": label}])
    return jsonify({"success": True})


# -- account structure -------------------------------------------------------------------


def _integration_view(integration: Integration, account: Account) -> dict[str, Any]:
    group = account.groups[integration.group_id]
    return {
        "id": integration.integration_id,
        "name": "zapp",
        "providerKey": "zapp",
        "groupId": group["id"],
        "group": {"id": group["id"], "name": group["displayName"]},
        "user": integration.user,
        "language": group["language"],
        "account": account.info,
        "accountId": account.info["id"],
    }


@api("/integration", None)
def integration():
    return jsonify(_integration_view(_integration(), _account()))


@api("/integrations", None)
def integrations():
    state, account = _state(), _account()
    mine = [
        i
        for i in state.integrations.values()
        if i.account_id == account.info["id"] and i.enabled and not i.deleted
    ]
    return jsonify([_integration_view(i, account) for i in mine])


@api("/agents", "prospects:read")
def agents():
    group = rules.check_id(request.args.get("group"), "group") or _integration().group_id
    active = request.args.get("active")
    account = _account()
    found = [
        a for a in account.agents.values()
        if account.covers(a["groupId"], group) and account.covers(a["groupId"], _integration().group_id)
        and (active is None or a["active"] == (active == "true"))
    ]  # fmt: skip
    return jsonify(found)


def _scoped_group(group_id: str) -> dict[str, Any]:
    account = _account()
    if group_id not in account.groups or not account.covers(group_id, _integration().group_id):
        raise rules.RuleError("Group not found", 404, "not_found")
    return account.groups[group_id]


@api("/groups", "prospects:read")
def groups():
    parent = _scoped_group(rules.check_id(request.args.get("parent"), "parent") or _integration().group_id)
    return jsonify([_account().groups[g] for g in parent["descendants"]])


@api("/groups/children", "prospects:read")
def group_children():
    parent = _scoped_group(rules.check_id(request.args.get("parent"), "parent") or _integration().group_id)
    return jsonify([g for g in _account().groups.values() if g["parent"] == parent["id"]])


@api("/group/<group_id>", "prospects:read")
def group(group_id: str):
    return jsonify(_scoped_group(group_id))


@api("/group/<group_id>/agents/online", "prospects:read")
def online_agents(group_id: str):
    _scoped_group(group_id)
    account = _account()
    members = [a for a in account.agents.values() if account.covers(a["groupId"], group_id) and a["active"]]
    if request.args.get("availableAgents") == "true":
        members = members[: max(1, len(members) // 2)]
    return jsonify({"officeHours": True, "agents": [agent_summary(a) for a in members]})


# -- notifications -----------------------------------------------------------------------


@api("/notifications/topics", "notifications")
def topics():
    return jsonify(TOPICS)


def _subscription_view(subscription: dict[str, Any]) -> dict[str, Any]:
    return {key: subscription[key] for key in ("id", "topics", "callbackUrl")}


@api("/notifications/subscriptions", "notifications")
def list_subscriptions():
    group = _integration().group_id
    found = [s for s in _state().subscriptions.values() if s["active"] and s["groupId"] == group]
    return jsonify([_subscription_view(s) for s in found])


@api("/notifications/subscriptions", "notifications", methods=("POST",))
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
    for existing in state.subscriptions.values():
        if existing["groupId"] == group and existing["active"]:
            existing["active"] = False  # one subscription per group
    subscription = {"id": state.new_id(), "topics": topics_wanted, "callbackUrl": callback,
                    "groupId": group, "accountId": _account().info["id"], "active": True}  # fmt: skip
    state.subscriptions[subscription["id"]] = subscription
    return jsonify(_subscription_view(subscription)), 201


def _own_subscription(subscription_id: str) -> dict[str, Any]:
    subscription = _state().subscriptions.get(subscription_id)
    if (
        subscription is None
        or not subscription["active"]
        or subscription["groupId"] != _integration().group_id
    ):
        raise rules.RuleError("Subscription not found", 404, "not_found")
    return subscription


@api("/notifications/subscription/<subscription_id>", "notifications")
def get_subscription(subscription_id: str):
    return jsonify(_subscription_view(_own_subscription(subscription_id)))


@api("/notifications/subscription/<subscription_id>", "notifications", methods=("DELETE",))
def delete_subscription(subscription_id: str):
    subscription = _own_subscription(subscription_id)
    subscription["active"] = False
    return jsonify(_subscription_view(subscription))


@bp.app_errorhandler(404)
def _not_found(_exception):
    if request.path.startswith("/api/"):
        return _error(404, "No such endpoint", "not_found")
    return _error(404, "Not found", "not_found")


@bp.app_errorhandler(405)
def _method_not_allowed(_exception):
    return _error(405, "Method not allowed", "method_not_allowed")
