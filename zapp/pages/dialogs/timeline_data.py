"""The timeline's data: one prospect and its interactions, read from Sales and cut down to what is shown.

Only whitelisted fields leave this module, as plain strings: the page
renders them as text, and links keep an ``http(s)`` scheme or are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ...i18n import N_
from ...sales import SalesClient

MAX_ENTRIES = 100
MAX_TEXT = 2000
MAX_NAME = 200
# Sales' ``via`` values (list filter of /prospects/interactions) and the label each is shown with.
VIA_LABELS = {
    "walkIn": N_("Walk-in"),
    "sms": N_("SMS"),
    "whatsApp": N_("WhatsApp"),
    "email": N_("Email"),
    "testDrive": N_("Test drive"),
    "visit": N_("Visit"),
    "phoneCall": N_("Phone call"),
    "outboundCall": N_("Outbound call"),
    "inboundCall": N_("Inbound call"),
    "facebook": N_("Facebook"),
    "note": N_("Note"),
}


def fetch_timeline(
    client: SalesClient, prospect_id: str, *, check_prospect: Callable[[Mapping[str, Any]], None]
) -> dict[str, Any]:
    """Read the prospect, let ``check_prospect`` refuse it, then read its interactions."""
    prospect = client.get_prospect(prospect_id)
    check_prospect(prospect if isinstance(prospect, Mapping) else {})
    interactions = client.list_prospect_interactions(prospect_id)
    return shape_timeline(prospect, interactions if isinstance(interactions, list) else [])


def shape_timeline(prospect: Mapping[str, Any], interactions: list[Any]) -> dict[str, Any]:
    """Newest first, at most ``MAX_ENTRIES``; ``truncated`` says when there were more."""
    entries = [timeline_entry(item) for item in interactions if isinstance(item, Mapping)]
    entries.sort(key=lambda entry: (entry["createdAt"] or "", entry["id"] or ""), reverse=True)
    return {
        "prospect": contact_summary(prospect),
        "interactions": entries[:MAX_ENTRIES],
        "truncated": len(entries) > MAX_ENTRIES,
    }


def contact_summary(prospect: Mapping[str, Any]) -> dict[str, Any]:
    first, last = _text(prospect.get("firstName"), MAX_NAME), _text(prospect.get("lastName"), MAX_NAME)
    leads = prospect.get("leads")
    lead = leads[0] if isinstance(leads, list) and leads and isinstance(leads[0], Mapping) else {}
    return {
        "id": _text(prospect.get("id"), 24) or None,
        "name": " ".join(part for part in (first, last) if part),
        "firstName": first,
        "lastName": last,
        "phones": _strings(prospect.get("phones")),
        "emails": _strings(prospect.get("emails")),
        "status": _text(prospect.get("status"), 40) or None,
        "source": _text(lead.get("source"), MAX_NAME) or None,
    }


def timeline_entry(interaction: Mapping[str, Any]) -> dict[str, Any]:
    output = _mapping(interaction.get("output"))
    message = _mapping(output.get("message"))
    return {
        "id": _text(interaction.get("id"), 24) or None,
        "createdAt": _text(interaction.get("createdAt"), 40) or None,
        "via": _text(interaction.get("via") or message.get("via"), 40) or None,
        "status": _text(interaction.get("status"), 40) or None,
        "proactive": interaction.get("proactive") is True,
        "text": interaction_text(output),
        "agent": agent_name(interaction.get("agent")),
        "attachment": attachment(message.get("attachment")),
    }


def interaction_text(output: Mapping[str, Any]) -> str:
    """What was said or noted: the agent's comment, else the message's body or content."""
    message = _mapping(output.get("message"))
    for value in (output.get("comment"), message.get("body"), message.get("content")):
        text = _text(value, MAX_TEXT)
        if text:
            return text
    return ""


def agent_name(agent: Any) -> str:
    agent = _mapping(agent)
    parts = (_text(agent.get("firstName"), MAX_NAME), _text(agent.get("lastName"), MAX_NAME))
    return " ".join(part for part in parts if part)


def attachment(value: Any) -> dict[str, Any] | None:
    value = _mapping(value)
    url = safe_link(value.get("url"))
    return {"type": _text(value.get("type"), 40) or None, "url": url} if url else None


def safe_link(url: Any) -> str | None:
    """``url`` if it is an absolute http(s) URL; ``javascript:``, ``data:`` and the like are dropped."""
    if not isinstance(url, str) or len(url) > MAX_TEXT:
        return None
    candidate = url.strip()
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text for text in (_text(item, MAX_NAME) for item in value[:20]) if text]
