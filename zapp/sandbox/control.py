"""The sandbox's control surface under ``/_sandbox/``: what tests, demos and benchmarks drive."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from .conversations import CHANNEL_VIA
from .rules import OBJECT_ID, RuleError
from .state import Integration
from .url_signer import sign_url

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


def _sandbox():
    return current_app.extensions["sandbox_control"]


def _error(status: int, message: str):
    response = jsonify({"message": message, "code": "invalid_request"})
    response.status_code = status
    return response


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RuleError("Send a JSON object")
    return body


@bp.errorhandler(RuleError)
def _rule_error(error: RuleError):
    return _error(error.status, error.message)


def _integration(key: str) -> Integration:
    integration = current_app.extensions["sandbox"].integrations.get(key)
    if integration is None or integration.deleted:
        raise RuleError("No such install", 404)
    return integration


def _lifecycle_answer(status: int, body: Any):
    ok = 200 <= status < 300
    return jsonify({"ok": ok, "appStatus": status, "appBody": body}), 200 if ok else 502


@bp.post("/install")
def install():
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise RuleError("Send a JSON object")
    scopes = body.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise RuleError("scopes must be a list of strings")
    result = _sandbox().create_account(act_as_user=bool(body.get("actAsUser", True)), scopes=scopes)
    status = 201 if result.get("appStatus", 201) < 300 else 502
    return jsonify(result), status


@bp.get("/installs")
def installs():
    state = current_app.extensions["sandbox"]
    return jsonify([
        {"apiKey": i.key, "integrationId": i.integration_id, "groupId": i.group_id, "enabled": i.enabled,
         "installed": i.installed, "appUrl": i.app_url}
        for i in state.integrations.values() if not i.deleted
    ])  # fmt: skip


@bp.put("/installs/<key>/enabled")
def set_enabled(key: str):
    integration = _integration(key)
    enabled = _json().get("enabled")
    if not isinstance(enabled, bool):
        raise RuleError("enabled must be true or false")
    return _lifecycle_answer(*_sandbox().set_enabled(integration, enabled))


@bp.post("/installs/<key>/refresh-key")
def refresh_key(key: str):
    status, body, new_key = _sandbox().refresh_key(_integration(key))
    ok = 200 <= status < 300
    payload = {"ok": ok, "appStatus": status, "appBody": body, "apiKey": new_key if ok else key}
    return jsonify(payload), 200 if ok else 502


@bp.delete("/installs/<key>")
def delete(key: str):
    return _lifecycle_answer(*_sandbox().delete(_integration(key)))


@bp.get("/installs/<key>/settings-form")
def settings_form(key: str):
    return _lifecycle_answer(
        *_sandbox().driver.settings_form(_integration(key).app_url, key, request.args.get("lang", "en"))
    )


@bp.get("/installs/<key>/settings")
def settings(key: str):
    return _lifecycle_answer(*_sandbox().driver.settings(_integration(key).app_url, key))


@bp.put("/installs/<key>/settings")
def put_settings(key: str):
    return _lifecycle_answer(*_sandbox().driver.put_settings(_integration(key).app_url, key, _json()))


@bp.post("/sign")
def sign():
    url = _json().get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise RuleError("url must be an absolute http(s) URL")
    return jsonify({"url": sign_url(url, _sandbox().options.signing_key)})


@bp.post("/leads")
def leads():
    body = _json()
    integration = _integration(str(body.get("apiKey", "")))
    lead = body.get("lead")
    if not isinstance(lead, dict):
        raise RuleError("lead must be an object")
    prospect, created = _sandbox().process_lead(integration, lead, str(body.get("type", "retail")))
    return jsonify({"prospect": prospect, "created": created}), 201 if created else 200


@bp.post("/inbound")
def inbound():
    """A contact writes on a channel: an interaction the agent did not start, which opens the window."""
    body = _json()
    integration = _integration(str(body.get("apiKey", "")))
    prospect_id, channel, content = body.get("prospect"), body.get("channel", "whatsapp"), body.get("content")
    if channel not in CHANNEL_VIA or not isinstance(content, str) or not content.strip():
        raise RuleError("Send prospect, channel (whatsapp or facebook) and content")
    at = body.get("at", time.time())
    if not isinstance(at, int | float):
        raise RuleError("at must be epoch seconds")
    interaction = _sandbox().receive_message(integration, str(prospect_id), channel, content, float(at))
    return jsonify(interaction), 201


@bp.get("/violations")
def violations():
    """Answers and envelopes that did not match the Sales models (sandbox bugs); empty when all is well."""
    return jsonify(list(current_app.extensions["sandbox"].violations))


@bp.get("/messages")
def messages():
    prospect = request.args.get("prospect", "")
    if not OBJECT_ID.fullmatch(prospect):
        raise RuleError("prospect must be an id")
    return jsonify(current_app.extensions["sandbox"].messages.get(prospect, []))


@bp.get("/subscriptions")
def subscriptions():
    state = current_app.extensions["sandbox"]
    return jsonify([
        {k: s[k] for k in ("id", "topics", "callbackUrl", "groupId")}
        for s in state.subscriptions.values() if s["active"]
    ])  # fmt: skip


@bp.get("/deliveries")
def deliveries():
    return jsonify(list(current_app.extensions["sandbox"].deliveries))


@bp.post("/faults")
def faults():
    body = _json()
    state = current_app.extensions["sandbox"]
    latency, error_rate = body.get("latencyMs"), body.get("errorRate")
    rate_limit, storm = body.get("rateLimit"), body.get("stormSeconds")
    if latency is not None and (not isinstance(latency, int) or not 0 <= latency <= 60_000):
        raise RuleError("latencyMs must be 0..60000")
    if error_rate is not None and (not isinstance(error_rate, int | float) or not 0 <= error_rate <= 1):
        raise RuleError("errorRate must be 0..1")
    if rate_limit is not None and (not isinstance(rate_limit, int) or rate_limit < 1):
        raise RuleError("rateLimit must be a positive whole number (null restores the default)")
    if storm is not None and (not isinstance(storm, int | float) or not 0 <= storm <= 600):
        raise RuleError("stormSeconds must be 0..600")
    lost = body.get("writeAnswerStatus")
    if lost is not None and lost not in (0, 500, 502, 504):
        raise RuleError("writeAnswerStatus must be 500, 502, 504 or 0 (off)")
    writes_unavailable = body.get("writesUnavailable")
    if writes_unavailable is not None and not isinstance(writes_unavailable, bool):
        raise RuleError("writesUnavailable must be true or false")
    with state.lock:
        if latency is not None:
            state.faults.latency_ms = latency
        if error_rate is not None:
            state.faults.error_rate = float(error_rate)
        if "rateLimit" in body:
            state.faults.rate_limit = rate_limit
        if storm is not None:
            state.faults.storm_until = time.time() + storm
        if lost is not None:
            state.faults.write_answer_status = lost
        if writes_unavailable is not None:
            state.faults.writes_unavailable = writes_unavailable
        f = state.faults
        return jsonify({"latencyMs": f.latency_ms, "errorRate": f.error_rate, "rateLimit": state.limit(),
                        "stormUntil": f.storm_until, "writeAnswerStatus": f.write_answer_status,
                        "writesUnavailable": f.writes_unavailable})  # fmt: skip


@bp.get("/stats")
def stats():
    state = current_app.extensions["sandbox"]
    with state.lock:
        return jsonify({
            "requests": dict(state.stats.requests),
            "totalRequests": sum(state.stats.requests.values()),
            "rateLimited": state.stats.rate_limited,
            "maxInWindow": dict(state.stats.max_in_window),
            "errorsInjected": state.stats.errors_injected,
            "limit": state.limit(),
        })  # fmt: skip
