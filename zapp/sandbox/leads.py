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


def validate_lead(lead: dict[str, Any]) -> None:
    if not isinstance(lead.get("utmSource"), str) or not lead["utmSource"].strip():
        raise RuleError("utmSource is required", 400, "invalid_lead")
    for name in TEXT_FIELDS:
        if name in lead and lead[name] is not None and not isinstance(lead[name], str):
            raise RuleError(f"{name} must be a string", 400, "invalid_lead")
    for name in ("phones", "emails", "nin"):
        value = lead.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{name} must be a list of strings", 400, "invalid_lead")
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


def _lead_record(lead: dict[str, Any], kind: str, now: float) -> dict[str, Any]:
    return {
        "priority": "normal",
        "created": iso(now),
        "createdBy": lead.get("provider") or "api",
        "source": lead.get("provider") or lead["utmSource"],
        "comments": lead.get("comments"),
        "utmSource": lead["utmSource"],
        "utmMedium": lead.get("utmMedium"),
        "utmCampaign": lead.get("utmCampaign"),
        "providerKey": lead.get("provider"),
        "company": lead.get("company"),
        "store": lead.get("store"),
        "agent": lead.get("agent"),
        "type": kind,
        "product": lead.get("product") or {},
    }


def process_lead(state: SandboxState, account: Account, integration: Integration, lead: dict, kind: str):
    """Return (prospect, created)."""
    validate_lead(lead)
    now = time.time()
    with state.lock:
        existing = _find_existing(account, lead)
        if existing is not None:
            existing["leads"].append(_lead_record(lead, kind, now))
            existing["updatedAt"] = iso(now)
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
            "group": {"id": store["id"], "name": store["displayName"]},
            "groupId": store["id"],
            "initialGroup": {"id": store["id"], "name": store["displayName"]},
            "initialGroupId": store["id"],
            "firstName": lead.get("firstName") or "",
            "lastName": lead.get("lastName") or "",
            "label": None,
            "category": (lead.get("product") or {}).get("category"),
            "status": "unclaimed",
            "nin": lead.get("nin", []),
            "userMade": False,
            "archivingReason": None,
            "phones": lead.get("phones", []),
            "emails": lead.get("emails", []),
            "additionalData": {},
            "merged": False,
            "absenceMessage": False,
            "leads": [_lead_record(lead, kind, now)],
            "agent": agent_summary(None),
            "assigned": False,
            "nextReminder": None,
            "firstContactedAt": None,
            "sentWorkingHourMessage": False,
        }
        account.add_prospect(prospect)
        return prospect, True
