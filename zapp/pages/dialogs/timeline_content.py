"""The timeline's data: one prospect and its interactions, read from Sales and cut down to what is shown.

Only whitelisted fields leave this module, as plain strings: the page
renders them as text, and links keep an ``http(s)`` scheme or are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

MAX_ENTRIES = 500
PAGE_SIZE = 20
MAX_LEADS = 20
MAX_TEXT = 2000
MAX_NAME = 200
MAX_QUOTES = 100


def shape_timeline(prospect: Mapping[str, Any], interactions: list[Any], *, page: int = 1) -> dict[str, Any]:
    """One page of the interactions, newest first; ``truncated`` when Sales had more than we keep."""
    entries = [timeline_entry(item) for item in interactions if isinstance(item, Mapping)]
    entries.sort(key=lambda entry: (entry["createdAt"] or "", entry["id"] or ""), reverse=True)
    kept = entries[:MAX_ENTRIES]
    pages = max(1, -(-len(kept) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return {
        "prospect": contact_summary(prospect),
        "interactions": kept[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "page": page,
        "pages": pages,
        "total": len(kept),
        "truncated": len(entries) > MAX_ENTRIES,
    }


def contact_summary(prospect: Mapping[str, Any]) -> dict[str, Any]:
    first, last = _text(prospect.get("firstName"), MAX_NAME), _text(prospect.get("lastName"), MAX_NAME)
    leads = [
        lead_summary(lead) for lead in _list(prospect.get("leads"))[:MAX_LEADS] if isinstance(lead, Mapping)
    ]
    return {
        "id": _text(prospect.get("id"), 24) or None,
        "name": " ".join(part for part in (first, last) if part),
        "firstName": first,
        "lastName": last,
        "phones": _strings(prospect.get("phones")),
        "emails": _strings(prospect.get("emails")),
        "status": _text(prospect.get("status"), 40) or None,
        "source": leads[0]["source"] if leads else None,
        "label": _text(prospect.get("label"), 40) or None,
        "agent": agent_name(prospect.get("agent")) or None,
        "created": _text(prospect.get("created"), 40) or None,
        "leads": leads,
    }


def shape_quotes(quotes: list[Any]) -> list[dict[str, Any]]:
    """Sales' quotes (or the store's, in the same shape) as the Timeline lists them, newest first."""
    shaped = [quote_summary(quote) for quote in quotes[:MAX_QUOTES] if isinstance(quote, Mapping)]
    kept = [quote for quote in shaped if quote["id"]]
    return sorted(kept, key=lambda quote: (quote["createdAt"] or "", quote["id"]), reverse=True)


def quote_summary(quote: Mapping[str, Any]) -> dict[str, Any]:
    """A quote's value, status and dates. The value is Sales' ``total``, else its items summed."""
    items = [item for item in _list(quote.get("items")) if isinstance(item, Mapping)]
    status = _text(quote.get("status"), 40) or None
    decided = quote.get("acceptedAt") if status == "accepted" else quote.get("rejectedAt")
    return {
        "id": _text(quote.get("id"), 24),
        "status": status,
        "total": _number(quote.get("total"))
        if _number(quote.get("total")) is not None
        else _items_total(items),
        "items": len(items),
        "createdAt": _text(quote.get("createdAt"), 40) or None,
        "decidedAt": _text(decided, 40) or None,
    }


def _items_total(items: list[Mapping[str, Any]]) -> float | None:
    """The sum of quantity × price; None when an item lacks a number (a guess is worse than nothing)."""
    total = 0.0
    for item in items:
        quantity, price = _number(item.get("quantity")), _number(item.get("price"))
        if quantity is None or price is None:
            return None
        total += quantity * price
    return total if items else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def lead_summary(lead: Mapping[str, Any]) -> dict[str, Any]:
    product = _mapping(lead.get("product"))
    parts = (
        _text(product.get("make"), MAX_NAME),
        _text(product.get("model"), MAX_NAME),
        _text(product.get("detail"), MAX_NAME),
    )
    return {
        "source": _text(lead.get("source"), MAX_NAME) or _text(lead.get("utmSource"), MAX_NAME) or None,
        "campaign": _text(lead.get("utmCampaign"), MAX_NAME) or None,
        "medium": _text(lead.get("utmMedium"), MAX_NAME) or None,
        "product": " ".join(part for part in parts if part) or None,
        "created": _text(lead.get("created"), 40) or None,
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


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text for text in (_text(item, MAX_NAME) for item in value[:20]) if text]
