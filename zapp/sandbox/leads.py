"""Lead processing as ``POST /lead/<type>`` does it: validate, deduplicate into a prospect, return it."""

from __future__ import annotations

import re
import time
from typing import Any

from .data import agent_summary, iso
from .rules import RuleError
from .state import Account, Integration, SandboxState

TEXT_FIELDS = (
    "provider", "providerLeadId", "utmSource", "utmMedium", "utmCampaign", "firstName", "lastName",
    "address", "subLocality", "locality", "region", "country", "zipCode", "listingTitle", "listingUrl",
    "comments", "company", "store", "agent",
)  # fmt: skip


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


DEPRECATED_ALIASES = (("source", "utmSource"), ("medium", "utmMedium"), ("campaign", "utmCampaign"),
                      ("leadId", "providerLeadId"))  # seed L61-64  # fmt: skip


def with_aliases(lead: dict[str, Any]) -> dict[str, Any]:
    """The lead with its deprecated names (``source`` ...) read as the current ones they stand for."""
    merged = dict(lead)
    for old, new in DEPRECATED_ALIASES:
        if not merged.get(new) and merged.get(old):
            merged[new] = merged[old]
    return merged


def validate_lead(lead: dict[str, Any]) -> None:
    if not isinstance(lead.get("utmSource"), str) or not lead["utmSource"].strip():
        raise RuleError("utmSource is required", 400, "invalid_lead")
    for name in (*TEXT_FIELDS, "leadId", "source", "medium", "campaign"):
        if name in lead and lead[name] is not None and not isinstance(lead[name], str):
            raise RuleError(f"{name} must be a string", 400, "invalid_lead")
    if (
        "priority" in lead
        and lead["priority"] is not None
        and (isinstance(lead["priority"], bool) or not isinstance(lead["priority"], int | float))
    ):
        raise RuleError("priority must be a number", 400, "invalid_lead")
    for name in ("phones", "emails"):
        value = lead.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{name} must be a list of strings", 400, "invalid_lead")
    nin = lead.get("nin", [])
    if not isinstance(nin, list) or not all(
        isinstance(n, dict) and all(isinstance(n.get(k, ""), str) for k in ("type", "number")) for n in nin
    ):
        raise RuleError("nin must be a list of {type, number} objects", 400, "invalid_lead")
    for name in ("history",):
        if name in lead and not isinstance(lead[name], list):
            raise RuleError(f"{name} must be a list", 400, "invalid_lead")
    if "product" in lead and lead["product"] is not None and not isinstance(lead["product"], dict):
        raise RuleError("product must be an object", 400, "invalid_lead")
    if not (lead.get("phones") or lead.get("emails") or lead.get("firstName")):
        raise RuleError("A lead needs a name, a phone or an email", 400, "invalid_lead")


def _find_existing(account: Account, lead: dict[str, Any]) -> dict[str, Any] | None:
    phones = {_digits(p) for p in lead.get("phones", []) if _digits(p)}
    emails = {e.lower() for e in lead.get("emails", [])}
    if not phones and not emails:
        return None
    for prospect_id in reversed(account.prospect_ids):
        prospect = account.prospects[prospect_id]
        if phones & {_digits(p) for p in prospect["phones"]} or emails & {
            e.lower() for e in prospect["emails"]
        }:
            return prospect
    return None


LEAD_TYPE_NAMES = {"real-estate": "realEstate", "saving-plan": "savingPlan"}  # the enum is camelCase


def _lead_record(lead: dict[str, Any], kind: str, now: float, created_by: str) -> dict[str, Any]:
    return {
        "priority": lead.get("priority") if lead.get("priority") is not None else 0,
        "created": iso(now),
        "createdBy": created_by,
        "source": lead.get("provider") or lead["utmSource"],
        "comments": lead.get("comments"),
        "utmSource": lead["utmSource"],
        "utmMedium": lead.get("utmMedium"),
        "utmCampaign": lead.get("utmCampaign"),
        "providerKey": lead.get("provider"),
        "company": lead.get("company"),
        "store": lead.get("store"),
        "agent": lead.get("agent"),
        "type": LEAD_TYPE_NAMES.get(kind, kind),
        "product": lead.get("product") or {},
    }


def _assigned_agent(account: Account, wanted: Any) -> dict[str, Any] | None:
    """The agent a lead names by email, phone or id (seed L60)."""
    if not isinstance(wanted, str) or not wanted:
        return None
    for agent in account.agents.values():
        if wanted in (agent["id"], agent["email"], agent["phone"]):
            return agent
    return None


def lead_answer(prospect: dict[str, Any], created: bool) -> dict[str, Any]:
    """The answer to a lead: the prospect, without its earlier leads when it existed (seed L37)."""
    return {**prospect, "leads": prospect["leads"][-1:] if not created else prospect["leads"],
            "interactions": []}  # fmt: skip


def process_lead(state: SandboxState, account: Account, integration: Integration, lead: dict, kind: str):
    """Return (prospect, created); ``lead_answer`` makes what Sales answers for it."""
    if not isinstance(lead, dict):
        raise RuleError("The body must be a JSON object")
    lead = with_aliases(lead)
    validate_lead(lead)
    now = time.time()
    with state.lock:
        record = _lead_record(lead, kind, now, integration.integration_id)
        existing = _find_existing(account, lead)
        if existing is not None:
            existing["leads"].append(record)
            existing["updatedAt"] = iso(now)
            existing["merged"] = True
            return existing, False
        group = account.groups[integration.group_id]
        store_id = next(
            (g for g in group["descendants"] if "store" in account.groups[g]["type"]), group["id"]
        )
        store = account.groups[store_id]
        prospect = {
            "id": state.new_id(now),
            "created": iso(now),
            "updatedAt": iso(now),
            "account": account.info["name"],
            "accountId": account.info["id"],
            "group": store["displayName"],
            "groupId": store["id"],
            "initialGroup": store["displayName"],
            "initialGroupId": store["id"],
            "firstName": lead.get("firstName") or "",
            "lastName": lead.get("lastName") or "",
            "category": (lead.get("product") or {}).get("category"),
            "status": "unclaimed",
            "nin": [{k: v for k, v in n.items() if k in ("type", "number")} for n in lead.get("nin", [])],
            "userMade": False,
            "phones": lead.get("phones", []),
            "emails": lead.get("emails", []),
            "additionalData": {},
            "merged": False,
            "leads": [record],
        }
        agent = _assigned_agent(account, lead.get("agent"))
        if agent is not None:
            prospect.update(agent=agent_summary(agent), assigned=iso(now), status="new")
        account.add_prospect(prospect)
        return prospect, True
