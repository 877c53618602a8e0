"""The host UI: what a Sales user sees around the App (contacts, toolbar dialogs, reports, settings).

Dialogs and reports open in iframes at URLs built from the App's manifest:
placeholders filled, Sales' report parameters appended, signed as Sales signs.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

import requests
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from .settings_view import present_form
from .state import Account, Integration
from .url_signer import sign_url

bp = Blueprint("sandbox_host", __name__, template_folder="templates")
PAGE_SIZE = 25
RANGES = ("today", "yesterday", "last7", "last30", "this-month", "last-month", "custom")
PLACEHOLDER = re.compile(r"\$\{([a-zA-Z_.]+)\}")


def _sandbox():
    return current_app.extensions["sandbox_control"]


def _install(integration_id: str) -> tuple[Integration, Account]:
    state = _sandbox().state
    for integration in state.integrations.values():
        if integration.integration_id == integration_id and not integration.deleted:
            return integration, state.account_of(integration)
    abort(404)


def fetch_manifest(app_url: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The App's manifest, or why there is none to show."""
    if not app_url:
        return None, "This sandbox drives no App (start it with --app-url)."
    try:
        response = requests.get(app_url.rstrip("/") + "/manifest.json", timeout=5)
    except requests.RequestException as error:
        return None, f"The App did not answer ({type(error).__name__})."
    if response.status_code == 404:
        return None, "The App declares no manifest yet: it has no reports or toolbar buttons to show."
    if not response.ok:
        return None, f"The App's manifest answered {response.status_code}."
    try:
        return response.json(), None
    except ValueError:
        return None, "The App's manifest is not JSON."


def placeholder_values(account: Account, integration: Integration, prospect: dict | None) -> dict[str, str]:
    group = account.groups[integration.group_id]
    user = integration.user or next(iter(account.agents.values()))
    values = {
        "user._id": user["id"], "user.firstName": user.get("firstName", ""),
        "user.lastName": user.get("lastName", ""), "user.email": user.get("email", ""),
        "user.phone": user.get("phone", ""), "user.cellPhone": user.get("phone", ""),
        "group._id": group["id"], "group.name": group["name"], "group.language": group["language"],
        "group.displayName": group["displayName"],
    }  # fmt: skip
    if prospect:
        lead = (prospect.get("leads") or [{}])[0]
        values.update({
            "prospect._id": prospect["id"], "prospect.firstName": prospect["firstName"],
            "prospect.lastName": prospect["lastName"], "prospect.phones": ",".join(prospect["phones"]),
            "prospect.emails": ",".join(prospect["emails"]), "prospect.source": lead.get("source") or "",
            "prospect.providerLeadId": lead.get("providerLeadId") or "",
        })  # fmt: skip
    return values


def fill(url: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), url)


def report_url(
    template: str, values: dict[str, str], group: str, parent: str, range_: str, start: str, end: str
) -> str:
    url = fill(template, values)
    extra = f"range={quote(range_)}&start={quote(start)}&end={quote(end)}&group={group}&parentGroup={parent}"
    url += ("&" if "?" in url else "?") + extra
    return sign_url(url, _sandbox().options.signing_key)


def _localized(name: Any, language: str) -> str:
    if isinstance(name, dict):
        return name.get(language) or name.get("en") or ""
    return str(name or "")


@bp.get("/")
def index():
    state = _sandbox().state
    installs = [(i, state.account_of(i)) for i in state.integrations.values() if not i.deleted]
    return render_template("sandbox/index.html", installs=installs, app_url=_sandbox().options.app_url)


@bp.post("/host/install")
def install():
    _sandbox().create_account(act_as_user=True)
    return redirect(url_for("sandbox_host.index"), code=303)


@bp.get("/host/<integration_id>")
def contacts(integration_id: str):
    integration, account = _install(integration_id)
    ids = [i for i in reversed(account.prospect_ids)]
    pages = max(1, math.ceil(len(ids) / PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    shown = [account.prospects[i] for i in ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    return render_template("sandbox/contacts.html", integration=integration, account=account, prospects=shown,
                           page=page, pages=pages)  # fmt: skip


@bp.get("/host/<integration_id>/contacts/<prospect_id>")
def contact(integration_id: str, prospect_id: str):
    integration, account = _install(integration_id)
    prospect = account.prospects.get(prospect_id) or abort(404)
    manifest, problem = fetch_manifest(integration.app_url)
    language = account.groups[integration.group_id]["language"]
    buttons = [
        {"key": b.get("key"), "name": _localized(b.get("name"), language), "icon": b.get("icon"),
         "url": sign_url(fill(b.get("url", ""), placeholder_values(account, integration, prospect)),
                         _sandbox().options.signing_key)}
        for b in (manifest or {}).get("buttons", [])
    ]  # fmt: skip
    opened = next((b for b in buttons if b["key"] == request.args.get("button")), None)
    interactions = [account.interactions[i] for i in sorted(account.by_prospect.get(prospect_id, []))]
    declared = ((manifest or {}).get("fields") or {}).get("prospect", [])
    data = prospect.get("additionalData") or {}
    fields = [
        {"key": f.get("key"), "name": _localized(f.get("name"), language), "value": data.get(f.get("key"))}
        for f in declared
        if isinstance(f, dict)
    ]
    return render_template("sandbox/contact.html", integration=integration, account=account,
                           prospect=prospect, buttons=buttons, opened=opened, problem=problem,
                           interactions=interactions, fields=fields,
                           messages=_sandbox().state.messages.get(prospect_id, []))  # fmt: skip


@bp.get("/host/<integration_id>/reports")
def reports(integration_id: str):
    integration, account = _install(integration_id)
    manifest, problem = fetch_manifest(integration.app_url)
    language = account.groups[integration.group_id]["language"]
    range_ = request.args.get("range", "last30")
    range_ = range_ if range_ in RANGES else "last30"
    start, end = request.args.get("start", ""), request.args.get("end", "")
    group = request.args.get("group", integration.group_id)
    if group not in account.groups:
        group = integration.group_id
    values = placeholder_values(account, integration, None)
    listed = [
        {"key": r.get("key"), "name": _localized(r.get("name"), language),
         "url": report_url(r.get("url", ""), values, group, integration.group_id, range_,
                           start if range_ == "custom" else "", end if range_ == "custom" else "")}
        for r in (manifest or {}).get("reports", [])
    ]  # fmt: skip
    opened = next(
        (r for r in listed if r["key"] == request.args.get("report")), listed[0] if listed else None
    )
    return render_template("sandbox/reports.html", integration=integration, account=account, reports=listed,
                           opened=opened, problem=problem, ranges=RANGES, range_=range_, start=start, end=end,
                           group=group)  # fmt: skip


@bp.route("/host/<integration_id>/settings", methods=("GET", "POST"))
def settings(integration_id: str):
    integration, account = _install(integration_id)
    driver, message = _sandbox().driver, None
    language = account.groups[integration.group_id]["language"]
    _s, form = driver.settings_form(integration.app_url, integration.key, language)
    form = form if isinstance(form, dict) else None
    _s, values = driver.settings(integration.app_url, integration.key)
    values = values if isinstance(values, dict) else {}
    if request.method == "POST":
        changes = _form_changes(request.form)
        if form is not None and present_form(form, {**values, **changes})["blocked"]:
            message = "Not saved: the form shows an error."  # an error blocks the submit (L1376)
        else:
            status, body = driver.put_settings(integration.app_url, integration.key, changes)
            message = "Saved." if status == 200 else f"The App refused ({status}): {body}"
            _s, values = driver.settings(integration.app_url, integration.key)
            values = values if isinstance(values, dict) else {}
    shown = present_form(form, values) if form is not None else None
    return render_template("sandbox/settings.html", integration=integration, account=account,
                           form=shown, values=values, message=message)  # fmt: skip


def _form_changes(form) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in form.getlist("_inputs"):
        kind = form.get(f"_type_{name}")
        raw = form.get(name)
        if kind == "checkbox":
            changes[name] = raw == "on"
        elif kind == "number":
            changes[name] = int(raw) if raw and raw.lstrip("-").isdigit() else raw
        elif raw is not None:
            changes[name] = raw
    return changes


@bp.post("/host/<integration_id>/lifecycle/<action>")
def lifecycle(integration_id: str, action: str):
    integration, _account = _install(integration_id)
    sandbox = _sandbox()
    if action == "disable":
        sandbox.set_enabled(integration, False)
    elif action == "enable":
        sandbox.set_enabled(integration, True)
    elif action == "refresh-key":
        sandbox.refresh_key(integration)
    elif action == "delete":
        sandbox.delete(integration)
        return redirect(url_for("sandbox_host.index"), code=303)
    else:
        abort(404)
    return redirect(url_for("sandbox_host.settings", integration_id=integration_id), code=303)
