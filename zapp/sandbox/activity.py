"""Controls for load runs under ``/_sandbox/``: Sales-side activity for every account, and what it
did, read back in bulk (what a cluster benchmark checks the App against).

Beyond the contract, like the rest of the control surface: nothing here is Sales' API.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from .data import iso, make_interaction, public_interaction
from .rules import RuleError
from .state import Integration

bp = Blueprint("sandbox_activity", __name__, url_prefix="/_sandbox")

MAX_PER_ACCOUNT = 1000
_numbers = itertools.count(1)


@bp.errorhandler(RuleError)
def _rule_error(error: RuleError):
    response = jsonify({"message": error.message, "code": "invalid_request"})
    response.status_code = error.status
    return response


def _count(body: dict[str, Any], name: str) -> int:
    value = body.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PER_ACCOUNT:
        raise RuleError(f"{name} must be a whole number 0..{MAX_PER_ACCOUNT}")
    return value


def _live() -> list[Integration]:
    """Enabled and not deleted: the integrations whose accounts have activity."""
    state = current_app.extensions["sandbox"]
    with state.lock:
        return [i for i in state.integrations.values() if i.enabled and not i.deleted]


def _new_lead(number: int, rng: random.Random) -> dict[str, Any]:
    """A lead no prospect matches yet (its phone and email are new), so it creates a prospect."""
    return {
        "firstName": rng.choice(("Ana", "Bruno", "Carla", "Diego", "Elena", "Fábio")),
        "lastName": f"Carga {number}",
        "emails": [f"lead-{number}@load.example"],
        "phones": [f"+55 11 9{number:08d}"],
        "utmSource": rng.choice(("google", "facebook", "portal")),
        "utmMedium": "cpc",
        "utmCampaign": "load",
    }


def _add_interaction(integration: Integration, rng: random.Random) -> bool:
    """An agent's interaction on a random prospect of the account, notified as Sales would."""
    sandbox = current_app.extensions["sandbox_control"]
    state = sandbox.state
    account = state.account_of(integration)
    now = time.time()
    with state.lock:
        if not account.prospect_ids:
            return False
        prospect = account.prospects[rng.choice(account.prospect_ids)]
        agent = rng.choice(list(account.agents.values()))
        interaction = make_interaction(state.rng, prospect, agent, now, proactive=True)
        account.add_interaction(interaction)
        prospect["updatedAt"] = iso(now)
    sandbox.delivery.notify(account, "interactions", "created", prospect,
                            interaction=public_interaction(interaction))  # fmt: skip
    return True


@bp.post("/activity")
def activity():
    """``{"leads": n, "interactions": m}``: that many new leads and interactions in every live account."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RuleError("Send a JSON object")
    leads, interactions = _count(body, "leads"), _count(body, "interactions")
    sandbox = current_app.extensions["sandbox_control"]
    rng = random.Random()  # noqa: S311 - made-up data
    made = {"accounts": 0, "created": 0, "updated": 0, "interactions": 0}
    for integration in _live():
        made["accounts"] += 1
        for _ in range(leads):
            _prospect, created = sandbox.process_lead(integration, _new_lead(next(_numbers), rng))
            made["created" if created else "updated"] += 1
        made["interactions"] += sum(_add_interaction(integration, rng) for _ in range(interactions))
    return jsonify(made)


@bp.get("/replies")
def replies():
    """``?template=KEY``: how many times each prospect got that template, for prospects that got it."""
    template = request.args.get("template", "")
    if not template:
        raise RuleError("template is required")
    state = current_app.extensions["sandbox"]
    with state.lock:
        counts = {
            prospect: sum(1 for m in sent if m.get("kind") == "template" and m.get("template") == template)
            for prospect, sent in state.messages.items()
        }
    return jsonify({prospect: count for prospect, count in counts.items() if count})


@bp.get("/inventory")
def inventory():
    """Every live integration's prospect and interaction ids (an import is compared with these)."""
    state = current_app.extensions["sandbox"]
    with state.lock:
        return jsonify([
            {"apiKey": i.key, "integrationId": i.integration_id, "accountId": i.account_id,
             "prospects": list(state.account_of(i).prospect_ids),
             "interactions": list(state.account_of(i).interaction_ids)}
            for i in state.integrations.values() if not i.deleted
        ])  # fmt: skip


@bp.get("/limits")
def limits():
    """429s by cause: over a key's limit (the caller's doing) or during a storm (Sales' doing)."""
    state = current_app.extensions["sandbox"]
    with state.lock:
        over = Counter(state.stats.over_limit)
        return jsonify({
            "limit": state.limit(),
            "overLimit": sum(over.values()),
            "overLimitKeys": len(over),
            "stormRefused": state.stats.rate_limited - sum(over.values()),
            "maxInWindow": max(state.stats.max_in_window.values(), default=0),
            "errorsInjected": state.stats.errors_injected,
        })  # fmt: skip


@bp.get("/deliveries/pending")
def deliveries_pending():
    """Deliveries queued or waiting for their next attempt (a run ends when Sales has nothing left)."""
    return jsonify({"pending": current_app.extensions["sandbox_control"].delivery.pending()})
